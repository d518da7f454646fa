/**
 * A read-only view of any {@link FileSystem}: reads pass through, every
 * change fails with EROFS, and ACCESS never grants MODIFY, EXTEND or DELETE.
 * It offers an optional capability exactly when the wrapped file system
 * does: `seek` passes through, `allocate`, `deallocate`, `copy`, `clone`
 * and the changes to extended attributes fail with EROFS, and `open` passes opens
 * for reading through and refuses those with write access with EROFS.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemFs, ReadOnlyFs, ROOT } from "@netfs/netfs/vfs";
 * const ro = new ReadOnlyFs(new MemFs());
 * await assert.rejects(ro.create(ROOT, ro.root, "x"), { code: "EROFS" });
 * ```
 *
 * @module
 */

import { ACCESS_CHANGE_BITS } from "./access.ts";
import { VfsError } from "./errors.ts";
import { PassthroughFs } from "./passthrough.ts";
import {
  type Attributes,
  type CreateOptions,
  type Credentials,
  type FileId,
  type FileSystem,
  type MknodOptions,
  type SetAttributes,
  ShareAccess,
  type Stability,
  type WriteResult,
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
 * import assert from "node:assert/strict";
 * import { FileType, MemFs, ReadOnlyFs, ROOT } from "@netfs/netfs/vfs";
 * const inner = new MemFs();
 * await inner.mkdir(ROOT, inner.root, "docs");
 * const ro = new ReadOnlyFs(inner);
 * assert.equal((await ro.lookup(ROOT, ro.root, "docs")).type, FileType.Directory);
 * assert.equal("allocate" in ro, "allocate" in inner);
 * ```
 */
export class ReadOnlyFs extends PassthroughFs {
  readonly #closeInner: boolean;

  /**
   * Wraps `fs`.
   *
   * @param fs The file system to expose read-only.
   * @param options Whether `close()` closes `fs`.
   */
  constructor(fs: FileSystem, options: ReadOnlyFsOptions = {}) {
    super(fs);
    this.#closeInner = options.closeInner ?? true;
    const x = this.xattrs;
    if (x !== undefined) {
      this.replaceCapability("xattrs", {
        getxattr: x.getxattr,
        listxattrs: x.listxattrs,
        setxattr: () => rofs("set an xattr"),
        removexattr: () => rofs("remove an xattr"),
      });
    }
    this.replaceCapability("allocate", () => rofs("allocate"));
    this.replaceCapability("deallocate", () => rofs("punch a hole"));
    this.replaceCapability("copy", () => rofs("copy"));
    this.replaceCapability("clone", () => rofs("clone"));
    const open = this.open;
    if (open !== undefined) {
      this.replaceCapability(
        "open",
        (cred, id, o) =>
          (o.access & ShareAccess.Write) !== 0
            ? rofs("open for writing")
            : open(cred, id, o),
      );
    }
  }

  /** EROFS. */
  override setattr(
    _cred: Credentials,
    _id: FileId,
    _attrs: SetAttributes,
  ): Promise<Attributes> {
    return rofs("change attributes");
  }
  /** The wrapped answer without MODIFY, EXTEND and DELETE. */
  override async access(
    cred: Credentials,
    id: FileId,
    mask: number,
  ): Promise<number> {
    return (await super.access(cred, id, mask)) & ~ACCESS_CHANGE_BITS;
  }
  /** EROFS. */
  override write(
    _cred: Credentials,
    _id: FileId,
    _offset: number,
    _data: Uint8Array,
    _stable?: Stability,
    _context?: unknown,
  ): Promise<WriteResult> {
    return rofs("write");
  }
  /** EROFS. */
  override create(
    _cred: Credentials,
    _dir: FileId,
    _name: string,
    _options?: CreateOptions,
  ): Promise<Attributes> {
    return rofs("create a file");
  }
  /** EROFS. */
  override mkdir(
    _cred: Credentials,
    _dir: FileId,
    _name: string,
    _attrs?: SetAttributes,
  ): Promise<Attributes> {
    return rofs("create a directory");
  }
  /** EROFS. */
  override symlink(
    _cred: Credentials,
    _dir: FileId,
    _name: string,
    _target: string,
    _attrs?: SetAttributes,
  ): Promise<Attributes> {
    return rofs("create a symlink");
  }
  /** EROFS. */
  override mknod(
    _cred: Credentials,
    _dir: FileId,
    _name: string,
    _options: MknodOptions,
  ): Promise<Attributes> {
    return rofs("create a node");
  }
  /** EROFS. */
  override link(
    _cred: Credentials,
    _id: FileId,
    _dir: FileId,
    _name: string,
  ): Promise<Attributes> {
    return rofs("create a hard link");
  }
  /** EROFS. */
  override remove(
    _cred: Credentials,
    _dir: FileId,
    _name: string,
  ): Promise<void> {
    return rofs("remove");
  }
  /** EROFS. */
  override rmdir(
    _cred: Credentials,
    _dir: FileId,
    _name: string,
  ): Promise<void> {
    return rofs("remove a directory");
  }
  /** EROFS. */
  override rename(
    _cred: Credentials,
    _fromDir: FileId,
    _fromName: string,
    _toDir: FileId,
    _toName: string,
  ): Promise<void> {
    return rofs("rename");
  }
  /** Nothing was written: succeeds when the object exists. */
  override async commit(cred: Credentials, id: FileId): Promise<void> {
    await this.getattr(cred, id);
  }
  /** Closes the wrapped file system unless told not to. */
  override async close(): Promise<void> {
    if (this.#closeInner) await super.close();
  }
}
