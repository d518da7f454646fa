/**
 * Multi-core NBD serving: one server per worker thread on one port.
 *
 * A Deno server does all its socket IO on one thread, and on loopback the
 * kernel's copying dominates, so with several clients one core saturates
 * while others idle. Here every worker binds the same port with
 * SO_REUSEPORT (the kernel spreads new connections over them) and serves
 * {@link SharedMemoryDevice}s, which all workers see as one disk.
 *
 * Needs `--unstable-net` (for SO_REUSEPORT) and read permission for the
 * worker's module files.
 *
 * @example Two workers, one disk
 * ```ts
 * // deno run --unstable-net --allow-net=127.0.0.1 --allow-read=. cluster.ts
 * import { connectNbd, serveNbdCluster, SharedMemoryDevice } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const cluster = await serveNbdCluster({
 *   workers: 2,
 *   port: 0, // the first worker picks a free port, the second joins it
 *   exports: [{ name: "mem", device: new SharedMemoryDevice(1 << 20) }],
 * });
 * assert.equal(cluster.workers, 2);
 * // Whichever worker each connection lands on, both see the same bytes.
 * const a = await connectNbd({ port: cluster.addr.port, export: "mem" });
 * const b = await connectNbd({ port: cluster.addr.port, export: "mem" });
 * await a.writeAt(0, new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await b.readAt(0, 3), new Uint8Array([1, 2, 3]));
 * await a.close();
 * await b.close();
 * await cluster.shutdown();
 * ```
 *
 * @module
 */

import type { ServeNbdOptions } from "./server.ts";
import type { SharedMemoryDevice } from "./shared_memory_device.ts";

/** Options of {@link serveNbdCluster}: those of `serveNbd` that can cross threads. */
export interface NbdClusterOptions extends
  Omit<
    ServeNbdOptions,
    | "exports"
    | "signal"
    | "log"
    | "logger"
    | "metrics"
    | "accept"
    | "onConnect"
    | "onDisconnect"
    | "reusePort"
  > {
  /** Worker threads; default the number of CPUs. */
  workers?: number;
  /** Exports; only shared-memory devices can be reached from every worker. */
  exports: { name: string; device: SharedMemoryDevice; description?: string }[];
  /** Aborting it shuts every worker down. */
  signal?: AbortSignal;
  /** Receives the workers' diagnostic lines. */
  log?: (message: string) => void;
}

/** A running cluster of NBD servers. */
export interface NbdCluster {
  /** The shared address. */
  readonly addr: Deno.NetAddr;
  /** How many workers serve. */
  readonly workers: number;
  /** Resolves when every worker has stopped. */
  readonly finished: Promise<void>;
  /** Shuts every worker's server down gracefully, then ends the workers. */
  shutdown(): Promise<void>;
}

/**
 * Starts `workers` NBD servers on one port, each in its own thread.
 */
export async function serveNbdCluster(
  options: NbdClusterOptions,
): Promise<NbdCluster> {
  const { workers: wanted, exports, signal, log, ...rest } = options;
  const count = Math.max(1, wanted ?? navigator.hardwareConcurrency ?? 1);
  const shared = exports.map((e) => ({
    name: e.name,
    description: e.description,
    handle: e.device.handle,
  }));
  const workers: Worker[] = [];
  const stopped: Promise<void>[] = [];
  let addr: Deno.NetAddr | undefined;

  const startOne = (port: number) =>
    new Promise<Deno.NetAddr>((resolve, reject) => {
      const w = new Worker(new URL("./_cluster_worker.ts", import.meta.url), {
        type: "module",
      });
      workers.push(w);
      const done = Promise.withResolvers<void>();
      stopped.push(done.promise);
      w.onmessage = (e) => {
        const m = e.data;
        if (m.type === "listening") resolve(m.addr);
        else if (m.type === "error") {
          reject(new Error(`NBD worker failed to start: ${m.message}`));
        } else if (m.type === "log") log?.(m.message);
        else if (m.type === "stopped") done.resolve();
      };
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`NBD worker failed: ${e.message}`));
        done.resolve();
      };
      w.postMessage({
        type: "start",
        options: { ...rest, port },
        exports: shared,
      });
    });

  try {
    // The first worker picks the port (it may be 0); the others join it.
    addr = await startOne(rest.port ?? 10809);
    for (let i = 1; i < count; i++) await startOne(addr.port);
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  }

  let finishing: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    finishing ??= (async () => {
      for (const w of workers) w.postMessage({ type: "shutdown" });
      await Promise.all(stopped);
      for (const w of workers) w.terminate();
    })();
    return finishing;
  };
  const finished = new Promise<void>((resolve) => {
    Promise.all(stopped).then(() => resolve());
  });
  if (signal) {
    if (signal.aborted) queueMicrotask(() => shutdown());
    else signal.addEventListener("abort", () => shutdown(), { once: true });
  }
  return { addr: addr!, workers: count, finished, shutdown };
}
