// An NBD client that pipelines WRITEs and never reads its replies is held by
// the in-flight window and TCP backpressure: the server stops reading once
// its unsent replies reach the window, so the client's sends stall, the
// server's memory stays bounded, and another connection keeps its latency.
import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { encodeOption, encodeRequest, Opt } from "../../nbd/protocol.ts";
import { Cmd } from "../../nbd/_constants.ts";
import { serveNbd } from "../../nbd/server.ts";
import { settled } from "../_settle.ts";
import { enc, Raw } from "./_raw.ts";

Deno.test("nbd backpressure: WRITEs pipelined by a client that never reads stall its socket", async () => {
  const server = serveNbd({
    port: 0,
    exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }],
  });
  const attacker = await Raw.connect(server.addr.port);
  await attacker.send(encodeOption(Opt.EXPORT_NAME, enc("mem")));
  assert.ok(await attacker.read(10));
  const data = new Uint8Array(1).fill(5);
  const calls = 1_000_000;
  let sent = 0;
  const sending = (async () => {
    const batch = 4096;
    const one = encodeRequest({
      type: Cmd.WRITE,
      flags: 0,
      cookie: 1,
      offset: 0,
      length: data.byteLength,
    }).byteLength + data.byteLength;
    for (let i = 0; i < calls; i += batch) {
      const n = Math.min(batch, calls - i);
      const buf = new Uint8Array(n * one);
      for (let k = 0; k < n; k++) {
        const head = encodeRequest({
          type: Cmd.WRITE,
          flags: 0,
          cookie: i + k + 1,
          offset: (i + k) % 4096,
          length: data.byteLength,
        });
        buf.set(head, k * one);
        buf.set(data, k * one + head.byteLength);
      }
      await attacker.send(buf);
      sent += n;
    }
  })().catch(() => {});
  try {
    const rss0 = Deno.memoryUsage().rss;
    const served = () =>
      server.connections().reduce((n, c) => n + c.requests, 0);
    const held = await settled(served, 500, 30_000);
    const grown = Deno.memoryUsage().rss - rss0;
    assert.ok(
      sent < calls,
      `the attacker is stalled: ${sent} of ${calls} sent`,
    );
    assert.ok(held < calls, `the server stopped reading at ${held}`);
    assert.ok(grown < 96 << 20, `server memory grew by ${grown >> 20} MiB`);
    const disk = await connectNbd({ port: server.addr.port, export: "mem" });
    const lat: number[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        const t = performance.now();
        await disk.readAt(0, 4096);
        lat.push(performance.now() - t);
      }
    } finally {
      await disk.close();
    }
    lat.sort((a, b) => a - b);
    const median = lat[lat.length >> 1];
    assert.ok(
      median < 20,
      `another client's median latency: ${median.toFixed(2)} ms`,
    );
  } finally {
    attacker.close();
    await sending;
    await server.shutdown();
  }
});
