// Every handshake path of the server, byte by byte: protocol paths over an
// in-memory pipe (server reads cut into 1 to 7 bytes), what needs the
// listener (admission, connection events, shutdown) over a socket.
import assert from "node:assert/strict";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import {
  Cmd,
  decodeInfo,
  decodeMetaContextReply,
  decodeServerReply,
  encodeGoOption,
  encodeMetaContextOption,
  encodeOption,
  type ExportInfo,
  Info,
  Opt,
  Rep,
  TxFlag,
} from "../../nbd/protocol.ts";
import { getU64 } from "../../nbd/_u64.ts";
import { type NbdServer, serveNbd } from "../../nbd/server.ts";
import {
  type PipeServer,
  type PipeServerOptions,
  withPipeServer,
} from "./_pipe.ts";
import { dec, enc, Raw } from "./_raw.ts";

const EXPORTS = () => [
  {
    name: "mem",
    device: new MemoryDevice(1 << 20),
    description: "a test disk",
  },
  { name: "small", device: new MemoryDevice(4096) },
];

function start(extra: Partial<Parameters<typeof serveNbd>[0]> = {}): NbdServer {
  return serveNbd({
    port: 0,
    exports: EXPORTS(),
    defaultExport: "mem",
    ...extra,
  });
}

function withPipe(
  fn: (s: PipeServer) => Promise<void>,
  extra: Partial<PipeServerOptions> = {},
): Promise<void> {
  return withPipeServer(
    { exports: EXPORTS(), defaultExport: "mem", ...extra },
    fn,
  );
}

function u32be(b: Uint8Array, at = 0): number {
  return new DataView(b.buffer, b.byteOffset).getUint32(at);
}

Deno.test("handshake: greeting is fixed newstyle with NO_ZEROES", () =>
  withPipe(async (s) => {
    const r = await s.connect(undefined);
    assert.equal(dec(r.greeting.subarray(0, 8)), "NBDMAGIC");
    assert.equal(dec(r.greeting.subarray(8, 16)), "IHAVEOPT");
    assert.equal(new DataView(r.greeting.buffer).getUint16(16), 3);
    r.close();
  }));

Deno.test("handshake: unknown client flags end the session", () =>
  withPipe(async (s) => {
    for (const flags of [4, 0x80000001, 7]) {
      const r = await s.connect(flags);
      assert.ok(await r.closed(), `flags ${flags}`);
      r.close();
    }
  }));

Deno.test("handshake: EXPORT_NAME with and without NO_ZEROES", () =>
  withPipe(async (s) => {
    const a = await s.connect(1);
    await a.send(encodeOption(Opt.EXPORT_NAME, enc("mem")));
    const info = await a.read(134);
    assert.ok(info);
    assert.equal(getU64(new DataView(info.buffer), 0), 1 << 20);
    assert.ok(info.subarray(10).every((x) => x === 0), "124 zero bytes");
    // Now in transmission with simple replies.
    await a.request({ type: Cmd.READ, cookie: 5, offset: 0, length: 16 });
    assert.deepEqual(await a.simple(), [0, 5]);
    assert.ok((await a.read(16))!.every((x) => x === 0));
    a.close();

    const b = await s.connect(3);
    await b.send(encodeOption(Opt.EXPORT_NAME, enc("")));
    const short = await b.read(10);
    assert.ok(short);
    assert.equal(
      getU64(new DataView(short.buffer), 0),
      1 << 20,
      "empty name is the default",
    );
    const flags = new DataView(short.buffer).getUint16(8);
    assert.ok(flags & TxFlag.HAS_FLAGS);
    assert.equal(flags & TxFlag.SEND_DF, 0, "no DF without structured replies");
    await b.request({ type: Cmd.FLUSH, cookie: 9 });
    assert.deepEqual(await b.simple(), [0, 9]);
    b.close();
  }));

Deno.test("handshake: EXPORT_NAME of an unknown export closes", () =>
  withPipe(async (s) => {
    const r = await s.connect();
    await r.send(encodeOption(Opt.EXPORT_NAME, enc("nope")));
    assert.ok(await r.closed());
    r.close();
  }));

