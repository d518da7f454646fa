// The handler table a CallbackFs is built from, and the shapes its handlers
// take and return: what a user of CallbackFs writes against. The adapter that
// turns these into a FileSystem is ./mod.ts.
import type {
  Credentials,
  FileType,
  FsStats,
  OpenOptions,
  Time,
} from "../types.ts";

/** What a handler may return for a value: the value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** A time as a handler may give it: a {@link Time}, a `Date` or milliseconds. */
export type CallbackTime = Time | Date | number;

/** The attributes a handler reports for a path; absent fields get defaults. */
export interface CallbackStat {
  /** Object type. */
  type: FileType;
  /** Permission bits (default 0o644 for files, 0o755 for directories). */
  mode?: number;
  /** Size in bytes (default 0). */
  size?: number;
  /** Owner (default 0). */
  uid?: number;
  /** Group (default 0). */
  gid?: number;
  /** Hard links (default 1, or 2 for a directory). */
  nlink?: number;
  /** Bytes used (default: size). */
  used?: number;
  /** Last access (default: mtime). */
  atime?: CallbackTime;
  /** Last modification (default: the adapter's start). */
  mtime?: CallbackTime;
  /** Last change (default: mtime). */
  ctime?: CallbackTime;
  /** Device numbers. */
  rdev?: { major: number; minor: number };
}

/** The caller of an event. */
export interface CallbackContext {
  /** Who asks. */
  cred: Credentials;
}

/**
 * What the `open` handler is told about an open: the share access and deny
 * bits and, for a client's own open, who opens and whether the open
 * created the file.
 */
export interface CallbackOpen extends OpenOptions {
  /** Whether the open may write: `access` includes Write. */
  write: boolean;
  /**
   * True for a client's open (an NFSv4 OPEN, through `FileSystem.open`):
   * its context gets one `close` when that open ends. False for the
   * adapter's own opens, for I/O that comes without an open (NFSv3,
   * NFSv4's anonymous stateids): `access` Read or Both, `deny` None, kept
   * for reuse and closed when evicted, when the file is removed and on
   * `close()`.
   */
  client: boolean;
}

/** Ownership and mode of an object being created. */
export interface CallbackCreate {
  /** Permission bits. */
  mode: number;
  /** Owner: the caller unless the client asked otherwise. */
  uid: number;
  /** Group. */
  gid: number;
}

/**
 * Event handlers. Paths are absolute ("/", "/dir/file"). Report failures by
 * throwing a `VfsError` with the POSIX code; anything else becomes EIO.
 * Absent handlers make the matching operation fail with ENOTSUP (changes)
 * or EROFS when no change handler exists at all.
 *
 * @typeParam O The per-open context object returned by `open`.
 */
export interface CallbackHandlers<O = unknown> {
  /** Attributes of `path`, or undefined if nothing is there. Required. */
  getAttr(
    path: string,
    ctx: CallbackContext,
  ): MaybePromise<CallbackStat | undefined>;
  /**
   * Lists a directory in a stable order, calling `fill` per entry ("." and
   * ".." excluded); stop when `fill` returns false (the client's limit is
   * reached). Required.
   */
  readDir(
    path: string,
    fill: (name: string) => boolean,
    ctx: CallbackContext,
  ): MaybePromise<void>;
  /**
   * Opens a file; the returned context is passed to the read, write and
   * commit made under this open and to its one `close`. A throw fails the
   * open (and a client's OPEN with it).
   */
  open?(
    path: string,
    options: CallbackOpen,
    ctx: CallbackContext,
  ): MaybePromise<O>;
  /**
   * Closes what `open` opened, once per open: a client's open when it ends
   * (CLOSE, an expired lease, server shutdown), the adapter's own on
   * eviction and removal; both on the adapter's `close()`.
   */
  close?(path: string, open: O, ctx: CallbackContext): MaybePromise<void>;
  /** Reads up to `length` bytes at `offset` (fewer only at end of file). */
  read?(
    path: string,
    open: O,
    offset: number,
    length: number,
    ctx: CallbackContext,
  ): MaybePromise<Uint8Array>;
  /**
   * Writes `data` at `offset`; returns the bytes written. `data` is lent
   * for the call only (as for `FileSystem.write`): copy what is kept after
   * the returned value or promise settles.
   */
  write?(
    path: string,
    open: O,
    offset: number,
    data: Uint8Array,
    ctx: CallbackContext,
  ): MaybePromise<number>;
  /** Makes written data durable. */
  commit?(path: string, open: O, ctx: CallbackContext): MaybePromise<void>;
  /** Creates an empty regular file. */
  create?(
    path: string,
    options: CallbackCreate,
    ctx: CallbackContext,
  ): MaybePromise<void>;
  /** Creates a directory. */
  mkDir?(
    path: string,
    options: CallbackCreate,
    ctx: CallbackContext,
  ): MaybePromise<void>;
  /**
   * Creates a link at `path`: symbolic (`target` is the link's text) or
   * hard (`target` is the existing object's path).
   */
  createLink?(
    path: string,
    target: string,
    options: CallbackCreate & { symbolic: boolean },
    ctx: CallbackContext,
  ): MaybePromise<void>;
  /** The text of a symbolic link. */
  readLink?(path: string, ctx: CallbackContext): MaybePromise<string>;
  /** Removes a non-directory. */
  unlink?(path: string, ctx: CallbackContext): MaybePromise<void>;
  /** Removes an empty directory. */
  rmDir?(path: string, ctx: CallbackContext): MaybePromise<void>;
  /** Renames, replacing a compatible target (checked by the adapter). */
  rename?(from: string, to: string, ctx: CallbackContext): MaybePromise<void>;
  /** Changes permission bits. */
  chmod?(path: string, mode: number, ctx: CallbackContext): MaybePromise<void>;
  /** Changes owner and group. */
  chown?(
    path: string,
    uid: number,
    gid: number,
    ctx: CallbackContext,
  ): MaybePromise<void>;
  /** Truncates or extends a file. */
  truncate?(
    path: string,
    size: number,
    ctx: CallbackContext,
  ): MaybePromise<void>;
  /** Sets access and modification times. */
  utime?(
    path: string,
    atime: Time,
    mtime: Time,
    ctx: CallbackContext,
  ): MaybePromise<void>;
  /** Space figures (default: large placeholders). */
  statFs?(ctx: CallbackContext): MaybePromise<FsStats>;
}

/** Options for {@link CallbackFs}. */
export interface CallbackFsOptions {
  /** The fsid reported in attributes (default 1). */
  fsid?: number;
  /** Most files kept open (default 64). */
  openFiles?: number;
}
