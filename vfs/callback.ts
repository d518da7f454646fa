/**
 * A {@link FileSystem} built from path-based event handlers, for serving
 * anything without writing an inode layer: the adapter keeps the
 * path ↔ FileId mapping (stable across renames), the per-open contexts,
 * readdir cookies and the permission checks; the handlers only answer
 * questions about paths.
 *
 * @example A read-only "hello" file system
 * ```ts
 * import { CallbackFs } from "./callback.ts";
 * import { FileType, ROOT } from "./types.ts";
 * const hello = new TextEncoder().encode("hello\n");
 * const fs = new CallbackFs({
 *   getAttr: (path) =>
 *     path === "/"
 *       ? { type: FileType.Directory, mode: 0o755 }
 *       : path === "/hello.txt"
 *       ? { type: FileType.Regular, mode: 0o644, size: hello.length }
 *       : undefined,
 *   readDir: (path, fill) => {
 *     if (path === "/") fill("hello.txt");
 *   },
 *   read: (_path, _open, offset, length) => hello.subarray(offset, offset + length),
 * });
 * const f = await fs.lookup(ROOT, fs.root, "hello.txt");
 * console.log(new TextDecoder().decode((await fs.read(ROOT, f.fileid, 0, 100)).data));
 * ```
 *
 * @module
 */

import {
  accessBits,
  checkNewOwner,
  checkSetattr,
  modeAfterWrite,
  Perm,
  requireData,
  requirePermission,
  requireSticky,
} from "./access.ts";
import { checkName } from "./_names.ts";
import { VfsError } from "./errors.ts";
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
  type Stability,
  type Time,
  type WriteResult,
} from "./types.ts";

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
  /** Opens a file; the returned context is passed to read/write/commit/close. */
  open?(
    path: string,
    options: { write: boolean },
    ctx: CallbackContext,
  ): MaybePromise<O>;
  /** Closes what `open` opened (on eviction, removal and `close()`). */
  close?(path: string, open: O, ctx: CallbackContext): MaybePromise<void>;
  /** Reads up to `length` bytes at `offset` (fewer only at end of file). */
  read?(
    path: string,
    open: O,
    offset: number,
    length: number,
    ctx: CallbackContext,
  ): MaybePromise<Uint8Array>;
  /** Writes `data` at `offset`; returns the bytes written. */
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

interface Node {
  id: FileId;
  name: string;
  parent: Node | undefined;
  children: Map<string, Node>;
  /** Readdir cookie in the parent; 0 until a listing sees it. */
  seq: number;
  /** Next cookie to hand out among this directory's entries. */
  nextSeq: number;
}

interface Opened<O> {
  id: FileId;
  path: string;
  write: boolean;
  ctx: O;
  users: number;
}

function toTime(t: CallbackTime | undefined, fallback: Time): Time {
  if (t === undefined) return fallback;
  if (typeof t === "number" || t instanceof Date) {
    const ms = typeof t === "number" ? t : t.getTime();
    const sec = Math.floor(ms / 1000);
    return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
  }
  return t;
}

function wrap(e: unknown, what: string): VfsError {
  if (e instanceof VfsError) return e;
  return new VfsError(
    "EIO",
    `Handler failed for ${what}: ${(e as Error)?.message ?? e}`,
  );
}

