/**
 * `serveNfs`: portmap/rpcbind, NFSv2 with MOUNT v1, NFSv3 with MOUNT v3 and
 * NFSv4 (minor versions 0, 1 and 2) on one TCP port, so that `mount -o
 * port=P,mountport=P` needs no portmapper; optionally a second portmapper
 * on port 111 for clients that insist on asking one (Windows). The
 * `versions` option leaves out any of them (v2 and v3 with their MOUNT
 * version).
 *
 * @example MOUNT and NFS on one port: mount, then read the root's attributes
 * ```ts
 * import { RpcClient } from "@netfs/netfs/rpc";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * // Port 0 picks a free port; without `quiet` the server prints mount commands.
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/", fs: new MemFs() }] });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const mnt = await client.call(100005, 3, 1, (w) => w.string("/")); // MOUNT v3 MNT
 * assert.equal(mnt.u32(), 0); // MNT3_OK
 * const root = mnt.opaque(64);
 * const attrs = await client.call(100003, 3, 1, (w) => w.opaque(root)); // NFSv3 GETATTR
 * assert.equal(attrs.u32(), 0); // NFS3_OK
 * assert.equal(attrs.u32(), 2); // NF3DIR
 * assert.equal(attrs.u32(), 0o755); // the mode of a MemFs root
 * client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import type { ConnectionInfo, ConnectionOptions } from "../net/connection.ts";
import { type RpcServer, serveRpc } from "../rpc/server.ts";
import { type ExportOptions, ExportTable } from "./exports.ts";
import { mountPrograms } from "./mount.ts";
import { nfs2Program } from "./nfs2/program.ts";
import { nfs3Program } from "./nfs3/program.ts";
import { type Nfs4Options, nfs4ProgramOf } from "./nfs4/program.ts";
import { Nfs4Server } from "./nfs4/context.ts";
import { portmapPrograms } from "./portmap.ts";
import type { Logger } from "../telemetry/log.ts";
import type { MetricsRegistry } from "../telemetry/metrics.ts";
import { nfs4Gauges } from "./_nfs4_gauges.ts";

/**
 * Options of {@link serveNfs}.
 *
 * @example The transfer sizes a client learns from FSINFO
 * ```ts
 * import { RpcClient } from "@netfs/netfs/rpc";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const server = serveNfs({
 *   port: 0,
 *   quiet: true,
 *   rtmax: 256 * 1024,
 *   wtmax: 64 * 1024,
 *   exports: [{ path: "/", fs: new MemFs() }],
 * });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const mnt = await client.call(100005, 3, 1, (w) => w.string("/"));
 * assert.equal(mnt.u32(), 0);
 * const root = mnt.opaque(64);
 * const info = await client.call(100003, 3, 19, (w) => w.opaque(root)); // FSINFO
 * assert.equal(info.u32(), 0); // NFS3_OK
 * assert.equal(info.bool(), true); // the root's attributes follow
 * info.fixedOpaque(84);
 * assert.deepEqual([info.u32(), info.u32()], [256 * 1024, 256 * 1024]); // rtmax, rtpref
 * info.u32(); // rtmult
 * assert.deepEqual([info.u32(), info.u32()], [64 * 1024, 64 * 1024]); // wtmax, wtpref
 * client.close();
 * await server.shutdown();
 * ```
 */
