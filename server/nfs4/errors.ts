/**
 * NFSv4 status codes for what can go wrong: one table from a VFS error code
 * to its nfsstat4, and {@link Nfs4Error}, which an operation throws to end
 * itself with a status. The COMPOUND loop turns both into the operation's
 * result, so an operation's `run` returns only what succeeded.
 *
 * @module
 */

import { nfsstat4 } from "../../proto/nfs4/mod.ts";
import { VfsError, type VfsErrorCode } from "../../vfs/errors.ts";

/** The nfsstat4 each VFS error code is answered with. */
export const NFS4_STATUS_OF_CODE: Readonly<
  Record<VfsErrorCode, Exclude<nfsstat4, typeof nfsstat4.NFS4_OK>>
> = Object.freeze({
  EPERM: nfsstat4.NFS4ERR_PERM,
  ENOENT: nfsstat4.NFS4ERR_NOENT,
  EIO: nfsstat4.NFS4ERR_IO,
  ENXIO: nfsstat4.NFS4ERR_NXIO,
  EBADF: nfsstat4.NFS4ERR_STALE,
  EAGAIN: nfsstat4.NFS4ERR_DELAY,
  EACCES: nfsstat4.NFS4ERR_ACCESS,
  EBUSY: nfsstat4.NFS4ERR_FILE_OPEN,
  EEXIST: nfsstat4.NFS4ERR_EXIST,
  EXDEV: nfsstat4.NFS4ERR_XDEV,
  ENODEV: nfsstat4.NFS4ERR_INVAL,
  ENOTDIR: nfsstat4.NFS4ERR_NOTDIR,
  EISDIR: nfsstat4.NFS4ERR_ISDIR,
  EINVAL: nfsstat4.NFS4ERR_INVAL,
  EFBIG: nfsstat4.NFS4ERR_FBIG,
  ENOSPC: nfsstat4.NFS4ERR_NOSPC,
  EROFS: nfsstat4.NFS4ERR_ROFS,
  EMLINK: nfsstat4.NFS4ERR_MLINK,
  ENAMETOOLONG: nfsstat4.NFS4ERR_NAMETOOLONG,
  ENOTEMPTY: nfsstat4.NFS4ERR_NOTEMPTY,
  EDQUOT: nfsstat4.NFS4ERR_DQUOT,
  ESTALE: nfsstat4.NFS4ERR_STALE,
  ELOOP: nfsstat4.NFS4ERR_SYMLINK,
  ENOTSUP: nfsstat4.NFS4ERR_NOTSUPP,
  ENODATA: nfsstat4.NFS4ERR_NOENT,
  E2BIG: nfsstat4.NFS4ERR_INVAL,
  ERANGE: nfsstat4.NFS4ERR_INVAL,
  ETXTBSY: nfsstat4.NFS4ERR_FILE_OPEN,
  ENOSYS: nfsstat4.NFS4ERR_NOTSUPP,
});

/** An operation's failure with the status to answer. */
export class Nfs4Error extends Error {
  /** The status the operation's result carries. */
  readonly status: Exclude<nfsstat4, typeof nfsstat4.NFS4_OK>;

  /** A failure with `status`; `message` is for logs only. */
  constructor(
    status: Exclude<nfsstat4, typeof nfsstat4.NFS4_OK>,
    message = "",
  ) {
    super(message || `NFSv4 status ${status}`);
    this.name = "Nfs4Error";
    this.status = status;
  }
}

/**
 * The status for `e`: an {@link Nfs4Error}'s own, a {@link VfsError}'s from
 * the table, and NFS4ERR_SERVERFAULT for anything else (a bug: `log` hears
 * of it).
 */
export function nfs4StatusOf(
  e: unknown,
  log: (message: string) => void,
  what: string,
): Exclude<nfsstat4, typeof nfsstat4.NFS4_OK> {
  if (e instanceof Nfs4Error) return e.status;
  if (e instanceof VfsError) {
    return NFS4_STATUS_OF_CODE[e.code] ?? nfsstat4.NFS4ERR_SERVERFAULT;
  }
  log(
    `NFS4 ${what} failed, answering NFS4ERR_SERVERFAULT: ${
      (e as Error)?.stack ?? e
    }`,
  );
  return nfsstat4.NFS4ERR_SERVERFAULT;
}

/** Throws an {@link Nfs4Error} with `status`. */
export function fail(
  status: Exclude<nfsstat4, typeof nfsstat4.NFS4_OK>,
  message?: string,
): never {
  throw new Nfs4Error(status, message);
}
