/**
 * An in-memory {@link FileSystem} with POSIX semantics: hard links, symlinks,
 * device/fifo/socket nodes, sparse files stored in chunks, xattrs, atomic
 * rename, POSIX times, permission checks, stable readdir cookies and a
 * configurable capacity.
 *
 * This file is the facade; beside it, one private file per responsibility:
 * `_nodes.ts` (the inode table: FileIds, the clock and change counter, link
 * counts, capacity accounting, attributes), `_dir.ts` (a directory's entries
 * and readdir cookies), `_namespace.ts` (lookup, create, link, remove,
 * rename, readdir), `_data.ts` (reads, writes and the other byte-range
 * operations on the chunk store), `_attrs.ts` (setattr) and `_xattrs.ts`.
 * Every method is synchronous inside: its promise is settled before it
 * returns, so no two calls interleave.
 *
 * @example Sparse files cost only what is written
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemFs, ROOT, VfsError } from "@netfs/netfs/vfs";
 * const fs = new MemFs({ capacityBytes: 1 << 30 });
 * const f = await fs.create(ROOT, fs.root, "disk.img");
 * // Two bytes 1 TiB in: the file is 1 TiB long and holds one 4 KiB chunk.
 * const hi = new TextEncoder().encode("hi");
 * const { attrs } = await fs.write(ROOT, f.fileid, 2 ** 40, hi);
 * assert.equal(attrs.size, 2 ** 40 + 2);
 * assert.equal(attrs.used, 4096);
 * const hole = await fs.read(ROOT, f.fileid, 0, 4);
 * assert.deepEqual(hole.data, new Uint8Array(4));
 * // Reserving space counts against the capacity.
 * await assert.rejects(
 *   fs.allocate(ROOT, f.fileid, 0, 2 ** 31),
 *   (e) => e instanceof VfsError && e.code === "ENOSPC",
 * );
 * ```
 *
 * @module
 */

import { accessBits } from "../access.ts";
import { strictClock, systemTime } from "../_time.ts";
import {
  type Attributes,
  type CreateOptions,
  type Credentials,
  type FileId,
  type FileSystem,
  type FileSystemNow,
  FileType,
  type FsLimits,
  type FsStats,
  type MknodOptions,
  type ReaddirOptions,
  type ReaddirResult,
  type ReadResult,
  type SetAttributes,
  type Stability,
  type Time,
  type WriteResult,
  type XattrOps,
} from "../types.ts";
import { AttrChanges } from "./_attrs.ts";
import { defaultCapacity } from "./_capacity.ts";
import { FileData } from "./_data.ts";
import { Namespace } from "./_namespace.ts";
import { Inodes, settle } from "./_nodes.ts";
import { Xattrs } from "./_xattrs.ts";

/** Options for {@link MemFs}. */
export interface MemFsOptions {
  /**
   * Capacity in bytes of file data and xattrs; beyond it writes fail with
   * ENOSPC. Default: a quarter of the machine's memory (known with
   * `--allow-sys`; 1 GiB without).
   */
  capacityBytes?: number;
  /** Capacity in objects, the root included (default 10,000,000). */
  capacityFiles?: number;
  /** The fsid reported in attributes (default 1). */
  fsid?: number;
  /**
   * The time source (default: the system clock, made strictly increasing so
   * that two changes never share a timestamp).
   */
  clock?: () => Time;
  /** Root directory permission bits (default 0o755). */
  rootMode?: number;
  /** Root directory owner (default 0). */
  rootUid?: number;
  /** Root directory group (default 0). */
  rootGid?: number;
  /** Most hard links to one object (default 2^31 - 1). */
  maxLinks?: number;
}

