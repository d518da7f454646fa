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
import { assertHeld, assertMedian, flood } from "../_held.ts";
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
  const one = (i: number) => {
    const head = encodeRequest({
      type: Cmd.WRITE,
      flags: 0,
      cookie: i,
      offset: i % 4096,
      length: data.byteLength,
    });
    const out = new Uint8Array(head.byteLength + data.byteLength);
    out.set(head);
    out.set(data, head.byteLength);
    return out;
  };
  // Replies are 16 bytes: the kernel's socket buffers take ~265,000 of
  // them before the server's writes block at all.
  const f = flood(attacker.conn, 1_000_000, one);
  try {
    await assertHeld(
      f,
      () => server.connections().reduce((n, c) => n + c.requests, 0),
    );
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
    assertMedian(lat, "another client's");
  } finally {
    attacker.close();
    await f.done;
    await server.shutdown();
  }
});
