/**
 * `netfs cp [-r] SRC DST`: copy files and trees from the local disk to an
 * NFS export, back, or between exports (on one server or two).
 *
 * As cp(1): when DST is an existing directory the copy goes inside it under
 * SRC's name; a directory needs `-r`; a tree keeps its symbolic links as
 * links, and permission bits carry over. Directories are made first, then
 * files copied a few at a time. On a terminal, a progress line shows bytes,
 * rate and time left; on a pipe, nothing.
 *
 * What a failure leaves: NFS writes are UNSTABLE and committed every
 * {@link SYNC_EVERY} bytes and at the end of each file, and the message of
 * a failed file says how many of its bytes had been committed: those are
 * on the server's disk even if it stops right after.
 *
 * @module
 */

import { UsageError } from "../_args.ts";
import type { Logger } from "../../telemetry/log.ts";
import {
  checkPermissions,
  fileNeeds,
  loggerOf,
  type Need,
} from "../_runtime.ts";
import { Progress } from "../_progress.ts";
import {
  atMost,
  baseName,
  isNfsUrl,
  locate,
  type Located,
  mapLimit,
  nfsArg,
  nfsNeed,
  parseVerb,
  shown,
} from "./_common.ts";
import {
  type Kind,
  localSide,
  nfsSide,
  type Side,
  stdinSide,
} from "./_sides.ts";

/** Bytes between COMMITs of one file (and the granularity of "committed"). */
export const SYNC_EVERY = 8 << 20;

/** Files copied at once. */
const FILES_IN_FLIGHT = 8;

/** `netfs cp --help`. */
export const CP_HELP = `Usage: netfs cp [-r] SRC DST

Copy a file or (with -r) a directory tree between the local disk and NFS,
or from NFS to NFS. Either side is a local path or an nfs:// URL; a SRC of
- is standard input (DST then names the file). When DST
is an existing directory, SRC is copied into it. Symbolic links in a tree
are copied as links; permission bits carry over.

  -r, --recursive  copy directories and everything below them

A progress line (bytes, rate, time left) shows on a terminal, never on a
pipe; --log-level debug logs each commit. Data written to NFS is committed every 8 MiB and at the end of each
file; when a copy fails, the message says how many bytes of the file being
written were committed.

Permissions (deno run): --allow-net=HOST for each server; --allow-read for a
local SRC; --allow-read and --allow-write for a local DST (without paths when
a tree holds symbolic links: Deno.symlink wants that); --allow-sys=uid,gid to
call as yourself (else as nobody, 65534).

Examples:
  netfs cp ./report.pdf nfs://127.0.0.1/export/docs/
  netfs cp -r nfs://192.0.2.10/srv/photos ./photos-backup
  netfs cp nfs://a.example/export/x.iso nfs://b.example/export/x.iso
  tar c ./logs | netfs cp - nfs://127.0.0.1/export/logs.tar
`;

/** One side of the copy as given on the command line. */
interface End {
  side: Side;
  path: string;
  /** The name a copy into a directory takes ("" for an NFS export root). */
  name: string;
  at?: Located;
}

async function endOf(arg: string): Promise<End> {
  if (arg === "-") return { side: stdinSide, path: "-", name: "" };
  if (!isNfsUrl(arg)) {
    return { side: localSide, path: arg, name: baseName(arg) };
  }
  const a = nfsArg("cp", arg);
  const at = await locate(a);
  return {
    side: nfsSide(at),
    path: at.path,
    name: a.parts.at(-1) ?? "",
    at,
  };
}

function needsOf(arg: string, write: boolean): Need[] {
  if (arg === "-") return [];
  return isNfsUrl(arg) ? [nfsNeed(nfsArg("cp", arg))] : fileNeeds(arg, write);
}

/** One thing to make at the destination. */
interface Step {
  kind: Kind;
  from: string;
  to: string;
}

/** Every object under `from` (itself first), parents before children. */
async function plan(
  src: Side,
  from: string,
  to: string,
  dst: Side,
  top: Kind,
): Promise<Step[]> {
  const out: Step[] = [{ kind: top, from, to }];
  for (let i = 0; i < out.length; i++) {
    const s = out[i];
    if (s.kind.type !== "directory") continue;
    const names = await src.list(s.from);
    const kinds = await mapLimit(
      names,
      16,
      (n) => src.lstat(src.join(s.from, n)),
    );
    names.forEach((n, j) => {
      const k = kinds[j];
      if (k) {
        out.push({ kind: k, from: src.join(s.from, n), to: dst.join(s.to, n) });
      }
    });
  }
  return out;
}