/**
 * An in-memory file system with POSIX semantics.
 *
 * - Files are sparse: data lives in 1 MiB chunks that start at 4 KiB and
 *   grow by doubling, so a 1 TiB sparse file costs nothing until written,
 *   holes read as zeros and `used` counts allocated chunk bytes.
 * - A write of exactly one aligned 1 MiB chunk whose storage an NFS server
 *   offers (a WRITE's record) keeps that storage as the chunk instead of
 *   copying it, and `used` then counts the whole record (1 MiB and up to
 *   4 KiB); see `FileSystem.write`.
 * - A read that falls inside one allocated chunk returns a view of the
 *   file's storage without copying: treat it as read-only and consume it
 *   before the next write to the file.
 * - Permissions follow POSIX mode bits with root bypass; like Linux nfsd,
 *   the owner may read and write its own file whatever its mode (a client
 *   creating a file with mode 0444 still writes it), and a file that is
 *   executable but not readable may be read (clients execute by reading).
 * - Writes are durable when they return (`committed: "file"`); atime is not
 *   updated by reads (as with `noatime`).
 * - Readdir cookies are per-directory insertion numbers: they stay valid
 *   across unrelated inserts and removals and resume in O(log n).
 *
 * @example Readdir cookies survive unrelated changes
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemFs, ROOT } from "@netfs/netfs/vfs";
 * const fs = new MemFs();
 * const dir = await fs.mkdir(ROOT, fs.root, "docs");
 * for (const name of ["a", "b", "c"]) await fs.create(ROOT, dir.fileid, name);
 * const first = await fs.readdir(ROOT, dir.fileid, { limit: 1 });
 * assert.deepEqual(first.entries.map((e) => e.name), ["a"]);
 * // Removing the entry the cookie came from does not move the listing.
 * await fs.remove(ROOT, dir.fileid, "a");
 * const rest = await fs.readdir(ROOT, dir.fileid, {
 *   cookie: first.entries[0].cookie,
 * });
 * assert.deepEqual(rest.entries.map((e) => e.name), ["b", "c"]);
 * assert.equal(rest.eof, true);
 * ```
 */
export class MemFs implements FileSystem {
  /** The root directory's id. */
  readonly root: FileId;
  /** Fixed properties. */
  readonly limits: FsLimits;
  /** Extended attributes. */
  readonly xattrs: XattrOps;
  /** Calls may overlap. */
  readonly concurrency = "parallel" as const;

  readonly #t: Inodes;
  readonly #data: FileData;
  readonly #attrs: AttrChanges;
  readonly #ns: Namespace;
  readonly #now: FileSystemNow;

