// The namespace operations of CallbackFs: create, mkdir, symlink, link,
// mknod, remove, rmdir, rename and readdir. Each checks the permission policy
// in ../access.ts against the attributes the handlers report, calls the
// handler for the change, and keeps the path <-> FileId tree (./_nodes.ts)
// in step: FileIds follow renames, removed objects are forgotten, and
// readdir cookies are the sequence numbers the tree gives entries.
import {
  checkNewOwner,
  Perm,
  requirePermission,
  requireSticky,
} from "../access.ts";
import { checkName } from "../_names.ts";
import { VfsError } from "../errors.ts";
import {
  type Attributes,
  type CreateOptions,
  type Credentials,
  type DirEntry,
  type FileId,
  FileType,
  type MknodOptions,
  type ReaddirOptions,
  type ReaddirResult,
  type SetAttributes,
} from "../types.ts";
import { call, context, need } from "./_call.ts";
import type { Node, Nodes } from "./_nodes.ts";
import type { Opens } from "./_opens.ts";
import type { CallbackCreate, CallbackHandlers } from "./handlers.ts";

const ROOT_CRED: Credentials = { uid: 0, gid: 0, groups: [] };

/** The adapter's own setattr, which create calls for the sizes and times asked. */
type SetattrFn = (
  cred: Credentials,
  id: FileId,
  set: SetAttributes,
) => Promise<Attributes>;

/** The operations that add, move, remove and list names. */
export class Namespace<O> {
  readonly #h: CallbackHandlers<O>;
  readonly #nodes: Nodes<O>;
  readonly #opens: Opens<O>;
  readonly #setattr: SetattrFn;

  constructor(
    handlers: CallbackHandlers<O>,
    nodes: Nodes<O>,
    opens: Opens<O>,
    setattr: SetattrFn,
  ) {
    this.#h = handlers;
    this.#nodes = nodes;
    this.#opens = opens;
    this.#setattr = setattr;
  }

