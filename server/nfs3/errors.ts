/**
 * How file-system errors become NFSv3 statuses.
 *
 * @example
 * ```ts
 * import { nfs3StatusOf } from "./errors.ts";
 * import { VfsError } from "../../vfs/errors.ts";
 * console.log(nfs3StatusOf(new VfsError("ENOTEMPTY", "Not empty: d"))); // 66
 * ```
 *
 * @module
 */

import { Nfs3Status } from "../../proto/nfs3.ts";
import { VfsError, type VfsErrorCode } from "../../vfs/errors.ts";

/**
 * The nfsstat3 for each VFS error code. Codes without an NFSv3 counterpart
 * take the status a client reports most sensibly: EAGAIN is "try again
 * later" (JUKEBOX), ELOOP and the xattr-only codes are INVAL, EBUSY and
 * ETXTBSY are ACCES, EBADF is a handle that no longer resolves (STALE).
 *
 * @example
 * ```ts
 * import { NFS3_STATUS_OF_CODE } from "./errors.ts";
 * console.log(NFS3_STATUS_OF_CODE.ESTALE); // 70
 * ```
 */
export const NFS3_STATUS_OF_CODE: Readonly<Record<VfsErrorCode, number>> =
  Object.freeze({
    EPERM: Nfs3Status.PERM,
    ENOENT: Nfs3Status.NOENT,
    EIO: Nfs3Status.IO,
    ENXIO: Nfs3Status.NXIO,
    EBADF: Nfs3Status.STALE,
    EAGAIN: Nfs3Status.JUKEBOX,
    EACCES: Nfs3Status.ACCES,
    EBUSY: Nfs3Status.ACCES,
    EEXIST: Nfs3Status.EXIST,
    EXDEV: Nfs3Status.XDEV,
    ENODEV: Nfs3Status.NODEV,
    ENOTDIR: Nfs3Status.NOTDIR,
    EISDIR: Nfs3Status.ISDIR,
    EINVAL: Nfs3Status.INVAL,
    EFBIG: Nfs3Status.FBIG,
    ENOSPC: Nfs3Status.NOSPC,
    EROFS: Nfs3Status.ROFS,
    EMLINK: Nfs3Status.MLINK,
    ENAMETOOLONG: Nfs3Status.NAMETOOLONG,
    ENOTEMPTY: Nfs3Status.NOTEMPTY,
    EDQUOT: Nfs3Status.DQUOT,
    ESTALE: Nfs3Status.STALE,
    ELOOP: Nfs3Status.INVAL,
    ENOTSUP: Nfs3Status.NOTSUPP,
    ENODATA: Nfs3Status.INVAL,
    E2BIG: Nfs3Status.INVAL,
    ERANGE: Nfs3Status.INVAL,
    ETXTBSY: Nfs3Status.ACCES,
    ENOSYS: Nfs3Status.NOTSUPP,
  });

/**
 * The nfsstat3 for an exception thrown by a file system: its code's status
 * for a {@link VfsError}, SERVERFAULT for anything else.
 *
 * @example
 * ```ts
 * import { nfs3StatusOf } from "./errors.ts";
 * console.log(nfs3StatusOf(new Error("bug"))); // 10006
 * ```
 */
export function nfs3StatusOf(e: unknown): number {
  if (e instanceof VfsError) {
    return NFS3_STATUS_OF_CODE[e.code] ?? Nfs3Status.SERVERFAULT;
  }
  return Nfs3Status.SERVERFAULT;
}
