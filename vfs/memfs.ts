/**
 * An in-memory {@link FileSystem} with POSIX semantics: hard links, symlinks,
 * device/fifo/socket nodes, sparse files stored in chunks, xattrs, atomic
 * rename, POSIX times, permission checks, stable readdir cookies and a
 * configurable capacity.
 *
 * @example
 * ```ts
 * import { MemFs } from "./memfs.ts";
 * import { ROOT } from "./types.ts";
 * const fs = new MemFs({ capacityBytes: 1 << 30 });
 * const f = await fs.create(ROOT, fs.root, "hello.txt");
 * await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode("hi"));
 * console.log(new TextDecoder().decode((await fs.read(ROOT, f.fileid, 0, 10)).data));
 * ```
 *
 * @module
 */

import {
  accessBits,
  checkNewOwner,
  checkSetattr,
  inGroup,
  modeAfterWrite,
  Perm,
  requireData,
  requirePermission,
  requireSticky,
} from "./access.ts";
import { checkName } from "./_names.ts";
import { strictClock, systemTime } from "./_time.ts";
import { VfsError } from "./errors.ts";
import { ChunkStore } from "../store/_chunks.ts";
import { MapChunks } from "../store/_chunk_backings.ts";
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
  type XattrOps,
} from "./types.ts";

/** Options for {@link MemFs}. */
export interface MemFsOptions {
  /** Capacity in bytes of file data and xattrs (default 1 TiB). */
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

/** File data lives in chunks of this size, absent chunks read as zeros. */
const CHUNK = 1 << 20;
/** A chunk starts this small and doubles, so small files stay small. */
const MIN_CHUNK = 4096;
/** Space a directory or special node is charged, for `used`. */
const META_USED = 4096;
const MAX_SYMLINK = 4096;
const MAX_XATTR_NAME = 255;
const MAX_XATTR_VALUE = 65536;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const EMPTY = new Uint8Array(0);
const NO_RDEV: Readonly<{ major: number; minor: number }> = Object.freeze({
  major: 0,
  minor: 0,
});

/** A directory entry; `live` turns false when the name goes away. */
interface Slot {
  name: string;
  id: FileId;
  /** The node itself, saving a lookup by id on the readdir and lookup paths. */
  node: Node;
  /** The readdir cookie: per-directory, increasing, never reused. */
  seq: number;
  live: boolean;
}

class Node {
  id: FileId;
  type: FileType;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: { major: number; minor: number } = NO_RDEV;
  atime: Time;
  mtime: Time;
  ctime: Time;
  change: number;
  /** File size, or a symlink target's UTF-8 length. */
  size = 0;
  /** Directories: the parent's id (the root is its own parent). */
  parent: FileId = 0;
  /** Directories: name to slot, for O(1) lookup. */
  index: Map<string, Slot> | undefined;
  /** Directories: slots in cookie order, with dead ones until compaction. */
  slots: Slot[] | undefined;
  dead = 0;
  nextSeq = 3;
  /** Regular files: the bytes, in chunks (store/_chunks.ts), made on first use. */
  data: ChunkStore | undefined;
  /** Bytes held by chunks and xattrs. */
  allocated = 0;
  target = "";
  xattrs: Map<string, Uint8Array> | undefined;

  constructor(
    id: FileId,
    type: FileType,
    mode: number,
    uid: number,
    gid: number,
    now: Time,
    change: number,
  ) {
    this.id = id;
    this.type = type;
    this.mode = mode & 0o7777;
    this.nlink = type === FileType.Directory ? 2 : 1;
    this.uid = uid;
    this.gid = gid;
    this.atime = now;
    this.mtime = now;
    this.ctime = now;
    this.change = change;
    if (type === FileType.Directory) {
      this.index = new Map();
      this.slots = [];
    }
  }
}

/** Runs a synchronous body as a promise, turning a throw into a rejection. */
function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (e) {
    return Promise.reject(e);
  }
}

function describe(node: Node): string {
  return `fileid ${node.id}`;
}

