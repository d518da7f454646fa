/**
 * A {@link FileSystem} built from path-based event handlers, for serving
 * anything without writing an inode layer: the adapter keeps the
 * path ↔ FileId mapping (stable across renames), the per-open contexts,
 * readdir cookies and the permission checks; the handlers only answer
 * questions about paths.
 *
 * This file is the adapter; beside it, `handlers.ts` holds the handler table
 * and the shapes handlers take and return, `_nodes.ts` the path ↔ FileId
 * tree and the attributes, `_opens.ts` the per-open contexts,
 * `_namespace.ts` the operations that add, move, remove and list names, and
 * `_call.ts` how a handler's failure becomes a VfsError.
 *
 * @example A read-only "hello" file system
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallbackFs, FileType, ROOT } from "@netfs/netfs/vfs";
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
 * const { data } = await fs.read(ROOT, f.fileid, 0, 100);
 * assert.equal(new TextDecoder().decode(data), "hello\n");
 * ```
 *
 * @module
 */

import {
  accessBits,
  checkSetattr,
  modeAfterWrite,
  Perm,
  requireData,
  requirePermission,
} from "../access.ts";
import { found } from "../_find.ts";
import { checkName } from "../_names.ts";
import { isVfsError, VfsError } from "../errors.ts";
import {
  type Attributes,
  type CreateOptions,
  type Credentials,
  type FileId,
  type FileSystem,
  FileType,
  type FsLimits,
  type FsStats,
  type MknodOptions,
  type OpenOptions,
  type ReaddirOptions,
  type ReaddirResult,
  type ReadResult,
  type SetAttributes,
  ShareAccess,
  type Stability,
  type Time,
  type WriteResult,
} from "../types.ts";
import { call, context, need } from "./_call.ts";
import { Namespace } from "./_namespace.ts";
import { type Node, Nodes, toTime } from "./_nodes.ts";
import { type Opened, Opens } from "./_opens.ts";
import type { CallbackFsOptions, CallbackHandlers } from "./handlers.ts";

