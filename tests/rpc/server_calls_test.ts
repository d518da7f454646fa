// The RPC server's calls: pipelining, the in-flight window, the
// duplicate-request cache, programs registered at run time.
import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import { within } from "../_within.ts";
import {
  callRecord,
  quietLog,
  RawConn,
  reply,
  TEST_PROG,
  testProgram,
} from "./_helpers.ts";

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

Deno.test("server: a call waiting on another does not hold back reading", async () => {
  // After a record larger than its receive buffer, the read loop lets the
  // call reply before it reads the socket again, but only for a few
  // microtask turns: WAIT below (a 128 KiB record) replies only after
  // RELEASE, which arrives alone, later, on the same connection.
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [testProgram(1, {
      7: { name: "WAIT", handler: () => released },
      8: { name: "RELEASE", handler: () => release() },
    })],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    const waiting = client.call(
      TEST_PROG,
      1,
      7,
      (w) => w.opaque(new Uint8Array(128 * 1024)),
    );
    waiting.catch(() => {}); // awaited below; closing must not leave it unhandled
    // Long enough for WAIT to be read and dispatched alone.
    await new Promise((r) => setTimeout(r, 50));
    await within(
      client.call(TEST_PROG, 1, 8, () => {}),
      5000,
      "RELEASE behind a call in flight",
    );
    await within(waiting, 5000, "WAIT after RELEASE");
  } finally {
    release(); // so that the server can drain when the test fails
    client.close();
    await client.closed;
    await server.shutdown();
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