export interface NfsServerOptions extends ConnectionOptions {
  /** The exports (see {@link ExportOptions}). */
  exports: readonly ExportOptions[];
  /** Address to listen on. Default "127.0.0.1". */
  hostname?: string;
  /** TCP port for everything. Default 2049; 0 picks a free one. */
  port?: number;
  /** Aborting it shuts the server down. */
  signal?: AbortSignal;
  /**
   * Also answer portmap/rpcbind on port 111 (needs privileges), pointing at
   * the main port. Default false.
   */
  portmap111?: boolean;
  /** Largest READ (FSINFO rtmax, rtpref). Default 1 MiB. */
  rtmax?: number;
  /** Largest WRITE (FSINFO wtmax, wtpref). Default 1 MiB. */
  wtmax?: number;
  /** Preferred READDIR size (FSINFO dtpref). Default 64 KiB. */
  dtpref?: number;
  /** The 8-byte write verifier. Default random per start. */
  writeVerifier?: Uint8Array;
  /** Calls in flight per connection. Default 64. */
  maxInFlight?: number;
  /** Do not print the mount commands and mount events. Default false. */
  quiet?: boolean;
  /**
   * Where messages go, as plain lines. Default `console.error`. Ignored
   * when `logger` is given.
   */
  log?: (msg: string) => void;
  /**
   * A levelled logger, in place of `log`: the listening line and mount
   * commands at info level unless `onListen` is given (as `Deno.serve`
   * does) or `quiet`, mounts and unmounts at info, refused and misbehaving
   * peers at warn, failures at error, connections at debug, each event of a
   * connection with its id and peer.
   */
  logger?: Logger;
  /**
   * Where to count RPC calls, replies, bytes and connections, and read the
   * NFSv4 clients, sessions, opens and locks. Nothing is measured without it.
   */
  metrics?: MetricsRegistry;
  /** Called once listening. */
  onListen?: (addr: Deno.NetAddr) => void;
  /**
   * The NFS versions served: 2 (with MOUNT v1), 3 (with MOUNT v3) and 4
   * (minor versions 0, 1 and 2 unless `nfs4.minorVersions` says otherwise).
   * Default: every version netfs has, `[2, 3, 4]`. NFSv2 always moves at
   * most 8192 bytes a call, whatever `rtmax` and `wtmax` say.
   */
  versions?: readonly (2 | 3 | 4)[];
  /**
   * NFSv4 options: lease and grace time, minor versions, stable storage.
   * Its `maxIo` (maxread, maxwrite) defaults to the smaller of `rtmax` and
   * `wtmax`.
   */
  nfs4?: Omit<Nfs4Options, "exports" | "log">;
}

/**
 * A running NFS server, shaped like the handle `Deno.serve` returns.
 *
 * @example The export table in use, the connections, and dropping one
 * ```ts
 * import { RpcClient } from "@netfs/netfs/rpc";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "data/", fs: new MemFs() }] });
 * assert.deepEqual(server.exports.exports.map((e) => e.path), ["/data"]); // as clients mount it
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await client.call(100003, 3, 0, () => {}); // NFSv3 NULL
 * const [conn] = server.connections();
 * assert.equal(conn.requests, 1);
 * assert.equal(server.disconnect(conn.id), true);
 * await client.closed; // the server hung up
 * await server.shutdown();
 * ```
 */
export interface NfsServer {
  /** The address of the main port. */
  readonly addr: Deno.NetAddr;
  /** The portmapper on port 111, when `portmap111` was set. */
  readonly portmapAddr?: Deno.NetAddr;
  /** Resolves when every listener and connection is closed. */
  readonly finished: Promise<void>;
  /** The export table in use. */
  readonly exports: ExportTable;
  /** Stops accepting, finishes calls in flight, closes everything. */
  shutdown(): Promise<void>;
  /** Live connections of the main port. */
  connections(): ConnectionInfo[];
  /** Closes one connection of the main port. */
  disconnect(id: number): boolean;
}

/**
 * The mount commands for Linux, macOS and Windows, for the start banner.
 *
 * @example
 * ```ts
 * import { mountCommands } from "@netfs/netfs/server";
 * import assert from "node:assert/strict";
 *
 * const all = mountCommands("0.0.0.0", 2049, "/"); // a wildcard address mounts as loopback
 * assert.equal(
 *   all.linux,
 *   "sudo mount -t nfs -o vers=3,proto=tcp,port=2049,mountport=2049,mountproto=tcp,nolock 127.0.0.1:/ /mnt",
 * );
 * assert.match(all.windows, /needs an export with a name/);
 * const data = mountCommands("192.0.2.1", 2049, "/data");
 * assert.ok(data.windows.startsWith("mount -o anon,nolock \\\\192.0.2.1\\data Z:"));
 * ```
 */
