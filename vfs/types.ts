/**
 * The file-system interface every netfs server speaks to.
 *
 * A {@link FileSystem} is handle-based, like an inode layer: every object is
 * named by a {@link FileId} that stays valid for as long as the object exists
 * (for localfs also across a server restart) and is never reused. Every
 * method takes the caller's {@link Credentials} first and enforces
 * permissions itself; failures are {@link VfsError}s with a POSIX code.
 *
 * @example Read a file by path through any FileSystem, as a given caller
 * ```ts
 * import { type Credentials, type FileSystem, MemFs, ROOT } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * // Names are looked up one directory at a time, each step as `cred`.
 * async function readPath(fs: FileSystem, cred: Credentials, path: string) {
 *   let id = fs.root;
 *   for (const name of path.split("/").filter(Boolean)) {
 *     id = (await fs.lookup(cred, id, name)).fileid;
 *   }
 *   return new TextDecoder().decode((await fs.read(cred, id, 0, 1 << 20)).data);
 * }
 * const fs = new MemFs();
 * const docs = await fs.mkdir(ROOT, fs.root, "docs");
 * const file = await fs.create(ROOT, docs.fileid, "a.txt");
 * await fs.write(ROOT, file.fileid, 0, new TextEncoder().encode("hi"));
 * assert.equal(await readPath(fs, ROOT, "/docs/a.txt"), "hi");
 * // The file system enforces permissions: a stranger may not read a 0o600 file.
 * await fs.setattr(ROOT, file.fileid, { mode: 0o600 });
 * const stranger = { uid: 1000, gid: 1000, groups: [] };
 * await assert.rejects(readPath(fs, stranger, "/docs/a.txt"), { code: "EACCES" });
 * ```
 *
 * @module
 */

export type { VfsError, VfsErrorCode } from "./errors.ts";
export {
  type FileSystemNow,
  type OpenOptions,
  ShareAccess,
  ShareDeny,
  type XattrOps,
} from "./capabilities.ts";
import type { FileSystemNow, OpenOptions, XattrOps } from "./capabilities.ts";

/**
 * The identity of an object in one file system: a non-negative safe integer,
 * never reused for another object.
 */
export type FileId = number;

/**
 * Object types. The numbers are those of NFSv3 `ftype3` and NFSv4
 * `nfs_ftype4`, which agree.
 */
export const FileType = {
  Regular: 1,
  Directory: 2,
  Block: 3,
  Char: 4,
  Symlink: 5,
  Socket: 6,
  Fifo: 7,
} as const;

/** One of the {@link FileType} values. */
export type FileType = typeof FileType[keyof typeof FileType];

/** A point in time: seconds since the epoch plus nanoseconds (0–999,999,999). */
export interface Time {
  /** Whole seconds since 1970-01-01T00:00:00Z (may be negative). */
  sec: number;
  /** Nanoseconds within the second. */
  nsec: number;
}

/** The caller of an operation, as the protocol's AUTH_SYS gives it. */
export interface Credentials {
  /** User id. */
  uid: number;
  /** Primary group id. */
  gid: number;
  /** Supplementary group ids (at most 16 from AUTH_SYS). */
  groups: readonly number[];
}

/** Root credentials, for servers and tests. */
export const ROOT: Credentials = Object.freeze({
  uid: 0,
  gid: 0,
  groups: Object.freeze([]) as readonly number[],
});

/** The attributes of an object. */
export interface Attributes {
  /** What kind of object this is. */
  type: FileType;
  /** Permission bits and set-id/sticky bits (the low 12 bits of st_mode). */
  mode: number;
  /** Number of hard links (at least 1 for the root). */
  nlink: number;
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
  /** Size in bytes (for a symlink: the length of its target). */
  size: number;
  /** Bytes of storage actually used (less than size for a sparse file). */
  used: number;
  /** Device numbers, for block and character devices. */
  rdev: { major: number; minor: number };
  /** The file system's id. */
  fsid: number;
  /** This object's {@link FileId}. */
  fileid: FileId;
  /**
   * The number clients are shown as this object's fileid (NFS `fileid`,
   * `ls -i`) where it is not `fileid` itself: LocalFs's host inode number
   * once the host reused it (the FileId then carries a generation above
   * bit 32, which stays in the file handle). Absent: clients see `fileid`.
   */
  inode?: number;
  /** Last access. */
  atime: Time;
  /** Last data modification. */
  mtime: Time;
  /** Last attribute or data change. */
  ctime: Time;
  /**
   * A counter that grows on every change to data or attributes (NFSv4's
   * `change` attribute); never goes backwards for one object.
   */
  change: number;
}

