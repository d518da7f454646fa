// The generic netlink codec of the NBD kernel attachment (nbd/_netlink.ts):
// the bytes of NBD_CMD_CONNECT, bounded decoding of what the kernel sends,
// and one real family lookup against this machine's kernel (no NBD driver
// is needed for that; --allow-ffi is).
import assert from "node:assert/strict";
import { NbdLibc } from "../../nbd/_libc.ts";
import {
  attrUint,
  AttrWriter,
  connectAttrs,
  genlAttrs,
  genlRequest,
  GenlSocket,
  NbdAttr,
  NetlinkError,
  parseAttrs,
  parseError,
  parseMessages,
} from "../../nbd/_netlink.ts";

function message(type: number, seq: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(16 + ((payload.length + 3) & ~3));
  const v = new DataView(b.buffer);
  v.setUint32(0, 16 + payload.length, true);
  v.setUint16(4, type, true);
  v.setUint32(8, seq, true);
  b.set(payload, 16);
  return b;
}

Deno.test("netlink: attributes are padded to 4 bytes, lengths unpadded", () => {
  const b = new AttrWriter().u32(1, 7).string(2, "nbd").u64(3, 2 ** 40)
    .bytes();
  assert.deepEqual(
    [...b],
    [
      8,
      0,
      1,
      0,
      7,
      0,
      0,
      0, // u32 7
      8,
      0,
      2,
      0,
      0x6e,
      0x62,
      0x64,
      0, // "nbd\0"
      12,
      0,
      3,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      0,
      0, // u64 2^40, little-endian
    ],
  );
});

Deno.test("netlink: NBD_CMD_CONNECT nests each socket in a SOCK_ITEM", () => {
  const attrs = parseAttrs(connectAttrs({
    size: 1 << 30,
    blockSize: 512,
    timeout: 30,
    deadConnTimeout: 0,
    serverFlags: 0x10d,
    clientFlags: 1,
    fds: [5, 9],
  }));
  assert.equal(
    attrs.has(NbdAttr.INDEX),
    false,
    "no index: the kernel picks one",
  );
  assert.equal(attrUint(attrs.get(NbdAttr.SIZE_BYTES), "size"), 1 << 30);
  assert.equal(attrUint(attrs.get(NbdAttr.BLOCK_SIZE_BYTES), "bs"), 512);
  assert.equal(attrUint(attrs.get(NbdAttr.TIMEOUT), "timeout"), 30);
  assert.equal(attrUint(attrs.get(NbdAttr.SERVER_FLAGS), "flags"), 0x10d);
  const items = [...parseAttrs(attrs.get(NbdAttr.SOCKETS)!).entries()];
  // Both items have type NBD_SOCK_ITEM, so a map keeps the last: walk the bytes.
  assert.equal(items.length, 1);
  const raw = attrs.get(NbdAttr.SOCKETS)!;
  assert.equal(raw.length, 24, "two 12-byte items");
  const v = new DataView(raw.buffer, raw.byteOffset);
  assert.equal(v.getUint16(2, true), 0x8001, "SOCK_ITEM marked nested");
  assert.equal(v.getUint32(8, true), 5);
  assert.equal(v.getUint32(20, true), 9);
  const zeroTimeout = parseAttrs(connectAttrs({
    size: 4096,
    blockSize: 4096,
    timeout: 0,
    deadConnTimeout: 0,
    serverFlags: 1,
    clientFlags: 0,
    fds: [3],
    index: 2,
  }));
  assert.equal(zeroTimeout.has(NbdAttr.TIMEOUT), false, "0 sends no timeout");
  assert.equal(attrUint(zeroTimeout.get(NbdAttr.INDEX), "index"), 2);
});

Deno.test("netlink: a request carries its header, genl header and attributes", () => {
  const b = genlRequest(0x1c, 7, 1, 1, new Uint8Array(8));
  const v = new DataView(b.buffer);
  assert.equal(v.getUint32(0, true), 28);
  assert.equal(v.getUint16(4, true), 0x1c);
  assert.equal(v.getUint16(6, true), 5, "REQUEST|ACK");
  assert.equal(v.getUint32(8, true), 7);
  assert.deepEqual([b[16], b[17]], [1, 1]);
});

Deno.test("netlink: decoding splits messages and reads errors", () => {
  const err = new Uint8Array(20);
  new DataView(err.buffer).setInt32(0, -16, true);
  const two = new Uint8Array([
    ...message(0x1c, 3, new Uint8Array([1, 1, 0, 0, 8, 0, 1, 0, 4, 0, 0, 0])),
    ...message(2, 3, err),
  ]);
  const [reply, ack] = parseMessages(two);
  assert.equal(attrUint(genlAttrs(reply).get(NbdAttr.INDEX), "index"), 4);
  assert.equal(ack.type, 2);
  assert.equal(parseError(ack.payload), -16);
});

Deno.test("netlink: malformed lengths are NetlinkErrors, never other exceptions", () => {
  const good = message(0x10, 1, new Uint8Array(8));
  const cases: [string, () => unknown][] = [
    ["message length below its header", () => {
      const b = good.slice();
      new DataView(b.buffer).setUint32(0, 8, true);
      return parseMessages(b);
    }],
    ["message longer than the datagram", () => {
      const b = good.slice();
      new DataView(b.buffer).setUint32(0, 4096, true);
      return parseMessages(b);
    }],
    [
      "truncated trailing header",
      () => parseMessages(new Uint8Array([...good, 1, 2, 3, 4, 5])),
    ],
    [
      "attribute length below its header",
      () => parseAttrs(new Uint8Array([2, 0, 1, 0])),
    ],
    [
      "attribute past the payload",
      () => parseAttrs(new Uint8Array([64, 0, 1, 0, 0, 0, 0, 0])),
    ],
    ["error message without its errno", () => parseError(new Uint8Array(2))],
    [
      "genl reply without its header",
      () =>
        genlAttrs({ type: 0x10, flags: 0, seq: 1, payload: new Uint8Array(3) }),
    ],
    [
      "integer attribute of 3 bytes",
      () => attrUint(new Uint8Array(3), "index"),
    ],
    ["missing attribute", () => attrUint(undefined, "index")],
  ];
  for (const [what, f] of cases) {
    assert.throws(f, NetlinkError, what);
  }
  assert.deepEqual(parseMessages(new Uint8Array(0)), []);
  assert.equal(
    parseMessages(new Uint8Array([...good, 0, 0])).length,
    1,
    "padding is fine",
  );
});

Deno.test({
  name: "netlink: the kernel names its families; an absent one is undefined",
  ignore: Deno.build.os !== "linux",
}, async () => {
  const lib = NbdLibc.open();
  assert.ok(typeof lib !== "string", `libc: ${lib}`);
  const s = GenlSocket.open(lib);
  try {
    assert.equal(await s.family("nlctrl"), 0x10, "the controller is 0x10");
    assert.equal(await s.family("netfs-none"), undefined);
  } finally {
    s.close();
    lib.release();
  }
});
