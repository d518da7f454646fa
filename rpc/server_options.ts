/**
 * The options of `serveRpc` and the handle it returns; `rpc/server.ts`
 * re-exports both.
 *
 * @module
 */

import type { ConnectionInfo, ConnectionOptions } from "../net/mod.ts";
import type { Logger } from "../telemetry/log.ts";
import type { MetricsRegistry } from "../telemetry/metrics.ts";
import type { RpcProgram } from "./program.ts";

/** Options of {@link serveRpc}. */
export interface RpcServerOptions extends ConnectionOptions {
  /** Address to listen on; default "127.0.0.1" ("::1" or "::" for IPv6). */
  hostname?: string;
  /** TCP port; 0 (the default) picks a free one. 111 needs root. */
  port?: number;
  /** Aborting it shuts the server down, like `shutdown()`. */
  signal?: AbortSignal;
  /** The programs to serve; more can be added with `register`. */
  programs: RpcProgram[];
  /** Calls in flight per connection before reading pauses. Default 64. */
  maxInFlight?: number;
  /** Largest record accepted. Default 4 MiB + 64 KiB. */
  maxRecordSize?: number;
  /** Duplicate-request cache bounds (for procedures marked `cached`). */
  drc?: { entries?: number; ttlMs?: number; maxBytes?: number };
  /** Called once listening, with the bound address. */
  onListen?: (addr: Deno.NetAddr) => void;
  /**
   * Where log lines go, as plain messages; default `console.error` with a
   * "netfs rpc: " prefix. Ignored when `logger` is given.
   */
  log?: (msg: string) => void;
  /**
   * A levelled logger. Each event of a connection carries its id and peer
   * as fields; connections opened and closed are logged at debug level.
   * Takes the place of `log`.
   */
  logger?: Logger;
  /**
   * Where to count calls, replies, bytes and connections (see the
   * `netfs_rpc_*` series in the README). Nothing is measured without it.
   */
  metrics?: MetricsRegistry;
}

/** A running RPC server. */
export interface RpcServer {
  /** The address the server listens on. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting, lets in-flight calls finish and their replies go out,
   * closes every connection, and resolves with `finished`.
   */
  shutdown(): Promise<void>;
  /** A snapshot of the live connections. */
  connections(): ConnectionInfo[];
  /** Closes connection `id` at once; false if there is no such connection. */
  disconnect(id: number): boolean;
  /** Adds a program version (replacing one with the same numbers). */
  register(program: RpcProgram): void;
  /** The registered program versions. */
  programs(): RpcProgram[];
}
