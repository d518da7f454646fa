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

Deno.test("xdr: every integer type at 0, 2^32-1, 2^53 and 2^64-1", () => {
  const w = new XdrWriter({ size: 1 });
  w.u32(0).u32(2 ** 32 - 1).i32(2 ** 31 - 1).i32(0);
  w.u64(2 ** 32 - 1).u64(2 ** 32).u64(2 ** 53 - 1);
  w.u64big(0n).u64big(2n ** 53n).u64big(2n ** 64n - 1n);
  w.i64(0).i64(-1).i64(2 ** 53 - 1).i64(-(2 ** 32));
  w.i64big(2n ** 63n - 1n).i64big(-1n);
  w.u64big(2n ** 53n).u64big(2n ** 64n - 1n); // for u64sat
  const r = new XdrReader(w.bytes());
  assert.equal(r.u32(), 0);
  assert.equal(r.u32(), 2 ** 32 - 1);
  assert.equal(r.i32(), 2 ** 31 - 1);
  assert.equal(r.i32(), 0);
  assert.equal(r.u64(), 2 ** 32 - 1);
  assert.equal(r.u64(), 2 ** 32);
  assert.equal(r.u64(), 2 ** 53 - 1);
  assert.equal(r.u64big(), 0n);
  assert.equal(r.u64big(), 2n ** 53n);
  assert.equal(r.u64big(), 2n ** 64n - 1n);
  assert.equal(r.i64(), 0);
  assert.equal(r.i64(), -1);
  assert.equal(r.i64(), 2 ** 53 - 1);
  assert.equal(r.i64(), -(2 ** 32));
  assert.equal(r.i64big(), 2n ** 63n - 1n);
  assert.equal(r.i64big(), -1n);
  assert.equal(r.u64sat(), Number.MAX_SAFE_INTEGER, "2^53 saturates");
  assert.equal(r.u64sat(), Number.MAX_SAFE_INTEGER);
  r.end();
  // The wire form is big-endian.
  assert.deepEqual(
    [...new XdrWriter().u64(2 ** 32 + 5).bytes()],
    [0, 0, 0, 1, 0, 0, 0, 5],
  );
  assert.deepEqual([...new XdrWriter().i32(-2).bytes()], [255, 255, 255, 254]);
  // i64 outside the safe range is refused without advancing.
  const big = new XdrReader(new XdrWriter().i64big(2n ** 62n).bytes());
  assert.throws(() => big.i64("offset"), /safe range.*offset/);
  assert.equal(big.pos, 0);
});

Deno.test("xdr: enums, optionals and lists", () => {
  const allowed = new Set([0, 1, 5]);
  const w = new XdrWriter().i32(5).i32(2);
  w.optional(7, (x, v) => x.u32(v)).optional(
    undefined,
    (x, v: number) => x.u32(v),
  );
  w.bool(true).u32(1).bool(true).u32(2).bool(false);
  const r = new XdrReader(w.bytes());
  assert.equal(r.enumOf(allowed), 5);
  assert.throws(
    () => r.enumOf(allowed, "ftype"),
    /Invalid enum value: 2.*ftype/,
  );
  assert.equal(r.optional((x) => x.u32()), 7);
  assert.equal(r.optional((x) => x.u32()), undefined);
  assert.deepEqual(r.list(2, (x) => x.u32()), [1, 2]);
  r.end();
  const three = new XdrWriter();
  for (let i = 0; i < 3; i++) three.bool(true).u32(i);
  three.bool(false);
  assert.throws(
    () => new XdrReader(three.bytes()).list(2, (x) => x.u32()),
    /List longer than 2/,
  );
});

Deno.test("xdr: empty, maximum-length and padded opaques and strings", () => {
  for (const max of [0, 1, 4, 1024, 65536]) {
    const data = new Uint8Array(max).fill(0xab);
    const w = new XdrWriter().opaque(data).fixedOpaque(data).string(
      "é".repeat(max >> 1),
    );
    const r = new XdrReader(w.bytes());
    assert.deepEqual(r.opaque(max), data);
    assert.deepEqual(r.fixedOpaque(max), data);
    assert.equal(r.string(max), "é".repeat(max >> 1));
    r.end();
  }
  // Padding bytes are zero.
  const p = new XdrWriter().opaque(new Uint8Array([1])).bytes();
  assert.deepEqual([...p], [0, 0, 0, 1, 1, 0, 0, 0]);
  const s = new XdrWriter().string("abcde").bytes();
  assert.deepEqual([...s.subarray(4)], [97, 98, 99, 100, 101, 0, 0, 0]);
  // Arrays of every edge size.
  for (const n of [0, 1, 16]) {
    const items = Array.from({ length: n }, (_, i) => i * 3);
    const a = new XdrWriter().array(items, (x, v) => x.u32(v)).bytes();
    assert.deepEqual(new XdrReader(a).array(16, (x) => x.u32()), items);
  }
});