/**
 * A file system whose objects are answered by path-based event handlers.
 *
 * FileIds are handed out per path as paths are first seen and follow an
 * object through renames made through this adapter; they are not
 * persistent (a new adapter starts over), and two hard links get two
 * FileIds. Readdir cookies are per-directory sequence numbers assigned as
 * entries are listed, so they stay valid across unrelated changes as long
 * as the handler lists in a stable order. Permissions are checked by the
 * adapter from the mode, uid and gid the handler reports.
 *
 * @example
 * ```ts
 * import { CallbackFs } from "./callback.ts";
 * import { FileType, ROOT } from "./types.ts";
 * const files = new Map<string, Uint8Array>([["/a", new Uint8Array([1, 2, 3])]]);
 * const fs = new CallbackFs({
 *   getAttr: (p) =>
 *     p === "/" ? { type: FileType.Directory } : files.has(p)
 *     ? { type: FileType.Regular, size: files.get(p)!.length }
 *     : undefined,
 *   readDir: (_p, fill) => {
 *     for (const k of files.keys()) if (!fill(k.slice(1))) break;
 *   },
 *   read: (p, _o, off, len) => files.get(p)!.subarray(off, off + len),
 * });
 * const page = await fs.readdir(ROOT, fs.root);
 * console.log(page.entries.map((e) => e.name)); // ["a"]
 * ```
 */
export class CallbackFs<O = unknown> implements FileSystem {
  /** The root directory's id (always 1). */
  readonly root: FileId = 1;
  /** Fixed properties. */
  readonly limits: FsLimits;
  /** Calls may overlap. */
  readonly concurrency = "parallel" as const;

  readonly #h: CallbackHandlers<O>;
  readonly #fsid: number;
  readonly #started: Time;
  readonly #nodes = new Map<FileId, Node>();
  readonly #rootNode: Node;
  #nextId = 2;
  readonly #open = new Map<FileId, Opened<O>>();
  readonly #maxOpen: number;
  readonly #changes = new Map<FileId, number>();

