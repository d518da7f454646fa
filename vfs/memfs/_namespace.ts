// The namespace operations of MemFs: lookup, create, mkdir, symlink,
// readlink, mknod, link, remove, rmdir, rename and readdir. Each checks the
// permission policy in ../access.ts, keeps link counts and a directory's
// parent in step, and changes entries through ./_dir.ts.
import {
  checkNewOwner,
  inGroup,
  Perm,
  requirePermission,
  requireSticky,
} from "../access.ts";
import { found } from "../_find.ts";
import { checkName } from "../_names.ts";
import { VfsError } from "../errors.ts";
import {
  type Attributes,
  type CreateOptions,
  type Credentials,
  type FileId,
  FileType,
  type MknodOptions,
  type ReaddirOptions,
  type ReaddirResult,
  type SetAttributes,
} from "../types.ts";
import type { AttrChanges } from "./_attrs.ts";
import { addEntry, entry, page, removeEntry } from "./_dir.ts";
import { describe, type Inodes, isInt, type Node, settle } from "./_nodes.ts";

const MAX_SYMLINK = 4096;
const S_ISGID = 0o2000;

/** EEXIST when `dir` already has an entry `name`. */
function requireAbsent(dir: Node, name: string): void {
  if (dir.index!.has(name)) {
    throw new VfsError("EEXIST", `File exists: ${name}`);
  }
}

/** The operations that find, add, move, remove and list names. */
export class Namespace {
  readonly #t: Inodes;
  readonly #attrs: AttrChanges;

  /** `attrs` applies the size and times a create of an existing file asks for. */
  constructor(table: Inodes, attrs: AttrChanges) {
    this.#t = table;
    this.#attrs = attrs;
  }