Deno.test("handshake: ABORT is acknowledged and the server hangs up", () =>
  withPipe(async (s) => {
    const r = await s.connect();
    const [ack] = await r.option(Opt.ABORT, enc("ignored data"));
    assert.equal(ack.type, Rep.ACK);
    assert.ok(await r.closed());
    r.close();
  }));

Deno.test("handshake: LIST names every export; data is invalid; stream stays in sync", () =>
  withPipe(async (s) => {
    const r = await s.connect();
    const replies = await r.option(Opt.LIST);
    assert.equal(replies.at(-1)!.type, Rep.ACK);
    const servers = replies.filter((x) => x.type === Rep.SERVER).map((x) =>
      decodeServerReply(x.data)
    );
    assert.deepEqual(servers, [
      { name: "mem", description: "a test disk" },
      { name: "small", description: "" },
    ]);
    const bad = await r.option(Opt.LIST, enc("junk"));
    assert.equal(bad.length, 1);
    assert.equal(bad[0].type, Rep.ERR_INVALID);
    assert.equal((await r.option(Opt.LIST)).at(-1)!.type, Rep.ACK);
    r.close();
  }));

Deno.test("handshake: unknown options get ERR_UNSUP after their payload is consumed", () =>
  withPipe(async (s) => {
    const r = await s.connect();
    for (const opt of [Opt.PEEK_EXPORT, 12, 99, 0x7fffffff, 0]) {
      const payload = new Uint8Array(1000).fill(0x49); // looks like IHAVEOPT bytes
      const [rep] = await r.option(opt, payload);
      assert.equal(rep.type, Rep.ERR_UNSUP, `option ${opt}`);
      assert.match(dec(rep.data), /Unsupported option/);
    }
    assert.equal(
      (await r.option(Opt.LIST)).at(-1)!.type,
      Rep.ACK,
      "still in sync",
    );
    r.close();
  }));

Deno.test("handshake: oversized option length closes; bad option magic closes", () =>
  withPipe(async (s) => {
    const a = await s.connect();
    const h = encodeOption(Opt.LIST);
    new DataView(h.buffer).setUint32(12, 1 << 30);
    await a.send(h);
    assert.ok(await a.closed());
    a.close();
    const b = await s.connect();
    const m = encodeOption(Opt.LIST);
    m[0] ^= 0xff;
    await b.send(m);
    assert.ok(await b.closed());
    b.close();
  }));

Deno.test("handshake: INFO answers every information type and stays in haggling", () =>
  withPipe(async (s) => {
    const r = await s.connect();
    const replies = await r.option(
      Opt.INFO,
      encodeGoOption({
        name: "mem",
        requests: [Info.NAME, Info.DESCRIPTION, Info.BLOCK_SIZE, 77],
      }),
    );
    assert.equal(replies.at(-1)!.type, Rep.ACK);
    const info: ExportInfo = { size: -1, flags: 0 };
    for (const x of replies.slice(0, -1)) {
      assert.equal(x.type, Rep.INFO);
      decodeInfo(x.data, info);
    }
    assert.equal(info.size, 1 << 20);
    assert.equal(info.name, "mem");
    assert.equal(info.description, "a test disk");
    assert.deepEqual(info.blockSize, { min: 1, preferred: 4096, max: 1 << 26 });
    assert.ok(info.flags & TxFlag.SEND_TRIM);
    assert.ok(info.flags & TxFlag.CAN_MULTI_CONN);
    assert.ok(info.flags & TxFlag.SEND_FAST_ZERO);
    // Unknown export, malformed data: errors, and the stream stays usable.
    assert.equal(
      (await r.option(Opt.INFO, encodeGoOption({ name: "x", requests: [] })))[0]
        .type,
      Rep.ERR_UNKNOWN,
    );
    const bad = encodeGoOption({ name: "mem", requests: [1] });
    new DataView(bad.buffer).setUint32(0, 1000); // name length past the end
    assert.equal((await r.option(Opt.INFO, bad))[0].type, Rep.ERR_INVALID);
    const odd = encodeGoOption({ name: "mem", requests: [1, 2] });
    assert.equal(
      (await r.option(Opt.INFO, odd.subarray(0, odd.length - 1)))[0].type,
      Rep.ERR_INVALID,
    );
    assert.equal(
      (await r.option(Opt.INFO, new Uint8Array(3)))[0].type,
      Rep.ERR_INVALID,
    );
    const nul = encodeGoOption({ name: "m\0m", requests: [] });
    assert.equal((await r.option(Opt.INFO, nul))[0].type, Rep.ERR_INVALID);
    // INFO on the default export by empty name.
    const def = await r.option(
      Opt.INFO,
      encodeGoOption({ name: "", requests: [Info.NAME] }),
    );
    const di: ExportInfo = { size: 0, flags: 0 };
    for (const x of def.slice(0, -1)) decodeInfo(x.data, di);
    assert.equal(di.name, "mem");
    r.close();
  }));