export function mountCommands(
  host: string,
  port: number,
  path: string,
): {
  linux: string;
  linux2: string;
  linux4: string;
  macos: string;
  windows: string;
} {
  const h = host === "0.0.0.0" || host === "::"
    ? "127.0.0.1"
    : host.includes(":")
    ? `[${host}]`
    : host;
  const name = path === "/" ? "" : path.slice(1);
  return {
    linux:
      `sudo mount -t nfs -o vers=3,proto=tcp,port=${port},mountport=${port},mountproto=tcp,nolock ${h}:${path} /mnt`,
    linux2:
      `sudo mount -t nfs -o vers=2,proto=tcp,port=${port},mountport=${port},mountproto=tcp,nolock ${h}:${path} /mnt`,
    linux4:
      `sudo mount -t nfs -o vers=4.1,proto=tcp,port=${port} ${h}:${path} /mnt`,
    macos:
      `sudo mount -t nfs -o vers=3,tcp,port=${port},mountport=${port},nolocks,resvport ${h}:${path} /Volumes/netfs`,
    windows: name
      ? `mount -o anon,nolock \\\\${h}\\${
        name.replaceAll("/", "\\")
      } Z:  (needs portmap111 and the NFS port 2049)`
      : "(Windows needs an export with a name, such as /data, plus portmap111 and port 2049)",
  };
}

/**
 * Starts the NFS server.
 *
 * @example Where the banner and mount events go, and stopping by AbortSignal
 * ```ts
 * import { RpcClient } from "@netfs/netfs/rpc";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const ac = new AbortController();
 * const server = serveNfs({
 *   port: 0,
 *   exports: [{ path: "/", fs: new MemFs() }],
 *   log: (line) => lines.push(line), // default: console.error
 *   signal: ac.signal,
 * });
 * const { port } = server.addr;
 * assert.equal(
 *   lines[0],
 *   `netfs nfs: NFSv2 + MOUNT v1 + NFSv3 + MOUNT v3 + NFSv4 + portmap on 127.0.0.1:${port}`,
 * );
 * assert.match(lines[1], /Linux: +sudo mount -t nfs/);
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port });
 * await client.call(100005, 3, 1, (w) => w.string("/")); // MNT
 * assert.equal(lines.at(-1), "netfs nfs: 127.0.0.1 mounted /");
 * client.close();
 * ac.abort(); // as server.shutdown() does
 * await server.finished;
 * ```
 */
