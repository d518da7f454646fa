/**
 * `netfs ls [-l] [-R] URL` and `netfs stat [-L] URL`: what is on an NFS
 * server, for people (columns like `ls -l` and `stat`) or for scripts
 * (`--json`: one JSON document on standard output).
 *
 * @module
 */

import type { NfsClient } from "../../client/nfs_client.ts";
import type { NfsFileInfo } from "../../client/file_info.ts";
import { checkPermissions } from "../_runtime.ts";
import {
  atMost,
  baseName,
  joinPath,
  mapLimit,
  nfsArg,
  nfsNeed,
  parseVerb,
  withLocated,
} from "./_common.ts";

/** An entry as `ls --json` and `stat --json` print it. */
export interface Entry {
  /** The path below the URL listed ("" for the URL itself in `stat`). */
  path: string;
  name: string;
  type: "file" | "directory" | "symlink" | "other";
  size: number;
  /** Permission bits, as an octal string such as "644". */
  mode: string;
  nlink: number | null;
  uid: number | null;
  gid: number | null;
  mtime: string | null;
  /** Where a symbolic link points. */
  target?: string;
}

function typeOf(i: NfsFileInfo): Entry["type"] {
  return i.isFile
    ? "file"
    : i.isDirectory
    ? "directory"
    : i.isSymlink
    ? "symlink"
    : "other";
}

/** `drwxr-xr-x`, `-rw-r--r--`, `lrwxrwxrwx`, with s/S and t/T. */
export function modeString(i: NfsFileInfo): string {
  const m = i.mode ?? 0;
  const t = i.isDirectory
    ? "d"
    : i.isSymlink
    ? "l"
    : i.isFile
    ? "-"
    : i.isBlockDevice
    ? "b"
    : i.isCharDevice
    ? "c"
    : i.isFifo
    ? "p"
    : i.isSocket
    ? "s"
    : "?";
  const rwx = (shift: number, special: number, ch: string) => {
    const r = m & (4 << shift) ? "r" : "-";
    const w = m & (2 << shift) ? "w" : "-";
    const x = (m & (1 << shift)) !== 0;
    const s = (m & special) !== 0;
    return r + w + (s ? (x ? ch : ch.toUpperCase()) : x ? "x" : "-");
  };
  return t + rwx(6, 0o4000, "s") + rwx(3, 0o2000, "s") + rwx(0, 0o1000, "t");
}

