/**
 * The NBD server: fixed newstyle handshake with every option of the spec
 * (LIST, INFO/GO, STARTTLS, structured replies, meta contexts, extended
 * headers) and a concurrent transmission phase that replies by cookie.
 *
 * @example Serve a sparse RAM disk as the default export
 * ```ts
 * import { connectNbd, MemoryDevice, serveNbd, State } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const server = serveNbd({
 *   port: 0, // picks a free port; NBD's own is 10809
 *   exports: [{ name: "mem", device: new MemoryDevice(1 << 30), description: "RAM disk" }],
 *   defaultExport: "mem",
 * });
 * // An empty export name selects the default export.
 * const disk = await connectNbd({ hostname: "127.0.0.1", port: server.addr.port, export: "" });
 * assert.equal(disk.size, 1 << 30);
 * assert.equal(disk.description, "RAM disk");
 * // Nothing is allocated until written: the first MiB is one hole.
 * const status = await disk.blockStatus(0, 1 << 20);
 * assert.deepEqual(status.get("base:allocation"), [
 *   { length: 1 << 20, flags: State.HOLE | State.ZERO },
 * ]);
 * await disk.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import {
  Admission,
  type ConnectionInfo,
  type ConnectionOptions,
} from "../net/mod.ts";
import {
  type ServerContext,
  serverContext,
  serveSession,
  Session,
} from "./_session.ts";
import type { TransmissionControl } from "./_transmission.ts";
import type { Device } from "./device.ts";
import type { BlockSize } from "./protocol.ts";
import { NbdMetrics } from "./_metrics.ts";
import type { Reported } from "../telemetry/_connection_metrics.ts";
import { type Logger, peerOf } from "../telemetry/log.ts";
import type { MetricsRegistry } from "../telemetry/metrics.ts";
import { type LowWaterMarks, openLowWater } from "../net/_low_water.ts";

/** One export: a name clients ask for and the device behind it. */
export interface NbdExport {
  /** The export name (at most 4096 bytes of UTF-8). */
  name: string;
  /** The device served. */
  device: Device;
  /** Shown by `nbdinfo --list` (NBD_INFO_DESCRIPTION, NBD_REP_SERVER). */
  description?: string;
}

/** TLS settings: `cert` and `key` are PEM text. */
export interface NbdTlsOptions {
  /**
   * `"off"`: STARTTLS is refused; `"optional"`: clients may upgrade;
   * `"required"`: every option but STARTTLS and ABORT gets ERR_TLS_REQD until
   * the client upgrades.
   */
  mode: "off" | "optional" | "required";
  /** Server certificate chain, PEM. */
  cert: string;
  /** Private key, PEM. */
  key: string;
}

/** Options of {@link serveNbd}. */
export interface ServeNbdOptions extends ConnectionOptions {
  /** Address to listen on; default `"127.0.0.1"`. */
  hostname?: string;
  /** Port; default 10809, 0 picks a free one. */
  port?: number;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /** The exports, as a list or a map from name to device. */
  exports: NbdExport[] | Map<string, { device: Device; description?: string }>;
  /** The export an empty name selects (default: none). */
  defaultExport?: string;
  /** STARTTLS support. */
  tls?: NbdTlsOptions;
  /** Requests handled at once per connection; default 128. */
  maxInFlight?: number;
  /**
   * Largest READ/WRITE payload; default 64 MiB (overrides `blockSize.max`).
   * Larger reads are refused with EINVAL (EOVERFLOW with DF), larger writes
   * with EINVAL after their payload is read; a write payload over 128 MiB
   * (or over this maximum when it is larger) ends the session.
   */
  maxPayload?: number;
  /** Advertised and enforced size constraints; default min 1, preferred 4096. */
  blockSize?: Partial<BlockSize>;
  /**
   * Receives diagnostic lines (refused peers, protocol violations). Default:
   * nowhere. Ignored when `logger` is given.
   */
  log?: (message: string) => void;
  /**
   * A levelled logger, in place of `log`: refused and misbehaving peers at
   * warn, failures of the hooks at error, connections opened and closed at
   * debug, each event of a connection with its id and peer.
   */
  logger?: Logger;
  /**
   * Where to count commands (by type, with bytes and latency), bytes and
   * connections (the `netfs_nbd_*` series). Nothing is measured without it.
   */
  metrics?: MetricsRegistry;
  /**
   * Bind with SO_REUSEPORT so several servers (one per worker thread) can
   * share a port; needs Deno's `--unstable-net`. Used by {@link serveNbdCluster}.
   */
  reusePort?: boolean;
}

