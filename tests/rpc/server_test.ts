import assert from "node:assert/strict";
import { authSysCredential } from "../../rpc/auth.ts";
import { RpcClient } from "../../rpc/client.ts";
import type { ConnectionInfo } from "../../net/connection.ts";
import {
  AcceptStat,
  AuthStat,
  decodeReplyHeader,
  MsgType,
  RejectStat,
  type ReplyHeader,
} from "../../rpc/message.ts";
import { RpcReplyError } from "../../rpc/program.ts";
import { fragmentRecord } from "../../rpc/record.ts";
import { serveRpc } from "../../rpc/server.ts";
import { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import {
  callRecord,
  RawConn,
  rawRecord,
  TEST_PROG,
  testProgram,
} from "./_helpers.ts";

function quietLog(lines: string[] = []) {
  return (m: string) => void lines.push(m);
}

async function reply(c: RawConn): Promise<[ReplyHeader, XdrReader]> {
  const rec = await c.next();
  assert.ok(rec, "expected a reply record");
  const r = new XdrReader(rec);
  return [decodeReplyHeader(r), r];
}

function accepted(h: ReplyHeader, stat: number) {
  assert.equal(h.replyStat, 0, "accepted reply");
  if (h.replyStat === 0) assert.equal(h.acceptStat, stat);
}

Deno.test("server: every accept and reject status over a real socket", async () => {
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [
      testProgram(2),
      testProgram(4),
      testProgram(3, {
        4: {
          name: "WEAK",
          handler: () => {
            throw new RpcReplyError("AUTH_ERROR", "needs AUTH_SYS", 5);
          },
        },
      }),
    ],
  });
  const c = await RawConn.open(server.addr);
  try {
    // SUCCESS, with results.
    await c.send(callRecord({ xid: 1, version: 2, procedure: 1 }, (w) => {
      w.opaque(new Uint8Array([7, 8]));
    }));
    let [h, r] = await reply(c);
    assert.equal(h.xid, 1);
    accepted(h, AcceptStat.SUCCESS);
    assert.deepEqual(r.opaque(8), new Uint8Array([7, 8]));
    r.end();

    // PROG_UNAVAIL.
    await c.send(callRecord({ xid: 2, program: 0x2fffffff }));
    [h] = await reply(c);
    accepted(h, AcceptStat.PROG_UNAVAIL);

    // PROG_MISMATCH with the real low and high registered versions.
    await c.send(callRecord({ xid: 3, version: 9 }));
    [h] = await reply(c);
    accepted(h, AcceptStat.PROG_MISMATCH);
    assert.equal(h.low, 2);
    assert.equal(h.high, 4);

    // PROC_UNAVAIL.
    await c.send(callRecord({ xid: 4, version: 2, procedure: 77 }));
    [h] = await reply(c);
    accepted(h, AcceptStat.PROC_UNAVAIL);

    // GARBAGE_ARGS: ECHO with an opaque length past the end.
    await c.send(callRecord({ xid: 5, version: 2, procedure: 1 }, (w) => {
      w.u32(1000);
    }));
    [h] = await reply(c);
    accepted(h, AcceptStat.GARBAGE_ARGS);

    // GARBAGE_ARGS: trailing bytes after the ECHO argument (args.end()).
    await c.send(callRecord({ xid: 6, version: 2, procedure: 1 }, (w) => {
      w.opaque(new Uint8Array(1)).u32(0);
    }));
    [h] = await reply(c);
    accepted(h, AcceptStat.GARBAGE_ARGS);

    // SYSTEM_ERR: the handler throws something that is not an RPC error.
    await c.send(callRecord({ xid: 7, version: 2, procedure: 3 }));
    [h] = await reply(c);
    accepted(h, AcceptStat.SYSTEM_ERR);

    // RPC_MISMATCH: rpcvers 3, answered with low = high = 2.
    const w = new XdrWriter();
    w.u32(8).u32(MsgType.CALL).u32(3).u32(TEST_PROG).u32(2).u32(0);
    w.u32(0).u32(0).u32(0).u32(0);
    await c.send(rawRecord(w.bytes()));
    [h] = await reply(c);
    assert.equal(h.xid, 8);
    assert.equal(h.replyStat, 1);
    if (h.replyStat === 1) {
      assert.equal(h.rejectStat, RejectStat.RPC_MISMATCH);
      assert.equal(h.low, 2);
      assert.equal(h.high, 2);
    }

    // AUTH_ERROR from a handler (AUTH_TOOWEAK).
    await c.send(callRecord({ xid: 9, version: 3, procedure: 4 }));
    [h] = await reply(c);
    assert.equal(h.replyStat, 1);
    if (h.replyStat === 1) {
      assert.equal(h.rejectStat, RejectStat.AUTH_ERROR);
      assert.equal(h.authStat, AuthStat.AUTH_TOOWEAK);
    }
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server: credentials are judged per RFC 5531", async () => {
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [testProgram()],
  });
  const c = await RawConn.open(server.addr);
  const sysBody = (f: (w: XdrWriter) => void) => {
    const w = new XdrWriter();
    f(w);
    return { flavor: 1, body: w.bytes().slice() };
  };
  const cases: [string, Parameters<typeof callRecord>[0], number][] = [
    [
      "machine name of 256 bytes",
      {
        xid: 1,
        cred: sysBody((w) =>
          w.u32(0).opaque(new Uint8Array(256).fill(97)).u32(0).u32(0).u32(0)
        ),
      },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "17 groups",
      {
        xid: 2,
        cred: sysBody((w) =>
          w.u32(0).string("h").u32(0).u32(0).array(
            new Array(17).fill(1),
            (x, g) => x.u32(g),
          )
        ),
      },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "trailing bytes after authsys_parms",
      {
        xid: 3,
        cred: sysBody((w) => w.u32(0).string("h").u32(0).u32(0).u32(0).u32(99)),
      },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "AUTH_NONE with a body",
      { xid: 4, cred: { flavor: 0, body: new Uint8Array(4) } },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "AUTH_SHORT",
      { xid: 5, cred: { flavor: 2, body: new Uint8Array(8) } },
      AuthStat.AUTH_REJECTEDCRED,
    ],
    [
      "AUTH_DH",
      { xid: 6, cred: { flavor: 3, body: new Uint8Array(8) } },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "RPCSEC_GSS",
      { xid: 7, cred: { flavor: 6, body: new Uint8Array(20) } },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "AUTH_SYS with a non-null verifier",
      {
        xid: 8,
        cred: authSysCredential({
          stamp: 1,
          machineName: "h",
          uid: 1,
          gid: 1,
          gids: [],
        }),
        verf: { flavor: 1, body: new Uint8Array(4) },
      },
      AuthStat.AUTH_BADVERF,
    ],
  ];
  try {
    for (const [what, init, stat] of cases) {
      await c.send(callRecord(init));
      const [h] = await reply(c);
      assert.equal(h.xid, init.xid, what);
      assert.equal(h.replyStat, 1, what);
      if (h.replyStat === 1) {
        assert.equal(h.rejectStat, RejectStat.AUTH_ERROR, what);
        assert.equal(h.authStat, stat, what);
      }
    }
    // A credential body over 400 bytes cannot even be decoded: AUTH_BADCRED.
    const w = new XdrWriter();
    w.u32(20).u32(0).u32(2).u32(TEST_PROG).u32(1).u32(0);
    w.u32(1).u32(401).fixedOpaque(new Uint8Array(401)).u32(0).u32(0);
    await c.send(rawRecord(w.bytes()));
    const [h] = await reply(c);
    assert.equal(h.xid, 20);
    assert.ok(h.replyStat === 1 && h.authStat === AuthStat.AUTH_BADCRED);
    // A good AUTH_SYS call reaches the handler with its credentials.
    await c.send(callRecord({
      xid: 21,
      procedure: 0,
      cred: authSysCredential({
        stamp: 9,
        machineName: "client.example",
        uid: 1000,
        gid: 100,
        gids: [100, 27],
      }),
    }));
    const [ok] = await reply(c);
    accepted(ok, AcceptStat.SUCCESS);
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server: run sees decoded AUTH_SYS credentials and addresses", async () => {
  let seen: unknown;
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [testProgram(1, {
      5: {
        name: "WHO",
        run: (_a, call) => {
          seen = call;
        },
      },
    })],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    auth: { stamp: 3, machineName: "m1", uid: 501, gid: 20, gids: [20, 12] },
  });
  try {
    await client.call(TEST_PROG, 1, 5, () => {});
    const ctx = seen as {
      auth: { flavor: number; sys: { uid: number; gids: number[] } };
      remote: Deno.NetAddr;
      local: Deno.NetAddr;
      procedure: number;
    };
    assert.equal(ctx.auth.flavor, 1);
    assert.equal(ctx.auth.sys.uid, 501);
    assert.deepEqual(ctx.auth.sys.gids, [20, 12]);
    assert.equal(ctx.remote.port, client.localAddr.port);
    assert.equal(ctx.local.port, server.addr.port);
    assert.equal(ctx.procedure, 5);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("server: malformed headers are answered or dropped, never fatal", async () => {
  const lines: string[] = [];
  const server = serveRpc({
    port: 0,
    log: quietLog(lines),
    programs: [testProgram()],
  });
  const c = await RawConn.open(server.addr);
  try {
    // Too short for an xid and a message type: dropped with a log line.
    await c.send(rawRecord(new Uint8Array([1, 2, 3])));
    await c.send(rawRecord(new Uint8Array(0)));
    // A REPLY sent to the server: dropped with a log line.
    await c.send(
      rawRecord(new XdrWriter().u32(5).u32(MsgType.REPLY).u32(0).bytes()),
    );
    // A call cut short after rpcvers: GARBAGE_ARGS for that xid.
    await c.send(
      rawRecord(new XdrWriter().u32(6).u32(0).u32(2).u32(TEST_PROG).bytes()),
    );
    let [h] = await reply(c);
    assert.equal(h.xid, 6);
    accepted(h, AcceptStat.GARBAGE_ARGS);
    // A call cut short inside the credential: AUTH_BADCRED.
    await c.send(rawRecord(
      new XdrWriter().u32(7).u32(0).u32(2).u32(TEST_PROG).u32(1).u32(0).u32(1)
        .u32(40).bytes(),
    ));
    [h] = await reply(c);
    assert.equal(h.xid, 7);
    assert.ok(h.replyStat === 1 && h.authStat === AuthStat.AUTH_BADCRED);
    // The connection still serves calls.
    await c.send(callRecord({ xid: 8 }));
    [h] = await reply(c);
    assert.equal(h.xid, 8);
    accepted(h, AcceptStat.SUCCESS);
    assert.ok(lines.some((l) => /too short/.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => /not a call/.test(l)), lines.join("\n"));
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server: multi-fragment calls are reassembled", async () => {
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [testProgram()],
  });
  const c = await RawConn.open(server.addr);
  try {
    const data = new Uint8Array(10_000).map((_, i) => i * 7);
    const whole = callRecord({ xid: 42, procedure: 1 }, (w) => w.opaque(data));
    // Strip the one-fragment mark and re-fragment in odd sizes.
    for (const size of [1, 3, 100, 4096]) {
      await c.send(fragmentRecord(whole.subarray(4), { fragmentSize: size }));
      const [h, r] = await reply(c);
      assert.equal(h.xid, 42);
      accepted(h, AcceptStat.SUCCESS);
      assert.deepEqual(r.opaque(20_000), data);
    }
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server: an oversized record closes the connection with a log line", async () => {
  const lines: string[] = [];
  const server = serveRpc({
    port: 0,
    log: quietLog(lines),
    maxRecordSize: 1024,
    programs: [testProgram()],
  });
  const c = await RawConn.open(server.addr);
  try {
    const big = callRecord(
      { xid: 1, procedure: 1 },
      (w) => w.opaque(new Uint8Array(2000)),
    );
    await c.send(big.subarray(0, 200));
    assert.ok(await c.closedByPeer());
    assert.ok(
      lines.some((l) => /Record too large: \d+ bytes, maximum 1024/.test(l)),
      lines.join("\n"),
    );
    // A fragmented record is judged by its total size.
    const c2 = await RawConn.open(server.addr);
    await c2.send(
      fragmentRecord(big.subarray(4, 1500), { fragmentSize: 600 }).subarray(
        0,
        1200,
      ),
    );
    assert.ok(await c2.closedByPeer());
    c2.close();
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server: pipelined calls complete out of order, matched by xid", async () => {
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [testProgram()],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    const n = 200;
    const order: number[] = [];
    const calls = [];
    for (let i = 0; i < n; i++) {
      // Earlier calls wait longer, so replies come back reversed-ish.
      const delay = Math.floor(Math.random() * 30) + (i < 20 ? 40 : 0);
      calls.push(
        client.call(TEST_PROG, 1, 2, (w) => w.u32(delay).u32(i)).then((r) => {
          const tag = r.u32();
          order.push(tag);
          return tag;
        }),
      );
    }
    assert.ok(client.inFlight > 64, "many calls in flight at once");
    const tags = await Promise.all(calls);
    assert.deepEqual(tags, [...Array(n).keys()], "each reply matched its call");
    assert.notDeepEqual(
      order,
      [...Array(n).keys()],
      "replies came out of order",
    );
    // The first (slow) calls finished after later ones.
    assert.ok(order.indexOf(0) > 20);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("server: the in-flight window pauses reading", async () => {
  let running = 0;
  let peak = 0;
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    maxInFlight: 4,
    programs: [testProgram(1, {
      6: {
        name: "COUNT",
        handler: async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
        },
      },
    })],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    await Promise.all(
      Array.from({ length: 40 }, () => client.call(TEST_PROG, 1, 6, () => {})),
    );
    assert.equal(peak, 4);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("server: allowed clients refuse loopback when only 10/8 is allowed", async () => {
  const lines: string[] = [];
  const connected: ConnectionInfo[] = [];
  const server = serveRpc({
    port: 0,
    log: quietLog(lines),
    allow: ["10.0.0.0/8"],
    onConnect: (i) => void connected.push(i),
    programs: [testProgram()],
  });
  const c = await RawConn.open(server.addr);
  try {
    await c.send(callRecord({ xid: 1 })).catch(() => {});
    assert.ok(await c.closedByPeer());
    assert.equal(connected.length, 0);
    assert.ok(lines.some((l) => /not in the allowed clients/.test(l)));
  } finally {
    c.close();
    await server.shutdown();
  }
  // The accept hook can refuse too.
  const hooked = serveRpc({
    port: 0,
    log: quietLog(),
    accept: (remote) => remote.port % 2 === 2, // never true
    programs: [testProgram()],
  });
  const c2 = await RawConn.open(hooked.addr);
  try {
    assert.ok(await c2.closedByPeer());
  } finally {
    c2.close();
    await hooked.shutdown();
  }
});

Deno.test("server: the duplicate-request cache replays a non-idempotent reply", async () => {
  let runs = 0;
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [testProgram(1, {
      7: {
        name: "CREATE",
        cached: true,
        handler: async (_a, reply) => {
          runs++;
          await new Promise((r) => setTimeout(r, 30));
          reply.u32(runs);
        },
      },
      8: {
        name: "LOOKUP",
        handler: (_a, reply) => {
          runs++;
          reply.u32(runs);
        },
      },
    })],
  });
  const c = await RawConn.open(server.addr);
  try {
    // The retransmission arrives while the original is running: dropped.
    await c.send(callRecord({ xid: 77, procedure: 7 }));
    await c.send(callRecord({ xid: 77, procedure: 7 }));
    let [h, r] = await reply(c);
    assert.equal(h.xid, 77);
    assert.equal(r.u32(), 1);
    // Once done, a retransmission gets the same reply without running again.
    await c.send(callRecord({ xid: 77, procedure: 7 }));
    [h, r] = await reply(c);
    assert.equal(h.xid, 77);
    assert.equal(r.u32(), 1);
    assert.equal(runs, 1);
    // A new xid runs.
    await c.send(callRecord({ xid: 78, procedure: 7 }));
    [h, r] = await reply(c);
    assert.equal(r.u32(), 2);
    // Idempotent procedures are not cached.
    await c.send(callRecord({ xid: 79, procedure: 8 }));
    await c.send(callRecord({ xid: 79, procedure: 8 }));
    [, r] = await reply(c);
    assert.equal(r.u32(), 3);
    [, r] = await reply(c);
    assert.equal(r.u32(), 4);
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server: the duplicate-request cache is bounded by entries and age", async () => {
  let runs = 0;
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    drc: { entries: 2, ttlMs: 60_000 },
    programs: [testProgram(1, {
      7: {
        name: "CREATE",
        cached: true,
        handler: (_a, reply) => void reply.u32(++runs),
      },
    })],
  });
  const c = await RawConn.open(server.addr);
  const call = async (xid: number) => {
    await c.send(callRecord({ xid, procedure: 7 }));
    const [, r] = await reply(c);
    return r.u32();
  };
  try {
    assert.equal(await call(1), 1);
    assert.equal(await call(2), 2);
    assert.equal(await call(1), 1, "replayed");
    assert.equal(await call(3), 3); // evicts xid 1
    assert.equal(await call(1), 4, "evicted, so it runs again");
  } finally {
    c.close();
    await server.shutdown();
  }
  const aged = serveRpc({
    port: 0,
    log: quietLog(),
    drc: { ttlMs: 1 },
    programs: [testProgram(1, {
      7: {
        name: "CREATE",
        cached: true,
        handler: (_a, reply) => void reply.u32(++runs),
      },
    })],
  });
  const c2 = await RawConn.open(aged.addr);
  try {
    await c2.send(callRecord({ xid: 1, procedure: 7 }));
    const first = (await reply(c2))[1].u32();
    await new Promise((r) => setTimeout(r, 10));
    await c2.send(callRecord({ xid: 1, procedure: 7 }));
    const second = (await reply(c2))[1].u32();
    assert.equal(second, first + 1, "expired, so it runs again");
  } finally {
    c2.close();
    await aged.shutdown();
  }
});

Deno.test("server: max connections refuses the extra peer", async () => {
  const lines: string[] = [];
  const server = serveRpc({
    port: 0,
    log: quietLog(lines),
    maxConnections: 2,
    programs: [testProgram()],
  });
  const a = await RawConn.open(server.addr);
  const b = await RawConn.open(server.addr);
  const extra = await RawConn.open(server.addr);
  try {
    await a.send(callRecord({ xid: 1 }));
    await b.send(callRecord({ xid: 2 }));
    assert.equal((await reply(a))[0].xid, 1);
    assert.equal((await reply(b))[0].xid, 2);
    assert.ok(await extra.closedByPeer());
    assert.ok(lines.some((l) => /too many connections: 2/.test(l)));
    assert.equal(server.connections().length, 2);
  } finally {
    a.close();
    b.close();
    extra.close();
    await server.shutdown();
  }
});

Deno.test("server: idle connections are closed", async () => {
  const gone: ConnectionInfo[] = [];
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    idleTimeout: 50,
    onDisconnect: (i) => void gone.push(i),
    programs: [testProgram()],
  });
  const c = await RawConn.open(server.addr);
  try {
    await c.send(callRecord({ xid: 1 }));
    assert.equal((await reply(c))[0].xid, 1);
    assert.ok(await c.closedByPeer());
    await server.shutdown();
    assert.equal(gone.length, 1);
    assert.equal(gone[0].requests, 1);
    assert.ok(gone[0].bytesIn > 0 && gone[0].bytesOut > 0);
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server: connections are listed and disconnect(id) closes one", async () => {
  const events: string[] = [];
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    onConnect: (i) => void events.push(`+${i.id}`),
    onDisconnect: (i) => void events.push(`-${i.id}:${i.requests}`),
    programs: [testProgram()],
  });
  const a = await RawConn.open(server.addr);
  const b = await RawConn.open(server.addr);
  try {
    await a.send(callRecord({ xid: 1 }));
    await reply(a);
    await b.send(callRecord({ xid: 2 }));
    await b.send(callRecord({ xid: 3 }));
    await reply(b);
    await reply(b);
    const list = server.connections();
    assert.equal(list.length, 2);
    const ib = list.find((i) => i.remote.port === b.conn.localAddr.port)!;
    assert.equal(ib.requests, 2);
    assert.equal(ib.local.port, server.addr.port);
    assert.equal(server.disconnect(ib.id), true);
    assert.ok(await b.closedByPeer());
    assert.equal(server.disconnect(9999), false);
    // The other connection is unaffected.
    await a.send(callRecord({ xid: 4 }));
    assert.equal((await reply(a))[0].xid, 4);
  } finally {
    a.close();
    b.close();
    await server.shutdown();
  }
  assert.equal(events.filter((e) => e.startsWith("+")).length, 2);
  assert.ok(events.includes(`-2:2`), events.join(" "));
});

