/**
 * How file-system errors become NFSv2 statuses.
 *
 * @module
 */

import { nfsstat } from "../../proto/nfs2/mod.ts";
import { VfsError, type VfsErrorCode } from "../../vfs/errors.ts";

/**
 * The nfsstat for each VFS error code. Version 2 has fewer statuses than
 * version 3, so more codes share one: EAGAIN is IO (there is no "try again
 * later"), ENOTSUP and ENOSYS are PERM (what a local `link` or `mknod`
 * answers where the file system cannot), ELOOP and the xattr-only codes
 * are INVAL, EBUSY and ETXTBSY are ACCES, EBADF is a handle that no longer
 * resolves (STALE). Anything that is not a {@link VfsError} is IO.
 *
 * @example Codes without a status of their own
 * ```ts
 * import { NFS2_STATUS_OF_CODE } from "@netfs/netfs/server";
 * import assert from "node:assert/strict";
 *
 * assert.equal(NFS2_STATUS_OF_CODE.ENOENT, 2); // NFSERR_NOENT, one to one
 * assert.equal(NFS2_STATUS_OF_CODE.EAGAIN, 5); // NFSERR_IO: v2 has no JUKEBOX
 * assert.equal(NFS2_STATUS_OF_CODE.ENOTSUP, 1); // NFSERR_PERM
 * ```
 */
export const NFS2_STATUS_OF_CODE: Readonly<Record<VfsErrorCode, number>> =
  Object.freeze({
    EPERM: nfsstat.NFSERR_PERM,
    ENOENT: nfsstat.NFSERR_NOENT,
    EIO: nfsstat.NFSERR_IO,
    ENXIO: nfsstat.NFSERR_NXIO,
    EBADF: nfsstat.NFSERR_STALE,
    EAGAIN: nfsstat.NFSERR_IO,
    EACCES: nfsstat.NFSERR_ACCES,
    EBUSY: nfsstat.NFSERR_ACCES,
    EEXIST: nfsstat.NFSERR_EXIST,
    EXDEV: nfsstat.NFSERR_XDEV,
    ENODEV: nfsstat.NFSERR_NODEV,
    ENOTDIR: nfsstat.NFSERR_NOTDIR,
    EISDIR: nfsstat.NFSERR_ISDIR,
    EINVAL: nfsstat.NFSERR_INVAL,
    EFBIG: nfsstat.NFSERR_FBIG,
    ENOSPC: nfsstat.NFSERR_NOSPC,
    EROFS: nfsstat.NFSERR_ROFS,
    EMLINK: nfsstat.NFSERR_MLINK,
    ENAMETOOLONG: nfsstat.NFSERR_NAMETOOLONG,
    ENOTEMPTY: nfsstat.NFSERR_NOTEMPTY,
    EDQUOT: nfsstat.NFSERR_DQUOT,
    ESTALE: nfsstat.NFSERR_STALE,
    ELOOP: nfsstat.NFSERR_INVAL,
    ENOTSUP: nfsstat.NFSERR_PERM,
    ENODATA: nfsstat.NFSERR_INVAL,
    E2BIG: nfsstat.NFSERR_INVAL,
    ERANGE: nfsstat.NFSERR_INVAL,
    ETXTBSY: nfsstat.NFSERR_ACCES,
    ENOSYS: nfsstat.NFSERR_PERM,
  });

/**
 * The nfsstat for an exception thrown by a file system: its code's status
 * for a {@link VfsError}, NFSERR_IO for anything else (version 2 has no
 * SERVERFAULT).
 *
 * @example What a version 2 client sees when a file system throws
 * ```ts
 * import { nfs2StatusOf } from "@netfs/netfs/server";
 * import { VfsError } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * assert.equal(nfs2StatusOf(new VfsError("ENOTEMPTY", "Directory not empty: d")), 66);
 * assert.equal(nfs2StatusOf(new TypeError("A bug")), 5); // NFSERR_IO
 * ```
 */
export function nfs2StatusOf(e: unknown): number {
  if (e instanceof VfsError) {
    return NFS2_STATUS_OF_CODE[e.code] ?? nfsstat.NFSERR_IO;
  }
  return nfsstat.NFSERR_IO;
}