/** A running NBD server. */
export interface NbdServer {
  /** The address the server listens on (with the chosen port). */
  readonly addr: Deno.NetAddr;
  /** Resolves when the listener and every connection have closed. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting, answers new options with ERR_SHUTDOWN and new requests
   * with ESHUTDOWN, lets in-flight requests finish, then closes every
   * connection; resolves with {@link finished}.
   */
  shutdown(): Promise<void>;
  /** The live connections with their counters. */
  connections(): ConnectionInfo[];
  /** Closes connection `id` at once; false if there is no such connection. */
  disconnect(id: number): boolean;
}

interface Live {
  session: Session;
  control: TransmissionControl;
  lastActive: number;
  lastBytes: number;
  /** Bytes already added to the metrics' totals. */
  reported: Reported;
}

/**
 * Starts an NBD server.
 *
 * @example Watch the live connections and drop one
 * ```ts
 * import { connectNbd, MemoryDevice, serveNbd } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const server = serveNbd({ port: 0, exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }] });
 * const disk = await connectNbd({ hostname: "127.0.0.1", port: server.addr.port, export: "mem" });
 * await disk.readAt(0, 512);
 * const [conn] = server.connections();
 * assert.equal(conn.remote.hostname, "127.0.0.1");
 * assert.equal(conn.requests, 1);
 * assert.equal(server.disconnect(conn.id), true);
 * await assert.rejects(disk.readAt(0, 512)); // the server closed the connection
 * await disk.close();
 * await server.shutdown();
 * ```
 */
