// The transmission phase: commands, error values, flags, concurrency,
// DISC and graceful shutdown. Raw byte exchanges run over an in-memory pipe
// (server reads cut into 1 to 7 bytes); the client and the listener's
// shutdown and idle timeout over sockets.
import assert from "node:assert/strict";
import { connectNbd, NbdHandshake } from "../../nbd/client.ts";
import { type Device, readOnly } from "../../nbd/device.ts";
import { NbdError } from "../../nbd/errors.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import {
  Cmd,
  CmdFlag,
  decodeBlockStatus,
  decodeErrorPayload,
  encodeGoOption,
  encodeMetaContextOption,
  encodeOption,
  Errno,
  Opt,
  ReplyType,
  State,
} from "../../nbd/protocol.ts";
import { getU64 } from "../../nbd/_u64.ts";
import {
  type NbdServer,
  serveNbd,
  type ServeNbdOptions,
} from "../../nbd/server.ts";
import {
  type PipeServer,
  type PipeServerOptions,
  withPipeServer,
} from "./_pipe.ts";
import { enc, Raw } from "./_raw.ts";

async function withServer(
  devices: Record<string, Device>,
  fn: (s: NbdServer) => Promise<void>,
  extra: Partial<ServeNbdOptions> = {},
): Promise<void> {
  const s = serveNbd({
    port: 0,
    exports: Object.entries(devices).map(([name, device]) => ({
      name,
      device,
    })),
    ...extra,
  });
  try {
    await fn(s);
  } finally {
    await s.shutdown();
  }
}

/** The same over an in-memory pipe: serveSession without a socket. */
function withPipe(
  devices: Record<string, Device>,
  fn: (s: PipeServer) => Promise<void>,
  extra: Partial<PipeServerOptions> = {},
): Promise<void> {
  const exports = Object.entries(devices).map(([name, device]) => ({
    name,
    device,
  }));
  return withPipeServer({ exports, ...extra }, fn);
}

/** A raw connection in transmission on `name`, simple replies. */
async function simpleConn(
  server: number | PipeServer,
  name: string,
): Promise<Raw> {
  const r = typeof server === "number"
    ? await Raw.connect(server)
    : await server.connect();
  await r.send(encodeOption(Opt.EXPORT_NAME, enc(name)));
  assert.ok(await r.read(10));
  return r;
}

async function errnoOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NbdError) return e.errno;
    throw e;
  }
  return 0;
}

