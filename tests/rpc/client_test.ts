import assert from "node:assert/strict";
import {
  RpcAcceptError,
  RpcClient,
  RpcClosedError,
  RpcError,
  RpcRejectError,
  RpcTimeoutError,
} from "../../rpc/client.ts";
import { AcceptStat, AuthStat } from "../../rpc/message.ts";
import { RpcReplyError } from "../../rpc/program.ts";
import { serveRpc } from "../../rpc/server.ts";
import { within } from "../_within.ts";
import { TEST_PROG, testProgram } from "./_helpers.ts";

function server() {
  return serveRpc({
    port: 0,
    log: () => {},
    programs: [
      testProgram(1, {
        9: {
          name: "AUTHZ",
          handler: (_a, reply, ctx) => {
            if (ctx.auth.flavor !== 1) {
              throw new RpcReplyError(
                "AUTH_ERROR",
                "needs AUTH_SYS",
                AuthStat.AUTH_TOOWEAK,
              );
            }
            reply.u32(ctx.auth.sys.uid);
          },
        },
      }),
      testProgram(2),
    ],
  });
}

Deno.test("client: typed errors carry the accept and reject status", async () => {
  const s = server();
  const c = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: s.addr.port,
  });
  try {
    const cases: [number, number, number, number][] = [
      [0x2fffffff, 1, 0, AcceptStat.PROG_UNAVAIL],
      [TEST_PROG, 7, 0, AcceptStat.PROG_MISMATCH],
      [TEST_PROG, 1, 99, AcceptStat.PROC_UNAVAIL],
      [TEST_PROG, 1, 3, AcceptStat.SYSTEM_ERR],
    ];
    for (const [prog, vers, proc, stat] of cases) {
      await assert.rejects(
        () => c.call(prog, vers, proc, () => {}),
        (e) =>
          e instanceof RpcAcceptError && e instanceof RpcError &&
          e.status === stat,
      );
    }
    await assert.rejects(
      () => c.call(TEST_PROG, 7, 0, () => {}),
      (e) =>
        e instanceof RpcAcceptError && e.low === 1 && e.high === 2 &&
        /PROG_MISMATCH, versions 1 to 2/.test(e.message),
    );
    await assert.rejects(
      () => c.call(TEST_PROG, 1, 1, (w) => w.u32(5)),
      (e) => e instanceof RpcAcceptError && e.statusName === "GARBAGE_ARGS",
    );
    await assert.rejects(
      () => c.call(TEST_PROG, 1, 9, () => {}),
      (e) =>
        e instanceof RpcRejectError && e.authStat === AuthStat.AUTH_TOOWEAK,
    );
    // The same call with AUTH_SYS for this call only.
    const r = await c.call(TEST_PROG, 1, 9, () => {}, {
      auth: { stamp: 1, machineName: "x", uid: 4242, gid: 1, gids: [] },
    });
    assert.equal(r.u32(), 4242);
  } finally {
    c.close();
    await c.closed;
    await s.shutdown();
  }
});

Deno.test("client: per-call timeout, and a late reply is ignored", async () => {
  const s = server();
  const c = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: s.addr.port,
  });
  try {
    await assert.rejects(
      () => c.call(TEST_PROG, 1, 2, (w) => w.u32(60).u32(1), { timeoutMs: 10 }),
      RpcTimeoutError,
    );
    // The slow reply arrives later and must not disturb the next call.
    const r = await c.call(TEST_PROG, 1, 2, (w) => w.u32(80).u32(2));
    assert.equal(r.u32(), 2);
  } finally {
    c.close();
    await c.closed;
    await s.shutdown();
  }
});

Deno.test("client: close rejects pending calls and later calls", async () => {
  const s = server();
  const c = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: s.addr.port,
  });
  const pending = c.call(TEST_PROG, 1, 2, (w) => w.u32(30).u32(1));
  c.close();
  await assert.rejects(() => pending, RpcClosedError);
  await assert.rejects(() => c.call(TEST_PROG, 1, 0, () => {}), RpcClosedError);
  await c.closed;
  await s.shutdown();
});

