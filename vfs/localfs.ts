/**
 * A {@link FileSystem} over a host directory, confined to it.
 *
 * - **Confinement**: every object is reached from the root by names the
 *   server checked itself (no "/", NUL, "." or ".." as names); symlinks are
 *   never followed on the server side (files are opened with `O_NOFOLLOW`);
 *   every located path, component by component, and every opened descriptor
 *   is verified against the expected device, inode and birth time, so a
 *   directory swapped for a symlink between two calls yields ESTALE, never
 *   an object outside. Within one call, Deno offers no openat/fstatat, so a
 *   host process swapping an ancestor and back can race a path: a name's
 *   object is therefore confirmed after the directory's path was verified
 *   (already recorded at that name, or the same object when read again and
 *   the directory's path verified once more after that), so a swap has to be
 *   made and undone three times in step with our system calls (a host loop
 *   swapping as fast as it can won the two-step version about once in 20,000
 *   lookups, and not in 180 runs of the race test since); objects made by a
 *   call are confirmed the same way, and a failed check removes only what
 *   the call made. Limits: a create raced that way (the swap made just
 *   before our mkdir/open and undone before the check) makes its new, empty
 *   object outside, where the undo cannot always reach it; changes made by
 *   path (unlink, rename, and lchown/lutimes of symlinks) check the object
 *   right before acting but could still be redirected by a swap won within
 *   that one system call. Reads and writes go through descriptors verified
 *   when opened (an open descriptor cannot escape). Metadata calls are
 *   synchronous, so no two client requests interleave inside one operation.
 * - **FileIds** are host inode numbers plus a generation in the bits above
 *   2^32 (bumped when the host reuses an inode number, seen by a different
 *   birth time). A journal in a hidden `.netfs` folder at the export's root
 *   (or `stateDir`) maps each FileId to its parent and name, so FileIds keep
 *   resolving after a restart; an object moved behind the server's back is
 *   found again by walking the tree (bounded by `scanLimit`). Each change is
 *   appended with write(2) before the call returns (in the page cache, so it
 *   survives a crash of the server process, as knfsd's dentries do) and
 *   fsynced on `commit` and `close`; the journal is compacted when it has
 *   doubled since the last compaction (amortised O(1) per change).
 * - **IO** is positional (`node:fs` read/write at an offset) through a
 *   bounded cache of open descriptors: synchronous up to 64 KiB (a pread from
 *   the page cache costs a few microseconds, the thread pool several times
 *   more), through the thread pool above. Attributes come from an lstat of
 *   the verified path (several times cheaper in Deno than node:fs `fstat`);
 *   a read or write reuses the attributes a getattr took in the same
 *   synchronous turn (NFS READ and WRITE ask for both at once), and a getattr
 *   reuses those a lookup verified for the directory in the same turn (NFS
 *   LOOKUP returns both): never older ones, so the staleness bound is one
 *   synchronous turn of the event loop (no code of ours runs in between), and
 *   every change made through this LocalFs drops them. Stable writes and
 *   `commit` fsync, and fsync errors are reported.
 *
 * @example Serve a temporary directory
 * ```ts
 * import { LocalFs } from "./localfs.ts";
 * import { ROOT } from "./types.ts";
 * const dir = await Deno.makeTempDir();
 * const fs = await LocalFs.open(dir);
 * const f = await fs.create(ROOT, fs.root, "hello.txt");
 * await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode("hi"), "file");
 * await fs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import * as nfs from "node:fs";
import {
  accessBits,
  checkNewOwner,
  checkSetattr,
  hasPermission,
  modeAfterWrite,
  type Ownership,
  Perm,
  requireData,
  requirePermission,
  requireSticky,
} from "./access.ts";
import { FdCache, type OpenFile } from "./_fd_cache.ts";
import { IdIndex } from "./_id_index.ts";
import { checkName } from "./_names.ts";
import { VfsError, type VfsErrorCode } from "./errors.ts";
import {
  type Attributes,
  type CreateOptions,
  type Credentials,
  type DirEntry,
  type FileId,
  type FileSystem,
  FileType,
  type FsLimits,
  type FsStats,
  type MknodOptions,
  type ReaddirOptions,
  type ReaddirResult,
  type ReadResult,
  type SetAttributes,
  type SetTime,
  type Stability,
  type Time,
  type WriteResult,
} from "./types.ts";

/** Options for {@link LocalFs.open}. */
export interface LocalFsOptions {
  /**
   * Where the FileId journal lives (default `<root>/.netfs`, hidden from
   * clients). Outside the root it needs its own write permission.
   * `false` keeps the index in memory only.
   */
  stateDir?: string | false;
  /** Most host files kept open (default 128). */
  openFiles?: number;
  /** The fsid reported in attributes (default: the host device number). */
  fsid?: number;
  /**
   * Give new objects the caller's uid/gid, as an NFS server running as root
   * does (default: true when the process runs as root and may ask its uid).
   */
  chownToCaller?: boolean;
  /** Most entries walked to find an object moved behind the server's back (default 100,000). */
  scanLimit?: number;
  /**
   * Put a generation above bit 32 of each FileId (default true). Turn off for
   * host file systems with inode numbers beyond 2^32 (then a reused inode
   * number is not detected).
   */
  generations?: boolean;
}

const C = nfs.constants;
const O_NOFOLLOW = C.O_NOFOLLOW;
const O_DIRECTORY = C.O_DIRECTORY;
const S_ISGID = 0o2000;
const EMPTY = new Uint8Array(0);
/** How long a directory must be unchanged before its listing is cached. */
const LISTING_SETTLE_MS = 50;
/**
 * Reads and writes up to this size are synchronous (a pread from the page
 * cache costs a few microseconds; the thread pool round trip several times
 * more); larger ones go through the thread pool, which lets the copy overlap
 * with the network work on another core (measured: 1 MiB sequential READs
 * ~1.4 GiB/s synchronous, ~2.3 GiB/s through the pool, over NFS on tmpfs).
 */
const SYNC_IO_MAX = 64 << 10;
const HOST_CODES = new Set<string>([
  "EPERM",
  "ENOENT",
  "EIO",
  "ENXIO",
  "EBADF",
  "EAGAIN",
  "EACCES",
  "EBUSY",
  "EEXIST",
  "EXDEV",
  "ENODEV",
  "ENOTDIR",
  "EISDIR",
  "EINVAL",
  "EFBIG",
  "ENOSPC",
  "EROFS",
  "EMLINK",
  "ENAMETOOLONG",
  "ENOTEMPTY",
  "EDQUOT",
  "ESTALE",
  "ELOOP",
  "ENOTSUP",
  "ENODATA",
  "E2BIG",
  "ERANGE",
  "ETXTBSY",
  "ENOSYS",
]);

/** A host error as a VfsError naming the object. */
function hostError(e: unknown, what: string): VfsError {
  if (e instanceof VfsError) return e;
  if (e instanceof Deno.errors.NotCapable) {
    return new VfsError(
      "EACCES",
      `Deno permission missing for ${what}: ${(e as Error).message}`,
    );
  }
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string") {
    const mapped = code === "EOPNOTSUPP"
      ? "ENOTSUP"
      : code === "EWOULDBLOCK"
      ? "EAGAIN"
      : code;
    if (HOST_CODES.has(mapped)) {
      return new VfsError(mapped as VfsErrorCode, `${mapped}: ${what}`);
    }
  }
  if (e instanceof Deno.errors.NotFound) {
    return new VfsError("ENOENT", `No such file or directory: ${what}`);
  }
  if (e instanceof Deno.errors.AlreadyExists) {
    return new VfsError("EEXIST", `File exists: ${what}`);
  }
  return new VfsError("EIO", `I/O error on ${what}: ${(e as Error)?.message}`);
}

