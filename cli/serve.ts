/**
 * `netfs serve nfs|nbd`: the serving verbs (one file each).
 *
 * @module
 */

import { UsageError } from "./_args.ts";
import { serveNbdCommand } from "./serve_nbd.ts";
import { serveNfsCommand } from "./serve_nfs.ts";

/** `netfs serve --help`. */
export const SERVE_HELP =
  `Usage: netfs serve nfs [DIR | --memory | --config FILE] [options]
       netfs serve nbd [NAME=]FILE... | --memory [NAME=]SIZE [options]

  nfs    export a directory or an in-memory tree over NFSv3 and NFSv4
  nbd    serve disk images and RAM disks over NBD

Run "netfs serve nfs --help" or "netfs serve nbd --help" for their options.

Examples:
  netfs serve nfs ./export
  netfs serve nbd ./disk.img
`;

/** Runs `netfs serve ARGS`; resolves with the exit status. */
export function serveCommand(args: string[]): Promise<number> {
  const [what, ...rest] = args;
  if (what === "nfs") return serveNfsCommand(rest);
  if (what === "nbd") return serveNbdCommand(rest);
  if (what === undefined || what === "--help" || what === "-h") {
    console.log(SERVE_HELP);
    return Promise.resolve(what === undefined ? 2 : 0);
  }
  throw new UsageError(
    `Unknown thing to serve: ${what} (expected nfs or nbd)`,
  );
}
