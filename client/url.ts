/**
 * NFS URLs as libnfs writes them (RFC 2224 style):
 * `nfs://host[:port]/export/path?version=3&nfsport=N&mountport=N&uid=N&gid=N&readahead=N`.
 *
 * The URL's port is the NFS port (`nfsport` says the same). Ports that are
 * not given are found through the server's portmapper. The path names the
 * export, or a directory inside one.
 *
 * @example
 * ```ts
 * import { parseNfsUrl } from "@netfs/netfs/client";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseNfsUrl("nfs://[::1]:2049/srv/data?uid=1000&gid=100"), {
 *   hostname: "::1", path: "/srv/data", nfsPort: 2049, uid: 1000, gid: 100,
 * });
 * assert.throws(() => parseNfsUrl("nfs://host/?versoin=3"), /Unknown NFS URL argument: versoin/);
 * ```
 *
 * @module
 */

/** The parts of an NFS URL. Absent fields were not in the URL. */
export interface NfsUrl {
  /** Server name or address (IPv6 without brackets). */
  hostname: string;
  /** The export, or a path inside one; "/" at least, no trailing "/". */
  path: string;
  /** NFS version asked for (`version`); 3 when absent. */
  version?: 2 | 3;
  /** The NFS port (the URL's port, or `nfsport`). */
  nfsPort?: number;
  /** The MOUNT port (`mountport`). */
  mountPort?: number;
  /** AUTH_SYS uid (`uid`). */
  uid?: number;
  /** AUTH_SYS gid (`gid`). */
  gid?: number;
  /** Bytes to read ahead of a sequential reader (`readahead`). */
  readahead?: number;
}

const ARGS = ["version", "nfsport", "mountport", "uid", "gid", "readahead"];

function integer(name: string, text: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) > max) {
    throw new TypeError(`Invalid NFS URL argument: ${name}=${text}`);
  }
  return Number(text);
}

/**
 * Parses an `nfs://` URL; throws a `TypeError` naming what is wrong.
 *
 * @param url The URL.
 */
export function parseNfsUrl(url: string | URL): NfsUrl {
  const u = typeof url === "string" ? new URL(url) : url;
  if (u.protocol !== "nfs:") {
    throw new TypeError(`Not an nfs:// URL: ${u.href}`);
  }
  if (u.hostname === "") throw new TypeError(`No server in URL: ${u.href}`);
  const hostname = u.hostname.startsWith("[")
    ? u.hostname.slice(1, -1)
    : u.hostname;
  const path = "/" +
    decodeURIComponent(u.pathname).split("/").filter((s) => s !== "").join(
      "/",
    );
  const out: NfsUrl = { hostname, path };
  if (u.port !== "") out.nfsPort = integer("port", u.port, 65535);
  for (const [name, value] of u.searchParams) {
    switch (name) {
      case "version": {
        if (value !== "2" && value !== "3") {
          throw new TypeError(`Unsupported NFS version: ${value} (2 or 3)`);
        }
        out.version = value === "2" ? 2 : 3;
        break;
      }
      case "nfsport":
        out.nfsPort = integer(name, value, 65535);
        break;
      case "mountport":
        out.mountPort = integer(name, value, 65535);
        break;
      case "uid":
        out.uid = integer(name, value, 0xffffffff);
        break;
      case "gid":
        out.gid = integer(name, value, 0xffffffff);
        break;
      case "readahead":
        out.readahead = integer(name, value, 2 ** 40);
        break;
      default:
        throw new TypeError(
          `Unknown NFS URL argument: ${name} (known: ${ARGS.join(", ")})`,
        );
    }
  }
  return out;
}