/** A time to set: the server's current time, or a given time. */
export type SetTime = "server" | Time;

/** Attributes to change; absent fields stay as they are. */
export interface SetAttributes {
  /** New permission bits (low 12 bits). */
  mode?: number;
  /** New owner. */
  uid?: number;
  /** New group. */
  gid?: number;
  /** New size: truncates or extends with zeros (regular files only). */
  size?: number;
  /** New access time. */
  atime?: SetTime;
  /** New modification time. */
  mtime?: SetTime;
}

/** One directory entry. */
export interface DirEntry {
  /** The entry's name (never "." or ".."). */
  name: string;
  /** The object it names. */
  fileid: FileId;
  /** What clients are shown as its fileid, as {@link Attributes.inode}. */
  inode?: number;
  /**
   * Where to resume reading after this entry. Cookies are at least 3
   * (0 means "from the start"; 1 and 2 are kept for "." and ".." by
   * protocols that list them) and stay valid across unrelated changes.
   */
  cookie: bigint;
  /** The entry's attributes, when `withAttributes` was asked for. */
  attrs?: Attributes;
}

/** Options for {@link FileSystem.readdir}. */
export interface ReaddirOptions {
  /** Resume after the entry with this cookie; 0n starts at the beginning. */
  cookie?: bigint;
  /** Return at most this many entries (the server pages by bytes). */
  limit?: number;
  /** Fill in each entry's attributes (for READDIRPLUS). */
  withAttributes?: boolean;
}

/** A page of directory entries. */
export interface ReaddirResult {
  /** Entries in cookie order. */
  entries: DirEntry[];
  /** True when no entries follow the last one returned. */
  eof: boolean;
}

/** How durable a write must be before it returns (NFS `stable_how`). */
export type Stability = "unstable" | "data" | "file";

/** The result of {@link FileSystem.write}. */
export interface WriteResult {
  /** Bytes written. */
  count: number;
  /** How durable the data now is (at least what was asked for). */
  committed: Stability;
  /** Attributes after the write. */
  attrs: Attributes;
}

/** The result of {@link FileSystem.read}. */
export interface ReadResult {
  /**
   * The bytes read (shorter than asked at end of file). Servers send large
   * reads from where they lie, after `read` has resolved, so this memory
   * must never be reused for other data (no pooled buffers). A view of the
   * file's own storage is fine: a concurrent overlapping write may then show
   * in the reply, as with the zero-copy reads of kernel servers.
   */
  data: Uint8Array;
  /** True when the read reached end of file. */
  eof: boolean;
}

/** Options for {@link FileSystem.create}. */
export interface CreateOptions {
  /** Initial attributes (mode defaults to 0o644; size 0 truncates an existing file). */
  attrs?: SetAttributes;
  /** Fail with EEXIST if the name exists (GUARDED / EXCLUSIVE create). */
  exclusive?: boolean;
}

/** Options for {@link FileSystem.mknod}. */
export interface MknodOptions {
  /** Block, Char, Socket or Fifo. */
  type: FileType;
  /** Device numbers for Block and Char. */
  rdev?: { major: number; minor: number };
  /** Initial attributes. */
  attrs?: SetAttributes;
}

/** Space and file counts, for FSSTAT / statfs. */
export interface FsStats {
  /** Capacity in bytes. */
  totalBytes: number;
  /** Free bytes. */
  freeBytes: number;
  /** Free bytes available to an unprivileged user. */
  availBytes: number;
  /** Capacity in files (inodes). */
  totalFiles: number;
  /** Free file slots. */
  freeFiles: number;
  /** Free file slots available to an unprivileged user. */
  availFiles: number;
}

/** Fixed properties of a file system (FSINFO, PATHCONF). */
export interface FsLimits {
  /** Longest name in bytes. */
  maxNameLength: number;
  /** Most hard links to one object. */
  maxLinks: number;
  /** Largest file size in bytes. */
  maxFileSize: number;
  /** Time granularity in nanoseconds. */
  timeDelta: number;
  /** Whether symlinks can be created. */
  symlinks: boolean;
  /** Whether hard links can be created. */
  hardLinks: boolean;
}

