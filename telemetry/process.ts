/**
 * The process's own gauges: resident memory and the JavaScript heap, read
 * from `Deno.memoryUsage()` each time the metrics are read (no permission
 * needed), and the start time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry, processMetrics } from "@netfs/netfs/telemetry";
 * const registry = new MetricsRegistry();
 * const stop = processMetrics(registry);
 * const text = registry.exposition();
 * const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1]);
 * assert.ok(rss > 1 << 20, "a Deno process holds more than 1 MiB");
 * stop();
 * ```
 *
 * @module
 */

import type { MetricsRegistry } from "./metrics.ts";

/**
 * Registers `process_resident_memory_bytes`, `process_start_time_seconds`
 * and `deno_heap_used_bytes`, `deno_heap_total_bytes`,
 * `deno_external_memory_bytes`; returns a function that stops updating them.
 */
export function processMetrics(registry: MetricsRegistry): () => void {
  const rss = registry.gauge(
    "process_resident_memory_bytes",
    "Resident memory size in bytes.",
  );
  const start = registry.gauge(
    "process_start_time_seconds",
    "Start time of the process since the Unix epoch in seconds.",
  );
  const heapUsed = registry.gauge(
    "deno_heap_used_bytes",
    "JavaScript heap in use, in bytes.",
  );
  const heapTotal = registry.gauge(
    "deno_heap_total_bytes",
    "JavaScript heap reserved, in bytes.",
  );
  const external = registry.gauge(
    "deno_external_memory_bytes",
    "Memory held outside the JavaScript heap by JavaScript objects (buffers), in bytes.",
  );
  start.set(Math.round((Date.now() - performance.now()) / 1000));
  return registry.onCollect(() => {
    const m = Deno.memoryUsage();
    rss.set(m.rss);
    heapUsed.set(m.heapUsed);
    heapTotal.set(m.heapTotal);
    external.set(m.external);
  });
}