export function serveNbd(options: ServeNbdOptions): NbdServer {
  const logger = options.logger;
  const metrics = options.metrics ? new NbdMetrics(options.metrics) : undefined;
  const ctx: ServerContext = { ...serverContext(options), logger, metrics };
  const plain = ctx.log;
  // Lines that are not a connection's: refusals, hook failures.
  const log = (level: "warn" | "error", message: string, peer?: string) => {
    if (logger) logger[level](message, peer ? { peer } : undefined);
    else plain(message);
  };
  const admission = new Admission(options);
  const listener = Deno.listen(
    {
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 10809,
      transport: "tcp",
      ...(options.reusePort ? { reusePort: true } : {}),
    } as Deno.TcpListenOptions & { transport: "tcp" },
  );
  let lowWater: LowWaterMarks | undefined;
  try {
    lowWater = openLowWater(options.lowWater);
  } catch (e) {
    listener.close();
    throw e;
  }
  const live = new Map<number, Live>();
  const running = new Set<Promise<void>>();
  let nextId = 1;
  let closing = false;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((r) => resolveFinished = r);

  const snapshot = (l: Live): ConnectionInfo => ({
    ...l.session.info,
    bytesIn: l.session.reader.bytesIn,
    bytesOut: l.session.handshakeOut + l.control.bytesOut(),
  });
  const stopCollect = metrics && options.metrics?.onCollect(() => {
    for (const l of live.values()) {
      metrics.connections.report(snapshot(l), l.reported);
    }
  });

  const serveConn = async (conn: Deno.TcpConn) => {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const info: ConnectionInfo = {
      id: nextId++,
      remote,
      local: conn.localAddr as Deno.NetAddr,
      since: Date.now(),
      bytesIn: 0,
      bytesOut: 0,
      requests: 0,
    };
    const session = new Session(conn, info);
    session.reader.lowWater = lowWater?.watch(conn, () => session.closed);
    const entry: Live = {
      session,
      control: { inflight: () => 0, bytesOut: () => 0 },
      lastActive: Date.now(),
      lastBytes: 0,
      reported: { reportedIn: 0, reportedOut: 0 },
    };
    live.set(info.id, entry);
    if (metrics) {
      metrics.connections.open.inc();
      metrics.connections.total.inc();
    }
    logger?.debug("Connection opened", session.fields);
    try {
      conn.setNoDelay(true);
    } catch { /* not fatal */ }
    try {
      options.onConnect?.(snapshot(entry));
    } catch (e) {
      log("error", `onConnect threw: ${(e as Error).message}`);
    }
    try {
      await serveSession(session, ctx, entry.control);
    } catch (e) {
      if (!session.closed) session.log(ctx, (e as Error)?.message ?? String(e));
    } finally {
      session.close();
      live.delete(info.id);
      const last = snapshot(entry);
      if (metrics) {
        metrics.connections.open.dec();
        metrics.connections.report(last, entry.reported);
      }
      logger?.debug("Connection closed", {
        ...session.fields,
        requests: last.requests,
        bytesIn: last.bytesIn,
        bytesOut: last.bytesOut,
      });
      try {
        options.onDisconnect?.(snapshot(entry));
      } catch (e) {
        log("error", `onDisconnect threw: ${(e as Error).message}`);
      }
    }
  };

  let idleTimer: ReturnType<typeof setInterval> | undefined;
  if (options.idleTimeout && options.idleTimeout > 0) {
    const limit = options.idleTimeout;
    idleTimer = setInterval(() => {
      const now = Date.now();
      for (const l of live.values()) {
        const bytes = l.session.reader.bytesIn;
        if (bytes !== l.lastBytes || l.control.inflight() > 0) {
          l.lastBytes = bytes;
          l.lastActive = now;
        } else if (now - l.lastActive >= limit) {
          if (logger) {
            logger.info(`Idle for ${limit} ms, closing`, l.session.fields);
          } else {
            plain(
              `connection ${l.session.info.id}: idle for ${limit} ms, closing`,
            );
          }
          l.session.close();
        }
      }
    }, Math.max(10, Math.floor(limit / 2)));
  }

  const acceptLoop = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept() as Deno.TcpConn;
      } catch {
        break; // listener closed
      }
      const remote = conn.remoteAddr as Deno.NetAddr;
      const why = closing
        ? "server is shutting down"
        : admission.refusal(remote, live.size);
      if (why !== undefined) {
        log(
          "warn",
          `refused ${remote.hostname}:${remote.port}: ${why}`,
          peerOf(remote),
        );
        try {
          conn.close();
        } catch { /* gone */ }
        continue;
      }
      const p = serveConn(conn);
      running.add(p);
      p.finally(() => running.delete(p));
    }
  })();

  const shutdown = async (): Promise<void> => {
    if (!closing) {
      closing = true;
      ctx.shuttingDown = true;
      try {
        listener.close();
      } catch { /* closed */ }
      if (idleTimer !== undefined) clearInterval(idleTimer);
      for (const l of live.values()) {
        if (l.control.shutdown) l.control.shutdown();
        else l.session.close(); // still haggling: nothing in flight to wait for
      }
      (async () => {
        await acceptLoop;
        while (running.size) await Promise.allSettled([...running]);
        stopCollect?.();
        lowWater?.close();
        resolveFinished();
      })();
    }
    await finished;
  };

  if (options.signal) {
    if (options.signal.aborted) queueMicrotask(() => shutdown());
    else {options.signal.addEventListener("abort", () => shutdown(), {
        once: true,
      });}
  }

  return {
    addr: listener.addr as Deno.NetAddr,
    finished,
    shutdown,
    connections: () => [...live.values()].map(snapshot),
    disconnect(id: number): boolean {
      const l = live.get(id);
      if (!l) return false;
      l.session.close();
      return true;
    },
  };
}