/**
 * Whether a server may have several calls in flight on one object (a
 * {@link FileSystem} or an NBD `Device`), as an nbdkit plugin declares its
 * thread model. Everything runs on one thread: a call is in flight from
 * when it is made until its promise settles, so calls overlap wherever an
 * implementation awaits.
 *
 * - `"parallel"`: calls may overlap, any number, from any connection
 *   (nbdkit's PARALLEL). Servers make each call as its request arrives.
 * - `"serialize"`: one call at a time on this object, across every
 *   connection and export (nbdkit's SERIALIZE_ALL_REQUESTS). Servers queue
 *   the calls and make each only after the one before has settled. Requests
 *   still arrive pipelined; only the calls wait. The queue belongs to the
 *   object the server is given, so serve such an object through one
 *   wrapper, not two.
 *
 * What a server does with `"serialize"`: the NFS server (`serveNfs`, and
 * MOUNT) queues every call of every procedure on the export's file system
 * (per object a factory returns, for per-user exports); the NBD server
 * (`serveNbd`) queues every device call and does not use the device's
 * zero-copy `view`, so that reads and writes go through `readAt` and
 * `writeAt` in turn.
 *
 * @example Declaring that calls must not overlap
 * ```ts
 * import assert from "node:assert/strict";
 * import { type FileSystem, MemFs, PassthroughFs } from "@netfs/netfs/vfs";
 * class OneAtATime extends PassthroughFs {
 *   override readonly concurrency = "serialize";
 * }
 * const fs: FileSystem = new OneAtATime(new MemFs());
 * assert.equal(fs.concurrency, "serialize");
 * assert.equal(new MemFs().concurrency, "parallel");
 * ```
 */
export type Concurrency = "parallel" | "serialize";

/**
 * A file system served by netfs. Implementations: `MemFs`, `LocalFs`,
 * `CallbackFs`, and the `ReadOnlyFs` / per-user wrappers built on
 * `PassthroughFs`.
 *
 * An optional capability is offered by being present: a server, a wrapper
 * or `VfsDevice` looks at whether the member is there, and a wrapper offers
 * one exactly when what it wraps does.
 */
export interface FileSystem {
  /** The root directory's id. */
  readonly root: FileId;
  /** Fixed properties. */
  readonly limits: FsLimits;

