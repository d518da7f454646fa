// The bounded reader and writer every NBD codec goes through.
import assert from "node:assert/strict";
import { NbdProtocolError, WireReader, WireWriter } from "../../nbd/_wire.ts";

Deno.test("wire reader: fields in order, big-endian", () => {
  const r = new WireReader(
    new Uint8Array([0, 7, 0, 0, 1, 2, 0, 0, 0, 1, 0, 0, 0, 3, 9, 8]),
  );
  assert.equal(r.u16("a"), 7);
  assert.equal(r.u32("b"), 258);
  assert.equal(r.u64("c"), 2 ** 32 + 3);
  assert.deepEqual([...r.raw(2, "d")], [9, 8]);
  assert.equal(r.remaining, 0);
  assert.deepEqual([...r.rest()], [], "nothing left");
});

Deno.test("wire reader: never reads past the end, names message and field", () => {
  for (const n of [0, 1, 3, 7]) {
    const r = new WireReader(new Uint8Array(n), "Probe");
    const read = n < 2
      ? () => r.u16("tiny")
      : n < 4
      ? () => r.u32("word")
      : () => r.u64("offset");
    assert.throws(read, (e: Error) => {
      assert.ok(e instanceof NbdProtocolError);
      assert.match(e.message, /^Probe truncated: (tiny|word|offset)$/);
      return true;
    }, `${n} bytes`);
    assert.equal(r.pos, 0, "a failed read consumes nothing");
  }
  const r = new WireReader(new Uint8Array(4));
  assert.throws(() => r.raw(5, "data"), /Message truncated: data/);
  assert.throws(() => r.raw(2 ** 32 - 1, "data"), NbdProtocolError);
  assert.equal(r.raw(4, "data").length, 4, "exactly what is left is fine");
});

Deno.test("wire reader: 64-bit values at the edges of a number", () => {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x1fffff);
  v.setUint32(4, 0xffffffff); // 2^53 - 1
  v.setUint32(8, 0xffffffff);
  v.setUint32(12, 0xffffffff); // 2^64 - 1: inexact, still huge
  const r = new WireReader(b);
  assert.equal(r.u64("max safe"), Number.MAX_SAFE_INTEGER);
  assert.ok(r.u64("max") >= 2 ** 64 - 2 ** 12, "stays larger than any export");
  assert.equal(r.u64("zero"), 0);
});

Deno.test("wire reader: strings follow the protocol's rules", () => {
  const ok = new WireReader(new TextEncoder().encode("mem"));
  assert.equal(ok.string(3, "export name"), "mem");
  const nul = new WireReader(new Uint8Array([0x61, 0, 0x62]));
  assert.throws(() => nul.string(3, "export name"), /String contains NUL/);
  const bad = new WireReader(new Uint8Array([0xff]));
  assert.throws(() => bad.string(1, "query"), /String is not UTF-8: query/);
  const long = new WireReader(new Uint8Array(4097).fill(0x61));
  assert.throws(() => long.string(4097, "name"), /String too long/);
  assert.equal(
    new WireReader(new Uint8Array(4096).fill(0x61)).string(4096, "name")
      .length,
    4096,
    "4096 bytes is the maximum, allowed",
  );
});

Deno.test("wire reader: views start at their own offset", () => {
  const whole = new Uint8Array([1, 2, 3, 0, 0, 0, 5]);
  const r = new WireReader(whole.subarray(3));
  assert.equal(r.u32("n"), 5);
});

Deno.test("wire writer: fields in order into a fresh or a given buffer", () => {
  const w = new WireWriter(16).u16(7).u32(258).u64(2 ** 32 + 3).raw(
    new Uint8Array([9, 8]),
  );
  assert.deepEqual(
    [...w.bytes()],
    [0, 7, 0, 0, 1, 2, 0, 0, 0, 1, 0, 0, 0, 3, 9, 8],
  );
  const buf = new Uint8Array(10);
  const at = new WireWriter(buf.subarray(2), 1).u32(0x01020304).skip(1).u16(
    0xffff,
  );
  assert.deepEqual([...buf], [0, 0, 0, 1, 2, 3, 4, 0, 0xff, 0xff]);
  assert.deepEqual([...at.bytes()], [1, 2, 3, 4, 0, 0xff, 0xff]);
  const v = new DataView(new ArrayBuffer(8));
  new WireWriter(v, 4).u32(1);
  assert.equal(v.getUint32(4), 1);
});

Deno.test("wire writer: writing past the buffer is a RangeError, not a silent cut", () => {
  assert.throws(() => new WireWriter(3).u32(1), RangeError);
  assert.throws(() => new WireWriter(7).u64(1), RangeError);
  assert.throws(() => new WireWriter(2).raw(new Uint8Array(3)), RangeError);
  assert.throws(() => new WireWriter(1).skip(2), RangeError);
  const w = new WireWriter(4).u16(1).u16(2);
  assert.throws(() => w.u16(3), /Buffer too small/);
  assert.equal(w.pos, 4, "a failed write moves nothing");
});