Deno.test("transmission: simple replies carry the spec's error values", () =>
  withPipe({
    mem: new MemoryDevice(65536),
    ro: readOnly(new MemoryDevice(65536)),
  }, async (s) => {
    const r = await simpleConn(s, "mem");
    const cases: [string, Parameters<Raw["request"]>[0], number][] = [
      [
        "read past end",
        { type: Cmd.READ, offset: 65000, length: 1000 },
        Errno.EINVAL,
      ],
      [
        "offset past end",
        { type: Cmd.READ, offset: 2 ** 50, length: 1 },
        Errno.EINVAL,
      ],
      [
        "offset above 2^53",
        { type: Cmd.READ, offset: 2 ** 60, length: 1 },
        Errno.EINVAL,
      ],
      [
        "trim past end",
        { type: Cmd.TRIM, offset: 65536, length: 1 },
        Errno.EINVAL,
      ],
      [
        "zeroes past end",
        { type: Cmd.WRITE_ZEROES, offset: 65535, length: 2 },
        Errno.ENOSPC,
      ],
      [
        "cache past end",
        { type: Cmd.CACHE, offset: 0, length: 65537 },
        Errno.EINVAL,
      ],
      ["unknown command", { type: 42 }, Errno.EINVAL],
      ["resize", { type: Cmd.RESIZE }, Errno.EINVAL],
      [
        "unknown flag",
        { type: Cmd.READ, flags: 0x100, length: 1 },
        Errno.EINVAL,
      ],
      ["DF without structured", {
        type: Cmd.READ,
        flags: CmdFlag.DF,
        length: 1,
      }, Errno.EINVAL],
      [
        "NO_HOLE on read",
        { type: Cmd.READ, flags: CmdFlag.NO_HOLE, length: 1 },
        Errno.EINVAL,
      ],
      ["REQ_ONE on write zeroes", {
        type: Cmd.WRITE_ZEROES,
        flags: CmdFlag.REQ_ONE,
        length: 1,
      }, Errno.EINVAL],
      [
        "block status without context",
        { type: Cmd.BLOCK_STATUS, length: 512 },
        Errno.EINVAL,
      ],
      ["flush with offset", { type: Cmd.FLUSH, offset: 512 }, Errno.EINVAL],
      [
        "read over max payload",
        { type: Cmd.READ, length: (1 << 26) + 1 },
        Errno.EINVAL,
      ],
      [
        "fine: FUA on read",
        { type: Cmd.READ, flags: CmdFlag.FUA, length: 0 },
        0,
      ],
      ["fine: zero-length trim", { type: Cmd.TRIM, offset: 100, length: 0 }, 0],
      ["fine: cache", { type: Cmd.CACHE, offset: 0, length: 4096 }, 0],
      ["fine: fast zero", {
        type: Cmd.WRITE_ZEROES,
        flags: CmdFlag.FAST_ZERO | CmdFlag.NO_HOLE,
        length: 4096,
      }, 0],
    ];
    let cookie = 100;
    for (const [what, req, want] of cases) {
      await r.request({ ...req, cookie: ++cookie });
      const [err, c] = await r.simple();
      assert.equal(c, cookie, what);
      assert.equal(err, want, what);
    }
    // Writes past the end are ENOSPC and their payload is consumed.
    await r.request({ type: Cmd.WRITE, cookie: 1, offset: 65530, length: 10 }, {
      data: new Uint8Array(10),
    });
    assert.deepEqual(await r.simple(), [Errno.ENOSPC, 1]);
    await r.request({ type: Cmd.FLUSH, cookie: 3 });
    assert.deepEqual(await r.simple(), [0, 3]);
    r.close();

    const ro = await simpleConn(s, "ro");
    for (const type of [Cmd.WRITE, Cmd.TRIM, Cmd.WRITE_ZEROES]) {
      const data = type === Cmd.WRITE ? new Uint8Array(8) : undefined;
      await ro.request({ type, cookie: type, length: 8 }, { data });
      assert.deepEqual(
        await ro.simple(),
        [Errno.EPERM, type],
        `command ${type} on read-only`,
      );
    }
    ro.close();
  }));

Deno.test("transmission: a write payload larger than 128 MiB ends the session", () =>
  withPipe({ mem: new MemoryDevice(65536) }, async (s) => {
    const r = await simpleConn(s, "mem");
    await r.request({
      type: Cmd.WRITE,
      cookie: 1,
      offset: 0,
      length: 0x7fffffff,
    });
    assert.ok(await r.closed());
    r.close();
  }));

Deno.test("transmission: bad request magic ends the session", () =>
  withPipe({ mem: new MemoryDevice(65536) }, async (s) => {
    const r = await simpleConn(s, "mem");
    await r.send(new Uint8Array(28).fill(0x41));
    assert.ok(await r.closed());
    r.close();
  }));

Deno.test("transmission: block size constraints are advertised and enforced", () =>
  withServer({ mem: new MemoryDevice(1 << 20) }, async (s) => {
    const d = await connectNbd({ port: s.addr.port, export: "mem" });
    assert.deepEqual(d.blockSize, { min: 512, preferred: 4096, max: 65536 });
    assert.equal(await errnoOf(d.readAt(1, 512)), Errno.EINVAL);
    assert.equal(await errnoOf(d.readAt(0, 100)), Errno.EINVAL);
    assert.equal(
      await errnoOf(d.writeAt(512, new Uint8Array(513))),
      Errno.EINVAL,
    );
    assert.equal(await errnoOf(d.trim(0, 1000)), Errno.EINVAL);
    assert.equal(await errnoOf(d.readAt(0, 65536 + 512)), Errno.EINVAL);
    assert.equal(
      await errnoOf(d.readAt(0, 65536 + 512, { df: true })),
      Errno.EOVERFLOW,
    );
    // Commands without payload may exceed the maximum payload.
    assert.equal(await errnoOf(d.writeZeroes(0, 1 << 20)), 0);
    assert.equal(await errnoOf(d.readAt(512, 1024)), 0);
    // A write over the maximum payload is refused, its payload skipped.
    assert.equal(
      await errnoOf(d.writeAt(0, new Uint8Array(65536 + 512))),
      Errno.EINVAL,
    );
    assert.equal(await errnoOf(d.writeAt(0, new Uint8Array(512).fill(1))), 0);
    assert.equal((await d.readAt(0, 512))[511], 1);
    await d.close();
  }, { blockSize: { min: 512, max: 65536 } }));

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

