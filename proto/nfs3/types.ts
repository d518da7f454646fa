/**
 * NFSv3's constants and the types its codecs share: procedure numbers,
 * `nfsstat3` and the other enumerations, and the attribute types (`fattr3`,
 * `wcc_data`, `sattr3`). No code beyond {@link nfs3StatusName}; the codecs
 * are in the modules beside this one, all re-exported by `proto/nfs3.ts`.
 *
 * @module
 */

/** The NFS program number. */
export const NFS_PROGRAM = 100003;
/** The protocol version this module speaks. */
export const NFS_V3 = 3;
/** Largest file handle in bytes. */
export const NFS3_FHSIZE = 64;
/** Size of cookie, create and write verifiers in bytes. */
export const NFS3_VERFSIZE = 8;
/**
 * Largest name or path the decoders accept, in bytes. RFC 1813 leaves
 * `filename3` and `nfspath3` unbounded; longer names are refused as garbage
 * before anything is allocated.
 */
export const NFS3_MAXPATHLEN = 4096;

/** Procedure numbers. */
export const Nfs3Proc = {
  NULL: 0,
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  ACCESS: 4,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  MKNOD: 11,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  READDIRPLUS: 17,
  FSSTAT: 18,
  FSINFO: 19,
  PATHCONF: 20,
  COMMIT: 21,
} as const;

/** `nfsstat3` values. */
export const Nfs3Status = {
  OK: 0,
  PERM: 1,
  NOENT: 2,
  IO: 5,
  NXIO: 6,
  ACCES: 13,
  EXIST: 17,
  XDEV: 18,
  NODEV: 19,
  NOTDIR: 20,
  ISDIR: 21,
  INVAL: 22,
  FBIG: 27,
  NOSPC: 28,
  ROFS: 30,
  MLINK: 31,
  NAMETOOLONG: 63,
  NOTEMPTY: 66,
  DQUOT: 69,
  STALE: 70,
  REMOTE: 71,
  BADHANDLE: 10001,
  NOT_SYNC: 10002,
  BAD_COOKIE: 10003,
  NOTSUPP: 10004,
  TOOSMALL: 10005,
  SERVERFAULT: 10006,
  BADTYPE: 10007,
  JUKEBOX: 10008,
} as const;

/**
 * One of the {@link Nfs3Status} values (other numbers may arrive from peers).
 */
export type Nfs3Status = number;

/** The name of an nfsstat3 value, for messages. */
export function nfs3StatusName(status: number): string {
  for (const [k, v] of Object.entries(Nfs3Status)) {
    if (v === status) return status === 0 ? "NFS3_OK" : `NFS3ERR_${k}`;
  }
  return `nfsstat3 ${status}`;
}

/** `ftype3` values. */
export const Ftype3 = {
  REG: 1,
  DIR: 2,
  BLK: 3,
  CHR: 4,
  LNK: 5,
  SOCK: 6,
  FIFO: 7,
} as const;

/** ACCESS bits. */
export const Access3 = {
  READ: 0x01,
  LOOKUP: 0x02,
  MODIFY: 0x04,
  EXTEND: 0x08,
  DELETE: 0x10,
  EXECUTE: 0x20,
} as const;

/** `stable_how` values. */
export const StableHow = {
  UNSTABLE: 0,
  DATA_SYNC: 1,
  FILE_SYNC: 2,
} as const;

/** `createmode3` values. */
export const CreateMode = {
  UNCHECKED: 0,
  GUARDED: 1,
  EXCLUSIVE: 2,
} as const;

/** FSINFO `properties` bits. */
export const FsfProps = {
  LINK: 0x0001,
  SYMLINK: 0x0002,
  HOMOGENEOUS: 0x0008,
  CANSETTIME: 0x0010,
} as const;

/** Encoded size of `fattr3` in bytes. */
export const FATTR3_SIZE = 84;

/** `nfstime3`. */
export interface Time3 {
  /** Seconds since the epoch. */
  sec: number;
  /** Nanoseconds. */
  nsec: number;
}

/** `fattr3`. The VFS `Attributes` type is assignable to it. */
export interface Fattr3 {
  /** `ftype3`. */
  type: number;
  /** Permission bits. */
  mode: number;
  /** Hard links. */
  nlink: number;
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
  /** Size in bytes. */
  size: number;
  /** Bytes used. */
  used: number;
  /** Device numbers (`specdata3`). */
  rdev: { major: number; minor: number };
  /** File system id. */
  fsid: number;
  /** File id. */
  fileid: number;
  /** Access time. */
  atime: Time3;
  /** Modification time. */
  mtime: Time3;
  /** Change time. */
  ctime: Time3;
}

/** `wcc_attr`: the attributes a client compares before an operation. */
export interface WccAttr {
  /** Size before. */
  size: number;
  /** Modification time before. */
  mtime: Time3;
  /** Change time before. */
  ctime: Time3;
}

/** `wcc_data`. */
export interface WccData {
  /** Attributes before the operation, if known. */
  before?: WccAttr;
  /** Attributes after the operation, if known. */
  after?: Fattr3;
}

/** A time to set in `sattr3`. */
export type SetTime3 = "server" | Time3;

/** `sattr3`: absent fields are not changed. */
export interface Sattr3 {
  /** New mode. */
  mode?: number;
  /** New owner. */
  uid?: number;
  /** New group. */
  gid?: number;
  /** New size. */
  size?: number;
  /** New access time. */
  atime?: SetTime3;
  /** New modification time. */
  mtime?: SetTime3;
}
