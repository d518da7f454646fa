/**
 * What a netfs server (RPC or NBD) takes about connections and reports on
 * each: the options every server shares, and the {@link ConnectionInfo} its
 * `onConnect` / `onDisconnect` events and `connections()` carry.
 *
 * @example Watching connections come and go
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ConnectionInfo, serveRpc } from "@netfs/netfs";
 * const connected = Promise.withResolvers<ConnectionInfo>();
 * const server = serveRpc({
 *   port: 0,
 *   programs: [],
 *   onConnect: (info) => connected.resolve(info),
 * });
 * const conn = await Deno.connect({ port: server.addr.port });
 * const info = await connected.promise;
 * assert.equal(info.remote.port, (conn.localAddr as Deno.NetAddr).port);
 * assert.deepEqual(server.connections().map((c) => c.id), [info.id]);
 * conn.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

/** What a server reports about one live connection. */
export interface ConnectionInfo {
  /** Server-assigned id, unique for the server's lifetime. */
  id: number;
  /** The peer's address. */
  remote: Deno.NetAddr;
  /** The local address. */
  local: Deno.NetAddr;
  /** When the connection was accepted (ms since the epoch). */
  since: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes sent. */
  bytesOut: number;
  /** Requests (RPC calls or NBD commands) received. */
  requests: number;
}

/** Connection hooks and limits shared by the RPC and NBD servers. */
export interface ConnectionOptions {
  /**
   * Allowed client addresses and CIDRs; default `LOOPBACK`. Refused
   * peers are closed right after accept.
   */
  allow?: readonly string[];
  /**
   * Called for each accepted peer after the allow list passed; returning
   * false refuses it.
   */
  accept?: (remote: Deno.NetAddr) => boolean;
  /** Called when a connection is accepted. */
  onConnect?: (info: ConnectionInfo) => void;
  /** Called when a connection ends, with its final counters. */
  onDisconnect?: (info: ConnectionInfo) => void;
  /** Most simultaneous connections; more are closed at once. Default 1024. */
  maxConnections?: number;
  /** Close a connection idle this long (ms). Default 0: never. */
  idleTimeout?: number;
  /**
   * Whether a connection waiting for the rest of a large message (a 1 MiB
   * WRITE) asks the kernel to wake it only once all of it has arrived
   * (the socket's receive low-water mark, SO_RCVLOWAT, set through libc:
   * `--allow-ffi`), rather than for every burst of segments. Default: on
   * where it can be (Linux 4.19 or later on x86_64 or aarch64, with
   * `--allow-ffi` granted), else off; true makes its absence an error at
   * start. Not used on TLS connections.
   */
  lowWater?: boolean;
}