Deno.test("handshake: without a default export the empty name is unknown", () =>
  withPipe(async (s) => {
    const r = await s.connect();
    const [rep] = await r.option(
      Opt.GO,
      encodeGoOption({ name: "", requests: [] }),
    );
    assert.equal(rep.type, Rep.ERR_UNKNOWN);
    r.close();
  }, { defaultExport: undefined }));

Deno.test("handshake: GO enters transmission", () =>
  withPipe(async (s) => {
    const r = await s.connect();
    const replies = await r.option(
      Opt.GO,
      encodeGoOption({ name: "small", requests: [] }),
    );
    assert.equal(replies.at(-1)!.type, Rep.ACK);
    const info: ExportInfo = { size: 0, flags: 0 };
    for (const x of replies.slice(0, -1)) decodeInfo(x.data, info);
    assert.equal(info.size, 4096);
    await r.request({ type: Cmd.WRITE, cookie: 3, offset: 0, length: 4 }, {
      data: enc("abcd"),
    });
    assert.deepEqual(await r.simple(), [0, 3]);
    await r.request({ type: Cmd.READ, cookie: 4, offset: 0, length: 4 });
    assert.deepEqual(await r.simple(), [0, 4]);
    assert.equal(dec((await r.read(4))!), "abcd");
    r.close();
  }));

Deno.test("handshake: STRUCTURED_REPLY rules", () =>
  withPipe(async (s) => {
    const r = await s.connect();
    assert.equal(
      (await r.option(Opt.STRUCTURED_REPLY, enc("x")))[0].type,
      Rep.ERR_INVALID,
    );
    assert.equal((await r.option(Opt.STRUCTURED_REPLY))[0].type, Rep.ACK);
    assert.equal(
      (await r.option(Opt.STRUCTURED_REPLY))[0].type,
      Rep.ERR_INVALID,
      "twice",
    );
    const go = await r.option(
      Opt.GO,
      encodeGoOption({ name: "mem", requests: [] }),
    );
    const info: ExportInfo = { size: 0, flags: 0 };
    decodeInfo(go[0].data, info);
    assert.ok(info.flags & TxFlag.SEND_DF, "DF once structured");
    // Reads are structured now.
    await r.request({ type: Cmd.READ, cookie: 8, offset: 512, length: 100 });
    const c = await r.chunk();
    assert.equal(c.cookie, 8);
    assert.equal(c.type, 1); // OFFSET_DATA
    assert.equal(c.flags & 1, 1);
    assert.equal(getU64(new DataView(c.data.buffer), 0), 512);
    assert.equal(c.data.length, 108);
    r.close();

    const e = await s.connect();
    assert.equal((await e.option(Opt.EXTENDED_HEADERS))[0].type, Rep.ACK);
    assert.equal(
      (await e.option(Opt.STRUCTURED_REPLY))[0].type,
      Rep.ERR_EXT_HEADER_REQD,
    );
    e.close();
  }));

