// The transmission phase with structured replies: holes and DF, block
// status, error messages and offsets, and extended headers.
import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import type { Device } from "../../nbd/device.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import {
  Cmd,
  CmdFlag,
  decodeBlockStatus,
  decodeErrorPayload,
  encodeGoOption,
  encodeMetaContextOption,
  Errno,
  Opt,
  ReplyType,
  State,
} from "../../nbd/protocol.ts";
import { getU64 } from "../../nbd/_u64.ts";
import { enc } from "./_raw.ts";
import { errnoOf, withPipe, withServer } from "./_transmission_setup.ts";

Deno.test("transmission: structured reads report holes; DF forces one data chunk", () =>
  withServer(
    { mem: new MemoryDevice(1 << 20, { chunkSize: 4096 }) },
    async (s) => {
      const d = await connectNbd({ port: s.addr.port, export: "mem" });
      await d.writeAt(65536, new Uint8Array(4096).fill(7));
      const { data, chunks } = await d.readChunks(0, 131072);
      assert.deepEqual(chunks, [
        { type: "hole", offset: 0, length: 65536 },
        { type: "data", offset: 65536, length: 4096 },
        { type: "hole", offset: 69632, length: 61440 },
      ]);
      assert.equal(data[65536], 7);
      assert.equal(data.reduce((a, b) => a + b, 0), 7 * 4096);
      const df = await d.readChunks(0, 131072, { df: true });
      assert.deepEqual(df.chunks, [{
        type: "data",
        offset: 0,
        length: 131072,
      }]);
      assert.deepEqual(df.data, data);
      await d.close();
    },
  ));

Deno.test("transmission: block status after writes, trims and zeroes", async () => {
  for (const extendedHeaders of [false, true]) {
    await withServer(
      { mem: new MemoryDevice(1 << 20, { chunkSize: 65536 }) },
      async (s) => {
        const d = await connectNbd({
          port: s.addr.port,
          export: "mem",
          extendedHeaders,
        });
        assert.equal(d.extended, extendedHeaders);
        const status = async (off = 0, len = 1 << 20, reqOne = false) =>
          (await d.blockStatus(off, len, { reqOne })).get("base:allocation");
        const H = State.HOLE | State.ZERO;
        assert.deepEqual(await status(), [{ length: 1 << 20, flags: H }]);
        await d.writeAt(65536, new Uint8Array(100).fill(1));
        await d.writeZeroes(196608, 131072, { noHole: true });
        assert.deepEqual(await status(), [
          { length: 65536, flags: H },
          { length: 65536, flags: 0 },
          { length: 65536, flags: H },
          { length: 131072, flags: State.ZERO },
          { length: (1 << 20) - 327680, flags: H },
        ]);
        await d.trim(65536, 65536);
        await d.writeZeroes(196608, 65536);
        assert.deepEqual(await status(), [
          { length: 262144, flags: H },
          { length: 65536, flags: State.ZERO },
          { length: (1 << 20) - 327680, flags: H },
        ]);
        assert.deepEqual(await status(1000, 50000, true), [{
          length: 50000,
          flags: H,
        }]);
        assert.deepEqual(await status(200000, 500000, true), [{
          length: 62144,
          flags: H,
        }]);
        assert.equal(
          await errnoOf(d.blockStatus(0, (1 << 20) + 1)),
          Errno.EINVAL,
        );
        await d.close();
      },
    );
  }
});

Deno.test("transmission: structured errors carry a message; raw chunk layout", () =>
  withPipe({ mem: new MemoryDevice(65536) }, async (s) => {
    const r = await s.connect();
    await r.option(Opt.STRUCTURED_REPLY);
    await r.option(
      Opt.SET_META_CONTEXT,
      encodeMetaContextOption({ name: "mem", queries: ["base:allocation"] }),
    );
    await r.option(Opt.GO, encodeGoOption({ name: "mem", requests: [] }));
    await r.request({ type: Cmd.READ, cookie: 77, offset: 65536, length: 1 });
    const e = await r.chunk();
    assert.equal(e.type, ReplyType.ERROR);
    assert.equal(e.flags, 1);
    assert.equal(e.cookie, 77);
    const p = decodeErrorPayload(e.data, false);
    assert.equal(p.error, Errno.EINVAL);
    assert.match(p.message, /past the end/);
    await r.request({
      type: Cmd.BLOCK_STATUS,
      cookie: 78,
      offset: 0,
      length: 4096,
    });
    const b = await r.chunk();
    assert.equal(b.type, ReplyType.BLOCK_STATUS);
    assert.deepEqual(decodeBlockStatus(b.data, false), {
      id: 1,
      extents: [{ length: 4096, flags: 3 }],
    });
    // Non-read successes may be simple replies even when structured.
    await r.request({ type: Cmd.FLUSH, cookie: 79 });
    assert.deepEqual(await r.simple(), [0, 79]);
    r.close();
  }));