/** `2026-12-06 11:09`, in local time. */
export function timeString(d: Date | null): string {
  if (d === null) return "-";
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${
    p(d.getHours())
  }:${p(d.getMinutes())}`;
}

async function entryOf(
  nfs: NfsClient,
  path: string,
  rel: string,
  info?: NfsFileInfo,
): Promise<Entry & { info: NfsFileInfo }> {
  const i = info ?? await nfs.lstat(path);
  const e: Entry & { info: NfsFileInfo } = {
    path: rel,
    name: baseName(path),
    type: typeOf(i),
    size: i.size,
    mode: ((i.mode ?? 0) & 0o7777).toString(8),
    nlink: i.nlink,
    uid: i.uid,
    gid: i.gid,
    mtime: i.mtime?.toISOString() ?? null,
    info: i,
  };
  if (i.isSymlink) e.target = await nfs.readLink(path);
  return e;
}

/** Lines of `ls -l` for `entries`, columns aligned. */
function longLines(entries: (Entry & { info: NfsFileInfo })[]): string[] {
  const w = (f: (e: Entry) => string) =>
    Math.max(0, ...entries.map((e) => f(e).length));
  const cols = {
    nlink: w((e) => String(e.nlink ?? "-")),
    uid: w((e) => String(e.uid ?? "-")),
    gid: w((e) => String(e.gid ?? "-")),
    size: w((e) => String(e.size)),
  };
  return entries.map((e) =>
    [
      modeString(e.info),
      String(e.nlink ?? "-").padStart(cols.nlink),
      String(e.uid ?? "-").padEnd(cols.uid),
      String(e.gid ?? "-").padEnd(cols.gid),
      String(e.size).padStart(cols.size),
      timeString(e.info.mtime),
      e.target === undefined ? e.name : `${e.name} -> ${e.target}`,
    ].join(" ")
  );
}

/** The most `lstat` calls in flight while listing. */
const IN_FLIGHT = 16;

/** `netfs ls --help`. */
export const LS_HELP = `Usage: netfs ls [-l] [-R] [--json] URL

List a directory on an NFS server (or show one file), sorted by name;
entries starting with "." are listed too.

  -l, --long       mode, links, uid, gid, size, modification time, name
  -R, --recursive  list the directories below too
  --json           one JSON array of {path, name, type, size, mode, nlink,
                   uid, gid, mtime, target}

URL is nfs://HOST[:PORT]/EXPORT/PATH[?version=2|3&uid=N&gid=N].

Permissions (deno run): --allow-net=HOST; --allow-sys=uid,gid to call as
yourself (else as nobody, 65534).

Examples:
  netfs ls -l nfs://127.0.0.1/export/photos
  netfs ls -R --json nfs://192.0.2.10:2049/srv?version=3
`;

/** Runs `netfs ls ARGS`. */
export async function lsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseVerb("ls", args, {
    long: { type: "boolean", short: "l" },
    recursive: { type: "boolean", short: "R" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(LS_HELP);
    return 0;
  }
  const a = nfsArg("ls", positionals[0]);
  atMost(positionals, 1);
  checkPermissions([nfsNeed(a)]);
  const long = values.long ?? false;
  const recursive = values.recursive ?? false;
  const json = values.json ?? false;
  return await withLocated(a, async ({ nfs, path }) => {
    const top = await nfs.stat(path);
    if (!top.isDirectory) {
      const e = await entryOf(nfs, path, baseName(path), await nfs.lstat(path));
      if (json) console.log(JSON.stringify([strip(e)]));
      else console.log(long ? longLines([e])[0] : e.name);
      return 0;
    }
    const all: Entry[] = [];
    const sections: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      const names: string[] = [];
      for await (const d of nfs.readDir(dir)) names.push(d.name);
      names.sort();
      const entries = long || json || recursive
        ? await mapLimit(
          names,
          IN_FLIGHT,
          (n) => entryOf(nfs, joinPath(dir, n), rel ? `${rel}/${n}` : n),
        )
        : names.map((n) => ({ name: n }) as Entry & { info: NfsFileInfo });
      if (json) all.push(...entries.map(strip));
      else {
        const lines = long ? longLines(entries) : entries.map((e) => e.name);
        const head = recursive ? [`${rel ? `./${rel}` : "."}:`] : [];
        sections.push([...head, ...lines].join("\n"));
      }
      if (!recursive) return;
      for (const e of entries) {
        if (e.type === "directory") {
          await walk(joinPath(dir, e.name), e.path);
        }
      }
    };
    await walk(path, "");
    if (json) console.log(JSON.stringify(all));
    else {
      const text = sections.filter((s) => s !== "").join("\n\n");
      if (text !== "") console.log(text);
    }
    return 0;
  });
}

function strip(e: Entry & { info?: NfsFileInfo }): Entry {
  const { info: _, ...rest } = e;
  return rest;
}

/** `netfs stat --help`. */
export const STAT_HELP = `Usage: netfs stat [-L] [--json] URL

Show the attributes of a file, directory or link on an NFS server: type,
size, blocks, file id, links, mode, owner, times.

  -L, --dereference  follow a symbolic link (default: the link itself)
  --json             one JSON object, the fields of Deno.FileInfo plus
                     url, type and target

Permissions (deno run): --allow-net=HOST; --allow-sys=uid,gid to call as
yourself (else as nobody, 65534).

Examples:
  netfs stat nfs://127.0.0.1/export/notes.txt
`;

/** Runs `netfs stat ARGS`. */
export async function statCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseVerb("stat", args, {
    dereference: { type: "boolean", short: "L" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(STAT_HELP);
    return 0;
  }
  const a = nfsArg("stat", positionals[0]);
  atMost(positionals, 1);
  checkPermissions([nfsNeed(a)]);
  return await withLocated(a, async ({ nfs, path }) => {
    const i = values.dereference ? await nfs.stat(path) : await nfs.lstat(path);
    const e = await entryOf(nfs, path, "", i);
    if (values.json) {
      console.log(JSON.stringify({
        url: a.url.href,
        type: e.type,
        ...i,
        ...(e.target === undefined ? {} : { target: e.target }),
      }));
      return 0;
    }
    const kind = i.isFile
      ? "regular file"
      : i.isDirectory
      ? "directory"
      : i.isSymlink
      ? "symbolic link"
      : modeString(i)[0] === "p"
      ? "fifo"
      : "special file";
    console.log([
      `  File: ${a.url.href}${e.target === undefined ? "" : ` -> ${e.target}`}`,
      `  Size: ${i.size}  Blocks: ${i.blocks ?? "-"}  ${kind}`,
      `Device: ${i.dev}  Inode: ${i.ino ?? "-"}  Links: ${i.nlink ?? "-"}`,
      `Access: (${e.mode.padStart(4, "0")}/${modeString(i)})  Uid: ${
        i.uid ?? "-"
      }  Gid: ${i.gid ?? "-"}`,
      `Access: ${i.atime?.toISOString() ?? "-"}`,
      `Modify: ${i.mtime?.toISOString() ?? "-"}`,
      `Change: ${i.ctime?.toISOString() ?? "-"}`,
    ].join("\n"));
    return 0;
  });
}
