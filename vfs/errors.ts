/**
 * The error every {@link FileSystem} method throws: a POSIX code plus a
 * message that names the object. Each protocol maps the code to its own
 * status (NFS3ERR_NOENT, NFS4ERR_NOENT, NBD EIO …).
 *
 * @example
 * ```ts
 * import { VfsError } from "./errors.ts";
 * const e = new VfsError("ENOENT", "No such file: notes.txt");
 * console.log(e.code, e.message);
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
 * @example
 * ```ts
 * import { VfsError } from "./errors.ts";
 * try {
 *   throw new VfsError("EEXIST", "File exists: a.txt");
 * } catch (e) {
 *   if (e instanceof VfsError && e.code === "EEXIST") console.log("exists");
 * }
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
 * @example
 * ```ts
 * import { isVfsError, VfsError } from "./errors.ts";
 * console.log(isVfsError(new VfsError("ENOENT", "Gone: x"), "ENOENT")); // true
 * ```
 */
export function isVfsError(e: unknown, code?: VfsErrorCode): e is VfsError {
  return e instanceof VfsError && (code === undefined || e.code === code);
}