Deno.test("xdr: a decode past every kind of end is refused", () => {
  const R = (...bytes: number[]) => new XdrReader(new Uint8Array(bytes));
  const overruns: [string, () => unknown, RegExp][] = [
    ["u32 short", () => R(0, 0, 0).u32(), /ends early/],
    ["i32 short", () => R(0).i32(), /ends early/],
    ["u64 short", () => R(0, 0, 0, 0, 0, 0, 0).u64(), /ends early/],
    ["u64sat short", () => R(0, 0, 0, 0).u64sat(), /ends early/],
    ["u64big short", () => R(0, 0, 0, 0, 0).u64big(), /ends early/],
    ["i64 short", () => R(1, 2, 3).i64(), /ends early/],
    ["i64big short", () => R().i64big(), /ends early/],
    ["bool short", () => R(0, 0).bool(), /ends early/],
    ["bool out of range", () => R(0, 0, 0, 9).bool(), /Invalid boolean: 9/],
    ["enum short", () => R(0).enumOf(new Set([0])), /ends early/],
    ["fixed opaque short", () => R(1, 2, 3).fixedOpaque(4), /ends early/],
    [
      "fixed opaque padding missing",
      () => R(1, 2, 3, 4, 5).fixedOpaque(5),
      /ends early/,
    ],
    ["opaque length short", () => R(0, 0).opaque(10), /ends early/],
    [
      "opaque over max",
      () => R(0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0).opaque(4),
      /Length 5 exceeds maximum 4/,
    ],
    [
      "opaque past end",
      () => R(0, 0, 0, 8, 1, 2, 3, 4).opaque(100),
      /need 8 bytes, 4 left/,
    ],
    ["opaque padding missing", () => R(0, 0, 0, 1, 7).opaque(4), /ends early/],
    [
      "opaque 2^32-1",
      () => R(255, 255, 255, 255).opaque(2 ** 32),
      /need 4294967296/,
    ],
    [
      "string over max",
      () => R(0, 0, 0, 3, 97, 98, 99, 0).string(2),
      /exceeds maximum 2/,
    ],
    [
      "string bad UTF-8",
      () => R(0, 0, 0, 2, 0xc3, 0x28, 0, 0).string(8),
      /UTF-8/,
    ],
    [
      "array over max",
      () =>
        R(0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3).array(
          2,
          (x) => x.u32(),
        ),
      /exceeds maximum 2/,
    ],
    [
      "array cannot fit",
      () => R(0, 0, 1, 0).array(1000, (x) => x.u32()),
      /cannot fit/,
    ],
    [
      "array element short",
      () => R(0, 0, 0, 1, 0, 0, 0, 0).array(9, (x) => x.u64()),
      /ends early/,
    ],
    [
      "array of 8-byte items",
      () =>
        R(0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0).array(
          9,
          (x) => x.u64(),
          "",
          8,
        ),
      /cannot fit/,
    ],
    [
      "optional value short",
      () => R(0, 0, 0, 1).optional((x) => x.u32()),
      /ends early/,
    ],
    [
      "list without terminator",
      () => R(0, 0, 0, 1, 0, 0, 0, 5).list(9, (x) => x.u32()),
      /ends early/,
    ],
    ["trailing data", () => R(0, 0, 0, 0, 0).end(), /Trailing data: 5 bytes/],
  ];
  for (const [what, fn, msg] of overruns) {
    assert.throws(
      fn,
      (e) => e instanceof XdrError && msg.test(e.message),
      what,
    );
  }
});

Deno.test("xdr: writer skip, setU32At, withHeader, reset and growth", () => {
  const w = new XdrWriter({ size: 8, reserve: 4 });
  const at = w.skip(4);
  w.opaque(new Uint8Array(1000));
  w.setU32At(at, 0xdeadbeef);
  assert.ok(w.capacity >= 1012);
  const framed = w.withHeader((view, len) => view.setUint32(0, len));
  assert.equal(framed.length, 4 + 4 + 4 + 1000);
  const v = new DataView(framed.buffer, framed.byteOffset);
  assert.equal(v.getUint32(0), 1008);
  assert.equal(v.getUint32(4), 0xdeadbeef);
  const cap = w.capacity;
  w.reset();
  assert.equal(w.length, 0);
  assert.equal(w.capacity, cap, "reset keeps the buffer");
  w.u32(1);
  assert.deepEqual([...w.bytes()], [0, 0, 0, 1]);
});

Deno.test("xdr: lengths near 2^31 and 2^32 cannot wrap the padding", () => {
  for (
    const n of [2 ** 31 - 1, 2 ** 31 - 3, 2 ** 31, 2 ** 32 - 1, 2 ** 32 - 3]
  ) {
    const bytes = new XdrWriter().u32(n).u32(1).u32(2).bytes();
    const r = new XdrReader(bytes);
    assert.throws(() => r.opaque(2 ** 32), /ends early/, String(n));
    assert.throws(
      () => new XdrReader(bytes, 4).fixedOpaque(n),
      /ends early/,
      String(n),
    );
  }
});

Deno.test("xdr: strings decode the same on both sides of the ASCII shortcut (255 bytes)", () => {
  const cases = [
    "",
    "a",
    "x".repeat(255),
    "x".repeat(256),
    "y".repeat(254) + "é",
    "\0\x7f",
    "z".repeat(4000),
  ];
  for (const s of cases) {
    const bytes = new XdrWriter().string(s).bytes();
    assert.equal(new XdrReader(bytes).string(8192), s, `${s.length} chars`);
  }
  // Invalid UTF-8 past the shortcut's reach, and within it, is still refused.
  const bad = new Uint8Array([0, 0, 0, 2, 0x80, 0x41, 0, 0]);
  assert.throws(() => new XdrReader(bad).string(8), /UTF-8/);
});
