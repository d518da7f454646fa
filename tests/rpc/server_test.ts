// The RPC server over a real socket: accept and reject statuses, malformed
// headers, fragmented and oversized records. Credentials, call flow and
// connections are in server_{auth,calls,connections}_test.ts beside it.
import assert from "node:assert/strict";
import {
  AcceptStat,
  AuthStat,
  MsgType,
  RejectStat,
} from "../../rpc/message.ts";
import { RpcReplyError } from "../../rpc/program.ts";
import { fragmentRecord } from "../../rpc/record.ts";
import { serveRpc } from "../../rpc/server.ts";
import { XdrWriter } from "../../rpc/xdr.ts";
import {
  accepted,
  callRecord,
  quietLog,
  RawConn,
  rawRecord,
  reply,
  TEST_PROG,
  testProgram,
} from "./_helpers.ts";

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
