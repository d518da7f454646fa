/**
 * NBD URIs as libnbd writes them, `nbd://HOST[:PORT]/EXPORT` (`nbds://` for
 * TLS), for the `netfs nbd` verbs.
 *
 * @module
 */

import { UsageError } from "./_args.ts";

/** A parsed NBD URI. */
export interface NbdUri {
  hostname: string;
  port: number;
  export: string;
  tls: boolean;
}

/** Parses `nbd://HOST[:PORT]/EXPORT` (or `nbds://`); undefined for anything else. */
export function parseNbdUri(s: string): NbdUri | undefined {
  if (!/^nbds?:\/\//.test(s)) return undefined;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new UsageError(`Invalid NBD URI: ${s}`);
  }
  if (!url.hostname) throw new UsageError(`NBD URI without a host: ${s}`);
  let name: string;
  try {
    name = decodeURIComponent(url.pathname.replace(/^\//, ""));
  } catch {
    throw new UsageError(`Invalid export name in: ${s}`);
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    hostname: hostname === "localhost" ? "127.0.0.1" : hostname,
    port: url.port ? Number(url.port) : 10809,
    export: name,
    tls: url.protocol === "nbds:",
  };
}

/** The URI argument of `netfs nbd VERB`, or a usage error saying what is wrong. */
export function uriArg(s: string | undefined, verb: string): NbdUri {
  if (s === undefined) {
    throw new UsageError(`Missing URI (see: netfs nbd ${verb} --help)`);
  }
  const u = parseNbdUri(s);
  if (!u) {
    throw new UsageError(
      `Not an NBD URI: ${s} (expected nbd://HOST[:PORT]/EXPORT)`,
    );
  }
  return u;
}