  /**
   * Creates an empty file system holding only its root directory.
   *
   * @param options Capacity, fsid, clock and root ownership.
   */
  constructor(options: MemFsOptions = {}) {
    this.limits = Object.freeze({
      maxNameLength: 255,
      maxLinks: options.maxLinks ?? 2 ** 31 - 1,
      maxFileSize: Number.MAX_SAFE_INTEGER,
      timeDelta: 1,
      symlinks: true,
      hardLinks: true,
    });
    const t = new Inodes({
      capacityBytes: options.capacityBytes ?? defaultCapacity(),
      capacityFiles: options.capacityFiles ?? 10_000_000,
      fsid: options.fsid ?? 1,
      clock: options.clock ?? strictClock(systemTime),
      limits: this.limits,
    });
    this.#t = t;
    this.#data = new FileData(t);
    this.#attrs = new AttrChanges(t, this.#data);
    this.#ns = new Namespace(t, this.#attrs);
    const root = t.newNode(
      FileType.Directory,
      options.rootMode ?? 0o755,
      options.rootUid ?? 0,
      options.rootGid ?? 0,
    );
    root.parent = root.id;
    this.root = root.id;
    // Bound functions, as callers may hold one apart from the object.
    const x = new Xattrs(t);
    this.xattrs = {
      getxattr: (c, id, name) => x.getxattr(c, id, name),
      setxattr: (c, id, name, value, mode) =>
        x.setxattr(c, id, name, value, mode),
      listxattrs: (c, id) => x.listxattrs(c, id),
      removexattr: (c, id, name) => x.removexattr(c, id, name),
    };
    const ns = this.#ns;
    const data = this.#data;
    this.#now = {
      getattr: (_c, id) => t.attrs(t.node(id)),
      find: (c, dir, name) => ns.findNow(c, dir, name),
      create: (c, dir, name, options) => ns.createNow(c, dir, name, options),
      remove: (c, dir, name) => ns.removeNow(c, dir, name),
      read: (c, id, offset, length) => data.readNow(c, id, offset, length),
      write: (c, id, offset, bytes) => data.writeNow(c, id, offset, bytes),
    };
  }

  /**
   * `getattr`, `find`, `create`, `remove`, `read` and `write` at once (see
   * {@link FileSystemNow}): a getter on the class, so that a subclass
   * overriding one of them is not bypassed by a server.
   */
  get now(): FileSystemNow {
    return this.#now;
  }

  /** Attributes of an object; ESTALE if it no longer exists. */
  getattr(_cred: Credentials, id: FileId): Promise<Attributes> {
    try {
      return Promise.resolve(this.#t.attrs(this.#t.node(id)));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Changes attributes with POSIX ownership rules; returns the new attributes. */
  setattr(
    cred: Credentials,
    id: FileId,
    attrs: SetAttributes,
  ): Promise<Attributes> {
    return this.#attrs.setattr(cred, id, attrs);
  }

  /** Finds a name; "." and ".." name the directory itself and its parent. */
  lookup(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    return this.#ns.lookup(cred, dirId, name);
  }

  /** As {@link lookup}, but an absent name resolves to `undefined`. */
  find(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes | undefined> {
    return this.#ns.find(cred, dirId, name);
  }

  /** Which NFS ACCESS bits the caller has (see {@link accessBits}). */
  access(cred: Credentials, id: FileId, mask: number): Promise<number> {
    return settle(() => {
      return accessBits(this.#t.node(id), cred, mask);
    });
  }

  /** Reads up to `length` bytes; may return a view of the file's storage. */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<ReadResult> {
    return this.#data.read(cred, id, offset, length);
  }

  /** Writes at `offset`; data is durable on return. */
  write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    _stable?: Stability,
  ): Promise<WriteResult> {
    return this.#data.write(cred, id, offset, data);
  }

  /** Creates a regular file, or opens an existing one unless `exclusive`. */
  create(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: CreateOptions = {},
  ): Promise<Attributes> {
    return this.#ns.create(cred, dirId, name, options);
  }

  /** Creates a directory. */
  mkdir(
    cred: Credentials,
    dirId: FileId,
    name: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#ns.mkdir(cred, dirId, name, attrs);
  }

  /** Creates a symbolic link. */
  symlink(
    cred: Credentials,
    dirId: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#ns.symlink(cred, dirId, name, target, attrs);
  }

  /** The target of a symbolic link. */
  readlink(cred: Credentials, id: FileId): Promise<string> {
    return this.#ns.readlink(cred, id);
  }

  /** Creates a device, socket or fifo node (devices need root). */
  mknod(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    return this.#ns.mknod(cred, dirId, name, options);
  }

  /** Adds a hard link `dir/name` to `id`. */
  link(
    cred: Credentials,
    id: FileId,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    return this.#ns.link(cred, id, dirId, name);
  }

  /** Removes a non-directory entry. */
  remove(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return this.#ns.remove(cred, dirId, name);
  }

  /** Removes an empty directory. */
  rmdir(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return this.#ns.rmdir(cred, dirId, name);
  }

  /** Atomically renames, replacing a compatible target. */
  rename(
    cred: Credentials,
    fromDirId: FileId,
    fromName: string,
    toDirId: FileId,
    toName: string,
  ): Promise<void> {
    return this.#ns.rename(cred, fromDirId, fromName, toDirId, toName);
  }

  /** A page of entries; cookies stay valid across unrelated changes. */
  readdir(
    cred: Credentials,
    dirId: FileId,
    options: ReaddirOptions = {},
  ): Promise<ReaddirResult> {
    return this.#ns.readdir(cred, dirId, options);
  }

  /** Space and file counts from the configured capacity. */
  statfs(_cred: Credentials, id: FileId): Promise<FsStats> {
    return settle(() => {
      this.#t.node(id);
      return this.#t.stats();
    });
  }

  /** Nothing to flush: memory is as durable as this file system gets. */
  commit(_cred: Credentials, id: FileId): Promise<void> {
    return settle(() => {
      this.#t.node(id);
    });
  }

  /** Reserves zeroed storage for a range, extending the file if needed. */
  allocate(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void> {
    return this.#data.allocate(cred, id, offset, length);
  }

  /** Punches a hole: the range reads as zeros and whole chunks are freed. */
  deallocate(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void> {
    return this.#data.deallocate(cred, id, offset, length);
  }

  /** Next data or hole at or after `offset`, at the granularity of chunk storage. */
  seek(
    cred: Credentials,
    id: FileId,
    offset: number,
    what: "data" | "hole",
  ): Promise<{ offset: number; eof: boolean }> {
    return this.#data.seek(cred, id, offset, what);
  }

  /** Copies a byte range between regular files; length 0 copies to end of file. */
  copy(
    cred: Credentials,
    srcId: FileId,
    dstId: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number> {
    return this.#data.copy(cred, srcId, dstId, options);
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
