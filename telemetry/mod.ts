/**
 * Logs and metrics for the servers: a levelled {@link Logger} (text or
 * JSON lines) and a {@link MetricsRegistry} of counters, gauges and
 * histograms written in the Prometheus text format. `serveRpc`, `serveNfs`
 * and `serveNbd` take them as their `logger` and `metrics` options and
 * stay silent and unmeasured without them.
 *
 * @example Measure an NFS server
 * ```ts
 * import assert from "node:assert/strict";
 * import { RpcClient } from "@netfs/netfs/rpc";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import { MetricsRegistry } from "@netfs/netfs/telemetry";
 *
 * const metrics = new MetricsRegistry();
 * const server = serveNfs({ port: 0, quiet: true, metrics, exports: [{ path: "/", fs: new MemFs() }] });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await client.call(100003, 3, 0, () => {}); // NFSv3 NULL
 * await client.call(100003, 3, 0, () => {});
 * client.close();
 * await server.shutdown();
 * const text = metrics.exposition();
 * assert.match(text, /^netfs_rpc_calls_total\{program="nfs",version="3",procedure="NULL"\} 2$/m);
 * assert.match(text, /^netfs_rpc_connections_total 1$/m);
 * ```
 *
 * @module
 */
export * from "./log.ts";
export * from "./metrics.ts";
export * from "./process.ts";
