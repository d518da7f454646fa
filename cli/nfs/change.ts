/**
 * `netfs cat`, `mkdir [-p]`, `rm [-r]` and `mv`: read a file to standard
 * output, and change the namespace of an NFS export.
 *
 * @module
 */

import type { NfsClient } from "../../client/nfs_client.ts";
import { UsageError } from "../_args.ts";
import { checkPermissions } from "../_runtime.ts";
import {
  atMost,
  joinPath,
  type NfsArg,
  nfsArg,
  nfsNeed,
  parseVerb,
  withLocated,
} from "./_common.ts";

const PERMS =
  `Permissions (deno run): --allow-net=HOST; --allow-sys=uid,gid to call as
yourself (else as nobody, 65534).`;

/** `netfs cat --help`. */
export const CAT_HELP = `Usage: netfs cat URL...

Write files on an NFS server to standard output, one after the other.

${PERMS}

Examples:
  netfs cat nfs://127.0.0.1/export/notes.txt | grep netfs
`;

/** `netfs mkdir --help`. */
export const MKDIR_HELP = `Usage: netfs mkdir [-p] [--mode OCTAL] URL...

Make directories on an NFS server.

  -p, --parents    make missing parents too; no error if it exists
  --mode OCTAL     permission bits (default 755)

${PERMS}

Examples:
  netfs mkdir -p nfs://127.0.0.1/export/photos/2026
`;

/** `netfs rm --help`. */
export const RM_HELP = `Usage: netfs rm [-r] URL...

Remove files, links and (with -r) directories with everything in them.

  -r, --recursive  remove directories and their contents

${PERMS}

Examples:
  netfs rm -r nfs://127.0.0.1/export/old-backups
`;

/** `netfs mv --help`. */
export const MV_HELP = `Usage: netfs mv SRC DST

Rename or move a file or directory on one NFS server (a RENAME call: both
URLs name the same server and export). When DST is a directory, SRC moves
into it.

${PERMS}

Examples:
  netfs mv nfs://127.0.0.1/export/draft.txt nfs://127.0.0.1/export/final.txt
`;

/** Runs `netfs cat ARGS`. */
export async function catCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseVerb("cat", args, {});
  if (values.help) {
    console.log(CAT_HELP);
    return 0;
  }
  if (positionals.length === 0) nfsArg("cat", undefined);
  const urls = positionals.map((p) => nfsArg("cat", p));
  checkPermissions(urls.map(nfsNeed));
  for (const a of urls) {
    try {
      await withLocated(a, async ({ nfs, path }) => {
        const file = await nfs.open(path);
        for await (const chunk of file.readable) {
          await writeAll(chunk);
        }
      });
    } catch (e) {
      // A reader that went away (`| head`) is not a failure.
      if (e instanceof Deno.errors.BrokenPipe) return 0;
      throw e;
    }
  }
  return 0;
}

async function writeAll(p: Uint8Array): Promise<void> {
  for (let off = 0; off < p.byteLength;) {
    off += await Deno.stdout.write(p.subarray(off));
  }
}

/**
 * Runs `f` on the URL's last component, connected to its parent, for the
 * verbs that change an entry in its directory.
 */
async function withEntry(
  verb: string,
  a: NfsArg,
  f: (nfs: NfsClient, path: string) => Promise<void>,
): Promise<void> {
  const name = a.parts.at(-1);
  if (name === undefined) {
    throw new UsageError(
      `URL names the server's root, not an entry: ${a.url.href} (see: netfs ${verb} --help)`,
    );
  }
  await withLocated(
    a,
    ({ nfs, path }) => f(nfs, joinPath(path, name)),
    a.parts.slice(0, -1),
  );
}

/** Runs `netfs mkdir ARGS`. */
export async function mkdirCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseVerb("mkdir", args, {
    parents: { type: "boolean", short: "p" },
    mode: { type: "string" },
  });
  if (values.help) {
    console.log(MKDIR_HELP);
    return 0;
  }
  if (positionals.length === 0) nfsArg("mkdir", undefined);
  const urls = positionals.map((p) => nfsArg("mkdir", p));
  let mode = 0o755;
  if (values.mode !== undefined) {
    if (!/^[0-7]{1,4}$/.test(values.mode)) {
      throw new UsageError(
        `Invalid --mode: ${values.mode} (expected octal bits such as 755)`,
      );
    }
    mode = parseInt(values.mode, 8);
  }
  checkPermissions(urls.map(nfsNeed));
  for (const a of urls) {
    if (values.parents) {
      await withLocated(a, async ({ nfs, path }) => {
        if (path !== "/") await nfs.mkdir(path, { recursive: true, mode });
      });
      continue;
    }
    await withEntry("mkdir", a, (nfs, path) => nfs.mkdir(path, { mode }));
  }
  return 0;
}

/** Runs `netfs rm ARGS`. */
export async function rmCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseVerb("rm", args, {
    recursive: { type: "boolean", short: "r" },
  });
  if (values.help) {
    console.log(RM_HELP);
    return 0;
  }
  if (positionals.length === 0) nfsArg("rm", undefined);
  const urls = positionals.map((p) => nfsArg("rm", p));
  checkPermissions(urls.map(nfsNeed));
  for (const a of urls) {
    await withEntry("rm", a, async (nfs, path) => {
      if ((await nfs.lstat(path)).isDirectory && !values.recursive) {
        throw new Error(`Is a directory (use -r): ${a.url.href}`);
      }
      await nfs.remove(path, { recursive: values.recursive ?? false });
    });
  }
  return 0;
}

/** Runs `netfs mv ARGS`. */
export async function mvCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseVerb("mv", args, {});
  if (values.help) {
    console.log(MV_HELP);
    return 0;
  }
  const src = nfsArg("mv", positionals[0]);
  const dst = nfsArg("mv", positionals[1]);
  atMost(positionals, 2);
  const server = (u: URL) => `${u.host}${u.search}`;
  if (server(src.url) !== server(dst.url)) {
    throw new UsageError(
      `mv works on one server: ${src.url.host}${src.url.search} and ${dst.url.host}${dst.url.search} differ (use cp, then rm)`,
    );
  }
  if (src.parts.length === 0) {
    throw new UsageError(`URL names the server's root: ${src.url.href}`);
  }
  checkPermissions([nfsNeed(src)]);
  // Connect where both paths meet, so one RENAME can name both.
  let common = 0;
  while (
    common < src.parts.length - 1 && common < dst.parts.length &&
    src.parts[common] === dst.parts[common]
  ) common++;
  return await withLocated(src, async (at) => {
    const rel = (p: NfsArg) =>
      p.parts.slice(common).reduce((d, n) => joinPath(d, n), at.path);
    const from = rel(src);
    let to = rel(dst);
    try {
      if ((await at.nfs.stat(to)).isDirectory) {
        to = joinPath(to, src.parts[src.parts.length - 1]);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (to === "/") {
      throw new UsageError(`Cannot replace the export's root: ${dst.url.href}`);
    }
    await at.nfs.rename(from, to);
    return 0;
  }, src.parts.slice(0, common));
}
