// The RPC server's connections: who may connect, how many, idle timeouts,
// the connection list, IPv6, and shutdown.
import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import type { ConnectionInfo } from "../../net/connection.ts";
import { serveRpc } from "../../rpc/server.ts";
import {
  callRecord,
  quietLog,
  RawConn,
  reply,
  TEST_PROG,
  testProgram,
} from "./_helpers.ts";

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
