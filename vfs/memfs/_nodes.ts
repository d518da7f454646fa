// The inode table of a MemFs, which every other part works through: the
// Node record, FileIds handed out in order and never reused, the clock and
// change counter that stamp every change, link counts and freeing, the
// capacity accounting (bytes and objects) that ENOSPC comes from, and a
// node's attributes as the FileSystem reports them.
import { VfsError } from "../errors.ts";
import type { ChunkStore } from "../../store/_chunks.ts";
import {
  type Attributes,
  type FileId,
  FileType,
  type FsLimits,
  type FsStats,
  type SetTime,
  type Time,
} from "../types.ts";

/** Space a directory or special node is charged, for `used`. */
const META_USED = 4096;
const NO_RDEV: Readonly<{ major: number; minor: number }> = Object.freeze({
  major: 0,
  minor: 0,
});

/** A directory entry; `live` turns false when the name goes away. */
export interface Slot {
  name: string;
  id: FileId;
  /** The node itself, saving a lookup by id on the readdir and lookup paths. */
  node: Node;
  /** The readdir cookie: per-directory, increasing, never reused. */
  seq: number;
  live: boolean;
}

/** One object: what every part of MemFs reads and changes. */
export class Node {
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
export function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** How error messages name a node. */
export function describe(node: Node): string {
  return `fileid ${node.id}`;
}

/** A safe, non-negative integer (an offset, a length, a size). */
export function isInt(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** What the table is built from (MemFsOptions, defaults applied). */
export interface TableOptions {
  capacityBytes: number;
  capacityFiles: number;
  fsid: number;
  clock: () => Time;
  limits: FsLimits;
}

/** Every node by FileId, with the stamps and the accounting they share. */
export class Inodes {
  /** Fixed properties (maxLinks and maxFileSize are enforced by the parts). */
  readonly limits: FsLimits;
  readonly #nodes = new Map<FileId, Node>();
  #nextId = 1;
  #change = 1;
  #used = 0;
  readonly #capacityBytes: number;
  readonly #capacityFiles: number;
  readonly #fsid: number;
  readonly #clock: () => Time;

  constructor(options: TableOptions) {
    this.limits = options.limits;
    this.#capacityBytes = options.capacityBytes;
    this.#capacityFiles = options.capacityFiles;
    this.#fsid = options.fsid;
    this.#clock = options.clock;
  }

  /** A new node with the next FileId, stamped now; its caller links it. */
  newNode(type: FileType, mode: number, uid: number, gid: number): Node {
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

  /** The node of `id`; ESTALE once it is gone. */
  node(id: FileId): Node {
    const node = this.#nodes.get(id);
    if (node === undefined) {
      throw new VfsError("ESTALE", `Stale file id: ${id}`);
    }
    return node;
  }

  /** The directory `id`; ENOTDIR for any other type. */
  dir(id: FileId): Node {
    const node = this.node(id);
    if (node.type !== FileType.Directory) {
      throw new VfsError("ENOTDIR", `Not a directory: ${describe(node)}`);
    }
    return node;
  }

  /** The regular file `id`; EISDIR for a directory, EINVAL for other types. */
  regular(id: FileId): Node {
    const node = this.node(id);
    if (node.type === FileType.Regular) return node;
    if (node.type === FileType.Directory) {
      throw new VfsError("EISDIR", `Is a directory: ${describe(node)}`);
    }
    throw new VfsError(
      "EINVAL",
      `Invalid argument: ${describe(node)} is not a regular file`,
    );
  }

  /** Data and attributes changed (mtime + ctime). */
  modified(node: Node): void {
    const now = this.#clock();
    node.mtime = now;
    node.ctime = now;
    node.change = ++this.#change;
  }

  /** Only attributes or links changed (ctime). */
  changed(node: Node): void {
    node.ctime = this.#clock();
    node.change = ++this.#change;
  }

  /** A time to set: the clock for "server", else `t` once checked. */
  time(t: SetTime): Time {
    if (t === "server") return this.#clock();
    if (!Number.isFinite(t.sec) || !isInt(t.nsec) || t.nsec > 999_999_999) {
      throw new VfsError("EINVAL", `Invalid time: ${t.sec}s ${t.nsec}ns`);
    }
    return { sec: t.sec, nsec: t.nsec };
  }

  /** The attributes of `node` as the FileSystem reports them. */
  attrs(node: Node): Attributes {
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

  /** Drops one link to `node`, freeing it when none remain. */
  dropLink(node: Node): void {
    if (node.type === FileType.Directory) node.nlink = 0;
    else node.nlink--;
    if (node.nlink === 0) {
      this.#used -= node.allocated;
      // Freeing the chunks puts storage no reader saw on the shared free
      // list, for the next file's writes (see `ChunkSpares`).
      node.data?.truncate(0);
      node.data?.dropSpare();
      this.#nodes.delete(node.id);
    } else {
      this.changed(node);
    }
  }

  /** Whether `bytes` more fit in the capacity. */
  fits(bytes: number): boolean {
    return bytes <= 0 || this.#used + bytes <= this.#capacityBytes;
  }

  /** ENOSPC unless `bytes` more fit in the capacity. */
  reserve(bytes: number): void {
    if (!this.fits(bytes)) {
      throw new VfsError(
        "ENOSPC",
        `No space left on device: ${bytes} more bytes needed, ${
          this.#capacityBytes - this.#used
        } free`,
      );
    }
  }

  /** ENOSPC unless one more object fits. */
  reserveNode(): void {
    if (this.#nodes.size >= this.#capacityFiles) {
      throw new VfsError(
        "ENOSPC",
        `No space left on device: all ${this.#capacityFiles} file slots used`,
      );
    }
  }

  /** Charges `node` and the file system for `delta` bytes (negative frees). */
  charge(node: Node, delta: number): void {
    node.allocated += delta;
    this.#used += delta;
  }

  /** Space and file counts from the configured capacity. */
  stats(): FsStats {
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
  }
}