  async #prepareCreate(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<[Node, Attributes]> {
    const [dir, dattrs] = await this.#nodes.dir(cred, dirId);
    checkName(name);
    requirePermission(
      dattrs,
      cred,
      Perm.W | Perm.X,
      `cannot change entry ${name} of ${this.#nodes.path(dir)}`,
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
    const [dir, dattrs] = await this.#nodes.dir(cred, dirId);
    checkName(name);
    const existing = await this.#nodes.peek(cred, dir, name);
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
        `cannot search ${this.#nodes.path(dir)}`,
      );
      const a = options.attrs;
      if (
        a?.size !== undefined || a?.atime !== undefined ||
        a?.mtime !== undefined
      ) {
        return await this.#setattr(cred, existing.fileid, {
          size: a.size,
          atime: a.atime,
          mtime: a.mtime,
        });
      }
      return existing;
    }
    await this.#prepareCreate(cred, dirId, name);
    checkNewOwner(cred, options.attrs);
    const create = need(this.#h, "create");
    const path = this.#nodes.joined(dir, name);
    const owner = this.#owner(
      cred,
      dattrs,
      options.attrs,
      options.attrs?.mode ?? 0o644,
    );
    await call(path, () => create(path, owner, context(cred)));
    this.#nodes.bump(dirId);
    const node = this.#nodes.child(dir, name);
    const a = options.attrs;
    if (a?.size || a?.atime !== undefined || a?.mtime !== undefined) {
      return await this.#setattr(ROOT_CRED, node.id, {
        size: a.size || undefined,
        atime: a.atime,
        mtime: a.mtime,
      });
    }
    return (await this.#nodes.stat(cred, node)).attrs;
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
    if (await this.#nodes.peek(cred, dir, name)) {
      throw new VfsError("EEXIST", `File exists: ${name}`);
    }
    const mkDir = need(this.#h, "mkDir");
    const path = this.#nodes.joined(dir, name);
    let mode = attrs?.mode ?? 0o755;
    if ((dattrs.mode & 0o2000) !== 0) mode |= 0o2000;
    await call(
      path,
      () => mkDir(path, this.#owner(cred, dattrs, attrs, mode), context(cred)),
    );
    this.#nodes.bump(dirId);
    return (await this.#nodes.stat(cred, this.#nodes.child(dir, name))).attrs;
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
    if (await this.#nodes.peek(cred, dir, name)) {
      throw new VfsError("EEXIST", `File exists: ${name}`);
    }
    if (target === "") {
      throw new VfsError("ENOENT", `Empty symlink target: ${name}`);
    }
    const createLink = need(this.#h, "createLink");
    const path = this.#nodes.joined(dir, name);
    await call(path, () =>
      createLink(path, target, {
        ...this.#owner(cred, dattrs, attrs, 0o777),
        symbolic: true,
      }, context(cred)));
    this.#nodes.bump(dirId);
    return (await this.#nodes.stat(cred, this.#nodes.child(dir, name))).attrs;
  }

  /** Not available through callbacks. */
  async mknod(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    const [dir] = await this.#prepareCreate(cred, dirId, name);
    if (await this.#nodes.peek(cred, dir, name)) {
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
    const src = this.#nodes.node(id);
    const { attrs } = await this.#nodes.stat(cred, src);
    const [dir, dattrs] = await this.#prepareCreate(cred, dirId, name);
    if (attrs.type === FileType.Directory) {
      throw new VfsError(
        "EPERM",
        `Operation not permitted: hard link to directory ${
          this.#nodes.path(src)
        }`,
      );
    }
    if (await this.#nodes.peek(cred, dir, name)) {
      throw new VfsError("EEXIST", `File exists: ${name}`);
    }
    const createLink = need(this.#h, "createLink");
    const path = this.#nodes.joined(dir, name);
    await call(path, () =>
      createLink(path, this.#nodes.path(src), {
        ...this.#owner(cred, dattrs, undefined, attrs.mode),
        symbolic: false,
      }, context(cred)));
    this.#nodes.bump(dirId);
    this.#nodes.bump(id);
    return (await this.#nodes.stat(cred, this.#nodes.child(dir, name))).attrs;
  }

  async #victim(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<[Node, Attributes, Node, Attributes]> {
    const [dir, dattrs] = await this.#prepareCreate(cred, dirId, name);
    const a = await this.#nodes.peek(cred, dir, name);
    if (a === undefined) {
      throw new VfsError("ENOENT", `No such file or directory: ${name}`);
    }
    requireSticky(dattrs, a, cred, name);
    return [dir, dattrs, dir.children.get(name)!, a];
  }

  async #isEmpty(cred: Credentials, n: Node): Promise<boolean> {
    let empty = true;
    const path = this.#nodes.path(n);
    await call(path, () =>
      this.#h.readDir(path, () => {
        empty = false;
        return false;
      }, context(cred)));
    return empty;
  }

  /** Removes a non-directory through the unlink handler. */
  async remove(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    const [, , node, a] = await this.#victim(cred, dirId, name);
    if (a.type === FileType.Directory) {
      throw new VfsError("EISDIR", `Is a directory: ${name}`);
    }
    const unlink = need(this.#h, "unlink");
    const path = this.#nodes.path(node);
    this.#nodes.forget(node);
    await call(path, () => unlink(path, context(cred)));
    this.#nodes.bump(dirId);
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
    const rmDir = need(this.#h, "rmDir");
    const path = this.#nodes.path(node);
    await call(path, () => rmDir(path, context(cred)));
    this.#nodes.forget(node);
    this.#nodes.bump(dirId);
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
    const target = await this.#nodes.peek(cred, to, toName);
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
    const rename = need(this.#h, "rename");
    const fromPath = this.#nodes.path(node);
    const toPath = this.#nodes.joined(to, toName);
    await call(fromPath, () => rename(fromPath, toPath, context(cred)));
    if (targetNode !== undefined) this.#nodes.forget(targetNode);
    from.children.delete(fromName);
    node.name = toName;
    node.parent = to;
    node.seq = 0;
    to.children.set(toName, node);
    this.#opens.moved(node.id, toPath);
    this.#nodes.bump(fromDirId);
    this.#nodes.bump(toDirId);
    this.#nodes.bump(node.id);
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
    const [dir, dattrs] = await this.#nodes.dir(cred, dirId);
    requirePermission(
      dattrs,
      cred,
      Perm.R,
      `cannot list ${this.#nodes.path(dir)}`,
    );
    const after = (options.cookie ?? 0n) < 3n ? 0 : Number(options.cookie);
    const limit = options.limit ?? Infinity;
    const path = this.#nodes.path(dir);
    const cursor = after === 0 ? undefined : this.#bySeq(dir, after);
    const list = async (fallback: boolean) => {
      const names: Node[] = [];
      let more = false;
      let found = after === 0 || fallback;
      await call(path, () =>
        this.#h.readDir(path, (name) => {
          if (name === "." || name === ".." || name === "") return true;
          const n = this.#nodes.child(dir, name);
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
        }, context(cred)));
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
          entry.attrs = (await this.#nodes.stat(cred, n)).attrs;
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
}