/** Copies one file's bytes, committing as it goes. */
async function copyFile(
  src: Side,
  dst: Side,
  s: Step,
  progress: Progress,
  log: Logger,
): Promise<void> {
  let written = 0;
  let committed = 0;
  try {
    const input = await src.open(s.from);
    const sink = await dst.create(s.to, s.kind.mode);
    let closed = false;
    try {
      for await (const chunk of input) {
        await sink.write(chunk);
        written += chunk.byteLength;
        progress.add(chunk.byteLength);
        if (written - committed >= SYNC_EVERY) {
          await sink.sync();
          committed = written;
          log.debug(`Committed ${committed} bytes: ${dst.show(s.to)}`);
        }
      }
      closed = true;
      await sink.close();
      committed = written;
      log.debug(`Copied ${written} bytes: ${dst.show(s.to)}`);
    } finally {
      if (!closed) await sink.close().catch(() => {});
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (written > 0) {
      err.message += ` (${committed} bytes committed to ${dst.show(s.to)})`;
    }
    throw err;
  }
}

/** Runs `netfs cp ARGS`. */
export async function cpCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseVerb("cp", args, {
    recursive: { type: "boolean", short: "r" },
  });
  if (values.help) {
    console.log(CP_HELP);
    return 0;
  }
  if (positionals.length < 2) {
    throw new UsageError(
      "cp needs a source and a destination (see: netfs cp --help)",
    );
  }
  atMost(positionals, 2);
  const [srcArg, dstArg] = positionals;
  if (dstArg === "-") {
    throw new UsageError(
      "cp writes no standard output: use netfs cat URL for that",
    );
  }
  if (!isNfsUrl(srcArg) && !isNfsUrl(dstArg)) {
    throw new UsageError(
      "cp needs an nfs:// URL on at least one side (for local copies, use cp)",
    );
  }
  checkPermissions([...needsOf(srcArg, false), ...needsOf(dstArg, true)]);
  const src = await endOf(srcArg);
  let dst: End | undefined;
  try {
    dst = await endOf(dstArg);
    return await copy(src, dst, values.recursive ?? false, loggerOf(values));
  } catch (e) {
    throw shown(shown(e, src.at), dst?.at);
  } finally {
    await src.at?.close();
    await dst?.at?.close();
  }
}

async function copy(
  src: End,
  dst: End,
  recursive: boolean,
  log: Logger,
): Promise<number> {
  const top = await src.side.stat(src.path);
  if (top === null) {
    throw new Deno.errors.NotFound(
      `No such file or directory: ${src.side.show(src.path)}`,
    );
  }
  if (top.type === "directory" && !recursive) {
    throw new Error(`Is a directory (use -r): ${src.side.show(src.path)}`);
  }
  if (top.type !== "file" && top.type !== "directory") {
    throw new Error(`Not a file or directory: ${src.side.show(src.path)}`);
  }
  const there = await dst.side.stat(dst.path);
  const to = there?.type === "directory" && src.name !== ""
    ? dst.side.join(dst.path, src.name)
    : dst.path;
  if (there === null && top.type === "file") {
    const up = await dst.side.stat(dst.side.parent(dst.path));
    if (up?.type !== "directory") {
      throw new Deno.errors.NotFound(
        `No such directory: ${dst.side.show(dst.side.parent(dst.path))}`,
      );
    }
  }
  const steps = await plan(src.side, src.path, to, dst.side, top);
  const total = steps.reduce(
    (n, s) => n + (s.kind.type === "file" ? s.kind.size : 0),
    0,
  );
  const progress = new Progress(total, true);
  for (const s of steps) {
    if (s.kind.type === "directory") {
      await dst.side.mkdir(s.to, s.kind.mode | 0o700);
    }
  }
  const files = steps.filter((s) => s.kind.type === "file");
  await mapLimit(
    files,
    FILES_IN_FLIGHT,
    (s) => copyFile(src.side, dst.side, s, progress, log),
  );
  for (const s of steps) {
    if (s.kind.type === "symlink") {
      await dst.side.symlink(await src.side.readLink(s.from), s.to);
    } else if (s.kind.type === "other") {
      console.error(
        `netfs cp: skipped (not a file, directory or link): ${
          src.side.show(s.from)
        }`,
      );
    }
  }
  progress.done();
  return 0;
}
