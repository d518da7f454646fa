/**
 * The `netfs` command: serve NFS and NBD, and talk to NFS and NBD servers
 * (`ls`, `cat`, `cp`, `stat`, `mkdir`, `rm`, `mv`, `showmount`, `rpcinfo`,
 * `nbd list|info|copy`).
 *
 * ```sh
 * deno install --global -n netfs --allow-net --allow-read --allow-write --allow-sys=statfs,uid,gid jsr:@netfs/netfs/cli
 * netfs serve nfs ./export
 * ```
 *
 * Exit status: 0 when done (also after SIGINT or SIGTERM stopped a server
 * cleanly), 1 when something failed while running, 2 when the command line
 * was wrong (an unknown flag, a bad value or config file, a missing
 * permission flag), and 130/143 when a second SIGINT/SIGTERM cut a
 * shutdown short.
 *
 * @example The version and the help, from code
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "@netfs/netfs/cli";
 * assert.equal(await main(["--version"]), 0);
 * assert.equal(await main(["serve", "nfs", "--no-such-flag"]), 2);
 * ```
 *
 * @module
 */

import config from "./deno.json" with { type: "json" };
import { UsageError } from "./cli/_args.ts";
import { permissionError } from "./cli/_runtime.ts";
import { NBD_HELP, nbdCommand } from "./cli/nbd.ts";
import { NFS_VERBS } from "./cli/nfs/mod.ts";
import { NBD_KERNEL_HELP } from "./cli/nbd_kernel.ts";
import { SERVE_HELP, serveCommand } from "./cli/serve.ts";
import { SERVE_NBD_HELP } from "./cli/serve_nbd.ts";
import { SERVE_NFS_HELP } from "./cli/serve_nfs.ts";

/** The package version, from deno.json. */
export const VERSION: string = config.version;

const HELP =
  `netfs ${VERSION}: network file services (NFS, NBD) from one command.

Usage: netfs VERB [options]

Verbs:
  serve nfs [DIR]        export a directory (or --memory) over NFSv3 and NFSv4
  serve nbd FILE...      serve disk images (or --memory SIZE) over NBD
  nbd list URI           list an NBD server's exports
  nbd info URI           show an NBD export's size and flags
  nbd copy SRC DST       copy between NBD exports and files
  nbd attach URI         (Linux, root) an NBD export as /dev/nbdX
  nbd loopback FILE      (Linux, root) a file, or --memory SIZE, as /dev/nbdX

NFS client verbs (URL: nfs://HOST[:PORT]/EXPORT/PATH[?version=2|3]):
  ls [-l] [-R] URL       list a directory
  cat URL...             write files to standard output
  cp [-r] SRC DST        copy local <-> NFS, NFS -> NFS (progress on a terminal)
  stat URL               a file's attributes
  mkdir [-p] URL...      make directories
  rm [-r] URL...         remove files and trees
  mv SRC DST             rename on one server
  showmount HOST         exports and mounts (MOUNT EXPORT and DUMP)
  rpcinfo HOST           programs registered with the portmapper

Global options:
  --log-level LEVEL      error, warn, info (default) or debug
  --log-format FORMAT    text (default) or json, on standard error
  --metrics HOST:PORT    (serve verbs) Prometheus metrics at /metrics
  --json                 (verbs that print data) JSON for scripts
  -h, --help             help; "netfs VERB --help" for a verb's options
  -V, --version          the version

Examples:
  netfs serve nfs ./export
  netfs serve nbd ./disk.img --metrics 127.0.0.1:9464
  netfs nbd info nbd://127.0.0.1:10809/disk
  netfs ls -l nfs://127.0.0.1/export
  netfs cp -r ./photos nfs://127.0.0.1/export/

Exit status: 0 done, 1 failed while running, 2 wrong command line
(unknown flag, bad value or config, missing permission).
`;

const HELPS: Record<string, string> = {
  serve: SERVE_HELP,
  "serve nfs": SERVE_NFS_HELP,
  "serve nbd": SERVE_NBD_HELP,
  nbd: NBD_HELP,
  "nbd list": NBD_HELP,
  "nbd info": NBD_HELP,
  "nbd copy": NBD_HELP,
  ...Object.fromEntries(
    Object.entries(NFS_VERBS).map(([name, v]) => [name, v.help]),
  ),
  "nbd attach": NBD_KERNEL_HELP,
  "nbd loopback": NBD_KERNEL_HELP,
};

/** Global flags that take a value, when they come before the verb. */
const VALUED = new Set(["--log-level", "--log-format", "--metrics"]);

/**
 * Runs the command with `args` (what follows `netfs`); resolves with the
 * exit status. Messages go to standard output and standard error.
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    // Global flags may come before the verb: move them after it.
    const globals: string[] = [];
    let i = 0;
    for (; i < args.length && args[i].startsWith("-"); i++) {
      const a = args[i];
      if (a === "--version" || a === "-V") {
        console.log(`netfs ${VERSION}`);
        return 0;
      }
      if (a === "--help" || a === "-h") {
        console.log(HELP);
        return 0;
      }
      const name = a.split("=")[0];
      if (
        !VALUED.has(name) && !["--log-level", "--log-format"].includes(name)
      ) {
        throw new UsageError(`Unknown option: ${a} (see: netfs --help)`);
      }
      globals.push(a);
      if (!a.includes("=")) {
        if (i + 1 >= args.length) throw new UsageError(`Missing value: ${a}`);
        globals.push(args[++i]);
      }
    }
    const [verb, ...rest] = args.slice(i);
    if (verb === undefined) {
      console.error(HELP);
      return 2;
    }
    if (verb === "help") {
      const topic = rest.join(" ");
      const text = topic === "" ? HELP : HELPS[topic];
      if (text === undefined) throw new UsageError(`No help on: ${topic}`);
      console.log(text);
      return 0;
    }
    if (verb === "serve") {
      // After "serve nfs|nbd": the globals join the verb's own options.
      const [what, ...more] = rest;
      return await serveCommand(
        what === undefined ? [] : [what, ...globals, ...more],
      );
    }
    if (verb === "nbd") {
      if (globals.some((g) => g.startsWith("--metrics"))) {
        throw new UsageError("--metrics is for the serve verbs");
      }
      const [sub, ...more] = rest;
      return await nbdCommand(
        sub === undefined ? [] : [sub, ...globals, ...more],
      );
    }
    const client = NFS_VERBS[verb];
    if (client !== undefined && Object.hasOwn(NFS_VERBS, verb)) {
      if (globals.some((g) => g.startsWith("--metrics"))) {
        throw new UsageError("--metrics is for the serve verbs");
      }
      return await client.run([...globals, ...rest]);
    }
    throw new UsageError(
      `Unknown verb: ${verb} (expected serve, nbd, ${
        Object.keys(NFS_VERBS).join(", ")
      }; see: netfs --help)`,
    );
  } catch (e) {
    const usage = e instanceof UsageError ? e : permissionError(e);
    if (usage) {
      console.error(`netfs: ${usage.message}`);
      return 2;
    }
    console.error(`netfs: ${(e as Error)?.message ?? e}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
