import assert from "node:assert/strict";
import { XdrError, XdrReader, XdrWriter } from "../../rpc/xdr.ts";

Deno.test("xdr: integers round-trip at the edges", () => {
  const w = new XdrWriter({ size: 4 });
  w.u32(0).u32(0xffffffff).i32(-1).i32(-0x80000000);
  w.u64(0).u64(2 ** 53 - 1).u64big(2n ** 64n - 1n).i64(-(2 ** 53 - 1));
  w.i64big(-(2n ** 63n)).bool(true).bool(false);
  const r = new XdrReader(w.bytes());
  assert.equal(r.u32(), 0);
  assert.equal(r.u32(), 0xffffffff);
  assert.equal(r.i32(), -1);
  assert.equal(r.i32(), -0x80000000);
  assert.equal(r.u64(), 0);
  assert.equal(r.u64(), 2 ** 53 - 1);
  assert.equal(r.u64big(), 2n ** 64n - 1n);
  assert.equal(r.i64(), -(2 ** 53 - 1));
  assert.equal(r.i64big(), -(2n ** 63n));
  assert.equal(r.bool(), true);
  assert.equal(r.bool(), false);
  r.end();
});

Deno.test("xdr: 2^53 and 2^64-1 do not fit a number", () => {
  const r = new XdrReader(new XdrWriter().u64big(2n ** 53n).bytes());
  assert.throws(() => r.u64("offset"), /too large.*9007199254740992.*offset/);
  assert.equal(r.u64big(), 2n ** 53n);
  const r2 = new XdrReader(new XdrWriter().u64big(2n ** 64n - 1n).bytes());
  assert.throws(() => r2.u64("size"), XdrError);
  assert.equal(r2.pos, 0, "a failed read does not advance");
  assert.equal(r2.u64sat(), Number.MAX_SAFE_INTEGER);
});

Deno.test("xdr: opaques and strings are padded and bounded", () => {
  for (const n of [0, 1, 2, 3, 4, 5, 255]) {
    const data = new Uint8Array(n).map((_, i) => i + 1);
    const bytes = new XdrWriter().opaque(data).u32(7).bytes();
    assert.equal(bytes.length, 4 + ((n + 3) & ~3) + 4);
    const r = new XdrReader(bytes);
    assert.deepEqual(r.opaque(n), data);
    assert.equal(r.u32(), 7);
    // One byte under the length is refused before allocating.
    if (n > 0) {
      assert.throws(() => new XdrReader(bytes).opaque(n - 1), XdrError);
    }
  }
  const s = new XdrWriter().string("héllo✓").bytes();
  assert.equal(new XdrReader(s).string(64), "héllo✓");
});

Deno.test("xdr: every overrun is refused", () => {
  assert.throws(() => new XdrReader(new Uint8Array(3)).u32(), XdrError);
  assert.throws(() => new XdrReader(new Uint8Array(7)).u64(), XdrError);
  // Length says 8, only 4 bytes follow.
  const short = new Uint8Array([0, 0, 0, 8, 1, 2, 3, 4]);
  assert.throws(() => new XdrReader(short).opaque(100), /ends early/);
  // A huge array count is refused before allocating.
  const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
  assert.throws(
    () => new XdrReader(huge).array(2 ** 32, (r) => r.u32()),
    /cannot fit/,
  );
  assert.throws(
    () => new XdrReader(new Uint8Array([0, 0, 0, 2])).bool(),
    /Invalid boolean/,
  );
  // Invalid UTF-8.
  const bad = new Uint8Array([0, 0, 0, 1, 0xff, 0, 0, 0]);
  assert.throws(() => new XdrReader(bad).string(8), /UTF-8/);
  assert.throws(() => new XdrReader(new Uint8Array(4)).end(), /Trailing/);
});

Deno.test("xdr: opaque decode is a view, not a copy", () => {
  const bytes = new XdrWriter().opaque(new Uint8Array([9, 9])).bytes();
  const out = new XdrReader(bytes).opaque(2);
  assert.equal(out.buffer, bytes.buffer);
});