  /**
   * Creates the adapter.
   *
   * @param handlers The event handlers (`getAttr` and `readDir` are required).
   * @param options fsid and open-file limit.
   */
  constructor(handlers: CallbackHandlers<O>, options: CallbackFsOptions = {}) {
    this.#h = handlers;
    this.#fsid = options.fsid ?? 1;
    this.#maxOpen = Math.max(1, options.openFiles ?? 64);
    const ms = Date.now();
    this.#started = { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
    this.#rootNode = {
      id: 1,
      name: "",
      parent: undefined,
      children: new Map(),
      seq: 0,
      nextSeq: 3,
    };
    this.#nodes.set(1, this.#rootNode);
    this.limits = Object.freeze({
      maxNameLength: 255,
      maxLinks: 65000,
      maxFileSize: Number.MAX_SAFE_INTEGER,
      timeDelta: 1_000_000,
      symlinks: handlers.createLink !== undefined,
      hardLinks: handlers.createLink !== undefined,
    });
  }

  // ---- paths and ids ------------------------------------------------------

  #node(id: FileId): Node {
    const n = this.#nodes.get(id);
    if (n === undefined) throw new VfsError("ESTALE", `Stale file id: ${id}`);
    return n;
  }

  #path(n: Node): string {
    if (n.parent === undefined) return "/";
    const parts: string[] = [];
    for (let c: Node | undefined = n; c?.parent !== undefined; c = c.parent) {
      parts.push(c.name);
    }
    return "/" + parts.reverse().join("/");
  }

  #child(dir: Node, name: string): Node {
    let n = dir.children.get(name);
    if (n === undefined) {
      n = {
        id: this.#nextId++,
        name,
        parent: dir,
        children: new Map(),
        seq: 0,
        nextSeq: 3,
      };
      dir.children.set(name, n);
      this.#nodes.set(n.id, n);
    }
    return n;
  }

  /** Forgets a node and everything below it. */
  #forget(n: Node): void {
    for (const c of n.children.values()) this.#forget(c);
    n.children.clear();
    n.parent?.children.delete(n.name);
    this.#nodes.delete(n.id);
    this.#changes.delete(n.id);
    const o = this.#open.get(n.id);
    if (o !== undefined) {
      this.#open.delete(n.id);
      void this.#closeOpened(o);
    }
  }

  #ctx(cred: Credentials): CallbackContext {
    return { cred };
  }

  async #stat(
    cred: Credentials,
    n: Node,
  ): Promise<{ stat: CallbackStat; attrs: Attributes }> {
    const path = this.#path(n);
    let stat: CallbackStat | undefined;
    try {
      stat = await this.#h.getAttr(path, this.#ctx(cred));
    } catch (e) {
      throw wrap(e, path);
    }
    if (stat === undefined) {
      if (n.parent !== undefined) this.#forget(n);
      throw new VfsError("ESTALE", `No longer exists: ${path}`);
    }
    return { stat, attrs: this.#attrs(n, stat) };
  }

  #attrs(n: Node, s: CallbackStat): Attributes {
    const isDir = s.type === FileType.Directory;
    const mtime = toTime(s.mtime, this.#started);
    const size = s.size ?? 0;
    return {
      type: s.type,
      mode: (s.mode ?? (isDir ? 0o755 : 0o644)) & 0o7777,
      nlink: s.nlink ?? (isDir ? 2 : 1),
      uid: s.uid ?? 0,
      gid: s.gid ?? 0,
      size,
      used: s.used ?? size,
      rdev: s.rdev ?? { major: 0, minor: 0 },
      fsid: this.#fsid,
      fileid: n.id,
      atime: toTime(s.atime, mtime),
      mtime,
      ctime: toTime(s.ctime, mtime),
      change: (mtime.sec * 1000 + Math.floor(mtime.nsec / 1e6)) * 1000 +
        Math.min(this.#changes.get(n.id) ?? 0, 999),
    };
  }

  #bump(id: FileId): void {
    this.#changes.set(id, (this.#changes.get(id) ?? 0) + 1);
  }

  async #dir(cred: Credentials, id: FileId): Promise<[Node, Attributes]> {
    const n = this.#node(id);
    const { attrs } = await this.#stat(cred, n);
    if (attrs.type !== FileType.Directory) {
      throw new VfsError("ENOTDIR", `Not a directory: ${this.#path(n)}`);
    }
    return [n, attrs];
  }

  /** The attributes of `dir/name`, or undefined when nothing is there. */
  async #peek(
    cred: Credentials,
    dir: Node,
    name: string,
  ): Promise<Attributes | undefined> {
    const path = this.#path(dir) + (dir.parent ? "/" : "") + name;
    let stat: CallbackStat | undefined;
    try {
      stat = await this.#h.getAttr(path, this.#ctx(cred));
    } catch (e) {
      throw wrap(e, path);
    }
    if (stat === undefined) {
      const gone = dir.children.get(name);
      if (gone !== undefined) this.#forget(gone);
      return undefined;
    }
    return this.#attrs(this.#child(dir, name), stat);
  }

  #joined(dir: Node, name: string): string {
    return this.#path(dir) + (dir.parent ? "/" : "") + name;
  }

  #need<K extends keyof CallbackHandlers<O>>(
    key: K,
  ): NonNullable<CallbackHandlers<O>[K]> {
    const f = this.#h[key];
    if (f === undefined) {
      throw new VfsError(
        "ENOTSUP",
        `Operation not supported: no ${String(key)} handler`,
      );
    }
    return f as NonNullable<CallbackHandlers<O>[K]>;
  }

  async #call<T>(what: string, f: () => MaybePromise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw wrap(e, what);
    }
  }

  // ---- open contexts ------------------------------------------------------

  async #opened(
    cred: Credentials,
    n: Node,
    write: boolean,
  ): Promise<Opened<O>> {
    const have = this.#open.get(n.id);
    const path = this.#path(n);
    if (have !== undefined && (have.write || !write) && have.path === path) {
      this.#open.delete(n.id);
      this.#open.set(n.id, have);
      have.users++;
      return have;
    }
    if (have !== undefined) {
      this.#open.delete(n.id);
      await this.#closeOpened(have);
    }
    const ctx = this.#h.open
      ? await this.#call(
        path,
        () => this.#h.open!(path, { write }, this.#ctx(cred)),
      )
      : undefined as O;
    const o: Opened<O> = { id: n.id, path, write, ctx, users: 1 };
    this.#open.set(n.id, o);
    while (this.#open.size > this.#maxOpen) {
      const [oldId, old] = this.#open.entries().next().value!;
      this.#open.delete(oldId);
      await this.#closeOpened(old);
    }
    return o;
  }

  #release(o: Opened<O>): void {
    o.users--;
  }

  async #closeOpened(o: Opened<O>): Promise<void> {
    if (this.#h.close === undefined) return;
    try {
      await this.#h.close(
        o.path,
        o.ctx,
        this.#ctx({ uid: 0, gid: 0, groups: [] }),
      );
    } catch {
      // A failing close has nobody to report to.
    }
  }

  // ---- FileSystem ---------------------------------------------------------

  /** Attributes of an object. */
  async getattr(cred: Credentials, id: FileId): Promise<Attributes> {
    return (await this.#stat(cred, this.#node(id))).attrs;
  }

  /** Changes attributes through chmod/chown/truncate/utime handlers. */
  async setattr(
    cred: Credentials,
    id: FileId,
    set: SetAttributes,
  ): Promise<Attributes> {
    const n = this.#node(id);
    const { attrs } = await this.#stat(cred, n);
    const path = this.#path(n);
    const mode = checkSetattr(attrs, cred, set, { what: path });
    const ctx = this.#ctx(cred);
    if (set.size !== undefined) {
      const f = this.#need("truncate");
      await this.#call(path, () => f(path, set.size!, ctx));
    }
    if (mode !== undefined) {
      const f = this.#need("chmod");
      await this.#call(path, () => f(path, mode, ctx));
    }
    const uid = set.uid ?? attrs.uid;
    const gid = set.gid ?? attrs.gid;
    if (uid !== attrs.uid || gid !== attrs.gid) {
      const f = this.#need("chown");
      await this.#call(path, () => f(path, uid, gid, ctx));
    }
    if (set.atime !== undefined || set.mtime !== undefined) {
      const f = this.#need("utime");
      const now = toTime(Date.now(), this.#started);
      const pick = (t: SetAttributes["atime"], cur: Time) =>
        t === undefined ? cur : t === "server" ? now : t;
      await this.#call(
        path,
        () =>
          f(
            path,
            pick(set.atime, attrs.atime),
            pick(set.mtime, attrs.mtime),
            ctx,
          ),
      );
    }
    this.#bump(id);
    return (await this.#stat(cred, n)).attrs;
  }

  /** Finds a name; "." and ".." name the directory itself and its parent. */
  async lookup(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    const [dir, dattrs] = await this.#dir(cred, dirId);
    requirePermission(dattrs, cred, Perm.X, `cannot search ${this.#path(dir)}`);
    if (name === ".") return dattrs;
    if (name === "..") {
      return dir.parent === undefined
        ? dattrs
        : (await this.#stat(cred, dir.parent)).attrs;
    }
    checkName(name);
    const a = await this.#peek(cred, dir, name);
    if (a === undefined) {
      throw new VfsError("ENOENT", `No such file or directory: ${name}`);
    }
    return a;
  }

  /** Which NFS ACCESS bits the caller has. */
  async access(cred: Credentials, id: FileId, mask: number): Promise<number> {
    return accessBits(
      (await this.#stat(cred, this.#node(id))).attrs,
      cred,
      mask,
    );
  }

  async #regular(cred: Credentials, id: FileId): Promise<[Node, Attributes]> {
    const n = this.#node(id);
    const { attrs } = await this.#stat(cred, n);
    if (attrs.type === FileType.Directory) {
      throw new VfsError("EISDIR", `Is a directory: ${this.#path(n)}`);
    }
    if (attrs.type !== FileType.Regular) {
      throw new VfsError("EINVAL", `Not a regular file: ${this.#path(n)}`);
    }
    return [n, attrs];
  }

  /** Reads through the read handler with the file's open context. */
  async read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<ReadResult> {
    const [n, attrs] = await this.#regular(cred, id);
    requireData(attrs, cred, "read", this.#path(n));
    if (offset >= attrs.size || length === 0) {
      return { data: new Uint8Array(0), eof: offset >= attrs.size };
    }
    const read = this.#need("read");
    const o = await this.#opened(cred, n, false);
    try {
      const want = Math.min(length, attrs.size - offset);
      const data = await this.#call(
        o.path,
        () => read(o.path, o.ctx, offset, want, this.#ctx(cred)),
      );
      return { data, eof: offset + data.length >= attrs.size };
    } finally {
      this.#release(o);
    }
  }

  /** Writes through the write handler; commits when asked for stability. */
  async write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable: Stability = "unstable",
  ): Promise<WriteResult> {
    const [n, attrs] = await this.#regular(cred, id);
    requireData(attrs, cred, "write", this.#path(n));
    const write = this.#need("write");
    const o = await this.#opened(cred, n, true);
    let count: number;
    try {
      count = await this.#call(
        o.path,
        () => write(o.path, o.ctx, offset, data, this.#ctx(cred)),
      );
      if (stable !== "unstable" && this.#h.commit) {
        await this.#call(
          o.path,
          () => this.#h.commit!(o.path, o.ctx, this.#ctx(cred)),
        );
      }
    } finally {
      this.#release(o);
    }
    const mode = modeAfterWrite(attrs.mode, cred);
    if (count > 0 && mode !== attrs.mode && this.#h.chmod) {
      await this.#call(
        o.path,
        () => this.#h.chmod!(o.path, mode, this.#ctx(cred)),
      );
    }
    this.#bump(id);
    return {
      count,
      committed: this.#h.commit ? stable : "file",
      attrs: (await this.#stat(cred, n)).attrs,
    };
  }

  async #prepareCreate(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<[Node, Attributes]> {
    const [dir, dattrs] = await this.#dir(cred, dirId);
    checkName(name);
    requirePermission(
      dattrs,
      cred,
      Perm.W | Perm.X,
      `cannot change entry ${name} of ${this.#path(dir)}`,
    );
    return [dir, dattrs];
  }

  #owner(
    cred: Credentials,
    dattrs: Attributes,
    attrs: SetAttributes | undefined,
    mode: number,
  ): CallbackCreate {
    return {
      mode: mode & 0o7777,
      uid: attrs?.uid ?? cred.uid,
      gid: attrs?.gid ?? ((dattrs.mode & 0o2000) !== 0 ? dattrs.gid : cred.gid),
    };
  }

  /** Creates a regular file (or opens an existing one unless exclusive). */
  async create(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: CreateOptions = {},
  ): Promise<Attributes> {
    const [dir, dattrs] = await this.#dir(cred, dirId);
    checkName(name);
    const existing = await this.#peek(cred, dir, name);
    if (existing !== undefined) {
      if (options.exclusive) {
        throw new VfsError("EEXIST", `File exists: ${name}`);
      }
      if (existing.type === FileType.Directory) {
        throw new VfsError("EISDIR", `Is a directory: ${name}`);
      }
      if (existing.type !== FileType.Regular) {
        throw new VfsError("EEXIST", `File exists: ${name}`);
      }
      requirePermission(
        dattrs,
        cred,
        Perm.X,
        `cannot search ${this.#path(dir)}`,
      );
      const a = options.attrs;
      if (
        a?.size !== undefined || a?.atime !== undefined ||
        a?.mtime !== undefined
      ) {
        return await this.setattr(cred, existing.fileid, {
          size: a.size,
          atime: a.atime,
          mtime: a.mtime,
        });
      }
      return existing;
    }
    await this.#prepareCreate(cred, dirId, name);
    checkNewOwner(cred, options.attrs);
    const create = this.#need("create");
    const path = this.#joined(dir, name);
    const owner = this.#owner(
      cred,
      dattrs,
      options.attrs,
      options.attrs?.mode ?? 0o644,
    );
    await this.#call(path, () => create(path, owner, this.#ctx(cred)));
    this.#bump(dirId);
    const node = this.#child(dir, name);
    const a = options.attrs;
    if (a?.size || a?.atime !== undefined || a?.mtime !== undefined) {
      return await this.setattr(ROOT_CRED, node.id, {
        size: a.size || undefined,
        atime: a.atime,
        mtime: a.mtime,
      });
    }
    return (await this.#stat(cred, node)).attrs;
  }

  /** Creates a directory through the mkDir handler. */
  async mkdir(
    cred: Credentials,
    dirId: FileId,
    name: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    const [dir, dattrs] = await this.#prepareCreate(cred, dirId, name);
    checkNewOwner(cred, attrs);
    if (await this.#peek(cred, dir, name)) {
      throw new VfsError("EEXIST", `File exists: ${name}`);
    }
    const mkDir = this.#need("mkDir");
    const path = this.#joined(dir, name);
    let mode = attrs?.mode ?? 0o755;
    if ((dattrs.mode & 0o2000) !== 0) mode |= 0o2000;
    await this.#call(
      path,
      () =>
        mkDir(path, this.#owner(cred, dattrs, attrs, mode), this.#ctx(cred)),
    );
    this.#bump(dirId);
    return (await this.#stat(cred, this.#child(dir, name))).attrs;
  }

  /** Creates a symbolic link through the createLink handler. */
  async symlink(
    cred: Credentials,
    dirId: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    const [dir, dattrs] = await this.#prepareCreate(cred, dirId, name);
    checkNewOwner(cred, attrs);
    if (await this.#peek(cred, dir, name)) {
      throw new VfsError("EEXIST", `File exists: ${name}`);
    }
    if (target === "") {
      throw new VfsError("ENOENT", `Empty symlink target: ${name}`);
    }
    const createLink = this.#need("createLink");
    const path = this.#joined(dir, name);
    await this.#call(path, () =>
      createLink(path, target, {
        ...this.#owner(cred, dattrs, attrs, 0o777),
        symbolic: true,
      }, this.#ctx(cred)));
    this.#bump(dirId);
    return (await this.#stat(cred, this.#child(dir, name))).attrs;
  }

  /** The text of a symbolic link. */
  async readlink(cred: Credentials, id: FileId): Promise<string> {
    const n = this.#node(id);
    const { attrs } = await this.#stat(cred, n);
    if (attrs.type !== FileType.Symlink) {
      throw new VfsError("EINVAL", `Not a symlink: ${this.#path(n)}`);
    }
    const readLink = this.#need("readLink");
    const path = this.#path(n);
    return await this.#call(path, () => readLink(path, this.#ctx(cred)));
  }

  /** Not available through callbacks. */
  async mknod(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    const [dir] = await this.#prepareCreate(cred, dirId, name);
    if (await this.#peek(cred, dir, name)) {
      throw new VfsError("EEXIST", `File exists: ${name}`);
    }
    const t = options.type;
    if (
      t !== FileType.Block && t !== FileType.Char && t !== FileType.Socket &&
      t !== FileType.Fifo
    ) {
      throw new VfsError("EINVAL", `Invalid node type for mknod: ${t}`);
    }
    throw new VfsError(
      "ENOTSUP",
      `Creating device, fifo and socket nodes is not supported by CallbackFs: ${name}`,
    );
  }

  /** Adds a hard link through the createLink handler (the new name gets its own FileId). */
  async link(
    cred: Credentials,
    id: FileId,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    const src = this.#node(id);
    const { attrs } = await this.#stat(cred, src);
    const [dir, dattrs] = await this.#prepareCreate(cred, dirId, name);
    if (attrs.type === FileType.Directory) {
      throw new VfsError(
        "EPERM",
        `Operation not permitted: hard link to directory ${this.#path(src)}`,
      );
    }
    if (await this.#peek(cred, dir, name)) {
      throw new VfsError("EEXIST", `File exists: ${name}`);
    }
    const createLink = this.#need("createLink");
    const path = this.#joined(dir, name);
    await this.#call(path, () =>
      createLink(path, this.#path(src), {
        ...this.#owner(cred, dattrs, undefined, attrs.mode),
        symbolic: false,
      }, this.#ctx(cred)));
    this.#bump(dirId);
    this.#bump(id);
    return (await this.#stat(cred, this.#child(dir, name))).attrs;
  }

  async #victim(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<[Node, Attributes, Node, Attributes]> {
    const [dir, dattrs] = await this.#prepareCreate(cred, dirId, name);
    const a = await this.#peek(cred, dir, name);
    if (a === undefined) {
      throw new VfsError("ENOENT", `No such file or directory: ${name}`);
    }
    requireSticky(dattrs, a, cred, name);
    return [dir, dattrs, dir.children.get(name)!, a];
  }

  async #isEmpty(cred: Credentials, n: Node): Promise<boolean> {
    let empty = true;
    const path = this.#path(n);
    await this.#call(path, () =>
      this.#h.readDir(path, () => {
        empty = false;
        return false;
      }, this.#ctx(cred)));
    return empty;
  }

  /** Removes a non-directory through the unlink handler. */
  async remove(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    const [, , node, a] = await this.#victim(cred, dirId, name);
    if (a.type === FileType.Directory) {
      throw new VfsError("EISDIR", `Is a directory: ${name}`);
    }
    const unlink = this.#need("unlink");
    const path = this.#path(node);
    this.#forget(node);
    await this.#call(path, () => unlink(path, this.#ctx(cred)));
    this.#bump(dirId);
  }

  /** Removes an empty directory through the rmDir handler. */
  async rmdir(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    const [, , node, a] = await this.#victim(cred, dirId, name);
    if (a.type !== FileType.Directory) {
      throw new VfsError("ENOTDIR", `Not a directory: ${name}`);
    }
    if (!(await this.#isEmpty(cred, node))) {
      throw new VfsError("ENOTEMPTY", `Directory not empty: ${name}`);
    }
    const rmDir = this.#need("rmDir");
    const path = this.#path(node);
    await this.#call(path, () => rmDir(path, this.#ctx(cred)));
    this.#forget(node);
    this.#bump(dirId);
  }

  /** Renames through the rename handler; FileIds follow the object. */
  async rename(
    cred: Credentials,
    fromDirId: FileId,
    fromName: string,
    toDirId: FileId,
    toName: string,
  ): Promise<void> {
    const [from, , node, a] = await this.#victim(cred, fromDirId, fromName);
    const [to, tattrs] = await this.#prepareCreate(cred, toDirId, toName);
    const target = await this.#peek(cred, to, toName);
    if (target?.fileid === node.id) return;
    const isDir = a.type === FileType.Directory;
    if (isDir) {
      for (let d: Node | undefined = to; d !== undefined; d = d.parent) {
        if (d === node) {
          throw new VfsError(
            "EINVAL",
            `Invalid argument: cannot move ${fromName} into its own subtree`,
          );
        }
      }
      if (from !== to) {
        requirePermission(a, cred, Perm.W, `cannot move ${fromName}`);
      }
    }
    const targetNode = to.children.get(toName);
    if (target !== undefined && targetNode !== undefined) {
      requireSticky(tattrs, target, cred, toName);
      const tIsDir = target.type === FileType.Directory;
      if (isDir && !tIsDir) {
        throw new VfsError("ENOTDIR", `Not a directory: ${toName}`);
      }
      if (!isDir && tIsDir) {
        throw new VfsError("EISDIR", `Is a directory: ${toName}`);
      }
      if (tIsDir && !(await this.#isEmpty(cred, targetNode))) {
        throw new VfsError("ENOTEMPTY", `Directory not empty: ${toName}`);
      }
    }
    const rename = this.#need("rename");
    const fromPath = this.#path(node);
    const toPath = this.#joined(to, toName);
    await this.#call(fromPath, () => rename(fromPath, toPath, this.#ctx(cred)));
    if (targetNode !== undefined) this.#forget(targetNode);
    from.children.delete(fromName);
    node.name = toName;
    node.parent = to;
    node.seq = 0;
    to.children.set(toName, node);
    const o = this.#open.get(node.id);
    if (o !== undefined) o.path = toPath;
    this.#bump(fromDirId);
    this.#bump(toDirId);
    this.#bump(node.id);
  }

  /**
   * A page of entries. Each entry's cookie is the number the adapter gave
   * its name when a listing first saw it. A page resumes right after the
   * entry named by the cookie, in the handler's order, and asks the handler
   * to stop once the page is full; if that entry is gone, it returns the
   * names numbered after the cookie or never numbered before.
   */
  async readdir(
    cred: Credentials,
    dirId: FileId,
    options: ReaddirOptions = {},
  ): Promise<ReaddirResult> {
    const [dir, dattrs] = await this.#dir(cred, dirId);
    requirePermission(dattrs, cred, Perm.R, `cannot list ${this.#path(dir)}`);
    const after = (options.cookie ?? 0n) < 3n ? 0 : Number(options.cookie);
    const limit = options.limit ?? Infinity;
    const path = this.#path(dir);
    const cursor = after === 0 ? undefined : this.#bySeq(dir, after);
    const list = async (fallback: boolean) => {
      const names: Node[] = [];
      let more = false;
      let found = after === 0 || fallback;
      await this.#call(path, () =>
        this.#h.readDir(path, (name) => {
          if (name === "." || name === ".." || name === "") return true;
          const n = this.#child(dir, name);
          const fresh = n.seq === 0;
          if (fresh) n.seq = dir.nextSeq++;
          if (!found) {
            if (n === cursor) found = true;
            return true;
          }
          if (fallback && !fresh && n.seq <= after) return true;
          if (names.length >= limit) {
            more = true;
            return false;
          }
          names.push(n);
          return true;
        }, this.#ctx(cred)));
      return { names, more, found };
    };
    let page = await list(cursor === undefined && after !== 0);
    if (!page.found) page = await list(true);
    const entries: DirEntry[] = [];
    for (const n of page.names) {
      const entry: DirEntry = {
        name: n.name,
        fileid: n.id,
        cookie: BigInt(n.seq),
      };
      if (options.withAttributes) {
        try {
          entry.attrs = (await this.#stat(cred, n)).attrs;
        } catch {
          continue; // Gone since listed.
        }
      }
      entries.push(entry);
    }
    return { entries, eof: !page.more };
  }

  #bySeq(dir: Node, seq: number): Node | undefined {
    for (const n of dir.children.values()) if (n.seq === seq) return n;
    return undefined;
  }

  /** Space figures from the statFs handler, or large placeholders. */
  async statfs(cred: Credentials, id: FileId): Promise<FsStats> {
    this.#node(id);
    if (this.#h.statFs) {
      return await this.#call("statfs", () => this.#h.statFs!(this.#ctx(cred)));
    }
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

  /** Calls the commit handler with the file's open context. */
  async commit(cred: Credentials, id: FileId): Promise<void> {
    const n = this.#node(id);
    const o = this.#open.get(id);
    if (o === undefined || this.#h.commit === undefined) {
      await this.#stat(cred, n);
      return;
    }
    await this.#call(
      o.path,
      () => this.#h.commit!(o.path, o.ctx, this.#ctx(cred)),
    );
  }

  /** Closes every open context. */
  async close(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    for (const o of all) await this.#closeOpened(o);
  }
}

const ROOT_CRED: Credentials = { uid: 0, gid: 0, groups: [] };
