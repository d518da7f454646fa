// A client that pipelines calls and never reads its replies is held by the
// in-flight window and TCP backpressure: the server stops reading once
// `maxInFlight` replies are unsent, so its memory stays bounded, and another
// client on another connection keeps its latency.
import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import { encodeWriteArgs, Nfs3Proc, StableHow } from "../../proto/nfs3.ts";
import { encodeHandle } from "../../server/handles.ts";
import { serveNfs } from "../../server/serve.ts";
import { MemFs, ROOT } from "../../vfs/mod.ts";
import { assertHeld, assertMedian, flood, settled } from "../_held.ts";
import { callRecord, TEST_PROG, testProgram, writeAll } from "./_helpers.ts";

const REPLY = 256 << 10;

/** Latencies (ms) of `n` sequential NULL calls. */
async function nullLatencies(
  port: number,
  program: number,
  version: number,
  n: number,
): Promise<number[]> {
  const c = await RpcClient.connect({ hostname: "127.0.0.1", port });
  try {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await c.call(program, version, 0, () => {});
      out.push(performance.now() - t);
    }
    return out;
  } finally {
    c.close();
    await c.closed;
  }
}

Deno.test("backpressure: a client that never reads its replies is held by the window", async () => {
  let runs = 0;
  const server = serveRpc({
    port: 0,
    log: () => {},
    programs: [testProgram(1, {
      9: {
        name: "BIG",
        handler: (_args, reply) => {
          runs++;
          // A fresh buffer each time, as a READ from disk has.
          reply.opaqueRef(new Uint8Array(REPLY).fill(runs & 0xff));
        },
      },
    })],
  });
  const calls = 2000;
  const burst = new Uint8Array(calls * 44);
  let at = 0;
  for (let i = 0; i < calls; i++) {
    const rec = callRecord({ xid: i + 1, procedure: 9 });
    burst.set(rec, at);
    at += rec.byteLength;
  }
  const attacker = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    const rss0 = Deno.memoryUsage().rss;
    // Sends every call (88 KB: the socket takes it all) and reads nothing.
    await writeAll(attacker, burst.subarray(0, at));
    const ran = await settled(() => runs);
    const grown = Deno.memoryUsage().rss - rss0;
    // 64 unsent replies plus what the kernel's socket buffers hold.
    assert.ok(
      ran < 200,
      `calls run for a client that reads nothing: ${ran} of ${calls}`,
    );
    assert.ok(grown < 96 << 20, `server memory grew by ${grown >> 20} MiB`);
    const lat = await nullLatencies(server.addr.port, TEST_PROG, 1, 200);
    assertMedian(lat, "another client's");
    assert.equal(runs, ran, "still held");
  } finally {
    attacker.close();
    await server.shutdown();
  }
});

Deno.test("backpressure: NFSv3 WRITEs pipelined by a client that never reads stall its socket", async () => {
  const fs = new MemFs();
  const file = await fs.create(ROOT, fs.root, "target");
  const server = serveNfs({
    port: 0,
    quiet: true,
    versions: [3],
    exports: [{ path: "/", fs, squash: "none", stableHandles: true }],
  });
  const exp = server.exports.exports[0];
  const fh = encodeHandle({
    exportId: exp.id,
    verifier: exp.verifier,
    fileid: file.fileid,
  });
  const data = new Uint8Array(512).fill(3);
  const one = (xid: number) =>
    callRecord(
      { xid, program: 100003, version: 3, procedure: Nfs3Proc.WRITE },
      (w) =>
        encodeWriteArgs(w, {
          file: fh,
          offset: (xid % 2048) * 512,
          count: 512,
          stable: StableHow.UNSTABLE,
          data,
        }),
    );
  const attacker = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  const f = flood(attacker, 200_000, one);
  try {
    const served = () =>
      server.connections().reduce((n, c) => n + c.requests, 0);
    const held = await assertHeld(f, served);
    const lat = await nullLatencies(server.addr.port, 100003, 3, 200);
    assertMedian(lat, "another client's");
    assert.equal(served(), held + 200, "the sender is still held");
  } finally {
    attacker.close();
    await f.done;
    await server.shutdown();
  }
});