Deno.test("handshake: meta contexts", () =>
  withPipe(async (s) => {
    const r = await s.connect();
    const q = (name: string, queries: string[]) =>
      encodeMetaContextOption({ name, queries });
    assert.equal(
      (await r.option(Opt.SET_META_CONTEXT, q("mem", ["base:allocation"])))[0]
        .type,
      Rep.ERR_INVALID,
      "needs structured replies first",
    );
    await r.option(Opt.STRUCTURED_REPLY);
    const names = async (opt: number, data: Uint8Array) => {
      const rs = await r.option(opt, data);
      assert.equal(rs.at(-1)!.type, Rep.ACK);
      return rs.slice(0, -1).map((x) => decodeMetaContextReply(x.data));
    };
    assert.deepEqual(await names(Opt.LIST_META_CONTEXT, q("mem", [])), [{
      id: 0,
      name: "base:allocation",
    }]);
    assert.deepEqual(await names(Opt.LIST_META_CONTEXT, q("mem", ["base:"])), [{
      id: 0,
      name: "base:allocation",
    }]);
    assert.deepEqual(
      await names(
        Opt.LIST_META_CONTEXT,
        q("mem", ["qemu:dirty-bitmap:x", "base:other"]),
      ),
      [],
    );
    assert.equal(
      (await r.option(Opt.LIST_META_CONTEXT, q("mem", ["nocolon"])))[0].type,
      Rep.ERR_INVALID,
    );
    assert.equal(
      (await r.option(Opt.LIST_META_CONTEXT, q("zzz", [])))[0].type,
      Rep.ERR_UNKNOWN,
    );
    const trunc = q("mem", ["base:allocation"]);
    assert.equal(
      (await r.option(
        Opt.SET_META_CONTEXT,
        trunc.subarray(0, trunc.length - 2),
      ))[0].type,
      Rep.ERR_INVALID,
    );
    const huge = q("mem", []);
    new DataView(huge.buffer).setUint32(huge.length - 4, 0xffffffff);
    assert.equal(
      (await r.option(Opt.SET_META_CONTEXT, huge))[0].type,
      Rep.ERR_INVALID,
    );
    assert.deepEqual(
      await names(
        Opt.SET_META_CONTEXT,
        q("mem", ["base:", "base:allocation", "x-y:z"]),
      ),
      [{
        id: 1,
        name: "base:allocation",
      }],
    );
    r.close();
  }));

Deno.test("handshake: STARTTLS is refused when TLS is off", () =>
  withPipe(async (s) => {
    const r = await s.connect();
    assert.equal((await r.option(Opt.STARTTLS))[0].type, Rep.ERR_POLICY);
    assert.equal(
      (await r.option(Opt.STARTTLS, enc("x")))[0].type,
      Rep.ERR_INVALID,
    );
    assert.equal((await r.option(Opt.LIST)).at(-1)!.type, Rep.ACK);
    r.close();
  }));

Deno.test("handshake: TLS required refuses everything but STARTTLS and ABORT", async () => {
  // A certificate is not needed to see the refusals (no upgrade happens).
  await withPipe(async (s) => {
    const r = await s.connect();
    for (const opt of [Opt.LIST, Opt.INFO, Opt.GO, Opt.STRUCTURED_REPLY, 99]) {
      const data = opt === Opt.INFO || opt === Opt.GO
        ? encodeGoOption({ name: "mem", requests: [] })
        : undefined;
      assert.equal(
        (await r.option(opt, data))[0].type,
        Rep.ERR_TLS_REQD,
        `option ${opt}`,
      );
    }
    await r.send(encodeOption(Opt.EXPORT_NAME, enc("mem")));
    assert.ok(await r.closed(), "EXPORT_NAME cannot be refused politely");
    r.close();
    const nf = await s.connect(0);
    assert.ok(await nf.closed(), "no TLS without fixed newstyle");
    nf.close();
  }, { tls: { mode: "required", cert: "unused", key: "unused" } });
});

Deno.test("handshake: EXTENDED_HEADERS then EXPORT_NAME closes, GO uses extended replies", () =>
  withPipe(async (s) => {
    const a = await s.connect();
    assert.equal(
      (await a.option(Opt.EXTENDED_HEADERS, enc("x")))[0].type,
      Rep.ERR_INVALID,
    );
    assert.equal((await a.option(Opt.EXTENDED_HEADERS))[0].type, Rep.ACK);
    assert.equal(
      (await a.option(Opt.EXTENDED_HEADERS))[0].type,
      Rep.ERR_INVALID,
      "twice",
    );
    await a.send(encodeOption(Opt.EXPORT_NAME, enc("mem")));
    assert.ok(await a.closed());
    a.close();

    const b = await s.connect();
    await b.option(Opt.EXTENDED_HEADERS);
    assert.equal(
      (await b.option(Opt.GO, encodeGoOption({ name: "mem", requests: [] })))
        .at(-1)!.type,
      Rep.ACK,
    );
    await b.request({ type: Cmd.FLUSH, cookie: 2 ** 40 + 7 }, {
      extended: true,
    });
    const c = await b.chunk(true);
    assert.deepEqual([c.type, c.flags, c.cookie, c.data.length], [
      0,
      1,
      2 ** 40 + 7,
      0,
    ]);
    // A compact request on an extended connection is a protocol violation.
    await b.request({ type: Cmd.FLUSH, cookie: 1 });
    await b.request({ type: Cmd.FLUSH, cookie: 2 });
    assert.ok(await b.closed());
    b.close();
  }));