function typeOf(st: Deno.FileInfo): FileType {
  if (st.isFile) return FileType.Regular;
  if (st.isDirectory) return FileType.Directory;
  if (st.isSymlink) return FileType.Symlink;
  if (st.isBlockDevice) return FileType.Block;
  if (st.isCharDevice) return FileType.Char;
  if (st.isFifo) return FileType.Fifo;
  return FileType.Socket;
}

function toTime(ms: number): Time {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}

function toSeconds(t: Time): number {
  return t.sec + t.nsec / 1e9;
}

function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** The same object: device, inode, birth time and type. */
function sameObject(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.dev === b.dev && a.ino === b.ino &&
    (a.birthtime?.getTime() ?? 0) === (b.birthtime?.getTime() ?? 0) &&
    ((a.mode ?? 0) & 0o170000) === ((b.mode ?? 0) & 0o170000);
}

function validName(name: string): boolean {
  try {
    checkName(name);
    return true;
  } catch {
    return false;
  }
}

function isInt(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** 53-bit string hash (cyrb53) for readdir cookies that need no state. */
function nameHash(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** node:fs Stats in the shape of Deno.FileInfo, for a descriptor's attributes. */
function fromNodeStats(st: nfs.Stats): Deno.FileInfo {
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

/** What the change counter of an object last saw (see LocalFs #change). */
interface Seen {
  base: number;
  k: number;
  mode: number | null;
  uid: number | null;
  gid: number | null;
  nlink: number | null;
  size: number;
  bumps: number;
}

interface Located {
  path: string;
  st: Deno.FileInfo;
}

interface Listing {
  stamp: string;
  /** Entries sorted by hash; the cookie of an entry is hash + 3. */
  names: string[];
  hashes: number[];
}

function lstat(path: string): Deno.FileInfo | undefined {
  // A missing name is an answer, not an accident: without a stack trace the
  // error costs about half as much (lookups of absent names are common).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    // ENOTDIR when a component became a file: the object is not there.
    if ((e as { code?: string }).code === "ENOTDIR") return undefined;
    throw e;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * A file system serving a host directory, confined to it, with FileIds that
 * survive a restart. Open one with {@link LocalFs.open}.
 *
 * Needs `--allow-read=DIR --allow-write=DIR` for the export (and for
 * `stateDir` when it is outside). Creating symlinks needs unscoped
 * `--allow-read --allow-write` (Deno's rule), otherwise SYMLINK answers
 * ENOTSUP; `--allow-sys=statfs,uid` gives real statfs figures and lets a
 * root process create objects owned by the caller. mknod, xattrs, allocate
 * and seek are not available in Deno and are absent or ENOTSUP.
 *
 * @example
 * ```ts
 * import { LocalFs } from "./localfs.ts";
 * import { ROOT } from "./types.ts";
 * const dir = await Deno.makeTempDir();
 * const fs = await LocalFs.open(dir, { openFiles: 64 });
 * const d = await fs.mkdir(ROOT, fs.root, "docs");
 * const again = await LocalFs.open(dir);
 * console.log((await again.getattr(ROOT, d.fileid)).type); // 2 (directory)
 * await again.close();
 * await fs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class LocalFs implements FileSystem {
  /** The root directory's id. */
  readonly root: FileId;
  /** Fixed properties. */
  readonly limits: FsLimits;
  /** Calls may overlap. */
  readonly concurrency = "parallel" as const;

  readonly #rootPath: string;
  readonly #dev: number;
  readonly #index: IdIndex;
  readonly #files: FdCache;
  readonly #fsid: number | undefined;
  readonly #chown: boolean;
  readonly #scanLimit: number;
  /** The state folder's name when it sits directly in the root: hidden. */
  readonly #hidden: string | undefined;
  readonly #listings = new Map<FileId, Listing>();
  /** Ids a scan did not find, and when: not scanned for again for a while. */
  readonly #missing = new Map<FileId, number>();
  /** Changes made through this server, per object, for the change counter. */
  readonly #bumps = new Map<FileId, number>();
  readonly #seen = new Map<FileId, Seen>();
  /** Attributes read in the current synchronous turn (see #openStat). */
  readonly #turnStats = new Map<FileId, Deno.FileInfo>();
  /** FileIds verified to be directories. */
  readonly #dirs = new Set<FileId>();
  #turnArmed = false;
  #closed = false;

  private constructor(
    rootPath: string,
    rootSt: Deno.FileInfo,
    index: IdIndex,
    hidden: string | undefined,
    options: LocalFsOptions,
    chown: boolean,
    symlinks: boolean,
  ) {
    this.#rootPath = rootPath;
    this.#dev = rootSt.dev;
    this.#index = index;
    this.#hidden = hidden;
    this.#files = new FdCache(options.openFiles ?? 128);
    this.#fsid = options.fsid;
    this.#chown = chown;
    this.#scanLimit = options.scanLimit ?? 100_000;
    this.root = index.idFor(rootSt.ino!, rootSt.birthtime?.getTime() ?? 0);
    this.limits = Object.freeze({
      maxNameLength: 255,
      maxLinks: 65000,
      maxFileSize: Number.MAX_SAFE_INTEGER,
      timeDelta: 1_000_000,
      symlinks,
      hardLinks: true,
    });
  }

  /**
   * Opens a host directory for serving.
   *
   * @param root The directory to export (symlinks in this path itself are resolved once).
   * @param options State folder, open-file cache size, ownership, fsid.
   * @returns The file system.
   *
   * @example
   * ```ts
   * import { LocalFs } from "./localfs.ts";
   * const dir = await Deno.makeTempDir();
   * const fs = await LocalFs.open(dir, { stateDir: false });
   * await fs.close();
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  static async open(
    root: string,
    options: LocalFsOptions = {},
  ): Promise<LocalFs> {
    const rootPath = await Deno.realPath(root);
    const rootSt = Deno.lstatSync(rootPath);
    if (!rootSt.isDirectory) {
      throw new VfsError("ENOTDIR", `Not a directory: ${root}`);
    }
    let hidden: string | undefined;
    let journal: string | undefined;
    if (options.stateDir !== false) {
      const dir = options.stateDir ?? `${rootPath}/.netfs`;
      try {
        Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
        journal = `${dir}/ids.jsonl`;
        const real = Deno.realPathSync(dir);
        const slash = real.lastIndexOf("/");
        if (real.slice(0, slash) === rootPath) hidden = real.slice(slash + 1);
      } catch (e) {
        // A read-only export still serves; FileIds then rely on inode walks.
        if (options.stateDir !== undefined) throw e;
      }
    }
    const index = new IdIndex(journal, options.generations ?? true);
    let chown = options.chownToCaller;
    if (chown === undefined) {
      try {
        chown = Deno.uid() === 0;
      } catch {
        chown = false;
      }
    }
    const granted = (name: "read" | "write") =>
      Deno.permissions.querySync({ name }).state === "granted";
    const symlinks = granted("read") && granted("write");
    return new LocalFs(
      rootPath,
      rootSt,
      index,
      hidden,
      options,
      chown,
      symlinks,
    );
  }

  // ---- locating objects ----------------------------------------------------

  #idOf(st: Deno.FileInfo): FileId {
    try {
      return this.#index.idFor(st.ino!, st.birthtime?.getTime() ?? 0);
    } catch (e) {
      throw new VfsError("EIO", (e as Error).message);
    }
  }

  #matches(st: Deno.FileInfo, id: FileId): boolean {
    return st.dev === this.#dev && this.#idOf(st) === id;
  }

  /**
   * Finds `id` on the host and verifies that it is that object: every
   * directory on the recorded path is checked with lstat (so a component
   * swapped for a symlink fails instead of leading outside), then the object.
   */
  #locate(id: FileId): Located {
    if (this.#closed) throw new VfsError("EIO", "File system closed");
    if (!Number.isSafeInteger(id) || this.#index.isDead(id)) {
      throw new VfsError("ESTALE", `Stale file id: ${id}`);
    }
    if (id === this.root) {
      const st = lstat(this.#rootPath);
      if (st === undefined || !st.isDirectory || !this.#matches(st, id)) {
        throw new VfsError("ESTALE", `Export root is gone: ${this.#rootPath}`);
      }
      return { path: this.#rootPath, st };
    }
    const found = this.#verifiedPath(id) ?? this.#scan(id);
    if (found === undefined) {
      throw new VfsError("ESTALE", `Stale file id: ${id}`);
    }
    return found;
  }

  #verifiedPath(id: FileId): Located | undefined {
    const chain: FileId[] = [];
    const names: string[] = [];
    for (let cur = id; cur !== this.root;) {
      const rec = this.#index.records.get(cur);
      if (rec === undefined || chain.length > 4096) return undefined;
      chain.push(cur);
      names.push(rec.name);
      cur = rec.parent;
    }
    let path = this.#rootPath;
    for (let i = chain.length - 1; i >= 0; i--) {
      path += "/" + names[i];
      const st = lstat(path);
      if (st === undefined || !this.#matches(st, chain[i])) return undefined;
      if (i === 0) return { path, st };
      if (!st.isDirectory) return undefined;
    }
    return undefined;
  }

  /**
   * Walks the tree breadth-first from the root, never through symlinks or
   * mount points, to find an object moved behind the server's back.
   */
  #scan(id: FileId): Located | undefined {
    const missed = this.#missing.get(id);
    if (missed !== undefined && Date.now() - missed < 5000) return undefined;
    const queue: { id: FileId; path: string }[] = [{
      id: this.root,
      path: this.#rootPath,
    }];
    let seen = 0;
    for (let q = 0; q < queue.length && seen < this.#scanLimit; q++) {
      const dir = queue[q];
      let names: string[];
      try {
        names = [...Deno.readDirSync(dir.path)].map((e) => e.name);
      } catch {
        continue;
      }
      for (const name of names) {
        if (++seen > this.#scanLimit) break;
        if (dir.id === this.root && name === this.#hidden) continue;
        const path = `${dir.path}/${name}`;
        const st = lstat(path);
        if (st === undefined || st.dev !== this.#dev) continue;
        if (!this.#known(dir.id, name, st)) {
          // Recorded names must be confirmed like lookups (see #confirmed).
          const d = lstat(dir.path);
          if (
            d === undefined || !this.#matches(d, dir.id) ||
            !this.#confirmed(dir.id, name, path, st)
          ) continue;
        }
        const childId = this.#idOf(st);
        this.#index.set(childId, dir.id, name, st.birthtime?.getTime() ?? 0);
        if (childId === id) return { path, st };
        if (st.isDirectory) queue.push({ id: childId, path });
      }
    }
    this.#missing.set(id, Date.now());
    if (this.#missing.size > 1000) {
      this.#missing.delete(this.#missing.keys().next().value!);
    }
    return undefined;
  }

  #dir(id: FileId): Located {
    const at = this.#locate(id);
    if (!at.st.isDirectory) {
      throw new VfsError("ENOTDIR", `Not a directory: fileid ${id}`);
    }
    this.#noteDir(id);
    return at;
  }

  /** Remembers that `id` is a directory (a FileId never changes type). */
  #noteDir(id: FileId): void {
    if (this.#dirs.size >= 100_000) this.#dirs.clear();
    this.#dirs.add(id);
  }

  /** The path recorded for `id`, without touching the host. */
  #recordedPath(id: FileId): string | undefined {
    const names: string[] = [];
    for (let cur = id; cur !== this.root;) {
      const rec = this.#index.records.get(cur);
      if (rec === undefined || names.length > 4096) return undefined;
      names.push(rec.name);
      cur = rec.parent;
    }
    let path = this.#rootPath;
    for (let i = names.length - 1; i >= 0; i--) path += "/" + names[i];
    return path;
  }

  /**
   * The entry `name` of a directory known to be one, looked up through the
   * directory's recorded path and then every component of that path
   * verified: a component swapped for a symlink before the lookup is caught
   * as surely as by verifying first and re-checking the directory after, with
   * one lstat fewer. Undefined sends the caller down the general path
   * (unknown or moved directory, bad or reserved name), which also picks
   * the right error.
   */
  #entry(
    dirId: FileId,
    name: string,
  ): { dir: Located; child: Located | undefined } | undefined {
    if (
      !this.#dirs.has(dirId) || this.#closed || this.#index.isDead(dirId) ||
      (dirId === this.root && name === this.#hidden) || !validName(name)
    ) {
      return undefined;
    }
    const path = this.#recordedPath(dirId);
    if (path === undefined) return undefined;
    const childPath = path + "/" + name;
    const st = lstat(childPath);
    let dir: Located | undefined;
    if (dirId === this.root) {
      const rst = lstat(path);
      if (rst !== undefined && this.#matches(rst, dirId)) {
        dir = { path, st: rst };
      }
    } else dir = this.#verifiedPath(dirId);
    if (dir === undefined || dir.path !== path || !dir.st.isDirectory) {
      return undefined;
    }
    if (st !== undefined && !this.#confirmed(dirId, name, childPath, st)) {
      return undefined; // The general path decides, or answers ESTALE.
    }
    if (st !== undefined && st.dev !== this.#dev) {
      throw new VfsError("EXDEV", `Crosses a mount point: ${name}`);
    }
    return { dir, child: st && { path: childPath, st } };
  }

  /**
   * Whether `st`, read at `path` (the entry `name` of `dirId`) before the
   * directory's path was verified, is really that entry. Deno has no
   * openat/fstatat, so a host process that swaps an ancestor for a symlink
   * and back between two of our calls can show us an object outside. An
   * object already recorded at exactly this name is ours; one seen here for
   * the first time is read again right after the verification and must be
   * the same object, so the swap would have to be undone and redone within
   * one system call of ours.
   */
  #confirmed(
    dirId: FileId,
    name: string,
    path: string,
    st: Deno.FileInfo,
  ): boolean {
    if (this.#known(dirId, name, st)) return true;
    const again = lstat(path);
    if (again === undefined || !sameObject(st, again)) return false;
    // A swap undone for the directory's check and redone for the re-read
    // passes the above (the race test wins it about once in 20,000 lookups):
    // the directory's path is verified once more after the re-read, so the
    // race has to be won a third time.
    if (dirId === this.root) return true; // Names in the root are lstat'ed.
    const dir = this.#verifiedPath(dirId);
    return dir !== undefined && path === `${dir.path}/${name}`;
  }

  /** The entry `name` of a located directory, or undefined. */
  #child(dirId: FileId, dir: Located, name: string): Located | undefined {
    checkName(name);
    if (dirId === this.root && name === this.#hidden) return undefined;
    const path = `${dir.path}/${name}`;
    const st = lstat(path);
    // A directory swapped for a symlink while we looked would have shown an
    // object outside: check that the directory is still itself.
    this.#stillThere(dirId, dir, () => {});
    if (st === undefined) return undefined;
    if (!this.#confirmed(dirId, name, path, st)) {
      throw new VfsError(
        "ESTALE",
        `Directory changed during the operation: fileid ${dirId}`,
      );
    }
    if (st.dev !== this.#dev) {
      throw new VfsError("EXDEV", `Crosses a mount point: ${name}`);
    }
    return { path, st };
  }

  /** Whether `st` is the object already recorded as the entry `name` of `dirId`. */
  #known(dirId: FileId, name: string, st: Deno.FileInfo): boolean {
    if (st.dev !== this.#dev) return false;
    const id = this.#index.peek(st.ino!, st.birthtime?.getTime() ?? 0);
    if (id === undefined) return false;
    const rec = this.#index.records.get(id);
    return rec !== undefined && rec.parent === dirId && rec.name === name;
  }

  #reserved(dirId: FileId, name: string): void {
    if (dirId === this.root && name === this.#hidden) {
      throw new VfsError("EACCES", `Reserved for the server's state: ${name}`);
    }
  }

  /** Records and returns the FileId of a child just found or made. */
  #place(dirId: FileId, name: string, st: Deno.FileInfo): FileId {
    const id = this.#idOf(st);
    this.#index.set(id, dirId, name, st.birthtime?.getTime() ?? 0);
    if (st.isDirectory) this.#noteDir(id);
    return id;
  }

  #changedDir(dirId: FileId): void {
    this.#listings.delete(dirId);
    this.#bump(dirId);
  }

  #bump(id: FileId): void {
    this.#turnStats.delete(id);
    const n = (this.#bumps.get(id) ?? 0) + 1;
    this.#bumps.delete(id);
    this.#bumps.set(id, n);
    if (this.#bumps.size > 10_000) {
      this.#bumps.delete(this.#bumps.keys().next().value!);
    }
  }

  #attrs(st: Deno.FileInfo, id: FileId): Attributes {
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
      atime: toTime(st.atime?.getTime() ?? 0),
      mtime: toTime(mtimeMs),
      ctime: toTime(ctimeMs),
      change: this.#change(id, st, Math.max(mtimeMs, ctimeMs)),
    };
  }

  /**
   * A change counter from the times, bumped when attributes change within
   * one millisecond of the time base (Deno's ctime has whole seconds).
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
        return baseMs * 1000 + seen.k;
      }
      seen.k = Math.min(seen.k + 1, 999);
    } else if (seen !== undefined) {
      seen.base = baseMs;
      seen.k = 0;
    }
    const rec = seen ?? {
      base: baseMs,
      k: 0,
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
    this.#seen.delete(id);
    this.#seen.set(id, rec);
    if (this.#seen.size > 10_000) {
      this.#seen.delete(this.#seen.keys().next().value!);
    }
    return baseMs * 1000 + rec.k;
  }

  #owned(st: Deno.FileInfo): Ownership {
    return {
      type: typeOf(st),
      mode: st.mode! & 0o7777,
      uid: st.uid ?? 0,
      gid: st.gid ?? 0,
    };
  }

  #require(cred: Credentials, st: Deno.FileInfo, want: number, what: string) {
    requirePermission(this.#owned(st), cred, want, what);
  }

  #requireSticky(
    cred: Credentials,
    dir: Deno.FileInfo,
    victim: Deno.FileInfo,
    name: string,
  ): void {
    requireSticky(this.#owned(dir), this.#owned(victim), cred, name);
  }

  // ---- open files ---------------------------------------------------------

  /** An open descriptor for a regular file, verified to be `id`. */
  #open(id: FileId, writable: boolean): OpenFile {
    const cached = this.#files.take(id, writable) ??
      (writable ? undefined : this.#files.take(id, true));
    if (cached !== undefined) return cached;
    const at = this.#locate(id);
    if (at.st.isDirectory) {
      throw new VfsError("EISDIR", `Is a directory: fileid ${id}`);
    }
    if (!at.st.isFile) {
      throw new VfsError("EINVAL", `Not a regular file: fileid ${id}`);
    }
    let fd: number;
    let rw = true;
    try {
      fd = nfs.openSync(at.path, C.O_RDWR | O_NOFOLLOW);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (writable || (code !== "EACCES" && code !== "EROFS")) {
        throw hostError(e, `fileid ${id}`);
      }
      try {
        fd = nfs.openSync(at.path, C.O_RDONLY | O_NOFOLLOW);
      } catch (e2) {
        throw hostError(e2, `fileid ${id}`);
      }
      rw = false;
    }
    const st = nfs.fstatSync(fd);
    if (
      st.dev !== this.#dev || st.ino !== at.st.ino ||
      Math.round(st.birthtimeMs ?? 0) !== (at.st.birthtime?.getTime() ?? 0)
    ) {
      nfs.closeSync(fd);
      throw new VfsError(
        "ESTALE",
        `Object changed while opening: fileid ${id}`,
      );
    }
    return this.#files.add(id, fd, rw);
  }

  // ---- FileSystem ---------------------------------------------------------

  /** Attributes of an object; ESTALE if it no longer exists. */
  getattr(_cred: Credentials, id: FileId): Promise<Attributes> {
    return settle(() => {
      // Attributes verified earlier in this same synchronous turn (the NFS
      // LOOKUP asks for the directory's right after looking a name up in
      // it) are as fresh as another lstat: no code of ours ran in between,
      // and every change made through this LocalFs drops them (#bump).
      const seen = this.#closed || this.#index.isDead(id)
        ? undefined
        : this.#turnStats.get(id);
      if (seen !== undefined) return this.#attrs(seen, id);
      const at = this.#locate(id);
      this.#noteTurn(id, at.st);
      return this.#attrs(at.st, id);
    });
  }

  /** Changes attributes with POSIX ownership rules. */
  setattr(
    cred: Credentials,
    id: FileId,
    attrs: SetAttributes,
  ): Promise<Attributes> {
    return settle(() => {
      const at = this.#locate(id);
      this.#setattr(cred, id, at, attrs);
      this.#bump(id);
      return this.#attrs(this.#locate(id).st, id);
    });
  }

  #setattr(
    cred: Credentials,
    id: FileId,
    at: Located,
    attrs: SetAttributes,
  ): void {
    const st = at.st;
    const what = `fileid ${id}`;
    const mode = checkSetattr(this.#owned(st), cred, attrs, { what });
    if (mode !== undefined && st.isSymlink) {
      throw new VfsError("ENOTSUP", `Symlinks have no mode: ${what}`);
    }
    try {
      if (attrs.size !== undefined) {
        const f = this.#open(id, true);
        try {
          nfs.ftruncateSync(f.fd, attrs.size);
          this.#killPriv(cred, f.fd, st.mode!);
        } finally {
          this.#files.release(f);
        }
      }
      if (mode !== undefined) {
        this.#withFd(
          at,
          id,
          (fd) => nfs.fchmodSync(fd, mode),
          () => Deno.chmodSync(at.path, mode),
        );
      }
      if (attrs.uid !== undefined || attrs.gid !== undefined) {
        const uid = attrs.uid ?? st.uid!;
        const gid = attrs.gid ?? st.gid!;
        if (uid !== st.uid || gid !== st.gid) {
          this.#withFd(
            at,
            id,
            (fd) => nfs.fchownSync(fd, uid, gid),
            () => nfs.lchownSync(at.path, uid, gid),
          );
        }
      }
      if (attrs.atime !== undefined || attrs.mtime !== undefined) {
        const now = Date.now() / 1000;
        const pick = (t: SetTime | undefined, cur: Date | null) =>
          t === undefined
            ? (cur?.getTime() ?? 0) / 1000
            : t === "server"
            ? now
            : toSeconds(t);
        const a = pick(attrs.atime, st.atime);
        const m = pick(attrs.mtime, st.mtime);
        this.#withFd(
          at,
          id,
          (fd) => nfs.futimesSync(fd, a, m),
          () => nfs.lutimesSync(at.path, a, m),
        );
      }
    } catch (e) {
      throw hostError(e, what);
    }
  }

  /**
   * Runs `viaFd` on a verified descriptor of a file or directory (immune to
   * path swaps), or `viaPath` for symlinks and special files.
   */
  #withFd(
    at: Located,
    id: FileId,
    viaFd: (fd: number) => void,
    viaPath: () => void,
  ): void {
    if (at.st.isFile) {
      const f = this.#open(id, false);
      try {
        viaFd(f.fd);
      } finally {
        this.#files.release(f);
      }
      return;
    }
    if (!at.st.isDirectory) {
      viaPath();
      return;
    }
    const fd = nfs.openSync(at.path, C.O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      const st = nfs.fstatSync(fd);
      if (st.dev !== this.#dev || st.ino !== at.st.ino) {
        throw new VfsError("ESTALE", `Object changed: fileid ${id}`);
      }
      viaFd(fd);
    } finally {
      nfs.closeSync(fd);
    }
  }

  /** A non-root write clears setuid, and setgid when group-executable. */
  #killPriv(cred: Credentials, fd: number, mode: number): void {
    const next = modeAfterWrite(mode & 0o7777, cred);
    if (next !== (mode & 0o7777)) nfs.fchmodSync(fd, next);
  }

  /** Finds a name; "." and ".." name the directory itself and its parent. */
  lookup(cred: Credentials, dirId: FileId, name: string): Promise<Attributes> {
    return settle(() => {
      const e = this.#entry(dirId, name);
      if (e !== undefined) {
        this.#require(cred, e.dir.st, Perm.X, `cannot search fileid ${dirId}`);
        this.#noteTurn(dirId, e.dir.st);
        if (e.child === undefined) {
          throw new VfsError("ENOENT", `No such file or directory: ${name}`);
        }
        const st = e.child.st;
        return this.#attrs(st, this.#place(dirId, name, st));
      }
      const dir = this.#dir(dirId);
      this.#require(cred, dir.st, Perm.X, `cannot search fileid ${dirId}`);
      if (name === ".") return this.#attrs(dir.st, dirId);
      if (name === "..") {
        if (dirId === this.root) return this.#attrs(dir.st, dirId);
        const parent = this.#index.records.get(dirId)!.parent;
        return this.#attrs(this.#locate(parent).st, parent);
      }
      const child = this.#child(dirId, dir, name);
      if (child === undefined) {
        throw new VfsError("ENOENT", `No such file or directory: ${name}`);
      }
      return this.#attrs(child.st, this.#place(dirId, name, child.st));
    });
  }

  /** Which NFS ACCESS bits the caller has. */
  access(cred: Credentials, id: FileId, mask: number): Promise<number> {
    return settle(() =>
      accessBits(this.#owned(this.#locate(id).st), cred, mask)
    );
  }

  /**
   * Fresh attributes of an open file without a full `fstat` through
   * node:fs (several times the cost of a path lstat): those a getattr took
   * in this same synchronous turn (the NFS READ asks for both at once), else
   * an lstat of its verified path, else the descriptor's own (an object moved
   * out of reach is still the object the descriptor was verified to be).
   */
  #openStat(id: FileId, f: OpenFile): Deno.FileInfo {
    const st = this.#turnStats.get(id);
    if (st !== undefined) return st;
    const at = this.#closed ? undefined : this.#verifiedPath(id);
    if (at !== undefined) return at.st;
    return fromNodeStats(nfs.fstatSync(f.fd));
  }

  /** Remembers attributes read in this synchronous turn (see #openStat). */
  #noteTurn(id: FileId, st: Deno.FileInfo): void {
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

  /** Reads up to `length` bytes at `offset` with one positional read. */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<ReadResult> {
    if (!isInt(offset) || !isInt(length)) {
      return Promise.reject(
        new VfsError("EINVAL", `Invalid range: ${offset}+${length}`),
      );
    }
    let f: OpenFile;
    try {
      f = this.#open(id, false);
    } catch (e) {
      return Promise.reject(e);
    }
    let st: Deno.FileInfo;
    try {
      st = this.#openStat(id, f);
      if (st.nlink === 0) {
        this.#files.drop(id);
        throw new VfsError("ESTALE", `File was removed: fileid ${id}`);
      }
      requireData(this.#owned(st), cred, "read", `fileid ${id}`);
    } catch (e) {
      this.#files.release(f);
      return Promise.reject(hostError(e, `fileid ${id}`));
    }
    const size = st.size;
    if (offset >= size || length === 0) {
      this.#files.release(f);
      return Promise.resolve({ data: EMPTY, eof: offset >= size });
    }
    const n = Math.min(length, size - offset);
    const buf = new Uint8Array(n);
    if (n > SYNC_IO_MAX) return this.#readAsync(id, f, buf, offset, size);
    // Small reads are served by the page cache: a synchronous pread costs a
    // few microseconds, a trip through the thread pool several times more.
    try {
      let got = 0;
      while (got < n) {
        const r = nfs.readSync(f.fd, buf, got, n - got, offset + got);
        if (r === 0) break;
        got += r;
      }
      const data = got === n ? buf : buf.subarray(0, got);
      return Promise.resolve({ data, eof: got < n || offset + got >= size });
    } catch (e) {
      return Promise.reject(hostError(e, `fileid ${id}`));
    } finally {
      this.#files.release(f);
    }
  }

  async #readAsync(
    id: FileId,
    f: OpenFile,
    buf: Uint8Array,
    offset: number,
    size: number,
  ): Promise<ReadResult> {
    const n = buf.length;
    try {
      let got = 0;
      while (got < n) {
        const r = await new Promise<number>((resolve, reject) =>
          nfs.read(
            f.fd,
            buf,
            got,
            n - got,
            offset + got,
            (e, k) => e ? reject(e) : resolve(k),
          )
        );
        if (r === 0) break;
        got += r;
      }
      const data = got === n ? buf : buf.subarray(0, got);
      return { data, eof: got < n || offset + got >= size };
    } catch (e) {
      throw hostError(e, `fileid ${id}`);
    } finally {
      this.#files.release(f);
    }
  }

  /** Writes at `offset`; "data" and "file" stability fsync before returning. */
  async write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable: Stability = "unstable",
  ): Promise<WriteResult> {
    if (!isInt(offset)) {
      throw new VfsError("EINVAL", `Invalid offset: ${offset}`);
    }
    if (offset + data.length > this.limits.maxFileSize) {
      throw new VfsError("EFBIG", `File too large: ${offset + data.length}`);
    }
    const f = this.#open(id, true);
    try {
      const st = this.#openStat(id, f);
      if (st.nlink === 0) {
        this.#files.drop(id);
        throw new VfsError("ESTALE", `File was removed: fileid ${id}`);
      }
      requireData(this.#owned(st), cred, "write", `fileid ${id}`);
      let done = 0;
      if (data.length <= SYNC_IO_MAX) {
        while (done < data.length) {
          done += nfs.writeSync(
            f.fd,
            data,
            done,
            data.length - done,
            offset + done,
          );
        }
      }
      while (done < data.length) {
        done += await new Promise<number>((resolve, reject) =>
          nfs.write(
            f.fd,
            data,
            done,
            data.length - done,
            offset + done,
            (e, k) => e ? reject(e) : resolve(k),
          )
        );
      }
      if (data.length > 0) {
        this.#killPriv(cred, f.fd, st.mode!);
        this.#bump(id);
      }
      if (stable !== "unstable") await this.#sync(f.fd, stable === "data");
      return {
        count: data.length,
        committed: stable,
        attrs: this.#attrs(this.#openStat(id, f), id),
      };
    } catch (e) {
      throw hostError(e, `fileid ${id}`);
    } finally {
      this.#files.release(f);
    }
  }

  #sync(fd: number, dataOnly: boolean): Promise<void> {
    return new Promise((resolve, reject) =>
      (dataOnly ? nfs.fdatasync : nfs.fsync)(
        fd,
        (e) => e ? reject(e) : resolve(),
      )
    );
  }

  /** Owner for a new object: the caller (setgid directories pass on their group). */
  #newOwner(
    cred: Credentials,
    dir: Deno.FileInfo,
    attrs: SetAttributes | undefined,
  ): { uid: number; gid: number } | undefined {
    const uid = attrs?.uid ?? cred.uid;
    const gid = attrs?.gid ??
      ((dir.mode! & S_ISGID) !== 0 ? dir.gid! : cred.gid);
    if (!this.#chown && attrs?.uid === undefined && attrs?.gid === undefined) {
      return undefined;
    }
    return { uid, gid };
  }

  /**
   * Removes what this call just made at `path`, but only while the path
   * still shows that very object (the path may lead elsewhere by now).
   */
  #unmake(path: string, made: Deno.FileInfo | undefined): void {
    if (made === undefined) return;
    const now = lstat(path);
    if (now === undefined || !sameObject(now, made)) return;
    if (now.isDirectory) nfs.rmdirSync(path);
    else nfs.unlinkSync(path);
  }

  /**
   * After making `made` at `path` in `dir`: the directory's path must still
   * lead to `dirId` (else the object is removed again, if still there, and
   * ESTALE), and the path must still show `made` (see #confirmed), so that
   * a swap of an ancestor during the call cannot leave us holding or
   * recording an object made outside.
   */
  #madeIn(
    dirId: FileId,
    dir: Located,
    path: string,
    made: Deno.FileInfo | undefined,
  ): Deno.FileInfo {
    this.#stillThere(dirId, dir, () => this.#unmake(path, made));
    const again = lstat(path);
    if (made === undefined || again === undefined || !sameObject(made, again)) {
      throw new VfsError(
        "ESTALE",
        `Directory changed during the operation: fileid ${dirId}`,
      );
    }
    return again;
  }

  /** Re-checks that `dir` is still the directory `dirId` after a change in it. */
  #stillThere(dirId: FileId, dir: Located, undo: () => void): void {
    const st = lstat(dir.path);
    if (st === undefined || !this.#matches(st, dirId)) {
      try {
        undo();
      } catch { /* best effort: the path moved under us */ }
      throw new VfsError(
        "ESTALE",
        `Directory changed during the operation: fileid ${dirId}`,
      );
    }
  }

  #prepareCreate(cred: Credentials, dirId: FileId, name: string): Located {
    const dir = this.#dir(dirId);
    checkName(name);
    this.#reserved(dirId, name);
    this.#require(
      cred,
      dir.st,
      Perm.W | Perm.X,
      `cannot change entry ${name} of fileid ${dirId}`,
    );
    return dir;
  }

  /** Creates a regular file, or opens an existing one unless `exclusive`. */
  create(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: CreateOptions = {},
  ): Promise<Attributes> {
    return settle(() => {
      const dir = this.#dir(dirId);
      checkName(name);
      this.#reserved(dirId, name);
      // Most creates make a new file: try that first (O_EXCL), with no lookup
      // of a name that is usually absent; an existing name takes the
      // general path below, which also ranks the errors.
      const size = options.attrs?.size ?? 0;
      if (
        isInt(size) &&
        hasPermission(this.#owned(dir.st), cred, Perm.W | Perm.X) &&
        this.#mayOwn(cred, options.attrs)
      ) {
        const made = this.#createIn(cred, dirId, dir, name, options, true);
        if (made !== undefined) return made;
      }
      const existing = this.#child(dirId, dir, name);
      if (existing !== undefined) {
        if (options.exclusive) {
          throw new VfsError("EEXIST", `File exists: ${name}`);
        }
        if (existing.st.isDirectory) {
          throw new VfsError("EISDIR", `Is a directory: ${name}`);
        }
        if (!existing.st.isFile) {
          throw new VfsError("EEXIST", `File exists: ${name}`);
        }
        this.#require(cred, dir.st, Perm.X, `cannot search fileid ${dirId}`);
        const id = this.#place(dirId, name, existing.st);
        const a = options.attrs;
        if (
          a !== undefined &&
          (a.size !== undefined || a.atime !== undefined ||
            a.mtime !== undefined)
        ) {
          this.#setattr(cred, id, existing, {
            size: a.size,
            atime: a.atime,
            mtime: a.mtime,
          });
        }
        return this.#attrs(this.#locate(id).st, id);
      }
      this.#prepareCreate(cred, dirId, name);
      checkNewOwner(cred, options.attrs);
      if (!isInt(size)) throw new VfsError("EINVAL", `Invalid size: ${size}`);
      return this.#createIn(cred, dirId, dir, name, options, false)!;
    });
  }

  #mayOwn(cred: Credentials, attrs: SetAttributes | undefined): boolean {
    try {
      checkNewOwner(cred, attrs);
      return true;
    } catch {
      return false;
    }
  }

  #createIn(
    cred: Credentials,
    dirId: FileId,
    dir: Located,
    name: string,
    options: CreateOptions,
    quietExists: boolean,
  ): Attributes | undefined {
    const size = options.attrs?.size ?? 0;
    const path = `${dir.path}/${name}`;
    const mode = (options.attrs?.mode ?? 0o644) & 0o7777;
    let fd: number;
    try {
      fd = nfs.openSync(
        path,
        C.O_RDWR | C.O_CREAT | C.O_EXCL | O_NOFOLLOW,
        mode,
      );
    } catch (e) {
      if (quietExists && (e as { code?: string }).code === "EEXIST") {
        return undefined;
      }
      throw hostError(e, name);
    }
    let st: Deno.FileInfo;
    try {
      // Everything before the check acts on the descriptor, the new empty
      // file itself, wherever a raced path put it.
      const owner = this.#newOwner(cred, dir.st, options.attrs);
      if (owner !== undefined) nfs.fchownSync(fd, owner.uid, owner.gid);
      // The process umask trimmed the mode: set it exactly.
      nfs.fchmodSync(fd, mode);
      if (size > 0) nfs.ftruncateSync(fd, size);
      const a = options.attrs;
      if (a?.atime !== undefined || a?.mtime !== undefined) {
        const now = Date.now() / 1000;
        const pick = (t: SetTime | undefined) =>
          t === undefined || t === "server" ? now : toSeconds(t);
        nfs.futimesSync(fd, pick(a.atime), pick(a.mtime));
      }
      // From the descriptor, which is cached under this FileId below.
      st = fromNodeStats(nfs.fstatSync(fd));
      this.#madeIn(dirId, dir, path, st);
    } catch (e) {
      nfs.closeSync(fd);
      throw hostError(e, name);
    }
    const id = this.#place(dirId, name, st);
    this.#changedDir(dirId);
    // Keep the new file open: a WRITE usually follows a CREATE.
    this.#files.release(this.#files.add(id, fd, true));
    return this.#attrs(st, id);
  }

  /** Creates a directory. */
  mkdir(
    cred: Credentials,
    dirId: FileId,
    name: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return settle(() => {
      const dir = this.#prepareCreate(cred, dirId, name);
      checkNewOwner(cred, attrs);
      let mode = (attrs?.mode ?? 0o755) & 0o7777;
      if ((dir.st.mode! & S_ISGID) !== 0) mode |= S_ISGID;
      let id: FileId;
      {
        const path = `${dir.path}/${name}`;
        try {
          Deno.mkdirSync(path, { mode: 0o700 });
        } catch (e) {
          throw hostError(e, name);
        }
        const made = this.#madeIn(dirId, dir, path, lstat(path));
        let fd: number;
        try {
          fd = nfs.openSync(path, C.O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        } catch (e) {
          throw hostError(e, name);
        }
        let st: Deno.FileInfo;
        try {
          // Changed only through a descriptor that is the directory made.
          if (!sameObject(fromNodeStats(nfs.fstatSync(fd)), made)) {
            throw new VfsError("ESTALE", `Directory changed: ${name}`);
          }
          const owner = this.#newOwner(cred, dir.st, attrs);
          if (owner !== undefined) nfs.fchownSync(fd, owner.uid, owner.gid);
          nfs.fchmodSync(fd, mode);
          st = fromNodeStats(nfs.fstatSync(fd));
        } catch (e) {
          throw hostError(e, name);
        } finally {
          nfs.closeSync(fd);
        }
        id = this.#place(dirId, name, st);
        this.#changedDir(dirId);
      }
      if (attrs?.atime !== undefined || attrs?.mtime !== undefined) {
        this.#setattr(ROOT_CRED, id, this.#locate(id), {
          atime: attrs.atime,
          mtime: attrs.mtime,
        });
      }
      return this.#attrs(this.#locate(id).st, id);
    });
  }

  /** Creates a symbolic link (needs unscoped read and write permission). */
  symlink(
    cred: Credentials,
    dirId: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return settle(() => {
      const dir = this.#prepareCreate(cred, dirId, name);
      if (!this.limits.symlinks) {
        throw new VfsError(
          "ENOTSUP",
          "Symlink creation is not supported: Deno needs unscoped --allow-read and --allow-write to create symlinks",
        );
      }
      checkNewOwner(cred, attrs);
      if (target === "") {
        throw new VfsError("ENOENT", `Empty symlink target: ${name}`);
      }
      if (target.includes("\0")) {
        throw new VfsError("EINVAL", `Symlink target contains NUL: ${name}`);
      }
      {
        const path = `${dir.path}/${name}`;
        try {
          Deno.symlinkSync(target, path);
        } catch (e) {
          throw hostError(e, name);
        }
        let st = this.#madeIn(dirId, dir, path, lstat(path));
        const owner = this.#newOwner(cred, dir.st, attrs);
        if (owner !== undefined) {
          // There is no fchownat in Deno: the path was just confirmed to
          // show the link made, and is checked again after.
          try {
            nfs.lchownSync(path, owner.uid, owner.gid);
          } catch (e) {
            throw hostError(e, name);
          }
          st = this.#madeIn(dirId, dir, path, st);
        }
        this.#changedDir(dirId);
        return this.#attrs(st, this.#place(dirId, name, st));
      }
    });
  }

  /** The target of a symbolic link. */
  readlink(_cred: Credentials, id: FileId): Promise<string> {
    return settle(() => {
      const at = this.#locate(id);
      if (!at.st.isSymlink) {
        throw new VfsError(
          "EINVAL",
          `Invalid argument: fileid ${id} is not a symlink`,
        );
      }
      try {
        return Deno.readLinkSync(at.path);
      } catch (e) {
        throw hostError(e, `fileid ${id}`);
      }
    });
  }

  /** Not available: Deno has no mknod. */
  mknod(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    return settle(() => {
      const dir = this.#prepareCreate(cred, dirId, name);
      if (this.#child(dirId, dir, name) !== undefined) {
        throw new VfsError("EEXIST", `File exists: ${name}`);
      }
      const t = options.type;
      if (
        t !== FileType.Block && t !== FileType.Char &&
        t !== FileType.Socket && t !== FileType.Fifo
      ) {
        throw new VfsError("EINVAL", `Invalid node type for mknod: ${t}`);
      }
      throw new VfsError(
        "ENOTSUP",
        `Creating device, fifo and socket nodes is not supported: Deno has no mknod (${name})`,
      );
    });
  }

  /** Adds a hard link `dir/name` to `id`. */
  link(
    cred: Credentials,
    id: FileId,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    return settle(() => {
      const src = this.#locate(id);
      const dir = this.#prepareCreate(cred, dirId, name);
      if (src.st.isDirectory) {
        throw new VfsError(
          "EPERM",
          `Operation not permitted: hard link to directory fileid ${id}`,
        );
      }
      {
        const path = `${dir.path}/${name}`;
        try {
          Deno.linkSync(src.path, path);
        } catch (e) {
          throw hostError(e, name);
        }
        const st = this.#madeIn(dirId, dir, path, lstat(path));
        // The source is reached by path: a raced swap could have linked
        // another object, which is undone here before anyone sees it.
        if (!this.#matches(st, id)) {
          this.#unmake(path, st);
          throw new VfsError("ESTALE", `Object changed while linking: ${name}`);
        }
        this.#changedDir(dirId);
        this.#bump(id);
        return this.#attrs(st, id);
      }
    });
  }

  /** Looks up the entry to remove, checking permissions and the sticky bit. */
  #victim(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): { dir: Located; victim: Located; id: FileId } {
    const e = this.#entry(dirId, name);
    if (e !== undefined) {
      this.#require(
        cred,
        e.dir.st,
        Perm.W | Perm.X,
        `cannot change entry ${name} of fileid ${dirId}`,
      );
      if (e.child === undefined) {
        throw new VfsError("ENOENT", `No such file or directory: ${name}`);
      }
      this.#requireSticky(cred, e.dir.st, e.child.st, name);
      return { dir: e.dir, victim: e.child, id: this.#idOf(e.child.st) };
    }
    const dir = this.#prepareCreate(cred, dirId, name);
    const victim = this.#child(dirId, dir, name);
    if (victim === undefined) {
      throw new VfsError("ENOENT", `No such file or directory: ${name}`);
    }
    this.#requireSticky(cred, dir.st, victim.st, name);
    return { dir, victim, id: this.#idOf(victim.st) };
  }

  /** Forgets an object whose last link just went away. */
  #gone(id: FileId, st: Deno.FileInfo): void {
    this.#files.drop(id);
    this.#listings.delete(id);
    this.#index.forget(id, st.birthtime?.getTime() ?? 0);
  }

  /**
   * Removes `name` from `dir` if it is still `victim`: the identity check
   * right before the unlink keeps a directory swapped for a symlink since
   * the lookup from removing another object through it.
   */
  #unlinkIn(dir: Located, name: string, victim: Located): void {
    try {
      const path = `${dir.path}/${name}`;
      const st = lstat(path);
      if (
        st === undefined || st.ino !== victim.st.ino || st.dev !== this.#dev
      ) {
        throw new VfsError("ESTALE", `Entry changed while removing: ${name}`);
      }
      // Not Deno.removeSync: it lstats once more to choose unlink or rmdir.
      if (victim.st.isDirectory) nfs.rmdirSync(path);
      else nfs.unlinkSync(path);
    } catch (e) {
      throw hostError(e, name);
    }
  }

  /** Removes a non-directory entry. */
  remove(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return settle(() => {
      const { dir, victim, id } = this.#victim(cred, dirId, name);
      if (victim.st.isDirectory) {
        throw new VfsError("EISDIR", `Is a directory: ${name}`);
      }
      this.#unlinkIn(dir, name, victim);
      this.#changedDir(dirId);
      if ((victim.st.nlink ?? 1) <= 1) this.#gone(id, victim.st);
      else {
        const rec = this.#index.records.get(id);
        if (rec?.parent === dirId && rec.name === name) this.#index.unplace(id);
        this.#bump(id);
      }
    });
  }

  /** Removes an empty directory. */
  rmdir(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return settle(() => {
      const { dir, victim, id } = this.#victim(cred, dirId, name);
      if (!victim.st.isDirectory) {
        throw new VfsError("ENOTDIR", `Not a directory: ${name}`);
      }
      this.#unlinkIn(dir, name, victim);
      this.#changedDir(dirId);
      this.#gone(id, victim.st);
    });
  }

  /**
   * Atomically renames with POSIX rules (host rename(2)). Both directories
   * are verified before, and the moved object and the target directory
   * after; a raced swap is undone as far as paths allow.
   */
  rename(
    cred: Credentials,
    fromDirId: FileId,
    fromName: string,
    toDirId: FileId,
    toName: string,
  ): Promise<void> {
    return settle(() => {
      const { victim: src, id } = this.#victim(cred, fromDirId, fromName);
      const to = this.#prepareCreate(cred, toDirId, toName);
      const target = this.#child(toDirId, to, toName);
      const targetId = target && this.#idOf(target.st);
      if (targetId === id) return;
      const isDir = src.st.isDirectory;
      if (isDir) {
        if (to.path === src.path || to.path.startsWith(src.path + "/")) {
          throw new VfsError(
            "EINVAL",
            `Invalid argument: cannot move ${fromName} into its own subtree`,
          );
        }
        if (fromDirId !== toDirId) {
          this.#require(cred, src.st, Perm.W, `cannot move ${fromName}`);
        }
      }
      if (target !== undefined) {
        this.#requireSticky(cred, to.st, target.st, toName);
        if (isDir && !target.st.isDirectory) {
          throw new VfsError("ENOTDIR", `Not a directory: ${toName}`);
        }
        if (!isDir && target.st.isDirectory) {
          throw new VfsError("EISDIR", `Is a directory: ${toName}`);
        }
      }
      {
        const dest = `${to.path}/${toName}`;
        const source = fromDirId === toDirId
          ? `${to.path}/${fromName}`
          : src.path;
        try {
          Deno.renameSync(source, dest);
        } catch (e) {
          throw hostError(e, toName);
        }
        const moved = lstat(dest);
        if (moved === undefined || moved.ino !== src.st.ino) {
          try {
            Deno.renameSync(dest, source);
          } catch { /* best effort */ }
          throw new VfsError(
            "ESTALE",
            `Directory changed during rename: ${fromName}`,
          );
        }
        this.#stillThere(toDirId, to, () => {});
      }
      this.#changedDir(fromDirId);
      this.#changedDir(toDirId);
      this.#index.set(id, toDirId, toName, src.st.birthtime?.getTime() ?? 0);
      this.#bump(id);
      if (target !== undefined && targetId !== undefined) {
        if (target.st.isDirectory || (target.st.nlink ?? 1) <= 1) {
          this.#gone(targetId, target.st);
        } else this.#index.unplace(targetId);
      }
    });
  }

  #listing(dirId: FileId, dir: Located): Listing {
    const stamp =
      `${dir.st.mtime?.getTime()}:${dir.st.ctime?.getTime()}:${dir.st.size}:${dir.st.nlink}`;
    const cached = this.#listings.get(dirId);
    if (cached !== undefined && cached.stamp === stamp) {
      this.#listings.delete(dirId);
      this.#listings.set(dirId, cached);
      return cached;
    }
    const all: { name: string; hash: number }[] = [];
    try {
      for (const e of Deno.readDirSync(dir.path)) {
        if (dirId === this.root && e.name === this.#hidden) continue;
        all.push({ name: e.name, hash: nameHash(e.name) });
      }
    } catch (e) {
      throw hostError(e, `fileid ${dirId}`);
    }
    all.sort((a, b) =>
      a.hash - b.hash || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    );
    const listing: Listing = {
      stamp,
      names: all.map((e) => e.name),
      hashes: all.map((e) => e.hash),
    };
    // The stamp has millisecond times from a coarse kernel clock: a change
    // by the host within the same tick as this listing would leave the stamp
    // unchanged, and a cached listing stale until the next change. Only a
    // directory left alone for a while is cached.
    const changed = Math.max(
      dir.st.mtime?.getTime() ?? 0,
      dir.st.ctime?.getTime() ?? 0,
    );
    if (Date.now() - changed < LISTING_SETTLE_MS) {
      this.#listings.delete(dirId);
      return listing;
    }
    this.#listings.set(dirId, listing);
    if (this.#listings.size > 64) {
      this.#listings.delete(this.#listings.keys().next().value!);
    }
    return listing;
  }

  /**
   * A page of entries. Cookies are a hash of the name, so they stay valid
   * across changes, evictions and restarts.
   */
  readdir(
    cred: Credentials,
    dirId: FileId,
    options: ReaddirOptions = {},
  ): Promise<ReaddirResult> {
    return settle(() => {
      const dir = this.#dir(dirId);
      this.#require(cred, dir.st, Perm.R, `cannot list fileid ${dirId}`);
      const listing = this.#listing(dirId, dir);
      this.#stillThere(dirId, dir, () => {});
      const cookie = options.cookie ?? 0n;
      const limit = options.limit ?? Infinity;
      const { names, hashes } = listing;
      let i = 0;
      if (cookie >= 3n) {
        const after = Number(cookie - 3n);
        let lo = 0;
        let hi = hashes.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (hashes[mid] <= after) lo = mid + 1;
          else hi = mid;
        }
        i = lo;
      }
      const entries: DirEntry[] = [];
      for (; i < names.length && entries.length < limit; i++) {
        const name = names[i];
        const path = `${dir.path}/${name}`;
        const st = lstat(path);
        if (st === undefined || st.dev !== this.#dev) continue;
        if (!this.#known(dirId, name, st)) {
          // First sight of this object here: check the directory's path,
          // then that the name still shows the same object (see #confirmed).
          this.#stillThere(dirId, dir, () => {});
          if (!this.#confirmed(dirId, name, path, st)) continue;
        }
        const id = this.#place(dirId, name, st);
        const entry: DirEntry = {
          name,
          fileid: id,
          cookie: BigInt(hashes[i]) + 3n,
        };
        if (options.withAttributes) entry.attrs = this.#attrs(st, id);
        entries.push(entry);
      }
      // The names were read by path: make sure it still led to this directory.
      this.#stillThere(dirId, dir, () => {});
      return { entries, eof: i >= names.length };
    });
  }

  /** Host statfs figures (with `--allow-sys=statfs`), else large placeholders. */
  statfs(_cred: Credentials, id: FileId): Promise<FsStats> {
    return settle(() => {
      const at = this.#locate(id);
      try {
        const s = nfs.statfsSync(at.path);
        return {
          totalBytes: s.blocks * s.bsize,
          freeBytes: s.bfree * s.bsize,
          availBytes: s.bavail * s.bsize,
          totalFiles: s.files,
          freeFiles: s.ffree,
          availFiles: s.ffree,
        };
      } catch {
        const big = 2 ** 50;
        return {
          totalBytes: big,
          freeBytes: big,
          availBytes: big,
          totalFiles: 2 ** 32,
          freeFiles: 2 ** 32,
          availFiles: 2 ** 32,
        };
      }
    });
  }

  /** fsyncs the file (and the FileId journal); errors are reported. */
  async commit(_cred: Credentials, id: FileId): Promise<void> {
    const at = this.#locate(id);
    try {
      this.#index.flush();
    } catch (e) {
      throw hostError(e, "FileId journal");
    }
    if (!at.st.isFile) return;
    const f = this.#open(id, false);
    try {
      await this.#sync(f.fd, false);
    } catch (e) {
      throw hostError(e, `fileid ${id}`);
    } finally {
      this.#files.release(f);
    }
  }

  /** Copies a byte range through the host, 1 MiB at a time; length 0 copies to end of file. */
  async copy(
    cred: Credentials,
    srcId: FileId,
    dstId: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number> {
    const { srcOffset, dstOffset } = options;
    if (!isInt(srcOffset) || !isInt(dstOffset) || !isInt(options.length)) {
      throw new VfsError("EINVAL", `Invalid copy range: ${srcOffset}`);
    }
    const size = (await this.getattr(cred, srcId)).size;
    if (srcOffset >= size) return 0;
    const length = Math.min(
      options.length === 0 ? Infinity : options.length,
      size - srcOffset,
    );
    if (
      srcId === dstId && srcOffset < dstOffset + length &&
      dstOffset < srcOffset + length
    ) {
      throw new VfsError("EINVAL", `Invalid argument: overlapping copy`);
    }
    let done = 0;
    while (done < length) {
      const r = await this.read(
        cred,
        srcId,
        srcOffset + done,
        Math.min(1 << 20, length - done),
      );
      if (r.data.length === 0) break;
      await this.write(cred, dstId, dstOffset + done, r.data);
      done += r.data.length;
    }
    return done;
  }

  /** Closes open files and the FileId journal. */
  close(): Promise<void> {
    return settle(() => {
      if (this.#closed) return;
      this.#closed = true;
      this.#files.clear();
      this.#index.close();
    });
  }
}

const ROOT_CRED: Credentials = { uid: 0, gid: 0, groups: [] };
