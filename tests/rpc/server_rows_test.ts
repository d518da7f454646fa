// Procedure rows (decode → run → encode) against raw handlers: who answers
// what, over a real socket.
import assert from "node:assert/strict";
import { AcceptStat, AuthStat, decodeReplyHeader } from "../../rpc/message.ts";
import { procedure, RpcReplyError } from "../../rpc/program.ts";
import { serveRpc } from "../../rpc/server.ts";
import { XdrError, XdrReader } from "../../rpc/xdr.ts";
import { callRecord, RawConn, testProgram } from "./_helpers.ts";

/** Sends one call, returns the accept status (or -auth_stat) and results. */
async function call(
  c: RawConn,
  xid: number,
  procedure: number,
  args?: Parameters<typeof callRecord>[1],
): Promise<[number, XdrReader]> {
  await c.send(callRecord({ xid, procedure }, args));
  const rec = await c.next();
  assert.ok(rec, "expected a reply record");
  const r = new XdrReader(rec);
  const h = decodeReplyHeader(r);
  assert.equal(h.xid, xid, "replies match their calls");
  if (h.replyStat === 1) return [h.rejectStat === 1 ? -h.authStat! : -99, r];
  return [h.acceptStat, r];
}

Deno.test("server rows: decode, run and encode; results plain or promised", async () => {
  const runs: string[] = [];
  const server = serveRpc({
    port: 0,
    log: () => {},
    programs: [testProgram(1, {
      5: procedure({
        name: "ADD",
        decode: (args) => ({ a: args.u32("a"), b: args.u32("b") }),
        run: ({ a, b }, call) => {
          runs.push(`ADD ${call.procedure} ${call.xid}`);
          return a + b;
        },
        encode: (reply, sum) => void reply.u32(sum),
      }),
      6: procedure({
        name: "LATER",
        decode: (args) => args.string(16, "word"),
        run: async (word) => {
          await new Promise((r) => setTimeout(r, 5));
          return word.toUpperCase();
        },
        encode: (reply, word) => void reply.string(word),
      }),
      7: { name: "VOID", run: () => void runs.push("VOID") },
    })],
  });
  const c = await RawConn.open(server.addr);
  try {
    let [stat, r] = await call(c, 1, 5, (w) => void w.u32(2).u32(40));
    assert.equal(stat, AcceptStat.SUCCESS);
    assert.equal(r.u32(), 42, "encode gets what run returned");
    r.end();
    [stat, r] = await call(c, 2, 6, (w) => void w.string("hi"));
    assert.equal(stat, AcceptStat.SUCCESS);
    assert.equal(r.string(16), "HI", "a promised result is awaited");
    // No decode and no encode: extra arguments are ignored, no results.
    [stat, r] = await call(c, 3, 7, (w) => void w.u32(9));
    assert.equal(stat, AcceptStat.SUCCESS);
    assert.equal(r.remaining, 0, "a row without encode has no results");
    assert.deepEqual(runs, ["ADD 5 1", "VOID"]);
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server rows: GARBAGE_ARGS only for arguments decode rejects", async () => {
  const runs: string[] = [];
  const lines: string[] = [];
  const server = serveRpc({
    port: 0,
    log: (m) => void lines.push(m),
    programs: [testProgram(1, {
      5: procedure({
        name: "STRICT",
        decode: (args) => args.u32("n"),
        run: (n) => void runs.push(`STRICT ${n}`),
      }),
      6: procedure({
        name: "RUN_XDR",
        decode: (args) => args.u32("n"),
        run: (): number => {
          throw new XdrError("Bad state", "run");
        },
        encode: (reply, n) => void reply.u32(n),
      }),
      7: procedure({
        name: "ENCODE_XDR",
        run: () => 1,
        encode: (reply) => {
          reply.u32(5);
          throw new XdrError("Bad result", "encode");
        },
      }),
      8: {
        name: "RAW",
        handler: (args, reply) => {
          reply.u32(1);
          args.u32("n");
        },
      },
    })],
  });
  const c = await RawConn.open(server.addr);
  try {
    let [stat, r] = await call(c, 1, 5, () => {});
    assert.equal(stat, AcceptStat.GARBAGE_ARGS, "decode ran past the end");
    assert.equal(r.remaining, 0);
    assert.deepEqual(runs, [], "run does not run on garbage");
    [stat] = await call(c, 2, 6, (w) => void w.u32(1));
    assert.equal(stat, AcceptStat.SYSTEM_ERR, "an XdrError from run is ours");
    [stat, r] = await call(c, 3, 7);
    assert.equal(stat, AcceptStat.SYSTEM_ERR, "an XdrError from encode too");
    assert.equal(r.remaining, 0, "a half-encoded result is not sent");
    [stat, r] = await call(c, 4, 8);
    assert.equal(stat, AcceptStat.GARBAGE_ARGS, "a raw handler decodes itself");
    assert.equal(r.remaining, 0, "its partial reply is dropped");
    assert.equal(lines.filter((l) => l.includes("SYSTEM_ERR")).length, 2);
    assert.ok(lines.some((l) => l.includes("test v1 RUN_XDR failed")));
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server rows: run throws RpcReplyError for another status", async () => {
  const server = serveRpc({
    port: 0,
    log: () => {},
    programs: [testProgram(1, {
      5: {
        name: "GONE",
        run: () => {
          throw new RpcReplyError("PROC_UNAVAIL", "Not today");
        },
      },
      6: {
        name: "WEAK",
        run: (_args, call) => {
          if (call.auth.flavor !== 1) {
            throw new RpcReplyError(
              "AUTH_ERROR",
              "Needs AUTH_SYS",
              AuthStat.AUTH_TOOWEAK,
            );
          }
        },
      },
    })],
  });
  const c = await RawConn.open(server.addr);
  try {
    assert.equal((await call(c, 1, 5))[0], AcceptStat.PROC_UNAVAIL);
    assert.equal((await call(c, 2, 6))[0], -AuthStat.AUTH_TOOWEAK);
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server rows: rescue answers a rejected run, with the state run left", async () => {
  const lines: string[] = [];
  const rescued: unknown[] = [];
  const server = serveRpc({
    port: 0,
    log: (m) => void lines.push(m),
    programs: [testProgram(1, {
      5: procedure({
        name: "HALF",
        decode: (args) => args.u32("n"),
        run: (n, call) => {
          call.state = n;
          if (n === 0) throw new RangeError("zero"); // not a rejection
          return n % 2 === 0
            ? Promise.resolve(n / 2)
            : Promise.reject(new RangeError(`odd ${n}`));
        },
        rescue: (e, call) => {
          rescued.push(call.state);
          const n = call.state as number;
          if (n === 3) throw new RpcReplyError("PROC_UNAVAIL", "three");
          if (n === 5) return Promise.reject(new TypeError("five"));
          if (n === 7) return Promise.resolve(1000 + n);
          return (e as Error).message.length;
        },
        encode: (reply, n) => void reply.u32(n),
      }),
    })],
  });
  const c = await RawConn.open(server.addr);
  try {
    let [stat, r] = await call(c, 1, 5, (w) => void w.u32(8));
    assert.equal(stat, AcceptStat.SUCCESS);
    assert.equal(r.u32(), 4, "a run that resolves is not rescued");
    [stat, r] = await call(c, 2, 5, (w) => void w.u32(9));
    assert.equal(stat, AcceptStat.SUCCESS);
    assert.equal(r.u32(), "odd 9".length, "rescue's result is encoded");
    [stat, r] = await call(c, 3, 5, (w) => void w.u32(7));
    assert.equal(stat, AcceptStat.SUCCESS);
    assert.equal(r.u32(), 1007, "a promised rescue is awaited");
    [stat] = await call(c, 4, 5, (w) => void w.u32(3));
    assert.equal(stat, AcceptStat.PROC_UNAVAIL, "rescue may throw a status");
    [stat, r] = await call(c, 5, 5, (w) => void w.u32(5));
    assert.equal(stat, AcceptStat.SYSTEM_ERR, "a rescue that rejects fails");
    assert.equal(r.remaining, 0);
    [stat] = await call(c, 6, 5, (w) => void w.u32(0));
    assert.equal(stat, AcceptStat.SYSTEM_ERR, "a synchronous throw is run's");
    assert.deepEqual(rescued, [9, 7, 3, 5], "each call's own state");
    assert.equal(lines.filter((l) => l.includes("SYSTEM_ERR")).length, 2);
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server rows: a cached row runs once per xid, garbage replies included", async () => {
  let runs = 0;
  const server = serveRpc({
    port: 0,
    log: () => {},
    programs: [testProgram(1, {
      5: procedure({
        name: "BUMP",
        cached: true,
        decode: (args) => args.u32("by"),
        run: (by) => runs += by,
        encode: (reply, n) => void reply.u32(n),
      }),
      6: procedure({
        name: "PEEK",
        decode: (args) => args.u32("by"),
        run: (by) => runs += by,
        encode: (reply, n) => void reply.u32(n),
      }),
    })],
  });
  const c = await RawConn.open(server.addr);
  try {
    let [stat, r] = await call(c, 1, 5, (w) => void w.u32(1));
    assert.equal(r.u32(), 1);
    [stat, r] = await call(c, 1, 5, (w) => void w.u32(1));
    assert.equal(stat, AcceptStat.SUCCESS);
    assert.equal(r.u32(), 1, "the retransmission gets the cached reply");
    assert.equal(runs, 1);
    [stat] = await call(c, 2, 5);
    assert.equal(stat, AcceptStat.GARBAGE_ARGS);
    [stat] = await call(c, 2, 5);
    assert.equal(stat, AcceptStat.GARBAGE_ARGS, "replayed for the same xid");
    // The cache keys on a checksum of the arguments, as knfsd's does: the
    // same xid with other arguments is another call.
    [stat, r] = await call(c, 2, 5, (w) => void w.u32(1));
    assert.equal(stat, AcceptStat.SUCCESS, "other arguments run");
    assert.equal(r.u32(), 2);
    [, r] = await call(c, 3, 6, (w) => void w.u32(1));
    assert.equal(r.u32(), 3);
    [, r] = await call(c, 3, 6, (w) => void w.u32(1));
    assert.equal(r.u32(), 4, "an uncached row runs again");
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server rows: a row that borrows its arguments gets reused storage once answered; one that keeps them gets its own", async () => {
  const lent: Uint8Array[] = [];
  const kept: Uint8Array[] = [];
  const server = serveRpc({
    port: 0,
    log: () => {},
    programs: [testProgram(1, {
      5: procedure({
        name: "LEND",
        borrowsArgs: true,
        decode: (args) => args.opaque(64, "data"),
        run: (data) => {
          lent.push(data);
          return data[0];
        },
        encode: (reply, n) => void reply.u32(n),
      }),
      6: procedure({
        name: "KEEP",
        decode: (args) => args.opaque(64, "data"),
        // Answers later, after more calls have come in on the connection.
        run: async (data) => {
          kept.push(data);
          await new Promise((r) => setTimeout(r, 5));
          return data[0];
        },
        encode: (reply, n) => void reply.u32(n),
      }),
    })],
  });
  const c = await RawConn.open(server.addr);
  try {
    const bytes = (n: number) => new Uint8Array(16).fill(n);
    for (let i = 1; i <= 3; i++) {
      const [stat, r] = await call(c, i, 5, (w) => void w.opaque(bytes(i)));
      assert.equal(stat, AcceptStat.SUCCESS);
      assert.equal(r.u32(), i);
    }
    assert.equal(lent.length, 3);
    assert.equal(lent[1].buffer, lent[0].buffer, "the first call's storage");
    assert.equal(lent[2].buffer, lent[0].buffer, "and again");
    // Pipelined in one write: each record is read out of the same receive
    // buffer, and each call keeps its own bytes while the later ones run.
    const calls = [10, 11, 12].map((n) =>
      callRecord({ xid: n, procedure: 6 }, (w) => void w.opaque(bytes(n)))
    );
    const all = new Uint8Array(calls.reduce((n, b) => n + b.length, 0));
    calls.reduce((at, b) => (all.set(b, at), at + b.length), 0);
    await c.send(all);
    for (let i = 0; i < 3; i++) assert.ok(await c.next(), "a reply");
    for (let i = 1; i <= 3; i++) {
      await call(c, 20 + i, 5, (w) => void w.opaque(bytes(20 + i)));
    }
    assert.deepEqual(kept, [bytes(10), bytes(11), bytes(12)]);
    const buffers = new Set([...kept, ...lent].map((b) => b.buffer));
    assert.equal(buffers.size, 4, "kept records share no storage");
  } finally {
    c.close();
    await server.shutdown();
  }
});