  /** Write permission on a directory's entries (w and x). */
  #requireDirWrite(cred: Credentials, dir: Node, name: string): void {
    requirePermission(
      dir,
      cred,
      Perm.W | Perm.X,
      `cannot change entry ${name} of ${describe(dir)}`,
    );
  }

  /** Owner and group a new object gets in `dir` (setgid directories pass on their group). */
  #newOwner(
    cred: Credentials,
    dir: Node,
  ): { uid: number; gid: number; sgid: boolean } {
    const sgid = (dir.mode & S_ISGID) !== 0;
    return { uid: cred.uid, gid: sgid ? dir.gid : cred.gid, sgid };
  }

  #prepareCreate(cred: Credentials, dirId: FileId, name: string): Node {
    const dir = this.#t.dir(dirId);
    checkName(name);
    this.#requireDirWrite(cred, dir, name);
    return dir;
  }

  #makeChild(
    cred: Credentials,
    dir: Node,
    name: string,
    type: FileType,
    attrs: SetAttributes | undefined,
    defaultMode: number,
  ): Node {
    const t = this.#t;
    checkNewOwner(cred, attrs);
    t.reserveNode();
    if (type === FileType.Directory && dir.nlink >= t.limits.maxLinks) {
      throw new VfsError(
        "EMLINK",
        `Too many links: ${describe(dir)} has ${dir.nlink}`,
      );
    }
    const owner = this.#newOwner(cred, dir);
    let mode = (attrs?.mode ?? defaultMode) & 0o7777;
    if (type === FileType.Symlink) mode = 0o777;
    if (type === FileType.Directory && owner.sgid) mode |= S_ISGID;
    const node = t.newNode(type, mode, owner.uid, owner.gid);
    if (attrs?.uid !== undefined) node.uid = attrs.uid;
    if (attrs?.gid !== undefined) node.gid = attrs.gid;
    // A non-root creator outside the file's group cannot keep setgid (Linux inode_init_owner).
    if (
      type !== FileType.Directory && (node.mode & S_ISGID) !== 0 &&
      cred.uid !== 0 && !inGroup(cred, node.gid)
    ) {
      node.mode &= ~S_ISGID;
    }
    if (attrs?.atime !== undefined) node.atime = t.time(attrs.atime);
    if (attrs?.mtime !== undefined) node.mtime = t.time(attrs.mtime);
    if (type === FileType.Directory) {
      node.parent = dir.id;
      dir.nlink++;
    }
    addEntry(dir, name, node);
    t.modified(dir);
    return node;
  }

  /** Finds a name; "." and ".." name the directory itself and its parent. */
  lookup(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    return settle(() =>
      this.#t.attrs(found(name, this.#find(cred, dirId, name)))
    );
  }

  /** As {@link lookup}, but an absent name is `undefined`, not ENOENT. */
  find(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes | undefined> {
    return settle(() => this.findNow(cred, dirId, name));
  }

  /** {@link find}, at once. */
  findNow(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Attributes | undefined {
    const node = this.#find(cred, dirId, name);
    return node === undefined ? undefined : this.#t.attrs(node);
  }

  #find(cred: Credentials, dirId: FileId, name: string): Node | undefined {
    const t = this.#t;
    const dir = t.dir(dirId);
    requirePermission(dir, cred, Perm.X, `cannot search ${describe(dir)}`);
    if (name === ".") return dir;
    if (name === "..") return t.node(dir.parent);
    checkName(name);
    return entry(dir, name);
  }

  /** Creates a regular file, or opens an existing one unless `exclusive`. */
  create(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: CreateOptions = {},
  ): Promise<Attributes> {
    return settle(() => this.createNow(cred, dirId, name, options));
  }

  /** {@link create}, at once. */
  createNow(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: CreateOptions = {},
  ): Attributes {
    const t = this.#t;
    const dir = t.dir(dirId);
    checkName(name);
    const existing = entry(dir, name);
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
      requirePermission(dir, cred, Perm.X, `cannot search ${describe(dir)}`);
      const attrs = options.attrs;
      if (attrs !== undefined) {
        // Only size and times apply to an opened file; its mode and owner stay.
        const { size, atime, mtime } = attrs;
        if (
          size !== undefined || atime !== undefined || mtime !== undefined
        ) {
          this.#attrs.apply(cred, existing, { size, atime, mtime });
        }
      }
      return t.attrs(existing);
    }
    this.#requireDirWrite(cred, dir, name);
    const size = options.attrs?.size ?? 0;
    if (!isInt(size)) throw new VfsError("EINVAL", `Invalid size: ${size}`);
    if (size > t.limits.maxFileSize) {
      throw new VfsError("EFBIG", `File too large: ${size}`);
    }
    const node = this.#makeChild(
      cred,
      dir,
      name,
      FileType.Regular,
      options.attrs,
      0o644,
    );
    node.size = size;
    return t.attrs(node);
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
      requireAbsent(dir, name);
      return this.#t.attrs(
        this.#makeChild(cred, dir, name, FileType.Directory, attrs, 0o755),
      );
    });
  }

  /** Creates a symbolic link. */
  symlink(
    cred: Credentials,
    dirId: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return settle(() => {
      const dir = this.#prepareCreate(cred, dirId, name);
      requireAbsent(dir, name);
      if (target === "") {
        throw new VfsError("ENOENT", `Empty symlink target: ${name}`);
      }
      if (target.includes("\0")) {
        throw new VfsError("EINVAL", `Symlink target contains NUL: ${name}`);
      }
      const bytes = new TextEncoder().encode(target).length;
      if (bytes > MAX_SYMLINK) {
        throw new VfsError(
          "ENAMETOOLONG",
          `Symlink target too long: ${bytes} bytes`,
        );
      }
      const node = this.#makeChild(
        cred,
        dir,
        name,
        FileType.Symlink,
        attrs,
        0o777,
      );
      node.target = target;
      node.size = bytes;
      return this.#t.attrs(node);
    });
  }

  /** The target of a symbolic link. */
  readlink(_cred: Credentials, id: FileId): Promise<string> {
    return settle(() => {
      const node = this.#t.node(id);
      if (node.type !== FileType.Symlink) {
        throw new VfsError(
          "EINVAL",
          `Invalid argument: ${describe(node)} is not a symlink`,
        );
      }
      return node.target;
    });
  }

  /** Creates a device, socket or fifo node (devices need root). */
  mknod(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    return settle(() => {
      const dir = this.#prepareCreate(cred, dirId, name);
      const type = options.type;
      if (
        type !== FileType.Block && type !== FileType.Char &&
        type !== FileType.Socket && type !== FileType.Fifo
      ) {
        throw new VfsError("EINVAL", `Invalid node type for mknod: ${type}`);
      }
      const device = type === FileType.Block || type === FileType.Char;
      if (device && cred.uid !== 0) {
        throw new VfsError(
          "EPERM",
          `Operation not permitted: only root may create device ${name}`,
        );
      }
      requireAbsent(dir, name);
      const node = this.#makeChild(cred, dir, name, type, options.attrs, 0o644);
      if (device && options.rdev !== undefined) {
        node.rdev = Object.freeze({
          major: options.rdev.major,
          minor: options.rdev.minor,
        });
      }
      return this.#t.attrs(node);
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
      const t = this.#t;
      const node = t.node(id);
      const dir = this.#prepareCreate(cred, dirId, name);
      if (node.type === FileType.Directory) {
        throw new VfsError(
          "EPERM",
          `Operation not permitted: hard link to directory ${describe(node)}`,
        );
      }
      requireAbsent(dir, name);
      if (node.nlink >= t.limits.maxLinks) {
        throw new VfsError(
          "EMLINK",
          `Too many links: ${describe(node)} has ${node.nlink}`,
        );
      }
      node.nlink++;
      addEntry(dir, name, node);
      t.changed(node);
      t.modified(dir);
      return t.attrs(node);
    });
  }

  #victim(cred: Credentials, dirId: FileId, name: string): [Node, Node] {
    const dir = this.#t.dir(dirId);
    checkName(name);
    this.#requireDirWrite(cred, dir, name);
    const node = entry(dir, name);
    if (node === undefined) {
      throw new VfsError("ENOENT", `No such file or directory: ${name}`);
    }
    // The sticky-directory rule: only the owner of the entry or the directory.
    requireSticky(dir, node, cred, name);
    return [dir, node];
  }

  /** Removes a non-directory entry. */
  remove(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return settle(() => this.removeNow(cred, dirId, name));
  }

  /** {@link remove}, at once. */
  removeNow(cred: Credentials, dirId: FileId, name: string): void {
    const [dir, node] = this.#victim(cred, dirId, name);
    if (node.type === FileType.Directory) {
      throw new VfsError("EISDIR", `Is a directory: ${name}`);
    }
    removeEntry(dir, name);
    this.#t.dropLink(node);
    this.#t.modified(dir);
  }

  /** Removes an empty directory. */
  rmdir(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return settle(() => {
      const [dir, node] = this.#victim(cred, dirId, name);
      if (node.type !== FileType.Directory) {
        throw new VfsError("ENOTDIR", `Not a directory: ${name}`);
      }
      if (node.index!.size > 0) {
        throw new VfsError("ENOTEMPTY", `Directory not empty: ${name}`);
      }
      removeEntry(dir, name);
      this.#t.dropLink(node);
      dir.nlink--;
      this.#t.modified(dir);
    });
  }

  /** Atomically renames, replacing a compatible target. */
  rename(
    cred: Credentials,
    fromDirId: FileId,
    fromName: string,
    toDirId: FileId,
    toName: string,
  ): Promise<void> {
    return settle(() => {
      const t = this.#t;
      const [from, node] = this.#victim(cred, fromDirId, fromName);
      const to = t.dir(toDirId);
      checkName(toName);
      this.#requireDirWrite(cred, to, toName);
      const target = entry(to, toName);
      // Two names of one object: POSIX says do nothing.
      if (target === node) return;
      const isDir = node.type === FileType.Directory;
      if (isDir) {
        for (let d = to;; d = t.node(d.parent)) {
          if (d === node) {
            throw new VfsError(
              "EINVAL",
              `Invalid argument: cannot move ${fromName} into its own subtree`,
            );
          }
          if (d.parent === d.id) break;
        }
        // Moving a directory rewrites its "..", which needs write permission on it.
        if (from !== to) {
          requirePermission(node, cred, Perm.W, `cannot move ${fromName}`);
        }
      }
      if (target !== undefined) {
        requireSticky(to, target, cred, toName);
        const targetIsDir = target.type === FileType.Directory;
        if (isDir && !targetIsDir) {
          throw new VfsError("ENOTDIR", `Not a directory: ${toName}`);
        }
        if (!isDir && targetIsDir) {
          throw new VfsError("EISDIR", `Is a directory: ${toName}`);
        }
        if (targetIsDir && target.index!.size > 0) {
          throw new VfsError("ENOTEMPTY", `Directory not empty: ${toName}`);
        }
      } else if (isDir && from !== to && to.nlink >= t.limits.maxLinks) {
        throw new VfsError(
          "EMLINK",
          `Too many links: ${describe(to)} has ${to.nlink}`,
        );
      }
      if (target !== undefined) {
        removeEntry(to, toName);
        t.dropLink(target);
        if (target.type === FileType.Directory) to.nlink--;
      }
      removeEntry(from, fromName);
      addEntry(to, toName, node);
      if (isDir && from !== to) {
        from.nlink--;
        to.nlink++;
        node.parent = to.id;
      }
      t.changed(node);
      t.modified(from);
      if (to !== from) t.modified(to);
    });
  }

  /** A page of entries; cookies stay valid across unrelated changes. */
  readdir(
    cred: Credentials,
    dirId: FileId,
    options: ReaddirOptions = {},
  ): Promise<ReaddirResult> {
    return settle(() => {
      const dir = this.#t.dir(dirId);
      requirePermission(dir, cred, Perm.R, `cannot list ${describe(dir)}`);
      return page(
        dir,
        options.cookie ?? 0n,
        options.limit ?? Infinity,
        options.withAttributes ? this.#t : undefined,
      );
    });
  }
}
