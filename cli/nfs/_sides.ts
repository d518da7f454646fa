/**
 * The two ends of `netfs cp` behind one shape: a local directory tree
 * (Deno's file calls) or an NFS export (an `NfsClient` at a located URL).
 * A copy reads with `open`, writes through a {@link Sink} that says how many
 * bytes are on stable storage, and makes directories and links.
 *
 * @module
 */

import { dirname, join } from "node:path";
import type { NfsFile } from "../../client/nfs_file.ts";
import { joinPath, type Located } from "./_common.ts";

/** What a copy needs to know about an object. */
export interface Kind {
  type: "file" | "directory" | "symlink" | "other";
  size: number;
  /** Permission bits. */
  mode: number;
}

/** Where a copy writes one file. */
export interface Sink {
  write(p: Uint8Array): Promise<void>;
  /** Makes every byte written so far stable (NFS COMMIT). */
  sync(): Promise<void>;
  /** Syncs and closes. */
  close(): Promise<void>;
}

/** One end of a copy. */
export interface Side {
  /** A path of this side as the user knows it (a URL for NFS). */
  show(path: string): string;
  join(dir: string, name: string): string;
  /** The parent directory of `path`. */
  parent(path: string): string;
  /** The object itself (links not followed); null when missing. */
  lstat(path: string): Promise<Kind | null>;
  /** The object, links followed; null when missing. */
  stat(path: string): Promise<Kind | null>;
  list(path: string): Promise<string[]>;
  open(path: string): Promise<ReadableStream<Uint8Array>>;
  create(path: string, mode: number): Promise<Sink>;
  /** Makes a directory; one already there is fine. */
  mkdir(path: string, mode: number): Promise<void>;
  readLink(path: string): Promise<string>;
  symlink(target: string, path: string): Promise<void>;
}

/** The fields of `Deno.FileInfo` and `NfsFileInfo` a copy reads. */
interface InfoLike {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  size: number;
  mode: number | null;
}

function kindOf(i: InfoLike): Kind {
  return {
    type: i.isFile
      ? "file"
      : i.isDirectory
      ? "directory"
      : i.isSymlink
      ? "symlink"
      : "other",
    size: i.size,
    mode: (i.mode ?? 0o644) & 0o7777,
  };
}

async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** What both file APIs (Deno's and `NfsClient`) offer alike. */
interface FileApi {
  lstat(p: string): Promise<InfoLike>;
  stat(p: string): Promise<InfoLike>;
  readDir(p: string): AsyncIterable<{ name: string }>;
  mkdir(p: string, o: { mode: number }): Promise<void>;
}

/** The members of a {@link Side} that are the same over either API. */
function inspect(fs: FileApi): Pick<Side, "lstat" | "stat" | "list" | "mkdir"> {
  return {
    lstat: async (p) => {
      const i = await orNull(fs.lstat(p));
      return i && kindOf(i);
    },
    stat: async (p) => {
      const i = await orNull(fs.stat(p));
      return i && kindOf(i);
    },
    list: async (p) => {
      const names: string[] = [];
      for await (const e of fs.readDir(p)) names.push(e.name);
      return names.sort();
    },
    mkdir: async (p, mode) => {
      try {
        await fs.mkdir(p, { mode });
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        if (!(await fs.stat(p)).isDirectory) throw e;
      }
    },
  };
}

/** How a copy opens its destination file: made if missing, else emptied. */
const REPLACE = { write: true, create: true, truncate: true } as const;

/** The local file system. */
export const localSide: Side = {
  show: (p) => p,
  join: (d, n) => join(d, n),
  parent: (p) => dirname(p),
  ...inspect(Deno),
  open: async (p) => (await Deno.open(p)).readable,
  create: async (p, mode) => {
    const f = await Deno.open(p, { ...REPLACE, mode });
    return {
      write: async (data) => {
        for (let off = 0; off < data.byteLength;) {
          off += await f.write(data.subarray(off));
        }
      },
      // Local data is the kernel's to keep; cp(1) does not fsync either.
      sync: () => Promise.resolve(),
      close: () => Promise.resolve(f.close()),
    };
  },
  readLink: (p) => Deno.readLink(p),
  symlink: (t, p) => Deno.symlink(t, p),
};

/** Standard input as a source file named "-", of unknown size. */
export const stdinSide: Side = {
  ...localSide,
  show: () => "standard input",
  lstat: () => Promise.resolve({ type: "file", size: 0, mode: 0o644 }),
  stat: () => Promise.resolve({ type: "file", size: 0, mode: 0o644 }),
  open: () => Promise.resolve(Deno.stdin.readable),
};

/** An NFS export, at a located URL. */
export function nfsSide(at: Located): Side {
  const { nfs } = at;
  return {
    show: (p) => at.show(p),
    join: joinPath,
    parent: (p) => p.replace(/\/[^/]*$/, "") || "/",
    ...inspect(nfs),
    open: async (p) => (await nfs.open(p)).readable,
    create: async (p, mode) => {
      const f: NfsFile = await nfs.open(p, { ...REPLACE, mode });
      return {
        write: async (data) => {
          await f.write(data);
        },
        sync: () => f.sync(),
        close: () => f.close(),
      };
    },
    readLink: (p) => nfs.readLink(p),
    symlink: (t, p) => nfs.symlink(t, p),
  };
}
