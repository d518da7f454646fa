// The RPC server with receive low-water marks on (`lowWater: true`, which
// fails at start unless they can be set): a large call that trickles in,
// with a small call behind it in the same segment, gets both replies, and
// a small call alone after it is answered (the mark went back to 1); a
// mark waiting for bytes a peer never sends ends with the peer's close.
import assert from "node:assert/strict";
import { AcceptStat } from "../../rpc/message.ts";
import { serveRpc } from "../../rpc/server.ts";
import {
  accepted,
  callRecord,
  quietLog,
  RawConn,
  reply,
  testProgram,
} from "./_helpers.ts";
import { within } from "../_within.ts";

Deno.test("server low water: a large call in slow pieces, then a small one in its last segment", async () => {
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    lowWater: true,
    programs: [testProgram()],
  });
  const c = await RawConn.open(server.addr);
  try {
    for (const size of [600_000, 70_000, 1 << 20]) {
      const data = new Uint8Array(size).map((_, i) => i % 251);
      const big = callRecord({ xid: size, procedure: 1 }, (w) => {
        w.opaque(data);
      });
      const small = callRecord({ xid: 7 });
      // The mark and 64 KiB + 1 in one write, then the rest in three, the
      // small call riding with the last piece.
      const mid = 65_541 + Math.floor((big.length - 65_551) / 2);
      const cuts = [65_541, mid, big.length - 10];
      let at = 0;
      for (const cut of cuts) {
        await c.send(big.subarray(at, cut));
        at = cut;
        await new Promise((r) => setTimeout(r, 30));
      }
      await c.send(new Uint8Array([...big.subarray(at), ...small]));
      let [h, r] = await within(reply(c), 10_000, `reply to ${size} bytes`);
      assert.equal(h.xid, size);
      accepted(h, AcceptStat.SUCCESS);
      assert.deepEqual(r.opaque(1 << 20), data);
      [h] = await within(reply(c), 10_000, "reply to the small call");
      assert.equal(h.xid, 7);
      accepted(h, AcceptStat.SUCCESS);
      // A small call on its own: the mark is back to one byte.
      await c.send(callRecord({ xid: 8 }));
      [h] = await within(reply(c), 10_000, "reply to a lone small call");
      assert.equal(h.xid, 8);
    }
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server low water: a peer that leaves inside a large call is closed, and shutdown ends", async () => {
  const lines: string[] = [];
  const server = serveRpc({
    port: 0,
    log: quietLog(lines),
    lowWater: true,
    programs: [testProgram()],
  });
  const c = await RawConn.open(server.addr);
  const big = callRecord({ xid: 1, procedure: 1 }, (w) => {
    w.opaque(new Uint8Array(500_000));
  });
  await c.send(big.subarray(0, 200_000));
  await new Promise((r) => setTimeout(r, 50));
  c.close();
  await within(
    (async () => {
      while (server.connections().length > 0) {
        await new Promise((r) => setTimeout(r, 10));
      }
    })(),
    10_000,
    "the server never noticed the close",
  );
  await within(server.shutdown(), 10_000, "shutdown");
  assert.ok(
    lines.some((l) => l.includes("Stream ended inside a record")),
    lines.join("\n"),
  );
});