Deno.test("handshake: options after shutdown get ERR_SHUTDOWN or a close", async () => {
  const s = start();
  const r = await Raw.connect(s.addr.port);
  assert.equal((await r.option(Opt.LIST)).at(-1)!.type, Rep.ACK);
  const done = s.shutdown();
  // The server closes idle haggling connections: there is nothing to wait for.
  assert.ok(await r.closed());
  r.close();
  await done;
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: s.addr.port }),
  );
});

Deno.test("handshake: refused peers and connection events", async () => {
  const events: string[] = [];
  const s = start({
    allow: ["10.0.0.0/8"],
    onConnect: () => events.push("connect"),
  });
  const r = await Raw.connect(s.addr.port, undefined).catch(() => undefined);
  if (r) r.close();
  assert.equal(r, undefined, "a refused peer sees no greeting");
  assert.equal(events.length, 0);
  await s.shutdown();

  const seen: { id: number; requests: number; bytesIn: number }[] = [];
  const t = start({
    onConnect: (i) => events.push(`connect ${i.id}`),
    onDisconnect: (i) =>
      seen.push({ id: i.id, requests: i.requests, bytesIn: i.bytesIn }),
  });
  const a = await Raw.connect(t.addr.port);
  await a.send(encodeOption(Opt.EXPORT_NAME, enc("mem")));
  await a.read(10);
  await a.request({ type: Cmd.FLUSH });
  await a.simple();
  const conns = t.connections();
  assert.equal(conns.length, 1);
  assert.equal(conns[0].requests, 1);
  assert.equal(conns[0].remote.hostname, "127.0.0.1");
  assert.ok(conns[0].bytesOut >= 18 + 10 + 16);
  assert.ok(t.disconnect(conns[0].id));
  assert.ok(!t.disconnect(12345));
  assert.ok(await a.closed());
  a.close();
  await t.shutdown();
  assert.deepEqual(events, [`connect ${conns[0].id}`]);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].requests, 1);
  assert.equal(seen[0].bytesIn, 4 + 16 + 3 + 28);
  assert.equal(u32be(new Uint8Array([0, 0, 0, 1])), 1);
});

Deno.test("server: exports as a Map, maxConnections, accept hook, option validation", async () => {
  const s = serveNbd({
    port: 0,
    exports: new Map([["m", {
      device: new MemoryDevice(8192),
      description: "from a map",
    }]]),
    maxConnections: 1,
    accept: (remote) => remote.hostname === "127.0.0.1",
  });
  try {
    const a = await Raw.connect(s.addr.port);
    const list = await a.option(Opt.LIST);
    assert.deepEqual(decodeServerReply(list[0].data), {
      name: "m",
      description: "from a map",
    });
    await assert.rejects(
      Raw.connect(s.addr.port),
      /No greeting/,
      "one connection at most",
    );
    a.close();
  } finally {
    await s.shutdown();
  }
  const dev = new MemoryDevice(4096);
  assert.throws(
    () =>
      serveNbd({
        port: 0,
        exports: [{ name: "x", device: dev }],
        defaultExport: "y",
      }),
    RangeError,
  );
  assert.throws(
    () =>
      serveNbd({
        port: 0,
        exports: [{ name: "x", device: dev }],
        blockSize: { min: 3 },
      }),
    RangeError,
  );
  assert.throws(
    () =>
      serveNbd({
        port: 0,
        exports: [{ name: "x", device: dev }],
        tls: { mode: "required", cert: "", key: "" },
      }),
    TypeError,
  );
});