function isInt(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * An in-memory file system with POSIX semantics.
 *
 * - Files are sparse: data lives in 1 MiB chunks that start at 4 KiB and
 *   grow by doubling, so a 1 TiB sparse file costs nothing until written,
 *   holes read as zeros and `used` counts allocated chunk bytes.
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
 * @example
 * ```ts
 * import { MemFs } from "./memfs.ts";
 * import { ROOT } from "./types.ts";
 * const fs = new MemFs();
 * const dir = await fs.mkdir(ROOT, fs.root, "docs");
 * await fs.create(ROOT, dir.fileid, "a.txt");
 * const page = await fs.readdir(ROOT, dir.fileid, { limit: 100 });
 * console.log(page.entries.map((e) => e.name)); // ["a.txt"]
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

  #nodes = new Map<FileId, Node>();
  #nextId = 1;
  #change = 1;
  #used = 0;
  #capacityBytes: number;
  #capacityFiles: number;
  #fsid: number;
  #clock: () => Time;

  /**
   * Creates an empty file system holding only its root directory.
   *
   * @param options Capacity, fsid, clock and root ownership.
   */
  constructor(options: MemFsOptions = {}) {
    this.#capacityBytes = options.capacityBytes ?? 2 ** 40;
    this.#capacityFiles = options.capacityFiles ?? 10_000_000;
    this.#fsid = options.fsid ?? 1;
    this.#clock = options.clock ?? strictClock(systemTime);
    this.limits = Object.freeze({
      maxNameLength: 255,
      maxLinks: options.maxLinks ?? 2 ** 31 - 1,
      maxFileSize: Number.MAX_SAFE_INTEGER,
      timeDelta: 1,
      symlinks: true,
      hardLinks: true,
    });
    const root = this.#newNode(
      FileType.Directory,
      options.rootMode ?? 0o755,
      options.rootUid ?? 0,
      options.rootGid ?? 0,
    );
    root.parent = root.id;
    this.root = root.id;
    this.xattrs = {
      getxattr: (c, id, name) => this.#getxattr(c, id, name),
      setxattr: (c, id, name, value, mode) =>
        this.#setxattr(c, id, name, value, mode),
      listxattrs: (c, id) => this.#listxattrs(c, id),
      removexattr: (c, id, name) => this.#removexattr(c, id, name),
    };
  }

  // ---- internal helpers ---------------------------------------------------

  #newNode(type: FileType, mode: number, uid: number, gid: number): Node {
    const node = new Node(
      this.#nextId++,
      type,
      mode,
      uid,
      gid,
      this.#clock(),
      ++this.#change,
    );
    this.#nodes.set(node.id, node);
    return node;
  }

  #node(id: FileId): Node {
    const node = this.#nodes.get(id);
    if (node === undefined) {
      throw new VfsError("ESTALE", `Stale file id: ${id}`);
    }
    return node;
  }

  #dir(id: FileId): Node {
    const node = this.#node(id);
    if (node.type !== FileType.Directory) {
      throw new VfsError("ENOTDIR", `Not a directory: ${describe(node)}`);
    }
    return node;
  }

  /** Data and attributes changed (mtime + ctime). */
  #modified(node: Node): void {
    const now = this.#clock();
    node.mtime = now;
    node.ctime = now;
    node.change = ++this.#change;
  }

  /** Only attributes or links changed (ctime). */
  #changed(node: Node): void {
    node.ctime = this.#clock();
    node.change = ++this.#change;
  }

  #attrs(node: Node): Attributes {
    let size = node.size;
    let used = node.allocated;
    if (node.type === FileType.Directory) {
      size = (node.index!.size + 2) * 32;
      used = META_USED + node.allocated;
    } else if (node.type !== FileType.Regular) {
      used = node.type === FileType.Symlink ? size : 0;
      used += node.allocated;
    }
    return {
      type: node.type,
      mode: node.mode,
      nlink: node.nlink,
      uid: node.uid,
      gid: node.gid,
      size,
      used,
      rdev: node.rdev,
      fsid: this.#fsid,
      fileid: node.id,
      atime: node.atime,
      mtime: node.mtime,
      ctime: node.ctime,
      change: node.change,
    };
  }

  #require(cred: Credentials, node: Node, want: number, what: string): void {
    requirePermission(node, cred, want, what);
  }

  /** Write permission on a directory's entries (w and x). */
  #requireDirWrite(cred: Credentials, dir: Node, name: string): void {
    this.#require(
      cred,
      dir,
      Perm.W | Perm.X,
      `cannot change entry ${name} of ${describe(dir)}`,
    );
  }

  /** Data access with the nfsd owner override. */
  #requireData(cred: Credentials, node: Node, write: boolean): void {
    requireData(node, cred, write ? "write" : "read", describe(node));
  }

  /** The sticky-directory rule: only the owner of the entry or the directory. */
  #requireSticky(cred: Credentials, dir: Node, victim: Node, name: string) {
    requireSticky(dir, victim, cred, name);
  }

  #entry(dir: Node, name: string): Node | undefined {
    const slot = dir.index!.get(name);
    return slot?.node;
  }

  #link(dir: Node, name: string, node: Node): void {
    const slot: Slot = {
      name,
      id: node.id,
      node,
      seq: dir.nextSeq++,
      live: true,
    };
    dir.index!.set(name, slot);
    dir.slots!.push(slot);
  }

  #unlink(dir: Node, name: string): void {
    const slot = dir.index!.get(name)!;
    slot.live = false;
    dir.index!.delete(name);
    const slots = dir.slots!;
    // Removing the newest entry (create then delete) needs no tombstone.
    if (slots[slots.length - 1] === slot) slots.pop();
    else dir.dead++;
    if (dir.dead > 64 && dir.dead * 2 > slots.length) {
      dir.slots = slots.filter((s) => s.live);
      dir.dead = 0;
    }
  }

  /** Drops one link to `node`, freeing it when none remain. */
  #dropLink(node: Node): void {
    if (node.type === FileType.Directory) node.nlink = 0;
    else node.nlink--;
    if (node.nlink === 0) {
      this.#used -= node.allocated;
      this.#nodes.delete(node.id);
    } else {
      this.#changed(node);
    }
  }

  #reserve(bytes: number): void {
    if (bytes > 0 && this.#used + bytes > this.#capacityBytes) {
      throw new VfsError(
        "ENOSPC",
        `No space left on device: ${bytes} more bytes needed, ${
          this.#capacityBytes - this.#used
        } free`,
      );
    }
  }

  #reserveNode(): void {
    if (this.#nodes.size >= this.#capacityFiles) {
      throw new VfsError(
        "ENOSPC",
        `No space left on device: all ${this.#capacityFiles} file slots used`,
      );
    }
  }

  #time(t: SetTime): Time {
    if (t === "server") return this.#clock();
    if (!Number.isFinite(t.sec) || !isInt(t.nsec) || t.nsec > 999_999_999) {
      throw new VfsError("EINVAL", `Invalid time: ${t.sec}s ${t.nsec}ns`);
    }
    return { sec: t.sec, nsec: t.nsec };
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
    const dir = this.#dir(dirId);
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
    checkNewOwner(cred, attrs);
    this.#reserveNode();
    if (type === FileType.Directory && dir.nlink >= this.limits.maxLinks) {
      throw new VfsError(
        "EMLINK",
        `Too many links: ${describe(dir)} has ${dir.nlink}`,
      );
    }
    const owner = this.#newOwner(cred, dir);
    let mode = (attrs?.mode ?? defaultMode) & 0o7777;
    if (type === FileType.Symlink) mode = 0o777;
    if (type === FileType.Directory && owner.sgid) mode |= S_ISGID;
    const node = this.#newNode(type, mode, owner.uid, owner.gid);
    if (attrs?.uid !== undefined) node.uid = attrs.uid;
    if (attrs?.gid !== undefined) node.gid = attrs.gid;
    // A non-root creator outside the file's group cannot keep setgid (Linux inode_init_owner).
    if (
      type !== FileType.Directory && (node.mode & S_ISGID) !== 0 &&
      cred.uid !== 0 && !inGroup(cred, node.gid)
    ) {
      node.mode &= ~S_ISGID;
    }
    if (attrs?.atime !== undefined) node.atime = this.#time(attrs.atime);
    if (attrs?.mtime !== undefined) node.mtime = this.#time(attrs.mtime);
    if (type === FileType.Directory) {
      node.parent = dir.id;
      dir.nlink++;
    }
    this.#link(dir, name, node);
    this.#modified(dir);
    return node;
  }

  // ---- FileSystem ----------------------------------------------------------

  /** Attributes of an object; ESTALE if it no longer exists. */
  getattr(_cred: Credentials, id: FileId): Promise<Attributes> {
    try {
      return Promise.resolve(this.#attrs(this.#node(id)));
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
    return settle(() => {
      const node = this.#node(id);
      this.#setattr(cred, node, attrs);
      return this.#attrs(node);
    });
  }

  #setattr(cred: Credentials, node: Node, attrs: SetAttributes): void {
    // Validate everything before changing anything.
    const mode = checkSetattr(node, cred, attrs, {
      what: describe(node),
      maxFileSize: this.limits.maxFileSize,
    });
    const atime = attrs.atime === undefined
      ? undefined
      : this.#time(attrs.atime);
    const mtime = attrs.mtime === undefined
      ? undefined
      : this.#time(attrs.mtime);

    let touched = false;
    if (attrs.size !== undefined) {
      if (attrs.size !== node.size) {
        this.#truncate(node, attrs.size);
        this.#modified(node);
      }
      this.#killPriv(cred, node);
      touched = true;
    }
    if (mode !== undefined) {
      node.mode = mode;
      touched = true;
    }
    const chown = (attrs.uid !== undefined && attrs.uid !== node.uid) ||
      (attrs.gid !== undefined && attrs.gid !== node.gid);
    if (attrs.uid !== undefined) node.uid = attrs.uid;
    if (attrs.gid !== undefined) node.gid = attrs.gid;
    if (attrs.uid !== undefined || attrs.gid !== undefined) touched = true;
    if (chown && node.type !== FileType.Directory) {
      // chown drops set-id bits so a changed owner cannot inherit privilege.
      node.mode &= ~S_ISUID;
      if ((node.mode & 0o010) !== 0) node.mode &= ~S_ISGID;
    }
    if (atime !== undefined) {
      node.atime = atime;
      touched = true;
    }
    if (mtime !== undefined) {
      node.mtime = mtime;
      touched = true;
    }
    if (touched) this.#changed(node);
  }

  /** A non-root write or truncate clears setuid, and setgid when group-executable. */
  #killPriv(cred: Credentials, node: Node): void {
    node.mode = modeAfterWrite(node.mode, cred);
  }

  #truncate(node: Node, size: number): void {
    if (size < node.size) {
      // Shrinks the tail chunk too, so a later extension reads zeros and `used` drops.
      const store = this.#store(node);
      const before = store.allocated;
      store.truncate(size);
      this.#charge(node, before);
    }
    node.size = size;
  }

  /** A regular file's chunk store, made on first use so that empty files stay cheap. */
  #store(node: Node): ChunkStore {
    return node.data ??= new ChunkStore(new MapChunks(CHUNK, MIN_CHUNK));
  }

  /** Charges the file system for what a change to `node`'s data allocated or freed. */
  #charge(node: Node, before: number): void {
    const delta = node.data!.allocated - before;
    node.allocated += delta;
    this.#used += delta;
  }

  /** Finds a name; "." and ".." name the directory itself and its parent. */
  lookup(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    return settle(() => {
      const dir = this.#dir(dirId);
      this.#require(cred, dir, Perm.X, `cannot search ${describe(dir)}`);
      if (name === ".") return this.#attrs(dir);
      if (name === "..") return this.#attrs(this.#node(dir.parent));
      checkName(name);
      const node = this.#entry(dir, name);
      if (node === undefined) {
        throw new VfsError("ENOENT", `No such file or directory: ${name}`);
      }
      return this.#attrs(node);
    });
  }

  /** Which NFS ACCESS bits the caller has (see {@link accessBits}). */
  access(cred: Credentials, id: FileId, mask: number): Promise<number> {
    return settle(() => {
      return accessBits(this.#node(id), cred, mask);
    });
  }

  /** Reads up to `length` bytes; may return a view of the file's storage. */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<ReadResult> {
    return settle(() => {
      const node = this.#regular(id);
      this.#requireData(cred, node, false);
      if (!isInt(offset) || !isInt(length)) {
        throw new VfsError("EINVAL", `Invalid range: ${offset}+${length}`);
      }
      return this.#readData(node, offset, length);
    });
  }

  #regular(id: FileId): Node {
    const node = this.#node(id);
    if (node.type === FileType.Regular) return node;
    if (node.type === FileType.Directory) {
      throw new VfsError("EISDIR", `Is a directory: ${describe(node)}`);
    }
    throw new VfsError(
      "EINVAL",
      `Invalid argument: ${describe(node)} is not a regular file`,
    );
  }

  #readData(node: Node, offset: number, length: number): ReadResult {
    const size = node.size;
    if (offset >= size || length === 0) {
      return { data: EMPTY, eof: offset >= size };
    }
    const end = Math.min(size, offset + length);
    // A view of the chunk when the range lies in one, else a new copy.
    const data = this.#store(node).bytes(offset, end - offset);
    return { data, eof: end >= size };
  }

  /** Writes at `offset`; data is durable on return. */
  write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    _stable?: Stability,
  ): Promise<WriteResult> {
    return settle(() => {
      const node = this.#regular(id);
      this.#requireData(cred, node, true);
      if (!isInt(offset)) {
        throw new VfsError("EINVAL", `Invalid offset: ${offset}`);
      }
      if (offset + data.length > this.limits.maxFileSize) {
        throw new VfsError(
          "EFBIG",
          `File too large: write ends at ${offset + data.length}`,
        );
      }
      if (data.length > 0) {
        this.#writeData(node, offset, data);
        this.#killPriv(cred, node);
        this.#modified(node);
      }
      return {
        count: data.length,
        committed: "file",
        attrs: this.#attrs(node),
      };
    });
  }

  #writeData(node: Node, offset: number, data: Uint8Array): void {
    const store = this.#store(node);
    const end = offset + data.length;
    this.#reserve(store.growth(offset, end));
    const before = store.allocated;
    store.write(offset, data);
    this.#charge(node, before);
    if (end > node.size) node.size = end;
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
      const existing = this.#entry(dir, name);
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
        this.#require(cred, dir, Perm.X, `cannot search ${describe(dir)}`);
        const attrs = options.attrs;
        if (attrs !== undefined) {
          // Only size and times apply to an opened file; its mode and owner stay.
          const { size, atime, mtime } = attrs;
          if (
            size !== undefined || atime !== undefined || mtime !== undefined
          ) {
            this.#setattr(cred, existing, { size, atime, mtime });
          }
        }
        return this.#attrs(existing);
      }
      this.#requireDirWrite(cred, dir, name);
      const size = options.attrs?.size ?? 0;
      if (!isInt(size)) throw new VfsError("EINVAL", `Invalid size: ${size}`);
      if (size > this.limits.maxFileSize) {
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
      return this.#attrs(node);
    });
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
      if (dir.index!.has(name)) {
        throw new VfsError("EEXIST", `File exists: ${name}`);
      }
      return this.#attrs(
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
      if (dir.index!.has(name)) {
        throw new VfsError("EEXIST", `File exists: ${name}`);
      }
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
      return this.#attrs(node);
    });
  }

  /** The target of a symbolic link. */
  readlink(_cred: Credentials, id: FileId): Promise<string> {
    return settle(() => {
      const node = this.#node(id);
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
      if (dir.index!.has(name)) {
        throw new VfsError("EEXIST", `File exists: ${name}`);
      }
      const node = this.#makeChild(cred, dir, name, type, options.attrs, 0o644);
      if (device && options.rdev !== undefined) {
        node.rdev = Object.freeze({
          major: options.rdev.major,
          minor: options.rdev.minor,
        });
      }
      return this.#attrs(node);
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
      const node = this.#node(id);
      const dir = this.#prepareCreate(cred, dirId, name);
      if (node.type === FileType.Directory) {
        throw new VfsError(
          "EPERM",
          `Operation not permitted: hard link to directory ${describe(node)}`,
        );
      }
      if (dir.index!.has(name)) {
        throw new VfsError("EEXIST", `File exists: ${name}`);
      }
      if (node.nlink >= this.limits.maxLinks) {
        throw new VfsError(
          "EMLINK",
          `Too many links: ${describe(node)} has ${node.nlink}`,
        );
      }
      node.nlink++;
      this.#link(dir, name, node);
      this.#changed(node);
      this.#modified(dir);
      return this.#attrs(node);
    });
  }

  #victim(cred: Credentials, dirId: FileId, name: string): [Node, Node] {
    const dir = this.#dir(dirId);
    checkName(name);
    this.#requireDirWrite(cred, dir, name);
    const node = this.#entry(dir, name);
    if (node === undefined) {
      throw new VfsError("ENOENT", `No such file or directory: ${name}`);
    }
    this.#requireSticky(cred, dir, node, name);
    return [dir, node];
  }

  /** Removes a non-directory entry. */
  remove(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return settle(() => {
      const [dir, node] = this.#victim(cred, dirId, name);
      if (node.type === FileType.Directory) {
        throw new VfsError("EISDIR", `Is a directory: ${name}`);
      }
      this.#unlink(dir, name);
      this.#dropLink(node);
      this.#modified(dir);
    });
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
      this.#unlink(dir, name);
      this.#dropLink(node);
      dir.nlink--;
      this.#modified(dir);
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
      const [from, node] = this.#victim(cred, fromDirId, fromName);
      const to = this.#dir(toDirId);
      checkName(toName);
      this.#requireDirWrite(cred, to, toName);
      const target = this.#entry(to, toName);
      // Two names of one object: POSIX says do nothing.
      if (target === node) return;
      const isDir = node.type === FileType.Directory;
      if (isDir) {
        for (let d = to;; d = this.#node(d.parent)) {
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
          this.#require(cred, node, Perm.W, `cannot move ${fromName}`);
        }
      }
      if (target !== undefined) {
        this.#requireSticky(cred, to, target, toName);
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
      } else if (isDir && from !== to && to.nlink >= this.limits.maxLinks) {
        throw new VfsError(
          "EMLINK",
          `Too many links: ${describe(to)} has ${to.nlink}`,
        );
      }
      if (target !== undefined) {
        this.#unlink(to, toName);
        this.#dropLink(target);
        if (target.type === FileType.Directory) to.nlink--;
      }
      this.#unlink(from, fromName);
      this.#link(to, toName, node);
      if (isDir && from !== to) {
        from.nlink--;
        to.nlink++;
        node.parent = to.id;
      }
      this.#changed(node);
      this.#modified(from);
      if (to !== from) this.#modified(to);
    });
  }

  /** A page of entries; cookies stay valid across unrelated changes. */
  readdir(
    cred: Credentials,
    dirId: FileId,
    options: ReaddirOptions = {},
  ): Promise<ReaddirResult> {
    return settle(() => {
      const dir = this.#dir(dirId);
      this.#require(cred, dir, Perm.R, `cannot list ${describe(dir)}`);
      const cookie = options.cookie ?? 0n;
      const limit = options.limit ?? Infinity;
      const slots = dir.slots!;
      let i = 0;
      if (cookie >= 3n) {
        // First slot with seq > cookie; slots are sorted by seq.
        const after = Number(cookie);
        let lo = 0;
        let hi = slots.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (slots[mid].seq <= after) lo = mid + 1;
          else hi = mid;
        }
        i = lo;
      }
      const entries: DirEntry[] = [];
      for (; i < slots.length; i++) {
        const slot = slots[i];
        if (!slot.live) continue;
        if (entries.length >= limit) break;
        const entry: DirEntry = {
          name: slot.name,
          fileid: slot.id,
          cookie: BigInt(slot.seq),
        };
        if (options.withAttributes) {
          entry.attrs = this.#attrs(slot.node);
        }
        entries.push(entry);
      }
      while (i < slots.length && !slots[i].live) i++;
      return { entries, eof: i >= slots.length };
    });
  }

  /** Space and file counts from the configured capacity. */
  statfs(_cred: Credentials, id: FileId): Promise<FsStats> {
    return settle(() => {
      this.#node(id);
      const freeBytes = Math.max(0, this.#capacityBytes - this.#used);
      const freeFiles = Math.max(0, this.#capacityFiles - this.#nodes.size);
      return {
        totalBytes: this.#capacityBytes,
        freeBytes,
        availBytes: freeBytes,
        totalFiles: this.#capacityFiles,
        freeFiles,
        availFiles: freeFiles,
      };
    });
  }

  /** Nothing to flush: memory is as durable as this file system gets. */
  commit(_cred: Credentials, id: FileId): Promise<void> {
    return settle(() => {
      this.#node(id);
    });
  }

  /** Reserves zeroed storage for a range, extending the file if needed. */
  allocate(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void> {
    return settle(() => {
      const node = this.#regular(id);
      this.#requireData(cred, node, true);
      this.#checkRange(offset, length);
      const end = offset + length;
      const store = this.#store(node);
      this.#reserve(store.growth(offset, end));
      const before = store.allocated;
      store.reserve(offset, end);
      this.#charge(node, before);
      if (end > node.size) {
        node.size = end;
        this.#modified(node);
      } else {
        this.#changed(node);
      }
    });
  }

  #checkRange(offset: number, length: number): void {
    if (!isInt(offset) || !isInt(length) || length === 0) {
      throw new VfsError("EINVAL", `Invalid range: ${offset}+${length}`);
    }
    if (offset + length > this.limits.maxFileSize) {
      throw new VfsError("EFBIG", `File too large: ${offset + length}`);
    }
  }

  /** Punches a hole: the range reads as zeros and whole chunks are freed. */
  deallocate(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void> {
    return settle(() => {
      const node = this.#regular(id);
      this.#requireData(cred, node, true);
      this.#checkRange(offset, length);
      const store = this.#store(node);
      const before = store.allocated;
      store.zero(offset, Math.min(node.size, offset + length), {
        size: node.size,
      });
      this.#charge(node, before);
      this.#modified(node);
    });
  }

  /** Next data or hole at or after `offset`, at the granularity of chunk storage. */
  seek(
    cred: Credentials,
    id: FileId,
    offset: number,
    what: "data" | "hole",
  ): Promise<{ offset: number; eof: boolean }> {
    return settle(() => {
      const node = this.#regular(id);
      this.#requireData(cred, node, false);
      if (!isInt(offset)) {
        throw new VfsError("EINVAL", `Invalid offset: ${offset}`);
      }
      const size = node.size;
      if (offset >= size) {
        throw new VfsError("ENXIO", `Offset beyond end of file: ${offset}`);
      }
      if (what === "data") {
        const data = this.#store(node).nextData(offset, size);
        return data === undefined
          ? { offset: size, eof: true }
          : { offset: data, eof: false };
      }
      const hole = this.#store(node).nextHole(offset, size);
      return { offset: hole, eof: hole >= size };
    });
  }

  /** Copies a byte range between regular files; length 0 copies to end of file. */
  copy(
    cred: Credentials,
    srcId: FileId,
    dstId: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number> {
    return settle(() => {
      const src = this.#regular(srcId);
      const dst = this.#regular(dstId);
      this.#requireData(cred, src, false);
      this.#requireData(cred, dst, true);
      const { srcOffset, dstOffset } = options;
      if (!isInt(srcOffset) || !isInt(dstOffset) || !isInt(options.length)) {
        throw new VfsError(
          "EINVAL",
          `Invalid copy range: ${srcOffset}+${options.length} to ${dstOffset}`,
        );
      }
      if (srcOffset >= src.size) return 0;
      const length = Math.min(
        options.length === 0 ? Infinity : options.length,
        src.size - srcOffset,
      );
      if (
        src === dst && srcOffset < dstOffset + length &&
        dstOffset < srcOffset + length
      ) {
        throw new VfsError(
          "EINVAL",
          `Invalid argument: overlapping copy within ${describe(src)}`,
        );
      }
      if (dstOffset + length > this.limits.maxFileSize) {
        throw new VfsError("EFBIG", `File too large: ${dstOffset + length}`);
      }
      const store = this.#store(dst);
      this.#reserve(store.growth(dstOffset, dstOffset + length));
      const before = store.allocated;
      dst.size = store.copyFrom(
        this.#store(src),
        srcOffset,
        dstOffset,
        length,
        dst.size,
      );
      this.#charge(dst, before);
      this.#killPriv(cred, dst);
      this.#modified(dst);
      return length;
    });
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  // ---- xattrs ---------------------------------------------------------------

  #checkXattrName(name: string): void {
    if (name === "" || name.includes("\0")) {
      throw new VfsError(
        "EINVAL",
        `Invalid xattr name: ${JSON.stringify(name)}`,
      );
    }
    if (name.length > MAX_XATTR_NAME) {
      throw new VfsError("ERANGE", `Xattr name too long: ${name.length}`);
    }
  }

  #getxattr(
    cred: Credentials,
    id: FileId,
    name: string,
  ): Promise<Uint8Array> {
    return settle(() => {
      const node = this.#node(id);
      this.#checkXattrName(name);
      this.#require(
        cred,
        node,
        Perm.R,
        `cannot read xattrs of ${describe(node)}`,
      );
      const v = node.xattrs?.get(name);
      if (v === undefined) {
        throw new VfsError("ENODATA", `No such xattr: ${name}`);
      }
      return v.slice();
    });
  }

  #setxattr(
    cred: Credentials,
    id: FileId,
    name: string,
    value: Uint8Array,
    mode: "either" | "create" | "replace" = "either",
  ): Promise<void> {
    return settle(() => {
      const node = this.#node(id);
      this.#checkXattrName(name);
      if (value.length > MAX_XATTR_VALUE) {
        throw new VfsError("E2BIG", `Xattr value too large: ${value.length}`);
      }
      this.#require(
        cred,
        node,
        Perm.W,
        `cannot set xattrs of ${describe(node)}`,
      );
      const old = node.xattrs?.get(name);
      if (mode === "create" && old !== undefined) {
        throw new VfsError("EEXIST", `Xattr exists: ${name}`);
      }
      if (mode === "replace" && old === undefined) {
        throw new VfsError("ENODATA", `No such xattr: ${name}`);
      }
      const delta = value.length + (old === undefined ? name.length : 0) -
        (old?.length ?? 0);
      this.#reserve(delta);
      node.xattrs ??= new Map();
      node.xattrs.set(name, value.slice());
      node.allocated += delta;
      this.#used += delta;
      this.#changed(node);
    });
  }

  #listxattrs(cred: Credentials, id: FileId): Promise<string[]> {
    return settle(() => {
      const node = this.#node(id);
      this.#require(
        cred,
        node,
        Perm.R,
        `cannot list xattrs of ${describe(node)}`,
      );
      return [...(node.xattrs?.keys() ?? [])];
    });
  }

  #removexattr(
    cred: Credentials,
    id: FileId,
    name: string,
  ): Promise<void> {
    return settle(() => {
      const node = this.#node(id);
      this.#checkXattrName(name);
      this.#require(
        cred,
        node,
        Perm.W,
        `cannot remove xattrs of ${describe(node)}`,
      );
      const old = node.xattrs?.get(name);
      if (old === undefined) {
        throw new VfsError("ENODATA", `No such xattr: ${name}`);
      }
      node.xattrs!.delete(name);
      const freed = old.length + name.length;
      node.allocated -= freed;
      this.#used -= freed;
      this.#changed(node);
    });
  }
}
