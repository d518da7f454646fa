import assert from "node:assert/strict";
import {
  bitmapBits,
  bitmapDifference,
  bitmapHas,
  bitmapIntersect,
  bitmapIsEmpty,
  bitmapOf,
  bitmapSet,
} from "../../../proto/nfs4/bitmap4.ts";

Deno.test("bitmap4: bit n is bit n%32 of word n/32", () => {
  const bm = bitmapOf([0, 31, 32, 63, 64]);
  assert.deepEqual(bm, [0x80000001, 0x80000001, 0x1]);
  for (const b of [0, 31, 32, 63, 64]) assert.ok(bitmapHas(bm, b), `bit ${b}`);
  for (const b of [1, 30, 33, 65, 1000, -1]) {
    assert.ok(!bitmapHas(bm, b), `bit ${b}`);
  }
  assert.deepEqual(bitmapBits(bm), [0, 31, 32, 63, 64]);
  assert.ok(bm.every((w) => w >= 0 && w <= 0xffffffff), "words stay unsigned");
});

Deno.test("bitmap4: set, intersect and difference trim trailing zero words", () => {
  assert.deepEqual(bitmapSet([], 40), [0, 0x100]);
  assert.deepEqual(bitmapIntersect([0xff, 0x1], [0x0f, 0x2, 0xff]), [0x0f]);
  assert.deepEqual(bitmapIntersect([0xf0], [0x0f]), []);
  assert.deepEqual(bitmapDifference([0xff, 0x3], [0x0f, 0x3]), [0xf0]);
  assert.deepEqual(bitmapDifference([0x1, 0x1], []), [0x1, 0x1]);
  assert.ok(bitmapIsEmpty([0, 0]) && !bitmapIsEmpty([0, 4]));
  assert.throws(() => bitmapSet([], -1), RangeError);
  assert.throws(() => bitmapSet([], 2 ** 20), RangeError);
});
