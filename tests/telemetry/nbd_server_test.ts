import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { serveNbd } from "../../nbd/server.ts";
import { createLogger } from "../../telemetry/log.ts";
import { MetricsRegistry } from "../../telemetry/metrics.ts";
import { promtool, promtoolCheck, sample } from "./_prom.ts";

const cmd = (name: string, c: string) => `netfs_nbd_${name}{command="${c}"}`;

Deno.test("serveNbd metrics: commands by type with bytes and latency, connections and bytes equal what was sent", async () => {
  const metrics = new MetricsRegistry();
  const server = serveNbd({
    port: 0,
    metrics,
    exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }],
  });
  const disk = await connectNbd({ port: server.addr.port, export: "mem" });
  await disk.writeAt(0, new Uint8Array(4096).fill(1));
  await disk.writeAt(8192, new Uint8Array(512).fill(2), { fua: true });
  for (let i = 0; i < 3; i++) await disk.readAt(0, 1000);
  await disk.readAt(0, 100_000); // a structured read large enough to be checked for holes
  await disk.flush();
  await disk.trim(0, 4096);
  await disk.blockStatus(0, 65536);
  await assert.rejects(disk.readAt(1 << 20, 512)); // past the end: refused, still answered
  let text = metrics.exposition();
  assert.equal(sample(text, cmd("commands_total", "WRITE")), 2);
  assert.equal(sample(text, cmd("command_bytes_total", "WRITE")), 4096 + 512);
  assert.equal(sample(text, cmd("commands_total", "READ")), 5);
  assert.equal(
    sample(text, cmd("command_bytes_total", "READ")),
    3000 + 100_000 + 512,
  );
  assert.equal(sample(text, cmd("commands_total", "FLUSH")), 1);
  assert.equal(sample(text, cmd("commands_total", "TRIM")), 1);
  assert.equal(sample(text, cmd("command_bytes_total", "TRIM")), 4096);
  assert.equal(sample(text, cmd("commands_total", "BLOCK_STATUS")), 1);
  assert.equal(sample(text, cmd("command_duration_seconds_count", "READ")), 5);
  assert.equal(sample(text, "netfs_nbd_connections_open"), 1);
  assert.equal(sample(text, "netfs_nbd_connections_total"), 1);
  const [live] = server.connections();
  assert.equal(sample(text, "netfs_nbd_received_bytes_total"), live.bytesIn);
  assert.equal(sample(text, "netfs_nbd_sent_bytes_total"), live.bytesOut);
  await disk.close();
  // The server ends the connection when it reads DISC.
  for (let i = 0; i < 200 && server.connections().length > 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await server.shutdown();
  text = metrics.exposition();
  assert.equal(
    sample(text, cmd("commands_total", "DISC")),
    1,
    "close sends DISC",
  );
  assert.equal(sample(text, "netfs_nbd_connections_open"), 0);
  assert.ok(
    sample(text, "netfs_nbd_received_bytes_total") >= live.bytesIn + 28,
  );
  const tool = await promtool();
  assert.ok(tool, "promtool is installed");
  assert.equal(await promtoolCheck(tool, text), "");
});

Deno.test("serveNbd logger: refusals and protocol errors name the connection and peer", async () => {
  const lines: string[] = [];
  const server = serveNbd({
    port: 0,
    accept: () => false,
    logger: createLogger({
      level: "debug",
      format: "json",
      write: (l) => lines.push(l),
    }),
    exports: [{ name: "mem", device: new MemoryDevice(4096) }],
  });
  const conn = await Deno.connect({ port: server.addr.port });
  const local = (conn.localAddr as Deno.NetAddr).port;
  const buf = new Uint8Array(16);
  assert.equal(await conn.read(buf).catch(() => null), null, "refused at once");
  conn.close();
  await server.shutdown();
  const [e] = lines.map((l) => JSON.parse(l));
  assert.equal(e.level, "warn");
  assert.match(e.msg, /accept hook said no/);
  assert.equal(e.peer, `127.0.0.1:${local}`);
});
