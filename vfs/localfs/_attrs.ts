// Attribute mapping for LocalFs: host stat results as netfs Attributes, the
// change counter (Deno's ctime has whole seconds, so changes within one
// millisecond are told apart by counting them), and the attributes verified
// in the current synchronous turn of the event loop, which a getattr, read or
// write in that same turn may reuse (the staleness bound is one turn; every
// change through the LocalFs drops them, see bump).
import type * as nfs from "node:fs";
import {
  checkSetattr,
  type Ownership,
  requirePermission,
  requireSticky,
} from "../access.ts";
import { VfsError } from "../errors.ts";
import { BoundedMap } from "../../collections/_bounded_map.ts";
import {
  type Attributes,
  type Credentials,
  type FileId,
  FileType,
  type SetAttributes,
  type Time,
} from "../types.ts";

/** What the change counter of an object last saw (see AttrMap.of). */
interface Seen {
  base: number;
  k: number;
  /** The value last returned: the counter never goes below it again. */
  value: number;
  mode: number | null;
  uid: number | null;
  gid: number | null;
  nlink: number | null;
  size: number;
  bumps: number;
}

/** A host stat result; the native engine adds the times to the nanosecond. */
export type HostStat = Deno.FileInfo & {
  readonly times?: { atime: Time; mtime: Time; ctime: Time };
};

/** The netfs type of a host object. */
export function typeOf(st: Deno.FileInfo): FileType {
  if (st.isFile) return FileType.Regular;
  if (st.isDirectory) return FileType.Directory;
  if (st.isSymlink) return FileType.Symlink;
  if (st.isBlockDevice) return FileType.Block;
  if (st.isCharDevice) return FileType.Char;
  if (st.isFifo) return FileType.Fifo;
  return FileType.Socket;
}

/** Milliseconds since the epoch as a netfs Time. */
export function toTime(ms: number): Time {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}

/** A netfs Time as the seconds node:fs takes for utimes. */
export function toSeconds(t: Time): number {
  return t.sec + t.nsec / 1e9;
}

/** node:fs Stats in the shape of Deno.FileInfo, for a descriptor's attributes. */
export function fromNodeStats(st: nfs.Stats): Deno.FileInfo {
  return {
    isFile: st.isFile(),
    isDirectory: st.isDirectory(),
    isSymlink: st.isSymbolicLink(),
    isBlockDevice: st.isBlockDevice(),
    isCharDevice: st.isCharacterDevice(),
    isFifo: st.isFIFO(),
    isSocket: st.isSocket(),
    size: st.size,
    mtime: new Date(st.mtimeMs),
    atime: new Date(st.atimeMs),
    birthtime: new Date(st.birthtimeMs),
    ctime: new Date(st.ctimeMs),
    dev: st.dev,
    ino: st.ino,
    mode: st.mode,
    nlink: st.nlink,
    uid: st.uid,
    gid: st.gid,
    rdev: st.rdev,
    blksize: st.blksize,
    blocks: st.blocks,
  };
}

/** The ownership and mode the permission policy in ../access.ts decides on. */
export function owned(st: Deno.FileInfo): Ownership {
  return {
    type: typeOf(st),
    mode: st.mode! & 0o7777,
    uid: st.uid ?? 0,
    gid: st.gid ?? 0,
  };
}

/**
 * The mode a SETATTR of `st` may set (undefined: none asked), once the
 * permission policy allows every change asked; symlinks have no mode.
 */
export function setattrMode(
  cred: Credentials,
  id: FileId,
  st: Deno.FileInfo,
  attrs: SetAttributes,
): number | undefined {
  const what = `fileid ${id}`;
  const mode = checkSetattr(owned(st), cred, attrs, { what });
  if (mode !== undefined && st.isSymlink) {
    throw new VfsError("ENOTSUP", `Symlinks have no mode: ${what}`);
  }
  return mode;
}

/** Throws EACCES unless `cred` has the `want` bits on the host object. */
export function requireOn(
  cred: Credentials,
  st: Deno.FileInfo,
  want: number,
  what: string,
): void {
  requirePermission(owned(st), cred, want, what);
}

/** Throws unless the sticky bit of `dir` lets `cred` remove or replace `victim`. */
export function requireStickyOn(
  cred: Credentials,
  dir: Deno.FileInfo,
  victim: Deno.FileInfo,
  name: string,
): void {
  requireSticky(owned(dir), owned(victim), cred, name);
}

/** The set-group-id bit, which a directory passes on to what is made in it. */
export const S_ISGID = 0o2000;

/**
 * Owner for a new object in directory `dir`: the caller, or who `attrs`
 * names (setgid directories pass on their group); undefined when the
 * process's own ids will do (`chown` off and no ids asked for).
 */
export function newOwner(
  chown: boolean,
  cred: Credentials,
  dir: Deno.FileInfo,
  attrs: SetAttributes | undefined,
): { uid: number; gid: number } | undefined {
  const uid = attrs?.uid ?? cred.uid;
  const gid = attrs?.gid ??
    ((dir.mode! & S_ISGID) !== 0 ? dir.gid! : cred.gid);
  if (!chown && attrs?.uid === undefined && attrs?.gid === undefined) {
    return undefined;
  }
  return { uid, gid };
}

