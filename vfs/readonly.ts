/**
 * A read-only view of any {@link FileSystem}: reads pass through, every
 * change fails with EROFS, and ACCESS never grants MODIFY, EXTEND or DELETE.
 *
 * @example
 * ```ts
 * import { MemFs } from "./memfs.ts";
 * import { ReadOnlyFs } from "./readonly.ts";
 * import { ROOT } from "./types.ts";
 * const ro = new ReadOnlyFs(new MemFs());
 * try {
 *   await ro.create(ROOT, ro.root, "x");
 * } catch (e) {
 *   console.log((e as { code: string }).code); // EROFS
 * }
 * ```
 *
 * @module
 */

import { ACCESS_CHANGE_BITS } from "./access.ts";
import { VfsError } from "./errors.ts";
import type {
  Attributes,
  CreateOptions,
  Credentials,
  FileId,
  FileSystem,
  FsLimits,
  FsStats,
  MknodOptions,
  ReaddirOptions,
  ReaddirResult,
  ReadResult,
  SetAttributes,
  Stability,
  WriteResult,
  XattrOps,
} from "./types.ts";

function rofs(what: string): Promise<never> {
  return Promise.reject(
    new VfsError("EROFS", `Read-only file system: cannot ${what}`),
  );
}

/** Options for {@link ReadOnlyFs}. */
export interface ReadOnlyFsOptions {
  /** Close the wrapped file system on `close()` (default true). */
  closeInner?: boolean;
}

/**
 * Wraps a file system so that every change fails with EROFS.
 *
 * @example
 * ```ts
 * import { MemFs } from "./memfs.ts";
 * import { ReadOnlyFs } from "./readonly.ts";
 * import { ROOT } from "./types.ts";
 * const inner = new MemFs();
 * await inner.mkdir(ROOT, inner.root, "docs");
 * const ro = new ReadOnlyFs(inner);
 * console.log((await ro.lookup(ROOT, ro.root, "docs")).type); // 2
 * ```
 */
export class ReadOnlyFs implements FileSystem {
  /** The wrapped file system's root. */
  readonly root: FileId;
  /** The wrapped file system's limits. */
  readonly limits: FsLimits;
  /** Extended attributes: reads pass through, changes fail with EROFS. */
  readonly xattrs?: XattrOps;
  readonly #fs: FileSystem;
  readonly #closeInner: boolean;

  /**
   * Wraps `fs`.
   *
   * @param fs The file system to expose read-only.
   * @param options Whether `close()` closes `fs`.
   */
  constructor(fs: FileSystem, options: ReadOnlyFsOptions = {}) {
    this.#fs = fs;
    this.root = fs.root;
    this.limits = fs.limits;
    this.#closeInner = options.closeInner ?? true;
    const x = fs.xattrs;
    if (x !== undefined) {
      this.xattrs = {
        getxattr: (c, id, name) => x.getxattr(c, id, name),
        listxattrs: (c, id) => x.listxattrs(c, id),
        setxattr: () => rofs("set an xattr"),
        removexattr: () => rofs("remove an xattr"),
      };
    }
    if (fs.seek !== undefined) {
      const seek = fs.seek.bind(fs);
      this.seek = (c, id, offset, what) => seek(c, id, offset, what);
    }
  }

  /** Passes through. */
  getattr(cred: Credentials, id: FileId): Promise<Attributes> {
    return this.#fs.getattr(cred, id);
  }
  /** EROFS. */
  setattr(
    _cred: Credentials,
    _id: FileId,
    _attrs: SetAttributes,
  ): Promise<Attributes> {
    return rofs("change attributes");
  }
  /** Passes through. */
  lookup(cred: Credentials, dir: FileId, name: string): Promise<Attributes> {
    return this.#fs.lookup(cred, dir, name);
  }
  /** The wrapped answer without MODIFY, EXTEND and DELETE. */
  async access(cred: Credentials, id: FileId, mask: number): Promise<number> {
    return (await this.#fs.access(cred, id, mask)) & ~ACCESS_CHANGE_BITS;
  }
  /** Passes through. */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<ReadResult> {
    return this.#fs.read(cred, id, offset, length);
  }
  /** EROFS. */
  write(
    _cred: Credentials,
    _id: FileId,
    _offset: number,
    _data: Uint8Array,
    _stable?: Stability,
  ): Promise<WriteResult> {
    return rofs("write");
  }
  /** EROFS. */
  create(
    _cred: Credentials,
    _dir: FileId,
    _name: string,
    _options?: CreateOptions,
  ): Promise<Attributes> {
    return rofs("create a file");
  }
  /** EROFS. */
  mkdir(
    _cred: Credentials,
    _dir: FileId,
    _name: string,
    _attrs?: SetAttributes,
  ): Promise<Attributes> {
    return rofs("create a directory");
  }
  /** EROFS. */
  symlink(
    _cred: Credentials,
    _dir: FileId,
    _name: string,
    _target: string,
    _attrs?: SetAttributes,
  ): Promise<Attributes> {
    return rofs("create a symlink");
  }
  /** Passes through. */
  readlink(cred: Credentials, id: FileId): Promise<string> {
    return this.#fs.readlink(cred, id);
  }
  /** EROFS. */
  mknod(
    _cred: Credentials,
    _dir: FileId,
    _name: string,
    _options: MknodOptions,
  ): Promise<Attributes> {
    return rofs("create a node");
  }
  /** EROFS. */
  link(
    _cred: Credentials,
    _id: FileId,
    _dir: FileId,
    _name: string,
  ): Promise<Attributes> {
    return rofs("create a hard link");
  }
  /** EROFS. */
  remove(_cred: Credentials, _dir: FileId, _name: string): Promise<void> {
    return rofs("remove");
  }
  /** EROFS. */
  rmdir(_cred: Credentials, _dir: FileId, _name: string): Promise<void> {
    return rofs("remove a directory");
  }
  /** EROFS. */
  rename(
    _cred: Credentials,
    _fromDir: FileId,
    _fromName: string,
    _toDir: FileId,
    _toName: string,
  ): Promise<void> {
    return rofs("rename");
  }
  /** Passes through. */
  readdir(
    cred: Credentials,
    dir: FileId,
    options?: ReaddirOptions,
  ): Promise<ReaddirResult> {
    return this.#fs.readdir(cred, dir, options);
  }
  /** Passes through. */
  statfs(cred: Credentials, id: FileId): Promise<FsStats> {
    return this.#fs.statfs(cred, id);
  }
  /** Nothing was written: succeeds when the object exists. */
  async commit(cred: Credentials, id: FileId): Promise<void> {
    await this.#fs.getattr(cred, id);
  }
  /** EROFS. */
  allocate(
    _cred: Credentials,
    _id: FileId,
    _offset: number,
    _length: number,
  ): Promise<void> {
    return rofs("allocate");
  }
  /** EROFS. */
  deallocate(
    _cred: Credentials,
    _id: FileId,
    _offset: number,
    _length: number,
  ): Promise<void> {
    return rofs("punch a hole");
  }
  /** Passes through when the wrapped file system can seek. */
  seek?(
    cred: Credentials,
    id: FileId,
    offset: number,
    what: "data" | "hole",
  ): Promise<{ offset: number; eof: boolean }>;
  /** EROFS. */
  copy(
    _cred: Credentials,
    _src: FileId,
    _dst: FileId,
    _options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number> {
    return rofs("copy");
  }
  /** Closes the wrapped file system unless told not to. */
  async close(): Promise<void> {
    if (this.#closeInner) await this.#fs.close?.();
  }
}
