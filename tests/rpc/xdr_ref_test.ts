import assert from "node:assert/strict";
import { XdrReader, XdrWriter } from "../../rpc/xdr.ts";

const mark = (view: DataView, len: number) => view.setUint32(0, len);

function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

Deno.test("xdr: opaqueRef keeps large aligned data apart and counts it", () => {
  const w = new XdrWriter({ reserve: 4, refMin: 64 });
  const data = pattern(128);
  w.u32(9).opaqueRef(data);
  assert.equal(w.length, 4 + 4 + 128);
  const { head, tail } = w.framed(mark);
  assert.equal(tail, data, "kept by reference");
  assert.equal(head.length, 4 + 8);
  const v = new DataView(head.buffer, head.byteOffset);
  assert.equal(v.getUint32(0), 136, "the header counts the tail");
  const whole = new Uint8Array(head.length - 4 + tail!.length);
  whole.set(head.subarray(4));
  whole.set(tail!, head.length - 4);
  const r = new XdrReader(whole);
  assert.equal(r.u32(), 9);
  assert.deepEqual(r.opaque(1000), data);
  r.end();
});

Deno.test("xdr: opaqueRef copies when small, unaligned, or not allowed", () => {
  for (
    const [w, n] of [
      [new XdrWriter({ reserve: 4, refMin: 64 }), 60],
      [new XdrWriter({ reserve: 4, refMin: 64 }), 130],
      [new XdrWriter({ reserve: 4 }), 4096],
    ] as const
  ) {
    const data = pattern(n);
    w.opaqueRef(data);
    assert.equal(w.framed(mark).tail, null, `${n} bytes copied`);
    const r = new XdrReader(w.bytes());
    assert.deepEqual(r.opaque(10000), data);
    r.end();
  }
});

Deno.test("xdr: writing after opaqueRef, bytes() and withHeader() copy the data in", () => {
  const data = pattern(256, 7);
  const a = new XdrWriter({ reserve: 4, refMin: 16 });
  a.opaqueRef(data).u32(5);
  assert.equal(a.framed(mark).tail, null);
  let r = new XdrReader(a.bytes());
  assert.deepEqual(r.opaque(1000), data);
  assert.equal(r.u32(), 5);
  r.end();

  const b = new XdrWriter({ reserve: 4, refMin: 16 });
  b.opaqueRef(data);
  r = new XdrReader(b.bytes());
  assert.deepEqual(r.opaque(1000), data);
  r.end();

  const c = new XdrWriter({ reserve: 4, refMin: 16 });
  c.opaqueRef(data);
  const framed = c.withHeader(mark);
  assert.equal(framed.length, 4 + 4 + 256);
  assert.equal(new DataView(framed.buffer).getUint32(0), 260);
  assert.deepEqual(framed.subarray(8), data);

  // A second opaqueRef copies the first in: only the last item stays apart.
  const d = new XdrWriter({ reserve: 4, refMin: 16 });
  d.opaqueRef(data).opaqueRef(data);
  const { tail } = d.framed(mark);
  assert.equal(tail, data);
  assert.equal(d.length, 2 * (4 + 256));
});

Deno.test("xdr: reset forgets by-reference data", () => {
  const w = new XdrWriter({ reserve: 4, refMin: 16 });
  w.opaqueRef(pattern(64));
  w.reset();
  assert.equal(w.length, 0);
  w.u32(3);
  const { head, tail } = w.framed(mark);
  assert.equal(tail, null);
  assert.deepEqual([...head], [0, 0, 0, 4, 0, 0, 0, 3]);
});

Deno.test("xdr: strings and small opaques encode the same on every path", () => {
  const names = [
    "",
    "a",
    "abcd",
    "file.12345",
    "x".repeat(64),
    "y".repeat(65),
    "név",
    "abc\u00e9",
    "\u{1f600}z",
    "a".repeat(63) + "\u00ff",
  ];
  const w = new XdrWriter({ size: 8 });
  for (const s of names) w.string(s);
  const blobs = [0, 1, 3, 4, 20, 31, 32, 33, 64].map((n) => pattern(n, n));
  for (const b of blobs) w.opaque(b);
  const r = new XdrReader(w.bytes());
  for (const s of names) assert.equal(r.string(1000), s);
  for (const b of blobs) assert.deepEqual(r.opaque(1000), b);
  r.end();
  // Padding bytes are zero even when the buffer held other bytes before.
  const v = new XdrWriter({ size: 64 });
  v.fixedOpaque(new Uint8Array(16).fill(0xff));
  v.reset();
  v.string("abcde").opaque(new Uint8Array([1]));
  assert.deepEqual(
    [...v.bytes()],
    [0, 0, 0, 5, 97, 98, 99, 100, 101, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0],
  );
});