/** Attributes with their change counter, and the current turn's verified stats. */
export class AttrMap {
  readonly #fsid: number | undefined;
  /** Changes made through this server, per object, for the change counter. */
  readonly #bumps = new BoundedMap<FileId, number>(10_000);
  readonly #seen = new BoundedMap<FileId, Seen>(10_000);
  /** Attributes read in the current synchronous turn (see DataIo's openStat). */
  readonly #turnStats = new Map<FileId, Deno.FileInfo>();
  #turnArmed = false;

  /** `fsid` overrides the host device number in attributes. */
  constructor(fsid: number | undefined) {
    this.#fsid = fsid;
  }

  /** Attributes verified earlier in this synchronous turn, if any. */
  turnStat(id: FileId): Deno.FileInfo | undefined {
    return this.#turnStats.get(id);
  }

  /**
   * A change made through this LocalFs: the turn's attributes of `id` go, and
   * its change counter moves even within one tick of the host clock.
   */
  bump(id: FileId): void {
    this.#turnStats.delete(id);
    const n = (this.#bumps.get(id) ?? 0) + 1;
    this.#bumps.delete(id);
    this.#bumps.set(id, n);
  }

  /**
   * The attributes of the host object `st`, named `id`; with nanosecond
   * `times` (the native engine's statx) instead of Deno's milliseconds.
   */
  of(st: HostStat, id: FileId): Attributes {
    const a = this.#of(st, id);
    // Clients see the host's inode number; the generation stays in the id.
    if (st.ino !== undefined && st.ino !== null && st.ino !== id) {
      a.inode = st.ino;
    }
    return a;
  }

  #of(st: HostStat, id: FileId): Attributes {
    const mtimeMs = st.mtime?.getTime() ?? 0;
    // Deno reports ctime in whole seconds: within the same second, the
    // finer mtime is the better estimate (ctime is never before mtime).
    let ctimeMs = st.ctime?.getTime() ?? mtimeMs;
    if (Math.floor(ctimeMs / 1000) === Math.floor(mtimeMs / 1000)) {
      ctimeMs = Math.max(ctimeMs, mtimeMs);
    }
    const rdev = st.rdev ?? 0;
    return {
      type: typeOf(st),
      mode: st.mode! & 0o7777,
      nlink: st.nlink ?? 1,
      uid: st.uid ?? 0,
      gid: st.gid ?? 0,
      size: st.size,
      used: (st.blocks ?? 0) * 512,
      rdev: {
        major: ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff),
        minor: (rdev & 0xff) | ((rdev >>> 12) & ~0xff),
      },
      fsid: this.#fsid ?? st.dev,
      fileid: id,
      atime: st.times?.atime ?? toTime(st.atime?.getTime() ?? 0),
      mtime: st.times?.mtime ?? toTime(mtimeMs),
      ctime: st.times?.ctime ?? toTime(ctimeMs),
      change: this.#change(id, st, Math.max(mtimeMs, ctimeMs)),
    };
  }

  /**
   * A change counter from the times, bumped when attributes change within
   * one millisecond of the time base (Deno's ctime has whole seconds), and
   * never lower than the value it last gave for the object: the time base
   * moves down when mtime is set into the past within ctime's second (the
   * portable engine), when an mtime in the future is set back, or when the
   * clock steps back, and NFSv4.2 tells clients the counter only grows
   * (Linux discards attributes whose change is lower as older). The high-
   * water mark is kept for the 10,000 objects seen last and in memory only.
   */
  #change(id: FileId, st: Deno.FileInfo, baseMs: number): number {
    // Compared field by field: building a string signature cost more than
    // the rest of the attributes (readdirplus computes this per entry).
    const bumps = this.#bumps.get(id) ?? 0;
    const seen = this.#seen.get(id);
    if (seen !== undefined && seen.base === baseMs) {
      if (
        seen.mode === st.mode && seen.uid === st.uid && seen.gid === st.gid &&
        seen.nlink === st.nlink && seen.size === st.size &&
        seen.bumps === bumps
      ) {
        return seen.value;
      }
      seen.k = Math.min(seen.k + 1, 999);
    } else if (seen !== undefined) {
      seen.base = baseMs;
      seen.k = 0;
    }
    const rec = seen ?? {
      base: baseMs,
      k: 0,
      value: 0,
      mode: 0,
      uid: 0,
      gid: 0,
      nlink: 0,
      size: 0,
      bumps: 0,
    };
    rec.mode = st.mode;
    rec.uid = st.uid;
    rec.gid = st.gid;
    rec.nlink = st.nlink;
    rec.size = st.size;
    rec.bumps = bumps;
    const computed = baseMs * 1000 + rec.k;
    rec.value = seen === undefined
      ? computed
      : Math.max(seen.value + 1, computed);
    this.#seen.delete(id);
    this.#seen.set(id, rec);
    return rec.value;
  }

  /** Remembers attributes read in this synchronous turn (see DataIo.openStat). */
  noteTurn(id: FileId, st: Deno.FileInfo): void {
    if (!this.#turnArmed) {
      this.#turnArmed = true;
      queueMicrotask(this.#endTurn);
    }
    this.#turnStats.set(id, st);
  }

  readonly #endTurn = (): void => {
    this.#turnStats.clear();
    this.#turnArmed = false;
  };
}