export function serveNfs(options: NfsServerOptions): NfsServer {
  const logger = options.logger;
  const log = options.log ?? ((m: string) => console.error(m));
  // What the programs report: failures that are the server's bugs.
  const failures = logger ? (m: string) => logger.error(m) : log;
  const exports = new ExportTable(options.exports);
  const versions = new Set(options.versions ?? [2, 3, 4]);
  if (
    versions.size === 0 ||
    [...versions].some((v) => v !== 2 && v !== 3 && v !== 4)
  ) {
    throw new RangeError(
      `NFS versions must be among 2, 3 and 4: ${[...versions].join(",")}`,
    );
  }
  // MOUNT v1 for NFSv2, v3 for NFSv3, over one list of mounts.
  const mountVersions = [
    ...(versions.has(2) ? [1 as const] : []),
    ...(versions.has(3) ? [3 as const] : []),
  ];
  const wtmax = options.wtmax ?? 1 << 20;
  const maxIo = options.nfs4?.maxIo ??
    Math.min(options.rtmax ?? 1 << 20, wtmax);
  // Connection-level filter: anyone some export allows; each export then
  // checks its own list per call.
  const allow = options.allow ??
    [...new Set(exports.exports.flatMap((e) => e.clients))];
  const onMount = options.quiet
    ? undefined
    : logger
    ? (e: { op: string; client: string; path: string }) =>
      logger.info(
        `${e.op === "mnt" ? "Mounted" : "Unmounted"} ${e.path}`,
        { peer: e.client },
      )
    : (e: { op: string; client: string; path: string }) =>
      log(
        `netfs nfs: ${e.client} ${
          e.op === "mnt" ? "mounted" : "unmounted"
        } ${e.path}`,
      );
  // A reset connection is how many clients (libnfs) say goodbye: not news.
  const rpcLog = options.quiet ? () => {} : (m: string) => {
    if (!m.includes("Connection reset by peer")) log(`netfs rpc: ${m}`);
  };
  const nfs4 = versions.has(4)
    ? new Nfs4Server({
      writeVerifier: options.writeVerifier,
      ...options.nfs4,
      maxIo,
      exports,
      log: failures,
    })
    : undefined;
  const telemetry = {
    ...(logger ? { logger } : { log: rpcLog }),
    metrics: options.metrics,
  };
  const main = serveRpc({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 2049,
    allow,
    accept: options.accept,
    onConnect: options.onConnect,
    onDisconnect: options.onDisconnect,
    maxConnections: options.maxConnections,
    idleTimeout: options.idleTimeout,
    lowWater: options.lowWater,
    maxInFlight: options.maxInFlight,
    ...telemetry,
    maxRecordSize: Math.max(
      Math.max(wtmax, maxIo) + 65536,
      4 * 1024 * 1024 + 65536,
    ),
    programs: [
      ...(mountVersions.length > 0
        ? mountPrograms({ exports, onMount, versions: mountVersions })
        : []),
      ...(versions.has(2) ? [nfs2Program({ exports, log: failures })] : []),
      ...(versions.has(3)
        ? [
          nfs3Program({
            exports,
            rtmax: options.rtmax,
            wtmax,
            dtpref: options.dtpref,
            writeVerifier: options.writeVerifier,
            log: failures,
          }),
        ]
        : []),
      ...(nfs4 ? [nfs4ProgramOf(nfs4)] : []),
    ],
  });
  for (const p of portmapPrograms(main)) main.register(p);
  let pm: RpcServer | undefined;
  if (options.portmap111) {
    try {
      pm = serveRpc({
        hostname: options.hostname ?? "127.0.0.1",
        port: 111,
        allow,
        ...telemetry,
        programs: [],
      });
      // Answers about the main server's programs and port.
      for (const p of portmapPrograms(main)) pm.register(p);
    } catch (e) {
      void main.shutdown();
      throw e;
    }
  }
  const stopGauges = options.metrics && nfs4
    ? nfs4Gauges(options.metrics, nfs4)
    : undefined;
  const finished = Promise.all([main.finished, pm?.finished]).then(() => {
    stopGauges?.();
  });
  let shutting: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    shutting ??= Promise.all([main.shutdown(), pm?.shutdown()]).then(
      () => {},
    );
    return shutting;
  };
  const signal = options.signal;
  if (signal) {
    if (signal.aborted) void shutdown();
    else {
      const onAbort = () => void shutdown();
      signal.addEventListener("abort", onAbort, { once: true });
      void finished.then(() => signal.removeEventListener("abort", onAbort));
    }
  }
  if (!options.quiet && !(logger && options.onListen)) {
    const { hostname, port } = main.addr;
    const served = [
      ...(versions.has(2) ? ["NFSv2 + MOUNT v1"] : []),
      ...(versions.has(3) ? ["NFSv3 + MOUNT v3"] : []),
      ...(versions.has(4) ? ["NFSv4"] : []),
    ].join(" + ");
    const listening = `${served} + portmap on ${hostname}:${port}${
      pm ? ", portmap also on port 111" : ""
    }`;
    if (logger) logger.info(`Serving ${listening}`);
    else log(`netfs nfs: ${listening}`);
    for (const e of exports.exports) {
      const m = mountCommands(hostname, port, e.path);
      const lines = [
        ...(versions.has(3) ? [`Linux:   ${m.linux}`] : []),
        ...(versions.has(4) ? [`Linux:   ${m.linux4}`] : []),
        ...(versions.has(2) ? [`Linux:   ${m.linux2}`] : []),
        ...(versions.has(3)
          ? [`macOS:   ${m.macos}`, `Windows: ${m.windows}`]
          : []),
      ];
      const about = `export ${e.path}${
        e.readOnly ? " (read-only)" : ""
      }, clients ${e.clients.join(" ")}`;
      if (logger) {
        logger.info(`Serving ${about}`);
        for (const l of lines) logger.info(l, { export: e.path });
      } else log(`  ${about}${lines.map((l) => `\n    ${l}`).join("")}`);
    }
  }
  options.onListen?.(main.addr);
  return {
    addr: main.addr,
    portmapAddr: pm?.addr,
    finished,
    exports,
    shutdown,
    connections: () => main.connections(),
    disconnect: (id) => main.disconnect(id),
  };
}