  /** Attributes of an object; ESTALE if it no longer exists. */
  getattr(cred: Credentials, id: FileId): Promise<Attributes>;
  /** Changes attributes; returns the attributes after the change. */
  setattr(
    cred: Credentials,
    id: FileId,
    attrs: SetAttributes,
  ): Promise<Attributes>;
  /** Finds `name` in directory `dir` and returns its attributes. */
  lookup(cred: Credentials, dir: FileId, name: string): Promise<Attributes>;
  /**
   * Which of the NFS ACCESS bits in `mask` (READ 1, LOOKUP 2, MODIFY 4,
   * EXTEND 8, DELETE 0x10, EXECUTE 0x20) the caller has.
   */
  access(cred: Credentials, id: FileId, mask: number): Promise<number>;
  /**
   * Reads up to `length` bytes at `offset`. `context` is what {@link open}
   * returned when the read is made under that open (an NFSv4 READ with the
   * open's stateid, or that of a lock held under it); absent otherwise
   * (NFSv3, NFSv4's anonymous stateids, a file system without `open`).
   * Permission is checked with or without it.
   */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
    context?: unknown,
  ): Promise<ReadResult>;
  /**
   * Writes `data` at `offset` with the asked stability. `context` is the
   * open's, as for {@link read}.
   *
   * `data` is lent for the call only: a file system must not keep it, or a
   * view of it, once the returned promise has settled; one that needs the
   * bytes later (a cache, a chunk store, a queue of writes) copies them. The
   * NFS servers rely on this: a WRITE's data is a view of the call's
   * record, whose storage is reused for a later call as soon as the write
   * has settled. The conformance suite (tests/vfs/) checks it on every back
   * end by overwriting the buffer after the write and reading the file.
   *
   * The one exception is storage its owner offers for the call (the NFS
   * servers offer a WRITE's record of 64 KiB or more while the call runs;
   * the offer is found from `data`'s buffer, so wrappers that pass `data`
   * on unchanged pass it too). A file system may take the offer and keep
   * the storage rather than copy: MemFs does for a write of exactly one
   * aligned 1 MiB chunk that succeeds and fits its capacity, charging the
   * whole record (1 MiB and up to 4 KiB). The server then never reuses that
   * storage; the file system hands it back through the offer once it lets
   * go of it, only if it lent no view of it to a reader, and the server
   * reuses it only after the call has settled. Until then, `data` reads as
   * the file's storage of that range: a caller that uses `data` after the
   * write (a wrapper writing it to a second file system) may see a later
   * write to that range there, and nothing else.
   */
  write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable?: Stability,
    context?: unknown,
  ): Promise<WriteResult>;
  /** Creates (or with `exclusive` false, opens and applies attrs to) a regular file. */
  create(
    cred: Credentials,
    dir: FileId,
    name: string,
    options?: CreateOptions,
  ): Promise<Attributes>;
  /** Creates a directory. */
  mkdir(
    cred: Credentials,
    dir: FileId,
    name: string,
    attrs?: SetAttributes,
  ): Promise<Attributes>;
  /** Creates a symbolic link holding `target`. */
  symlink(
    cred: Credentials,
    dir: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes>;
  /** The target of a symbolic link. */
  readlink(cred: Credentials, id: FileId): Promise<string>;
  /** Creates a device, socket or fifo node. */
  mknod(
    cred: Credentials,
    dir: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes>;
  /** Adds a hard link `dir/name` to `id`; returns the target's new attributes. */
  link(
    cred: Credentials,
    id: FileId,
    dir: FileId,
    name: string,
  ): Promise<Attributes>;
  /** Removes a non-directory entry. */
  remove(cred: Credentials, dir: FileId, name: string): Promise<void>;
  /** Removes an empty directory. */
  rmdir(cred: Credentials, dir: FileId, name: string): Promise<void>;
  /** Atomically renames, replacing a compatible target (POSIX rename). */
  rename(
    cred: Credentials,
    fromDir: FileId,
    fromName: string,
    toDir: FileId,
    toName: string,
  ): Promise<void>;
  /** A page of a directory's entries, without "." and "..". */
  readdir(
    cred: Credentials,
    dir: FileId,
    options?: ReaddirOptions,
  ): Promise<ReaddirResult>;
  /** Space and file counts. */
  statfs(cred: Credentials, id: FileId): Promise<FsStats>;
  /** Makes written data of `id` durable (fsync); errors are reported. */
  commit(cred: Credentials, id: FileId): Promise<void>;

  /**
   * Whether calls may overlap on this object. Absent means `"parallel"`,
   * what servers did before this declaration existed: an implementation
   * that keeps state across an `await` without a lock declares
   * `"serialize"`.
   */
  readonly concurrency?: Concurrency;
  /**
   * Extended attributes (RFC 8276). Absent: the file system has none, and
   * the protocol operations on them answer "not supported".
   */
  readonly xattrs?: XattrOps;
  /**
   * {@link lookup} for a name that may be absent: the same answer, except
   * that a name that does not exist resolves to `undefined` where `lookup`
   * rejects with ENOENT. Every other failure (EACCES, ENOTDIR, ESTALE …)
   * rejects as `lookup`'s does. A missing name is an answer here, not an
   * accident: the servers look names up before creating them, and building
   * an `Error` costs several microseconds per call. Absent: the servers
   * call `lookup` and catch ENOENT — as they also do for a subclass that
   * overrides `lookup` but inherits `find` (a MemFs that hides names, say),
   * so a `lookup` of your own is never bypassed.
   *
   * @example A name that is free is `undefined`, not an error
   * ```ts
   * import { MemFs, ROOT } from "@netfs/netfs/vfs";
   * import assert from "node:assert/strict";
   *
   * const fs = new MemFs();
   * assert.equal(await fs.find(ROOT, fs.root, "a.txt"), undefined);
   * await assert.rejects(fs.lookup(ROOT, fs.root, "a.txt"), { code: "ENOENT" });
   * const made = await fs.create(ROOT, fs.root, "a.txt");
   * assert.equal((await fs.find(ROOT, fs.root, "a.txt"))?.fileid, made.fileid);
   * ```
   */
  find?(
    cred: Credentials,
    dir: FileId,
    name: string,
  ): Promise<Attributes | undefined>;
  /**
   * Synchronous forms of calls the file system answers without waiting on
   * anything (MemFs has them). Absent: none. See {@link FileSystemNow}.
   */
  readonly now?: FileSystemNow;
  /**
   * Reserves space (fallocate). Absent: space cannot be reserved ahead,
   * and a protocol's ALLOCATE answers "not supported".
   */
  allocate?(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void>;
  /**
   * Punches a hole (reads return zeros). Absent: a protocol's DEALLOCATE
   * answers "not supported", and a `VfsDevice` on this file system offers
   * no trim (the NBD server then writes zero buffers for WRITE_ZEROES).
   */
  deallocate?(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void>;
  /**
   * The next offset at or after `offset` that starts data or a hole;
   * `eof` when there is none (NFSv4.2 SEEK, NBD block status). Absent:
   * every byte counts as data, and a `VfsDevice` reports the whole file as
   * allocated.
   */
  seek?(
    cred: Credentials,
    id: FileId,
    offset: number,
    what: "data" | "hole",
  ): Promise<{ offset: number; eof: boolean }>;
  /**
   * Copies bytes between files on this file system; returns bytes copied.
   * Absent: a protocol's COPY answers "not supported", and the client
   * copies by reading and writing.
   */
  copy?(
    cred: Credentials,
    src: FileId,
    dst: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number>;
  /**
   * Makes a range of regular file `dst` share the storage of a range of
   * `src` (a reflink): afterwards it reads as the source range did, and
   * later writes to either file leave the other alone. `length` 0 clones to
   * the end of the source; `dst` grows to cover the range. Overlapping
   * ranges of one file are EINVAL, and so may be ranges the file system
   * cannot share (unaligned to its blocks); ENOTSUP where the storage
   * beneath has no reflinks (the capability is present where it might).
   * Absent: a protocol's CLONE (NFSv4.2) answers "not supported", and the
   * client copies instead.
   */
  clone?(
    cred: Credentials,
    src: FileId,
    dst: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<void>;
  /**
   * A client opens regular file `id` (an NFSv4 OPEN); returns this open's
   * context, any value, which the server hands back unchanged, and only to
   * this file system: to the reads and writes made under the open and to
   * the one {@link release} that ends it. For back ends that want to know
   * who has a file open and how, or keep something per open (a handle, a
   * session). A file system has `open` and `release` both or neither.
   *
   * Absent: nothing changes for clients. The server enforces share
   * reservations itself either way, refusing a conflicting OPEN before it
   * would call `open`, and it checks the caller's permission (through
   * `access`) and creates the file when the OPEN asks, before the call. As
   * every method, `open` checks permission itself too: EACCES when `cred`
   * may not read (`access` has Read) or write (Write) the file.
   *
   * The NFSv4 server calls it once for each OPEN that gets this far (NFSv3
   * has no OPEN and never calls it). A second OPEN of the file by the same
   * open owner (widening its access or deny) calls it again with the
   * combined bits; I/O under that open then carries the newest context,
   * and each of its contexts is released when the open ends. OPEN_DOWNGRADE
   * calls nothing. When `open` rejects, the OPEN fails with that error and
   * leaves no open behind (`release` is not called for it; a file the OPEN
   * created stays).
   */
  open?(cred: Credentials, id: FileId, options: OpenOptions): Promise<unknown>;
  /**
   * Ends an open: called exactly once for each context {@link open}
   * returned, with the credentials the open was made with, after every
   * read and write that carried the context has settled. The server calls
   * it whenever it forgets the open: CLOSE; the lease of the client
   * expiring; the client restarting (a new boot verifier) or being
   * destroyed; the open being revoked; and, for each open still there, when
   * the server shuts down. Absent exactly when `open` is.
   *
   * The open is over whatever the outcome: after a rejection the server
   * logs the error, CLOSE still succeeds, and the context is not passed
   * again.
   */
  release?(cred: Credentials, id: FileId, context: unknown): Promise<void>;
  /**
   * Releases resources (open files, timers). Absent: there is nothing to
   * release. Servers never call it: whoever made the file system closes it.
   */
  close?(): Promise<void>;
}