Deno.test("transmission: many requests in flight, bounded per connection", async () => {
  let active = 0;
  let peak = 0;
  const mem = new MemoryDevice(1 << 22);
  const slow: Device = {
    size: mem.size,
    multiConn: true,
    async readAt(o, into) {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 1));
      await mem.readAt(o, into);
      active--;
    },
    writeAt: (o, d) => mem.writeAt(o, d),
    flush: () => mem.flush(),
  };
  await withServer({ slow }, async (s) => {
    const d = await connectNbd({
      port: s.addr.port,
      export: "slow",
      maxInFlight: 64,
    });
    const data = crypto.getRandomValues(new Uint8Array(65536));
    await Promise.all(
      Array.from({ length: 64 }, (_, i) => d.writeAt(i * 65536, data)),
    );
    const reads = await Promise.all(
      Array.from({ length: 200 }, (_, i) => d.readAt((i % 64) * 65536, 65536)),
    );
    for (const r of reads) assert.deepEqual(r, data);
    assert.ok(peak > 1, `requests ran concurrently (peak ${peak})`);
    assert.ok(peak <= 8, `at most maxInFlight at once (peak ${peak})`);
    await d.close();
  }, { maxInFlight: 8 });
});

Deno.test("transmission: replies are matched by cookie when they complete out of order", async () => {
  const mem = new MemoryDevice(1 << 20);
  await mem.writeAt(0, enc("first"));
  await mem.writeAt(4096, enc("second"));
  const gates: (() => void)[] = [];
  const gated: Device = {
    size: mem.size,
    async readAt(o, into) {
      if (o === 0) await new Promise<void>((r) => gates.push(r));
      await mem.readAt(o, into);
    },
    writeAt: (o, d) => mem.writeAt(o, d),
    flush: () => mem.flush(),
  };
  await withPipe({ g: gated }, async (s) => {
    const r = await simpleConn(s, "g");
    await r.request({ type: Cmd.READ, cookie: 1, offset: 0, length: 5 });
    await r.request({ type: Cmd.READ, cookie: 2, offset: 4096, length: 6 });
    assert.deepEqual(
      await r.simple(),
      [0, 2],
      "the later request answers first",
    );
    assert.equal(new TextDecoder().decode((await r.read(6))!), "second");
    while (!gates.length) await new Promise((x) => setTimeout(x, 1));
    gates[0]();
    assert.deepEqual(await r.simple(), [0, 1]);
    assert.equal(new TextDecoder().decode((await r.read(5))!), "first");
    r.close();
  });
});

