import assert from "node:assert/strict";
import { ReplyArena } from "../../rpc/_replies.ts";

Deno.test("ReplyArena: a copy keeps the reply's bytes after the writer's buffer is reused", () => {
  const arena = new ReplyArena();
  const buf = new Uint8Array([1, 2, 3, 4]);
  const a = arena.copy(buf, null);
  buf.fill(9);
  const b = arena.copy(buf.subarray(0, 2), new Uint8Array([5, 6, 7]));
  buf.fill(0);
  assert.deepEqual([...a], [1, 2, 3, 4], "the first copy is untouched");
  assert.deepEqual([...b], [9, 9, 5, 6, 7], "head then tail");
  assert.equal(a.buffer, b.buffer, "small replies share a slab");
});

Deno.test("ReplyArena: a reply over 4 KiB gets its own buffer; a full slab starts a new one", () => {
  const arena = new ReplyArena();
  const big = arena.copy(new Uint8Array(4097).fill(1), null);
  assert.equal(big.buffer.byteLength, 4097, "a copy of its own");
  const first = arena.copy(new Uint8Array(4000).fill(2), null);
  let last = first;
  for (let i = 0; i < 16; i++) last = arena.copy(new Uint8Array(4000), null);
  assert.notEqual(last.buffer, first.buffer, "17 × 4000 bytes pass 64 KiB");
  assert.ok(first.every((x) => x === 2), "the old slab's copy stays intact");
});
