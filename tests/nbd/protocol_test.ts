// Codecs: round trips, exact layouts, and totality on random input.
import assert from "node:assert/strict";
import {
  checkBlockSize,
  Cmd,
  decodeBlockStatus,
  decodeErrorPayload,
  decodeGoOption,
  decodeGreeting,
  decodeInfo,
  decodeMetaContextOption,
  decodeMetaContextReply,
  decodeOptionHeader,
  decodeOptionReplyHeader,
  decodeRequest,
  decodeServerReply,
  encodeErrorPayload,
  encodeGoOption,
  encodeGreeting,
  encodeInfo,
  encodeMetaContextOption,
  encodeOption,
  encodeOptionReply,
  encodeRequest,
  encodeServerReply,
  type ExportInfo,
  NbdProtocolError,
  Opt,
  Rep,
} from "../../nbd/protocol.ts";
import { getU64, setU64 } from "../../nbd/_u64.ts";

Deno.test("protocol: exact byte layouts", () => {
  assert.deepEqual(
    [...encodeGreeting(3)],
    [
      0x4e,
      0x42,
      0x44,
      0x4d,
      0x41,
      0x47,
      0x49,
      0x43,
      0x49,
      0x48,
      0x41,
      0x56,
      0x45,
      0x4f,
      0x50,
      0x54,
      0,
      3,
    ],
  );
  assert.deepEqual(
    [...encodeOptionReply(Opt.LIST, { type: Rep.ERR_UNSUP })],
    [
      0,
      3,
      0xe8,
      0x89,
      0x04,
      0x55,
      0x65,
      0xa9,
      0,
      0,
      0,
      3,
      0x80,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
    ],
  );
  const req = encodeRequest({
    type: Cmd.WRITE,
    flags: 1,
    cookie: 0x0102030405,
    offset: 2 ** 40,
    length: 3,
  }, {
    data: new Uint8Array([9, 9, 9]),
  });
  assert.deepEqual([...req.subarray(0, 28)], [
    0x25,
    0x60,
    0x95,
    0x13,
    0,
    1,
    0,
    1,
    0,
    0,
    0,
    1,
    2,
    3,
    4,
    5,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    3,
  ]);
  assert.equal(req.length, 31);
  const ext = encodeRequest({
    type: Cmd.TRIM,
    flags: 0,
    cookie: 1,
    offset: 0,
    length: 2 ** 33,
  }, { extended: true });
  assert.equal(ext.length, 32);
  assert.equal(getU64(new DataView(ext.buffer), 24), 2 ** 33);
  assert.throws(
    () =>
      encodeRequest({
        type: 4,
        flags: 0,
        cookie: 1,
        offset: 0,
        length: 2 ** 33,
      }),
    RangeError,
  );
});