Deno.test("client: a server that goes away fails the pending calls", async () => {
  const s = server();
  const c = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: s.addr.port,
  });
  try {
    await c.call(TEST_PROG, 1, 0, () => {});
    for (const info of s.connections()) s.disconnect(info.id);
    await assert.rejects(
      () => c.call(TEST_PROG, 1, 2, (w) => w.u32(50).u32(1)),
      RpcClosedError,
    );
  } finally {
    c.close();
    await c.closed;
    await s.shutdown();
  }
});

Deno.test("client: an encoder failure rejects without sending", async () => {
  const s = server();
  const c = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: s.addr.port,
  });
  try {
    await assert.rejects(
      () =>
        c.call(TEST_PROG, 1, 1, () => {
          throw new Error("Cannot encode");
        }),
      /Cannot encode/,
    );
    assert.equal(c.inFlight, 0);
    await c.call(TEST_PROG, 1, 0, () => {});
  } finally {
    c.close();
    await c.closed;
    await s.shutdown();
  }
});

Deno.test("client: mixed timeouts share one timer and each fires on its own", async () => {
  const s = server();
  const c = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: s.addr.port,
    timeoutMs: 5_000,
  });
  try {
    const slow = (ms: number, tag: number, timeoutMs?: number) =>
      c.call(TEST_PROG, 1, 2, (w) => w.u32(ms).u32(tag), { timeoutMs });
    const results = await Promise.allSettled([
      slow(60, 1), // default 5 s: succeeds
      slow(60, 2, 15), // times out
      slow(60, 3, 0), // never times out
      slow(5, 4, 40), // answers in time
      slow(80, 5, 30), // times out, after #2
    ]);
    assert.deepEqual(
      results.map((r) =>
        r.status === "fulfilled" ? r.value.u32() : (r.reason as Error).name
      ),
      [1, "RpcTimeoutError", 3, 4, "RpcTimeoutError"],
    );
    assert.equal(c.inFlight, 0);
  } finally {
    c.close();
    await c.closed;
    await s.shutdown();
  }
});

Deno.test("client: a chosen xid goes on the wire and is refused while in flight", async () => {
  const seen: number[] = [];
  const s = serveRpc({
    port: 0,
    log: () => {},
    programs: [
      testProgram(1, {
        9: {
          name: "XID",
          run: async (_a, call) => {
            seen.push(call.xid);
            await new Promise((r) => setTimeout(r, 20));
          },
        },
      }),
    ],
  });
  const c = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: s.addr.port,
  });
  try {
    const first = c.call(TEST_PROG, 1, 9, () => {}, { xid: 0xfffffffe });
    await assert.rejects(
      c.call(TEST_PROG, 1, 9, () => {}, { xid: 0xfffffffe }),
      (e) =>
        e instanceof RpcError &&
        e.message === "Xid already in flight: 4294967294",
    );
    await first;
    assert.deepEqual(seen, [0xfffffffe], "the server saw the chosen xid once");
    await c.call(TEST_PROG, 1, 9, () => {}, { xid: 0xfffffffe }); // free again
    assert.deepEqual(seen, [0xfffffffe, 0xfffffffe]);
  } finally {
    c.close();
    await c.closed;
    await s.shutdown();
  }
});

Deno.test("client: a large reply no later call follows does not hold back the next reply", async () => {
  // After a reply larger than its receive buffer the read loop gives the
  // caller a few microtask turns to make its next call before it reads
  // again, and no more: here nobody calls again, and SLOW's reply must
  // still arrive.
  const s = server();
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: s.addr.port,
  });
  try {
    const slow = client.call(TEST_PROG, 1, 2, (w) => w.u32(50).u32(7));
    slow.catch(() => {}); // awaited below; closing must not leave it unhandled
    const big = new Uint8Array(128 * 1024).fill(5);
    const echoed = await client.call(TEST_PROG, 1, 1, (w) => w.opaque(big));
    assert.deepEqual(echoed.opaque(1 << 20), big);
    const tag = await within(slow, 5000, "the reply after a large one");
    assert.equal(tag.u32(), 7);
  } finally {
    client.close();
    await client.closed;
    await s.shutdown();
  }
});