Deno.test("transmission: device errors become error replies; the session goes on", async () => {
  const mem = new MemoryDevice(1 << 20);
  const failing: Device = {
    size: mem.size,
    readAt: (o, into) =>
      o === 0 ? Promise.reject(new Error("Medium error")) : mem.readAt(o, into),
    writeAt: () =>
      Promise.reject(Object.assign(new Error("Quota"), { code: "EDQUOT" })),
    flush: () =>
      Promise.reject(new NbdError(Errno.ENOMEM, "Out of memory: flush")),
  };
  await withServer({ f: failing }, async (s) => {
    const r = await simpleConn(s.addr.port, "f");
    await r.request({ type: Cmd.READ, cookie: 1, length: 512 });
    assert.deepEqual(
      await r.simple(),
      [Errno.EIO, 1],
      "no payload follows an error",
    );
    await r.request({ type: Cmd.WRITE, cookie: 2, length: 4 }, {
      data: enc("data"),
    });
    assert.deepEqual(await r.simple(), [Errno.ENOSPC, 2]);
    await r.request({ type: Cmd.FLUSH, cookie: 3 });
    assert.deepEqual(await r.simple(), [Errno.ENOMEM, 3]);
    await r.request({
      type: Cmd.WRITE_ZEROES,
      flags: CmdFlag.FAST_ZERO,
      cookie: 4,
      length: 4,
    });
    assert.deepEqual(
      await r.simple(),
      [Errno.ENOTSUP, 4],
      "no fast zeroing without device support",
    );
    await r.request({ type: Cmd.READ, cookie: 5, offset: 4096, length: 8 });
    assert.deepEqual(await r.simple(), [0, 5]);
    assert.ok(await r.read(8));
    r.close();
    const d = await connectNbd({ port: s.addr.port, export: "f" });
    const err = await d.readAt(0, 512).catch((e) => e);
    assert.ok(err instanceof NbdError);
    assert.equal(err.code, "EIO");
    assert.match(err.message, /Medium error/);
    await d.close();
  });
});

Deno.test("transmission: DISC answers what is in flight, then closes", () =>
  withPipe({ mem: new MemoryDevice(65536) }, async (s) => {
    const r = await simpleConn(s, "mem");
    const both = new Uint8Array(56);
    both.set((await import("../../nbd/protocol.ts")).encodeRequest({
      type: Cmd.READ,
      flags: 0,
      cookie: 9,
      offset: 0,
      length: 0,
    }));
    both.set(
      (await import("../../nbd/protocol.ts")).encodeRequest({
        type: Cmd.DISC,
        flags: 0,
        cookie: 10,
        offset: 0,
        length: 0,
      }),
      28,
    );
    await r.send(both);
    assert.deepEqual(await r.simple(), [0, 9]);
    assert.ok(await r.closed());
    r.close();
  }));

Deno.test("transmission: graceful shutdown finishes in-flight requests and answers ESHUTDOWN", async () => {
  const mem = new MemoryDevice(65536);
  let release!: () => void;
  const started = Promise.withResolvers<void>();
  const gate = new Promise<void>((r) => release = r);
  const gated: Device = {
    size: mem.size,
    async readAt(o, into) {
      started.resolve();
      await gate;
      await mem.readAt(o, into);
    },
    writeAt: (o, d) => mem.writeAt(o, d),
    flush: () => mem.flush(),
  };
  const s = serveNbd({ port: 0, exports: [{ name: "g", device: gated }] });
  const r = await simpleConn(s.addr.port, "g");
  await r.request({ type: Cmd.READ, cookie: 1, length: 8 });
  await started.promise;
  const done = s.shutdown();
  await r.request({ type: Cmd.FLUSH, cookie: 2 });
  assert.deepEqual(await r.simple(), [Errno.ESHUTDOWN, 2]);
  release();
  assert.deepEqual(await r.simple(), [0, 1]);
  assert.ok(await r.read(8));
  assert.ok(await r.closed(), "closed once nothing is in flight");
  r.close();
  await done;
});

Deno.test("transmission: the client reports ESHUTDOWN and server-side closes", async () => {
  const s = serveNbd({
    port: 0,
    exports: [{ name: "m", device: new MemoryDevice(4096) }],
  });
  const h = await NbdHandshake.connect({ port: s.addr.port });
  const d = await h.go("m");
  const id = s.connections()[0].id;
  s.disconnect(id);
  await assert.rejects(d.readAt(0, 10), /closed/);
  await d.close();
  await s.shutdown();
});

Deno.test("server: an aborted signal shuts down; idle connections time out", async () => {
  const ac = new AbortController();
  const s = serveNbd({
    port: 0,
    signal: ac.signal,
    idleTimeout: 50,
    exports: [{ name: "m", device: new MemoryDevice(4096) }],
  });
  const idle = await simpleConn(s.addr.port, "m");
  assert.ok(await idle.closed(), "closed after 50 ms of silence");
  idle.close();
  const busy = await connectNbd({ port: s.addr.port, export: "m" });
  ac.abort();
  await s.finished;
  await assert.rejects(busy.readAt(0, 1));
  await busy.close();
});

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