Deno.test("protocol: round trips", () => {
  assert.equal(decodeGreeting(encodeGreeting(1)), 1);
  assert.deepEqual(
    decodeOptionHeader(encodeOption(Opt.GO, new Uint8Array(5))),
    { option: 7, length: 5 },
  );
  assert.deepEqual(
    decodeOptionReplyHeader(
      encodeOptionReply(7, { type: Rep.INFO, data: new Uint8Array(2) }),
    ),
    {
      option: 7,
      type: 3,
      length: 2,
    },
  );
  const go = { name: "dîsk", requests: [0, 3, 65535] };
  assert.deepEqual(decodeGoOption(encodeGoOption(go)), go);
  const mc = { name: "x", queries: ["base:allocation", "qemu:dirty-bitmap:b"] };
  assert.deepEqual(decodeMetaContextOption(encodeMetaContextOption(mc)), mc);
  assert.deepEqual(decodeServerReply(encodeServerReply("a", "b c")), {
    name: "a",
    description: "b c",
  });
  const info: ExportInfo = { size: 0, flags: 0 };
  for (
    const i of [
      encodeInfo({ type: "export", size: 2 ** 50 + 3, flags: 0x1ff }),
      encodeInfo({ type: "name", name: "n" }),
      encodeInfo({ type: "description", description: "d" }),
      encodeInfo({
        type: "block size",
        blockSize: { min: 512, preferred: 4096, max: 1 << 25 },
      }),
      new Uint8Array([0, 99, 1, 2, 3]), // unknown info type: ignored
    ]
  ) decodeInfo(i, info);
  assert.deepEqual(info, {
    size: 2 ** 50 + 3,
    flags: 0x1ff,
    name: "n",
    description: "d",
    blockSize: { min: 512, preferred: 4096, max: 1 << 25 },
  });
  assert.deepEqual(
    decodeErrorPayload(
      encodeErrorPayload(5, { message: "Bad sector", offset: 1024 }),
      true,
    ),
    {
      error: 5,
      message: "Bad sector",
      offset: 1024,
    },
  );
  const r = decodeRequest(
    encodeRequest({
      type: 7,
      flags: 8,
      cookie: 2 ** 45 + 1,
      offset: 512,
      length: 99,
    }),
    false,
  );
  assert.deepEqual(r, {
    flags: 8,
    type: 7,
    cookieHi: 2 ** 13,
    cookieLo: 1,
    offset: 512,
    length: 99,
  });
  // Headers read in place at an offset of a larger buffer, alternating
  // between two buffers (the decoder keeps a view of the last one).
  const one = { type: 0, flags: 1, cookie: 3, offset: 2 ** 40, length: 4096 };
  const two = { type: 1, flags: 0, cookie: 4, offset: 8, length: 2 ** 33 };
  const bufA = new Uint8Array(100), bufB = new Uint8Array(100);
  bufA.set(encodeRequest(one), 36);
  bufB.set(encodeRequest(two, { extended: true }), 4);
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(decodeRequest(bufA.subarray(36, 64), false), {
      flags: 1,
      type: 0,
      cookieHi: 0,
      cookieLo: 3,
      offset: 2 ** 40,
      length: 4096,
    });
    assert.equal(decodeRequest(bufB.subarray(4, 36), true).length, 2 ** 33);
  }
  const v = new DataView(new ArrayBuffer(8));
  setU64(v, 0, Number.MAX_SAFE_INTEGER);
  assert.equal(getU64(v, 0), Number.MAX_SAFE_INTEGER);
  assert.deepEqual(
    decodeMetaContextReply(new Uint8Array([0, 0, 0, 1, 0x61, 0x3a])),
    { id: 1, name: "a:" },
  );
});

Deno.test("protocol: block size rules", () => {
  assert.doesNotThrow(() =>
    checkBlockSize({ min: 1, preferred: 512, max: 512 })
  );
  for (
    const bad of [
      { min: 3, preferred: 4096, max: 4096 },
      { min: 1 << 17, preferred: 1 << 17, max: 1 << 17 },
      { min: 512, preferred: 256, max: 4096 },
      { min: 4096, preferred: 4096, max: 4095 },
      { min: 512, preferred: 4096, max: 2 ** 32 },
      { min: 512, preferred: 4096, max: 4096 + 1 },
    ]
  ) assert.throws(() => checkBlockSize(bad), RangeError, JSON.stringify(bad));
});

Deno.test("protocol: decoders are total on random input", () => {
  let seed = 12345;
  const rnd = () =>
    (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  const decoders: ((b: Uint8Array) => unknown)[] = [
    decodeGoOption,
    decodeMetaContextOption,
    decodeServerReply,
    decodeMetaContextReply,
    (b) => decodeInfo(b, { size: 0, flags: 0 }),
    (b) => decodeErrorPayload(b, false),
    (b) => decodeErrorPayload(b, true),
    (b) => decodeBlockStatus(b, false),
    (b) => decodeBlockStatus(b, true),
    (b) => decodeRequest(b, false),
    (b) => decodeRequest(b, true),
    decodeOptionHeader,
    decodeOptionReplyHeader,
    decodeGreeting,
  ];
  let thrown = 0;
  for (let i = 0; i < 20000; i++) {
    const b = new Uint8Array(Math.floor(rnd() * 40));
    for (let j = 0; j < b.length; j++) {
      b[j] = rnd() < 0.5 ? 0 : Math.floor(rnd() * 256);
    }
    for (const d of decoders) {
      try {
        d(b);
      } catch (e) {
        assert.ok(e instanceof NbdProtocolError, `unexpected ${e}`);
        thrown++;
      }
    }
  }
  assert.ok(thrown > 0);
});
