import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import type { Device } from "../../nbd/device.ts";
import { serveNbd } from "../../nbd/server.ts";
import type { Concurrency } from "../../vfs/types.ts";

/**
 * A RAM device that counts the calls in flight at once (each takes a few
 * ms); with `view`, it offers a zero-copy view and counts its uses.
 */
function overlapDevice(concurrency: Concurrency, view: boolean) {
  const mem = new Uint8Array(1 << 20);
  const stats = { active: 0, peak: 0, calls: 0, views: 0 };
  const timed = async (f: () => void) => {
    stats.calls++;
    stats.peak = Math.max(stats.peak, ++stats.active);
    try {
      await new Promise((r) => setTimeout(r, 2));
      f();
    } finally {
      stats.active--;
    }
  };
  const device: Device = {
    size: mem.length,
    multiConn: true,
    concurrency,
    readAt: (o, into) =>
      timed(() => into.set(mem.subarray(o, o + into.length))),
    writeAt: (o, data) => timed(() => mem.set(data, o)),
    flush: () => timed(() => {}),
  };
  if (view) {
    device.view = (o, l) => {
      stats.views++;
      return mem.subarray(o, o + l);
    };
  }
  return { device, stats };
}

async function run(device: Device): Promise<void> {
  const s = serveNbd({ port: 0, exports: [{ name: "d", device }] });
  try {
    const disks = await Promise.all(
      [0, 1].map(() => connectNbd({ port: s.addr.port, export: "d" })),
    );
    const data = crypto.getRandomValues(new Uint8Array(4096));
    await Promise.all(
      disks.flatMap((d, c) =>
        Array.from({ length: 8 }, (_, i) => d.writeAt((c * 8 + i) * 4096, data))
      ),
    );
    const reads = await Promise.all(
      disks.flatMap((d, c) =>
        Array.from({ length: 8 }, (_, i) => d.readAt((c * 8 + i) * 4096, 4096))
      ),
    );
    for (const r of reads) assert.deepEqual(r, data);
    await Promise.all(disks.map((d) => d.close()));
  } finally {
    await s.shutdown();
  }
}

Deno.test("nbd concurrency: a serialize device gets one call at a time across connections, never through its view", async () => {
  const { device, stats } = overlapDevice("serialize", true);
  await run(device);
  assert.equal(stats.peak, 1, "never two device calls at once");
  assert.ok(stats.calls >= 32, `reads and writes went through readAt/writeAt`);
  assert.equal(stats.views, 0, "the zero-copy view is not used");
});

Deno.test("nbd concurrency: a parallel device gets overlapping calls", async () => {
  const { device, stats } = overlapDevice("parallel", false);
  await run(device);
  assert.ok(stats.peak > 1, `calls ran concurrently (peak ${stats.peak})`);
});