Deno.test("server: IPv6 ::1", async () => {
  const server = serveRpc({
    hostname: "::1",
    port: 0,
    log: quietLog(),
    programs: [testProgram()],
  });
  const client = await RpcClient.connect({
    hostname: "::1",
    port: server.addr.port,
  });
  try {
    assert.equal(server.addr.hostname, "::1");
    const r = await client.call(
      TEST_PROG,
      1,
      1,
      (w) => w.opaque(new Uint8Array([6])),
    );
    assert.deepEqual(r.opaque(4), new Uint8Array([6]));
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("server: shutdown lets in-flight calls finish and answer", async () => {
  const ac = new AbortController();
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    signal: ac.signal,
    programs: [testProgram()],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    const slow = client.call(TEST_PROG, 1, 2, (w) => w.u32(50).u32(123));
    await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    assert.equal((await slow).u32(), 123);
    await server.finished;
    await client.closed;
    await assert.rejects(() => Deno.connect({ port: server.addr.port }));
  } finally {
    client.close();
  }
});

Deno.test("server: register adds programs at run time", async () => {
  const server = serveRpc({ port: 0, log: quietLog(), programs: [] });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    await assert.rejects(
      () => client.call(TEST_PROG, 1, 0, () => {}),
      /PROG_UNAVAIL/,
    );
    server.register(testProgram());
    await client.call(TEST_PROG, 1, 0, () => {});
    assert.deepEqual(server.programs().map((p) => p.program), [TEST_PROG]);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("server: AUTH_SYS decodes are reused per connection only while the bytes match", async () => {
  const seen: unknown[] = [];
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [testProgram(1, {
      5: {
        name: "WHO",
        handler: (_a, reply, ctx) => {
          seen.push(ctx.auth);
          if (ctx.auth.flavor === 1) reply.u32(ctx.auth.sys.uid);
        },
      },
      6: {
        name: "MUTATE",
        handler: (_a, _r, ctx) => {
          if (ctx.auth.flavor === 1) ctx.auth.sys.gids.push(0);
        },
      },
    })],
  });
  const c = await RawConn.open(server.addr);
  const who = async (xid: number, uid: number) => {
    const cred = authSysCredential({
      stamp: 1,
      machineName: "m",
      uid,
      gid: 1,
      gids: [1],
    });
    await c.send(callRecord({ xid, procedure: 5, cred }));
    const [h, r] = await reply(c);
    accepted(h, AcceptStat.SUCCESS);
    return r.u32();
  };
  try {
    assert.equal(await who(1, 10), 10);
    assert.equal(await who(2, 10), 10);
    assert.equal(seen[0], seen[1], "same bytes, same decoded object");
    assert.equal(await who(3, 11), 11);
    assert.equal(await who(4, 10), 10);
    assert.notEqual(seen[2], seen[3]);
    // Shared credentials are frozen: a handler cannot change them for others.
    await c.send(callRecord({
      xid: 5,
      procedure: 6,
      cred: authSysCredential({
        stamp: 1,
        machineName: "m",
        uid: 10,
        gid: 1,
        gids: [1],
      }),
    }));
    accepted((await reply(c))[0], AcceptStat.SYSTEM_ERR);
    assert.equal(await who(6, 10), 10);
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server: shutdown calls each program's close once its calls are done", async () => {
  const events: string[] = [];
  const gate = Promise.withResolvers<void>();
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [{
      program: TEST_PROG,
      version: 1,
      name: "slow",
      procedures: {
        0: {
          name: "NULL",
          run: async () => {
            await gate.promise;
            events.push("call done");
          },
        },
      },
      close: () => void events.push("closed"),
    }],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  const call = client.call(TEST_PROG, 1, 0, () => {});
  await new Promise((r) => setTimeout(r, 20));
  const down = server.shutdown();
  gate.resolve();
  await call;
  client.close();
  await down;
  assert.deepEqual(events, ["call done", "closed"]);
});