Deno.test("transmission: extended headers carry 64-bit lengths and the request offset", () =>
  withPipe({ big: new MemoryDevice(2 ** 40) }, async (s) => {
    const r = await s.connect();
    await r.option(Opt.EXTENDED_HEADERS);
    await r.option(
      Opt.SET_META_CONTEXT,
      encodeMetaContextOption({ name: "big", queries: ["base:allocation"] }),
    );
    await r.option(Opt.GO, encodeGoOption({ name: "big", requests: [] }));
    // Zero 5 GiB in one request: only possible with a 64-bit length.
    await r.request({
      type: Cmd.WRITE_ZEROES,
      cookie: 1,
      offset: 4096,
      length: 5 * 2 ** 30,
    }, { extended: true });
    const z = await r.chunk(true);
    assert.deepEqual([z.type, z.flags, z.cookie, z.offset], [
      ReplyType.NONE,
      1,
      1,
      4096,
    ]);
    await r.request({
      type: Cmd.BLOCK_STATUS,
      cookie: 2,
      offset: 0,
      length: 6 * 2 ** 30,
    }, { extended: true });
    const b = await r.chunk(true);
    assert.equal(b.type, ReplyType.BLOCK_STATUS_EXT);
    const bs = decodeBlockStatus(b.data, true);
    assert.deepEqual(bs.extents, [{ length: 6 * 2 ** 30, flags: 3 }]);
    assert.equal(
      new DataView(b.data.buffer).getUint32(4),
      1,
      "descriptor count",
    );
    // A payload on a command that takes none is consumed and refused.
    await r.request({
      type: Cmd.FLUSH,
      flags: CmdFlag.PAYLOAD_LEN,
      cookie: 3,
      length: 5,
    }, {
      extended: true,
      data: enc("hello"),
    });
    const e = await r.chunk(true);
    assert.equal(e.type, ReplyType.ERROR);
    assert.equal(decodeErrorPayload(e.data, false).error, Errno.EINVAL);
    await r.request({
      type: Cmd.WRITE,
      flags: CmdFlag.PAYLOAD_LEN,
      cookie: 4,
      offset: 2 ** 39,
      length: 3,
    }, {
      extended: true,
      data: enc("abc"),
    });
    assert.equal((await r.chunk(true)).type, ReplyType.NONE);
    await r.request({ type: Cmd.READ, cookie: 5, offset: 2 ** 39, length: 3 }, {
      extended: true,
    });
    const d = await r.chunk(true);
    assert.equal(d.type, ReplyType.OFFSET_DATA);
    assert.equal(d.offset, 2 ** 39);
    assert.equal(getU64(new DataView(d.data.buffer), 0), 2 ** 39);
    assert.equal(new TextDecoder().decode(d.data.subarray(8)), "abc");
    r.close();
  }));

Deno.test("transmission: structured read errors say where (ERROR_OFFSET)", async () => {
  const mem = new MemoryDevice(1 << 20, { chunkSize: 65536 });
  await mem.writeAt(0, new Uint8Array(1 << 20).fill(1));
  const bad: Device = {
    size: mem.size,
    readAt: (o, into) =>
      o <= 200000 && 200000 < o + into.length
        ? Promise.reject(new Error("Unreadable sector: 200000"))
        : mem.readAt(o, into),
    writeAt: (o, d) => mem.writeAt(o, d),
    flush: () => mem.flush(),
  };
  await withPipe({ bad }, async (s) => {
    const r = await s.connect();
    await r.option(Opt.STRUCTURED_REPLY);
    await r.option(Opt.GO, encodeGoOption({ name: "bad", requests: [] }));
    await r.request({
      type: Cmd.READ,
      cookie: 5,
      offset: 131072,
      length: 131072,
    });
    const c = await r.chunk();
    assert.equal(c.type, ReplyType.ERROR_OFFSET);
    assert.equal(c.flags, 1);
    assert.deepEqual(decodeErrorPayload(c.data, true), {
      error: Errno.EIO,
      message: "Unreadable sector: 200000",
      offset: 131072,
    });
    await r.request({ type: Cmd.READ, cookie: 6, offset: 0, length: 4096 });
    const ok = await r.chunk();
    assert.equal(ok.type, ReplyType.OFFSET_DATA, "the session goes on");
    r.close();
  });
});
