/**
 * The error every {@link FileSystem} method throws: a POSIX code plus a
 * message that names the object. Each protocol maps the code to its own
 * status (NFS3ERR_NOENT, NFS4ERR_NOENT, NBD EIO …).
 *
 * @example What a failed lookup throws
 * ```ts
 * import { MemFs, ROOT, VfsError } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs();
 * await assert.rejects(
 *   fs.lookup(ROOT, fs.root, "notes.txt"),
 *   (e) => e instanceof VfsError && e.code === "ENOENT" && e.message.endsWith(": notes.txt"),
 * );
 * ```
 *
 * @module
 */

/** The POSIX error codes a file system may report. */
export type VfsErrorCode =
  | "EPERM"
  | "ENOENT"
  | "EIO"
  | "ENXIO"
  | "EBADF"
  | "EAGAIN"
  | "EACCES"
  | "EBUSY"
  | "EEXIST"
  | "EXDEV"
  | "ENODEV"
  | "ENOTDIR"
  | "EISDIR"
  | "EINVAL"
  | "EFBIG"
  | "ENOSPC"
  | "EROFS"
  | "EMLINK"
  | "ENAMETOOLONG"
  | "ENOTEMPTY"
  | "EDQUOT"
  | "ESTALE"
  | "ELOOP"
  | "ENOTSUP"
  | "ENODATA"
  | "E2BIG"
  | "ERANGE"
  | "ETXTBSY"
  | "ENOSYS";

/**
 * A file-system failure with a POSIX code.
 *
 * @example Throw one from a backend of your own
 * ```ts
 * import { VfsError } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * // The code is for the protocols (NFS3ERR_EXIST, NBD EIO ...), the text for people.
 * const e = new VfsError("EEXIST", "File exists: a.txt");
 * assert.equal(e.code, "EEXIST");
 * assert.equal(e.message, "File exists: a.txt");
 * assert.equal(e.name, "VfsError");
 * ```
 */
export class VfsError extends Error {
  /** The POSIX code, such as `"ENOENT"`. */
  readonly code: VfsErrorCode;

  /**
   * Creates an error.
   *
   * @param code The POSIX code.
   * @param message Sentence case, no final period, the object after a colon.
   */
  constructor(code: VfsErrorCode, message: string) {
    super(message);
    this.name = "VfsError";
    this.code = code;
  }
}

/**
 * Whether `e` is a {@link VfsError}, optionally with the given code.
 *
 * @example Create a directory unless it exists
 * ```ts
 * import { FileType, isVfsError, MemFs, ROOT } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs();
 * const mkdirp = async (name: string) => {
 *   try {
 *     await fs.mkdir(ROOT, fs.root, name);
 *   } catch (e) {
 *     if (!isVfsError(e, "EEXIST")) throw e; // any other failure still counts
 *   }
 * };
 * await mkdirp("docs");
 * await mkdirp("docs");
 * assert.equal((await fs.lookup(ROOT, fs.root, "docs")).type, FileType.Directory);
 * ```
 */
export function isVfsError(e: unknown, code?: VfsErrorCode): e is VfsError {
  return e instanceof VfsError && (code === undefined || e.code === code);
}
