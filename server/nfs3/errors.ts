/**
 * How file-system errors become NFSv3 statuses.
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
 * @example Codes without a status of their own
 * ```ts
 * import { NFS3_STATUS_OF_CODE } from "@netfs/netfs/server";
 * import assert from "node:assert/strict";
 *
 * assert.equal(NFS3_STATUS_OF_CODE.ESTALE, 70); // NFS3ERR_STALE, one to one
 * assert.equal(NFS3_STATUS_OF_CODE.EBUSY, 13); // NFS3ERR_ACCES
 * assert.equal(NFS3_STATUS_OF_CODE.EBADF, 70); // the handle no longer resolves
 * assert.equal(NFS3_STATUS_OF_CODE.EAGAIN, 10008); // NFS3ERR_JUKEBOX: try again later
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
 * @example What a client sees when a file system throws
 * ```ts
 * import { nfs3StatusOf } from "@netfs/netfs/server";
 * import { VfsError } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * assert.equal(nfs3StatusOf(new VfsError("ENOTEMPTY", "Directory not empty: d")), 66);
 * assert.equal(nfs3StatusOf(new TypeError("A bug")), 10006); // NFS3ERR_SERVERFAULT
 * ```
 */
export function nfs3StatusOf(e: unknown): number {
  if (e instanceof VfsError) {
    return NFS3_STATUS_OF_CODE[e.code] ?? Nfs3Status.SERVERFAULT;
  }
  return Nfs3Status.SERVERFAULT;
}