export * from "./handlers.ts";

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
 * import assert from "node:assert/strict";
 * import { CallbackFs, FileType, ROOT } from "@netfs/netfs/vfs";
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
 * assert.deepEqual(page.entries.map((e) => e.name), ["a"]);
 * ```
 */
export class CallbackFs<O = unknown> implements FileSystem {
  /** The root directory's id (always 1). */
  readonly root: FileId = 1;
  /** Fixed properties. */
  readonly limits: FsLimits;
  /** Calls may overlap. */
  readonly concurrency = "parallel" as const;
  /**
   * A client opens a file: checks the caller may read or write it as
   * `access` asks, calls the `open` handler (with `client` true) and
   * returns a context that wraps what it returned. Reads and writes that
   * carry the context use it; the LRU cache of the adapter's own opens is
   * for I/O without one. Present when the handler table has `open` or
   * `close`.
   *
   * @example A client's open, as the handlers see it
   * ```ts
   * import assert from "node:assert/strict";
   * import {
   *   CallbackFs,
   *   FileType,
   *   ROOT,
   *   ShareAccess,
   *   ShareDeny,
   * } from "@netfs/netfs/vfs";
   * const events: string[] = [];
   * const fs = new CallbackFs<string>({
   *   getAttr: (p) =>
   *     p === "/" ? { type: FileType.Directory }
   *     : p === "/f" ? { type: FileType.Regular, size: 2 }
   *     : undefined,
   *   readDir: (_p, fill) => void fill("f"),
   *   open: (p, o) => {
   *     events.push(`open ${p} access ${o.access} deny ${o.deny}`);
   *     return `handle ${events.length}`;
   *   },
   *   read: (p, handle, _off, len) => {
   *     events.push(`read ${p} with ${handle}`);
   *     return new Uint8Array(len);
   *   },
   *   close: (p, handle) => void events.push(`close ${p} ${handle}`),
   * });
   * const f = await fs.lookup(ROOT, fs.root, "f");
   * const open = await fs.open!(ROOT, f.fileid, {
   *   access: ShareAccess.Read,
   *   deny: ShareDeny.Write,
   * });
   * await fs.read(ROOT, f.fileid, 0, 2, open);
   * await fs.release!(ROOT, f.fileid, open);
   * assert.deepEqual(events, [
   *   "open /f access 1 deny 2",
   *   "read /f with handle 1",
   *   "close /f handle 1",
   * ]);
   * ```
   */
  declare readonly open?: (
    cred: Credentials,
    id: FileId,
    options: OpenOptions,
  ) => Promise<unknown>;
  /**
   * Ends a client's open: calls the `close` handler with its context, once
   * (not again after `close()` closed it). EINVAL for a context this
   * adapter did not make for `id`. Present exactly when `open` is.
   */
  declare readonly release?: (
    cred: Credentials,
    id: FileId,
    context: unknown,
  ) => Promise<void>;

  readonly #h: CallbackHandlers<O>;
  readonly #nodes: Nodes<O>;
  readonly #opens: Opens<O>;
  readonly #ns: Namespace<O>;

  /**
   * Creates the adapter.
   *
   * @param handlers The event handlers (`getAttr` and `readDir` are required).
   * @param options fsid and open-file limit.
   */
  constructor(handlers: CallbackHandlers<O>, options: CallbackFsOptions = {}) {
    this.#h = handlers;
    this.#opens = new Opens(handlers, options.openFiles ?? 64);
    this.#nodes = new Nodes(handlers, this.#opens, options.fsid ?? 1);
    this.#ns = new Namespace(
      handlers,
      this.#nodes,
      this.#opens,
      (cred, id, set) => this.setattr(cred, id, set),
    );
    this.limits = Object.freeze({
      maxNameLength: 255,
      maxLinks: 65000,
      maxFileSize: Number.MAX_SAFE_INTEGER,
      timeDelta: 1_000_000,
      symlinks: handlers.createLink !== undefined,
      hardLinks: handlers.createLink !== undefined,
    });
    if (handlers.open !== undefined || handlers.close !== undefined) {
      this.open = (cred, id, options) => this.#openClient(cred, id, options);
      this.release = (cred, id, ctx) => this.#releaseClient(cred, id, ctx);
    }
  }

  async #openClient(
    cred: Credentials,
    id: FileId,
    options: OpenOptions,
  ): Promise<unknown> {
    const [n, attrs] = await this.#regular(cred, id);
    const path = this.#nodes.path(n);
    if ((options.access & ShareAccess.Read) !== 0) {
      requireData(attrs, cred, "read", path);
    }
    if ((options.access & ShareAccess.Write) !== 0) {
      requireData(attrs, cred, "write", path);
    }
    return await this.#opens.openClient(cred, id, path, options);
  }

  #releaseClient(
    cred: Credentials,
    id: FileId,
    ctx: unknown,
  ): Promise<void> {
    const n = this.#nodes.known(id);
    const path = n === undefined ? undefined : this.#nodes.path(n);
    return this.#opens.closeClient(cred, id, ctx, path);
  }

  /** Attributes of an object. */
  async getattr(cred: Credentials, id: FileId): Promise<Attributes> {
    return (await this.#nodes.stat(cred, this.#nodes.node(id))).attrs;
  }

  /** Changes attributes through chmod/chown/truncate/utime handlers. */
  async setattr(
    cred: Credentials,
    id: FileId,
    set: SetAttributes,
  ): Promise<Attributes> {
    const n = this.#nodes.node(id);
    const { attrs } = await this.#nodes.stat(cred, n);
    const path = this.#nodes.path(n);
    const mode = checkSetattr(attrs, cred, set, { what: path });
    const ctx = context(cred);
    if (set.size !== undefined) {
      const f = need(this.#h, "truncate");
      await call(path, () => f(path, set.size!, ctx));
    }
    if (mode !== undefined) {
      const f = need(this.#h, "chmod");
      await call(path, () => f(path, mode, ctx));
    }
    const uid = set.uid ?? attrs.uid;
    const gid = set.gid ?? attrs.gid;
    if (uid !== attrs.uid || gid !== attrs.gid) {
      const f = need(this.#h, "chown");
      await call(path, () => f(path, uid, gid, ctx));
    }
    if (set.atime !== undefined || set.mtime !== undefined) {
      const f = need(this.#h, "utime");
      const now = toTime(Date.now(), this.#nodes.started);
      const pick = (t: SetAttributes["atime"], cur: Time) =>
        t === undefined ? cur : t === "server" ? now : t;
      await call(
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
    this.#nodes.bump(id);
    return (await this.#nodes.stat(cred, n)).attrs;
  }

  /** Finds a name; "." and ".." name the directory itself and its parent. */
  async lookup(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    return found(name, await this.#find(cred, dirId, name));
  }

  /**
   * As {@link lookup}, but an absent name resolves to `undefined`: one
   * `getAttr` answers `undefined` for, or one whose handler throws ENOENT.
   */
  async find(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes | undefined> {
    try {
      return await this.#find(cred, dirId, name);
    } catch (e) {
      if (isVfsError(e, "ENOENT")) return undefined;
      throw e;
    }
  }

  async #find(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes | undefined> {
    const [dir, dattrs] = await this.#nodes.dir(cred, dirId);
    requirePermission(
      dattrs,
      cred,
      Perm.X,
      `cannot search ${this.#nodes.path(dir)}`,
    );
    if (name === ".") return dattrs;
    if (name === "..") {
      return dir.parent === undefined
        ? dattrs
        : (await this.#nodes.stat(cred, dir.parent)).attrs;
    }
    checkName(name);
    return await this.#nodes.peek(cred, dir, name);
  }

  /** Which NFS ACCESS bits the caller has. */
  async access(cred: Credentials, id: FileId, mask: number): Promise<number> {
    return accessBits(
      (await this.#nodes.stat(cred, this.#nodes.node(id))).attrs,
      cred,
      mask,
    );
  }

  async #regular(cred: Credentials, id: FileId): Promise<[Node, Attributes]> {
    const n = this.#nodes.node(id);
    const { attrs } = await this.#nodes.stat(cred, n);
    if (attrs.type === FileType.Directory) {
      throw new VfsError("EISDIR", `Is a directory: ${this.#nodes.path(n)}`);
    }
    if (attrs.type !== FileType.Regular) {
      throw new VfsError(
        "EINVAL",
        `Not a regular file: ${this.#nodes.path(n)}`,
      );
    }
    return [n, attrs];
  }

  /**
   * Reads through the read handler, with the client's open when
   * `clientOpen` is a context this adapter's `open` made for the file and
   * not yet released, else with the adapter's own.
   */
  async read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
    clientOpen?: unknown,
  ): Promise<ReadResult> {
    const [n, attrs] = await this.#regular(cred, id);
    requireData(attrs, cred, "read", this.#nodes.path(n));
    if (offset >= attrs.size || length === 0) {
      return { data: new Uint8Array(0), eof: offset >= attrs.size };
    }
    const read = need(this.#h, "read");
    const o = await this.#opened(cred, n, false, clientOpen);
    try {
      const want = Math.min(length, attrs.size - offset);
      const data = await call(
        o.path,
        () => read(o.path, o.ctx, offset, want, context(cred)),
      );
      return { data, eof: offset + data.length >= attrs.size };
    } finally {
      this.#opens.release(o);
    }
  }

  /**
   * Writes through the write handler, with the open chosen as for `read`;
   * commits when asked for stability.
   */
  async write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable: Stability = "unstable",
    clientOpen?: unknown,
  ): Promise<WriteResult> {
    const [n, attrs] = await this.#regular(cred, id);
    requireData(attrs, cred, "write", this.#nodes.path(n));
    const write = need(this.#h, "write");
    const o = await this.#opened(cred, n, true, clientOpen);
    let count: number;
    try {
      count = await call(
        o.path,
        () => write(o.path, o.ctx, offset, data, context(cred)),
      );
      if (stable !== "unstable" && this.#h.commit) {
        await call(
          o.path,
          () => this.#h.commit!(o.path, o.ctx, context(cred)),
        );
      }
    } finally {
      this.#opens.release(o);
    }
    const mode = modeAfterWrite(attrs.mode, cred);
    if (count > 0 && mode !== attrs.mode && this.#h.chmod) {
      await call(
        o.path,
        () => this.#h.chmod!(o.path, mode, context(cred)),
      );
    }
    this.#nodes.bump(id);
    return {
      count,
      committed: this.#h.commit ? stable : "file",
      attrs: (await this.#nodes.stat(cred, n)).attrs,
    };
  }

  /**
   * The client's open `clientOpen` names (at the file's current path), or
   * else the adapter's own open of `n`; either is in use until released.
   */
  async #opened(
    cred: Credentials,
    n: Node,
    write: boolean,
    clientOpen: unknown,
  ): Promise<Opened<O>> {
    const path = this.#nodes.path(n);
    const client = this.#opens.client(clientOpen, n.id, write);
    if (client === undefined) {
      return await this.#opens.opened(cred, n.id, path, write);
    }
    client.path = path;
    client.users++;
    return client;
  }

  /** Creates a regular file (or opens an existing one unless exclusive). */
  create(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: CreateOptions = {},
  ): Promise<Attributes> {
    return this.#ns.create(cred, dirId, name, options);
  }

  /** Creates a directory through the mkDir handler. */
  mkdir(
    cred: Credentials,
    dirId: FileId,
    name: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#ns.mkdir(cred, dirId, name, attrs);
  }

  /** Creates a symbolic link through the createLink handler. */
  symlink(
    cred: Credentials,
    dirId: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#ns.symlink(cred, dirId, name, target, attrs);
  }

  /** Not available through callbacks. */
  mknod(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    return this.#ns.mknod(cred, dirId, name, options);
  }

  /** Adds a hard link through the createLink handler (the new name gets its own FileId). */
  link(
    cred: Credentials,
    id: FileId,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    return this.#ns.link(cred, id, dirId, name);
  }

  /** Removes a non-directory through the unlink handler. */
  remove(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return this.#ns.remove(cred, dirId, name);
  }

  /** Removes an empty directory through the rmDir handler. */
  rmdir(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return this.#ns.rmdir(cred, dirId, name);
  }

  /** Renames through the rename handler; FileIds follow the object. */
  rename(
    cred: Credentials,
    fromDirId: FileId,
    fromName: string,
    toDirId: FileId,
    toName: string,
  ): Promise<void> {
    return this.#ns.rename(cred, fromDirId, fromName, toDirId, toName);
  }

  /**
   * A page of entries. Each entry's cookie is the number the adapter gave
   * its name when a listing first saw it. A page resumes right after the
   * entry named by the cookie, in the handler's order, and asks the handler
   * to stop once the page is full; if that entry is gone, it returns the
   * names numbered after the cookie or never numbered before.
   */
  readdir(
    cred: Credentials,
    dirId: FileId,
    options: ReaddirOptions = {},
  ): Promise<ReaddirResult> {
    return this.#ns.readdir(cred, dirId, options);
  }

  /** The text of a symbolic link. */
  async readlink(cred: Credentials, id: FileId): Promise<string> {
    const n = this.#nodes.node(id);
    const { attrs } = await this.#nodes.stat(cred, n);
    if (attrs.type !== FileType.Symlink) {
      throw new VfsError("EINVAL", `Not a symlink: ${this.#nodes.path(n)}`);
    }
    const readLink = need(this.#h, "readLink");
    const path = this.#nodes.path(n);
    return await call(path, () => readLink(path, context(cred)));
  }

  /** Space figures from the statFs handler, or large placeholders. */
  async statfs(cred: Credentials, id: FileId): Promise<FsStats> {
    this.#nodes.node(id);
    if (this.#h.statFs) {
      return await call("statfs", () => this.#h.statFs!(context(cred)));
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

  /**
   * Calls the commit handler with each context that may have written the
   * file: the adapter's own and every client's open for writing.
   */
  async commit(cred: Credentials, id: FileId): Promise<void> {
    const n = this.#nodes.node(id);
    const commit = this.#h.commit;
    const opens = this.#opens.writers(id);
    if (opens.length === 0 || commit === undefined) {
      await this.#nodes.stat(cred, n);
      return;
    }
    for (const o of opens) {
      await call(o.path, () => commit(o.path, o.ctx, context(cred)));
    }
  }

  /** Closes every open context, the clients' opens still there included. */
  close(): Promise<void> {
    return this.#opens.closeAll();
  }
}
