/**
 * The options of `NfsClient` and what it reports about a connection.
 *
 * @module
 */

import type { AuthSysParms } from "../rpc/program.ts";

/** Options of `NfsClient.connect`. */
export interface NfsConnectOptions {
  /**
   * Credentials for every call, instead of the URL's `uid` and `gid`.
   * Without either: the process's ids when `--allow-sys` grants them,
   * else 65534 (nobody).
   */
  auth?: AuthSysParms | "none";
  /** Timeout of each call (ms). Default 30000. */
  timeoutMs?: number;
  /** Reconnect attempts (and resends) per call. Default 3. */
  retries?: number;
  /** READ or WRITE calls in flight for one transfer. Default 8. */
  window?: number;
  /** The port of the server's portmapper, asked for ports the URL lacks. Default 111. */
  portmapPort?: number;
}

/** Options of `NfsClient.writeFile`, as `Deno.WriteFileOptions`. */
export interface NfsWriteFileOptions {
  /** Create the file if missing. Default true. */
  create?: boolean;
  /** Fail with AlreadyExists if it exists. Default false. */
  createNew?: boolean;
  /** Add to the end instead of replacing. Default false. */
  append?: boolean;
  /** Permission bits of a new file. Default 0o644. */
  mode?: number;
}

/** Options of `NfsClient.open`, as `Deno.OpenOptions`. */
export interface NfsOpenOptions extends NfsWriteFileOptions {
  /** Open for reading. Default true when no other option is given. */
  read?: boolean;
  /** Open for writing. */
  write?: boolean;
  /** Cut the file to 0 bytes. */
  truncate?: boolean;
}

/** Options of `NfsClient.mkdir`. */
export interface NfsMkdirOptions {
  /** Create missing parents, and succeed if it exists. Default false. */
  recursive?: boolean;
  /** Permission bits. Default 0o755. */
  mode?: number;
}

/** Options of `NfsClient.remove`. */
export interface NfsRemoveOptions {
  /** Remove a directory with everything in it. Default false. */
  recursive?: boolean;
}

/** What `NfsClient.connect` found. */
export interface NfsClientInfo {
  /** The NFS version spoken. */
  version: 2 | 3;
  /** The NFS port. */
  nfsPort: number;
  /** The MOUNT port. */
  mountPort: number;
  /** The export mounted. */
  exportPath: string;
  /** The root handle (of the URL's directory). */
  root: Uint8Array;
  /** READ size used. */
  rsize: number;
  /** WRITE size used. */
  wsize: number;
}
