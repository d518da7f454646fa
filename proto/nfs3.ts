/**
 * NFS version 3 (RFC 1813): constants, types, and XDR codecs for every
 * procedure's arguments and results, in both directions (servers decode
 * arguments and encode results; clients and tests do the opposite).
 * server/nfs3/ and client/nfs3.ts are its users, and
 * tests/proto/nfs3_test.ts checks the codecs. `client/mod.ts` re-exports the
 * types and constants the clients' signatures use; the codec functions stay
 * internal.
 *
 * Names: `encodeXArgs`/`decodeXArgs` and `encodeXRes`/`decodeXRes` for
 * procedure X, where procedures of one shape share a codec: `FhArgs`
 * (GETATTR, READLINK, FSSTAT, FSINFO, PATHCONF), `DirOpArgs` (LOOKUP,
 * REMOVE, RMDIR), `ReadArgs` (READ and COMMIT), `WccRes` (SETATTR, REMOVE,
 * RMDIR), `CreateRes` (CREATE, MKDIR, SYMLINK, MKNOD).
 *
 * Results are flat objects: `status` plus the fields of `resok` (when
 * `status` is {@link Nfs3Status.OK}) or `resfail`. Absent optional fields
 * encode as "attributes do not follow".
 *
 * What every decoder promises: it reads only from the reader it is given
 * and throws {@link XdrError} for anything malformed. File handles are at
 * most {@link NFS3_FHSIZE} bytes, names and paths at most
 * {@link NFS3_MAXPATHLEN}, verifiers exactly {@link NFS3_VERFSIZE}, WRITE
 * data at most the caller's `maxData`, and a READDIR entry list is bounded
 * by the bytes left in the reply, so nothing is allocated for a length the
 * message cannot hold. Offsets and sizes in arguments saturate at 2^53
 * instead of failing, 64-bit numbers in results lose precision above 2^53,
 * and directory cookies stay `bigint`.
 *
 * Copies: {@link encodeReadRes} and {@link encodeWriteArgs} pass the data
 * to `XdrWriter.opaqueRef`, so a writer made with `refMin` (the server's
 * replies, `RpcClient`'s calls) sends it without copying; WRITE data and
 * READ results decode as views into the received record.
 *
 * Not here: READDIR's paging by byte count (server/nfs3/readdir.ts counts
 * with {@link entry3Size} and {@link entryplus3Size}), and the mapping from
 * file-system errors to {@link Nfs3Status} (server/nfs3/errors.ts).
 *
 * @module
 */

import type { XdrReader, XdrWriter } from "../rpc/xdr.ts";
import { XdrError } from "../rpc/xdr.ts";

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

// ---------------------------------------------------------------------------
// Basic types

const TWO_32 = 4294967296;

/** Reads a uint64 as a number without throwing (lossy above 2^53). */
function u64n(r: XdrReader, field: string): number {
  const hi = r.u32(field);
  const lo = r.u32(field);
  return hi * TWO_32 + lo;
}

function clampU32(v: number): number {
  return v <= 0 ? 0 : v >= 0xffffffff ? 0xffffffff : v;
}

/** Encodes an `nfstime3` (times before 1970 clamp to 0). */
export function encodeTime3(w: XdrWriter, t: Time3): void {
  w.u32(clampU32(t.sec));
  w.u32(t.nsec);
}

/** Decodes an `nfstime3`. */
export function decodeTime3(r: XdrReader): Time3 {
  const sec = r.u32("nfstime3");
  const nsec = r.u32("nfstime3");
  return { sec, nsec };
}

/** Encodes a file handle (`nfs_fh3`). */
export function encodeFh3(w: XdrWriter, fh: Uint8Array): void {
  w.opaque(fh);
}

/** Decodes a file handle (`nfs_fh3`), at most 64 bytes. */
export function decodeFh3(r: XdrReader): Uint8Array {
  return r.opaque(NFS3_FHSIZE, "nfs_fh3");
}

/** Encodes an `fattr3`. */
export function encodeFattr3(w: XdrWriter, a: Fattr3): void {
  w.u32(a.type);
  w.u32(a.mode & 0xfff);
  w.u32(a.nlink);
  w.u32(a.uid);
  w.u32(a.gid);
  w.u64(a.size);
  w.u64(a.used);
  w.u32(a.rdev.major);
  w.u32(a.rdev.minor);
  w.u64(a.fsid);
  w.u64(a.fileid);
  encodeTime3(w, a.atime);
  encodeTime3(w, a.mtime);
  encodeTime3(w, a.ctime);
}

/** Decodes an `fattr3`. */
export function decodeFattr3(r: XdrReader): Fattr3 {
  const type = r.u32("ftype3");
  const mode = r.u32("mode");
  const nlink = r.u32("nlink");
  const uid = r.u32("uid");
  const gid = r.u32("gid");
  const size = u64n(r, "size");
  const used = u64n(r, "used");
  const major = r.u32("rdev");
  const minor = r.u32("rdev");
  const fsid = u64n(r, "fsid");
  const fileid = u64n(r, "fileid");
  const atime = decodeTime3(r);
  const mtime = decodeTime3(r);
  const ctime = decodeTime3(r);
  return {
    type,
    mode,
    nlink,
    uid,
    gid,
    size,
    used,
    rdev: { major, minor },
    fsid,
    fileid,
    atime,
    mtime,
    ctime,
  };
}

/** Encodes a `post_op_attr`. */
export function encodePostOpAttr(w: XdrWriter, a: Fattr3 | undefined): void {
  if (a === undefined) {
    w.u32(0);
    return;
  }
  w.u32(1);
  encodeFattr3(w, a);
}

/** Decodes a `post_op_attr`. */
export function decodePostOpAttr(r: XdrReader): Fattr3 | undefined {
  return r.bool("post_op_attr") ? decodeFattr3(r) : undefined;
}

/** Encodes a `pre_op_attr`. */
export function encodePreOpAttr(w: XdrWriter, a: WccAttr | undefined): void {
  if (a === undefined) {
    w.u32(0);
    return;
  }
  w.u32(1);
  w.u64(a.size);
  encodeTime3(w, a.mtime);
  encodeTime3(w, a.ctime);
}

/** Decodes a `pre_op_attr`. */
export function decodePreOpAttr(r: XdrReader): WccAttr | undefined {
  if (!r.bool("pre_op_attr")) return undefined;
  const size = u64n(r, "size");
  const mtime = decodeTime3(r);
  const ctime = decodeTime3(r);
  return { size, mtime, ctime };
}

/** Encodes `wcc_data`. */
export function encodeWccData(w: XdrWriter, d: WccData | undefined): void {
  encodePreOpAttr(w, d?.before);
  encodePostOpAttr(w, d?.after);
}

/** Decodes `wcc_data`. */
export function decodeWccData(r: XdrReader): WccData {
  const before = decodePreOpAttr(r);
  const after = decodePostOpAttr(r);
  return { before, after };
}

/** Encodes a `post_op_fh3`. */
export function encodePostOpFh3(
  w: XdrWriter,
  fh: Uint8Array | undefined,
): void {
  if (fh === undefined) {
    w.u32(0);
    return;
  }
  w.u32(1);
  w.opaque(fh);
}

/** Decodes a `post_op_fh3`. */
export function decodePostOpFh3(r: XdrReader): Uint8Array | undefined {
  return r.bool("post_op_fh3") ? decodeFh3(r) : undefined;
}

function encodeSetTime(w: XdrWriter, t: SetTime3 | undefined): void {
  if (t === undefined) w.u32(0);
  else if (t === "server") w.u32(1);
  else {
    w.u32(2);
    encodeTime3(w, t);
  }
}

function decodeSetTime(r: XdrReader): SetTime3 | undefined {
  const how = r.u32("time_how");
  if (how === 0) return undefined;
  if (how === 1) return "server";
  if (how === 2) return decodeTime3(r);
  throw new XdrError(`Invalid time_how: ${how}`, "sattr3");
}

/** Encodes an `sattr3`. */
export function encodeSattr3(w: XdrWriter, s: Sattr3 | undefined): void {
  const a = s ?? {};
  if (a.mode === undefined) w.u32(0);
  else w.u32(1).u32(a.mode);
  if (a.uid === undefined) w.u32(0);
  else w.u32(1).u32(a.uid);
  if (a.gid === undefined) w.u32(0);
  else w.u32(1).u32(a.gid);
  if (a.size === undefined) w.u32(0);
  else w.u32(1).u64(a.size);
  encodeSetTime(w, a.atime);
  encodeSetTime(w, a.mtime);
}

/** Decodes an `sattr3`; sizes above 2^53 saturate. */
export function decodeSattr3(r: XdrReader): Sattr3 {
  const s: Sattr3 = {};
  if (r.bool("set_mode3")) s.mode = r.u32("mode");
  if (r.bool("set_uid3")) s.uid = r.u32("uid");
  if (r.bool("set_gid3")) s.gid = r.u32("gid");
  if (r.bool("set_size3")) s.size = r.u64sat("size");
  const atime = decodeSetTime(r);
  if (atime !== undefined) s.atime = atime;
  const mtime = decodeSetTime(r);
  if (mtime !== undefined) s.mtime = mtime;
  return s;
}

function decodeName(r: XdrReader, field: string): string {
  return r.string(NFS3_MAXPATHLEN, field);
}

function decodeVerf(r: XdrReader, field: string): Uint8Array {
  return r.fixedOpaque(NFS3_VERFSIZE, field);
}

function encodeVerf(w: XdrWriter, v: Uint8Array): void {
  if (v.byteLength !== NFS3_VERFSIZE) {
    throw new XdrError(`Verifier must be 8 bytes: ${v.byteLength}`);
  }
  w.fixedOpaque(v);
}

// ---------------------------------------------------------------------------
// Arguments

/**
 * Arguments naming one object (GETATTR, READLINK, FSSTAT, FSINFO, PATHCONF).
 */
export interface FhArgs {
  /** The object's handle. */
  object: Uint8Array;
}

/** Encodes arguments that are a single handle. */
export function encodeFhArgs(w: XdrWriter, a: FhArgs): void {
  encodeFh3(w, a.object);
}

/** Decodes arguments that are a single handle. */
export function decodeFhArgs(r: XdrReader): FhArgs {
  return { object: decodeFh3(r) };
}

/** `diropargs3` (LOOKUP, REMOVE, RMDIR). */
export interface DirOpArgs {
  /** The directory's handle. */
  dir: Uint8Array;
  /** The entry's name. */
  name: string;
}

/** Encodes `diropargs3`. */
export function encodeDirOpArgs(w: XdrWriter, a: DirOpArgs): void {
  encodeFh3(w, a.dir);
  w.string(a.name);
}

/** Decodes `diropargs3`. */
export function decodeDirOpArgs(r: XdrReader): DirOpArgs {
  const dir = decodeFh3(r);
  const name = decodeName(r, "filename3");
  return { dir, name };
}

/** SETATTR arguments. */
export interface SetattrArgs {
  /** The object. */
  object: Uint8Array;
  /** What to change. */
  attrs: Sattr3;
  /** When set, the change happens only if the object's ctime equals it. */
  guard?: Time3;
}

/** Encodes SETATTR arguments. */
export function encodeSetattrArgs(w: XdrWriter, a: SetattrArgs): void {
  encodeFh3(w, a.object);
  encodeSattr3(w, a.attrs);
  if (a.guard === undefined) w.u32(0);
  else {
    w.u32(1);
    encodeTime3(w, a.guard);
  }
}

/** Decodes SETATTR arguments. */
export function decodeSetattrArgs(r: XdrReader): SetattrArgs {
  const object = decodeFh3(r);
  const attrs = decodeSattr3(r);
  const guard = r.bool("sattrguard3") ? decodeTime3(r) : undefined;
  return guard ? { object, attrs, guard } : { object, attrs };
}

/** ACCESS arguments. */
export interface AccessArgs {
  /** The object. */
  object: Uint8Array;
  /** {@link Access3} bits asked about. */
  access: number;
}

/** Encodes ACCESS arguments. */
export function encodeAccessArgs(w: XdrWriter, a: AccessArgs): void {
  encodeFh3(w, a.object);
  w.u32(a.access);
}

/** Decodes ACCESS arguments. */
export function decodeAccessArgs(r: XdrReader): AccessArgs {
  const object = decodeFh3(r);
  return { object, access: r.u32("access") };
}

/** READ and COMMIT arguments. */
export interface ReadArgs {
  /** The file. */
  file: Uint8Array;
  /** Byte offset (saturated above 2^53). */
  offset: number;
  /** Byte count. */
  count: number;
}

/** Encodes READ (or COMMIT) arguments. */
export function encodeReadArgs(w: XdrWriter, a: ReadArgs): void {
  encodeFh3(w, a.file);
  w.u64(a.offset);
  w.u32(a.count);
}

/** Decodes READ (or COMMIT) arguments. */
export function decodeReadArgs(r: XdrReader): ReadArgs {
  const file = decodeFh3(r);
  const offset = r.u64sat("offset");
  const count = r.u32("count");
  return { file, offset, count };
}

/** COMMIT arguments (same shape as READ). */
export type CommitArgs = ReadArgs;
/** Encodes COMMIT arguments. */
export const encodeCommitArgs: (w: XdrWriter, a: CommitArgs) => void =
  encodeReadArgs;
/** Decodes COMMIT arguments. */
export const decodeCommitArgs: (r: XdrReader) => CommitArgs = decodeReadArgs;

/** WRITE arguments. */
export interface WriteArgs {
  /** The file. */
  file: Uint8Array;
  /** Byte offset. */
  offset: number;
  /** Byte count (should equal `data.byteLength`). */
  count: number;
  /** {@link StableHow} value. */
  stable: number;
  /** The bytes (a view into the request). */
  data: Uint8Array;
}

/**
 * Encodes WRITE arguments; the data goes to `XdrWriter.opaqueRef`, kept by
 * reference by a writer made with `refMin`.
 */
export function encodeWriteArgs(w: XdrWriter, a: WriteArgs): void {
  encodeFh3(w, a.file);
  w.u64(a.offset);
  w.u32(a.count);
  w.u32(a.stable);
  w.opaqueRef(a.data);
}

/** Decodes WRITE arguments; `maxData` bounds the data length. */
export function decodeWriteArgs(
  r: XdrReader,
  maxData: number = 0xffffffff,
): WriteArgs {
  const file = decodeFh3(r);
  const offset = r.u64sat("offset");
  const count = r.u32("count");
  const stable = r.u32("stable_how");
  if (stable > 2) throw new XdrError(`Invalid stable_how: ${stable}`);
  const data = r.opaque(maxData, "data");
  return { file, offset, count, stable, data };
}

/** CREATE arguments. */
export interface CreateArgs {
  /** The directory. */
  dir: Uint8Array;
  /** The new file's name. */
  name: string;
  /** {@link CreateMode} value. */
  mode: number;
  /** Initial attributes (UNCHECKED, GUARDED). */
  attrs?: Sattr3;
  /** The 8-byte verifier (EXCLUSIVE). */
  verf?: Uint8Array;
}

/** Encodes CREATE arguments. */
export function encodeCreateArgs(w: XdrWriter, a: CreateArgs): void {
  encodeDirOpArgs(w, a);
  w.u32(a.mode);
  if (a.mode === CreateMode.EXCLUSIVE) {
    encodeVerf(w, a.verf ?? new Uint8Array(8));
  } else encodeSattr3(w, a.attrs);
}

/** Decodes CREATE arguments. */
export function decodeCreateArgs(r: XdrReader): CreateArgs {
  const { dir, name } = decodeDirOpArgs(r);
  const mode = r.u32("createmode3");
  if (mode === CreateMode.EXCLUSIVE) {
    return { dir, name, mode, verf: decodeVerf(r, "createverf3") };
  }
  if (mode > 2) throw new XdrError(`Invalid createmode3: ${mode}`);
  return { dir, name, mode, attrs: decodeSattr3(r) };
}

/** MKDIR arguments. */
export interface MkdirArgs {
  /** The parent directory. */
  dir: Uint8Array;
  /** The new directory's name. */
  name: string;
  /** Initial attributes. */
  attrs: Sattr3;
}

/** Encodes MKDIR arguments. */
export function encodeMkdirArgs(w: XdrWriter, a: MkdirArgs): void {
  encodeDirOpArgs(w, a);
  encodeSattr3(w, a.attrs);
}

/** Decodes MKDIR arguments. */
export function decodeMkdirArgs(r: XdrReader): MkdirArgs {
  const { dir, name } = decodeDirOpArgs(r);
  return { dir, name, attrs: decodeSattr3(r) };
}

/** SYMLINK arguments. */
export interface SymlinkArgs {
  /** The directory. */
  dir: Uint8Array;
  /** The link's name. */
  name: string;
  /** Initial attributes. */
  attrs: Sattr3;
  /** What the link points to. */
  target: string;
}

/** Encodes SYMLINK arguments. */
export function encodeSymlinkArgs(w: XdrWriter, a: SymlinkArgs): void {
  encodeDirOpArgs(w, a);
  encodeSattr3(w, a.attrs);
  w.string(a.target);
}

/** Decodes SYMLINK arguments. */
export function decodeSymlinkArgs(r: XdrReader): SymlinkArgs {
  const { dir, name } = decodeDirOpArgs(r);
  const attrs = decodeSattr3(r);
  const target = r.string(NFS3_MAXPATHLEN, "nfspath3");
  return { dir, name, attrs, target };
}

/** MKNOD arguments. */
export interface MknodArgs {
  /** The directory. */
  dir: Uint8Array;
  /** The node's name. */
  name: string;
  /** {@link Ftype3} value. */
  type: number;
  /** Initial attributes (CHR, BLK, SOCK, FIFO). */
  attrs?: Sattr3;
  /** Device numbers (CHR, BLK). */
  spec?: { major: number; minor: number };
}

/** Encodes MKNOD arguments. */
export function encodeMknodArgs(w: XdrWriter, a: MknodArgs): void {
  encodeDirOpArgs(w, a);
  w.u32(a.type);
  if (a.type === Ftype3.CHR || a.type === Ftype3.BLK) {
    encodeSattr3(w, a.attrs);
    w.u32(a.spec?.major ?? 0).u32(a.spec?.minor ?? 0);
  } else if (a.type === Ftype3.SOCK || a.type === Ftype3.FIFO) {
    encodeSattr3(w, a.attrs);
  }
}

/** Decodes MKNOD arguments. */
export function decodeMknodArgs(r: XdrReader): MknodArgs {
  const { dir, name } = decodeDirOpArgs(r);
  const type = r.u32("ftype3");
  if (type === Ftype3.CHR || type === Ftype3.BLK) {
    const attrs = decodeSattr3(r);
    const major = r.u32("specdata1");
    const minor = r.u32("specdata2");
    return { dir, name, type, attrs, spec: { major, minor } };
  }
  if (type === Ftype3.SOCK || type === Ftype3.FIFO) {
    return { dir, name, type, attrs: decodeSattr3(r) };
  }
  if (type < 1 || type > 7) throw new XdrError(`Invalid ftype3: ${type}`);
  return { dir, name, type };
}

/** RENAME arguments. */
export interface RenameArgs {
  /** Source directory. */
  fromDir: Uint8Array;
  /** Source name. */
  fromName: string;
  /** Target directory. */
  toDir: Uint8Array;
  /** Target name. */
  toName: string;
}

/** Encodes RENAME arguments. */
export function encodeRenameArgs(w: XdrWriter, a: RenameArgs): void {
  encodeFh3(w, a.fromDir);
  w.string(a.fromName);
  encodeFh3(w, a.toDir);
  w.string(a.toName);
}

/** Decodes RENAME arguments. */
export function decodeRenameArgs(r: XdrReader): RenameArgs {
  const fromDir = decodeFh3(r);
  const fromName = decodeName(r, "from");
  const toDir = decodeFh3(r);
  const toName = decodeName(r, "to");
  return { fromDir, fromName, toDir, toName };
}

/** LINK arguments. */
export interface LinkArgs {
  /** The existing object. */
  file: Uint8Array;
  /** The directory of the new link. */
  dir: Uint8Array;
  /** The new link's name. */
  name: string;
}

/** Encodes LINK arguments. */
export function encodeLinkArgs(w: XdrWriter, a: LinkArgs): void {
  encodeFh3(w, a.file);
  encodeFh3(w, a.dir);
  w.string(a.name);
}

/** Decodes LINK arguments. */
export function decodeLinkArgs(r: XdrReader): LinkArgs {
  const file = decodeFh3(r);
  const dir = decodeFh3(r);
  const name = decodeName(r, "filename3");
  return { file, dir, name };
}

/** READDIR arguments. */
export interface ReaddirArgs {
  /** The directory. */
  dir: Uint8Array;
  /** Where to resume (0 from the start). */
  cookie: bigint;
  /** The verifier from the previous reply (8 bytes). */
  cookieverf: Uint8Array;
  /** Largest READDIR3resok in bytes. */
  count: number;
}

/** Encodes READDIR arguments. */
export function encodeReaddirArgs(w: XdrWriter, a: ReaddirArgs): void {
  encodeFh3(w, a.dir);
  w.u64big(a.cookie);
  encodeVerf(w, a.cookieverf);
  w.u32(a.count);
}

/** Decodes READDIR arguments. */
export function decodeReaddirArgs(r: XdrReader): ReaddirArgs {
  const dir = decodeFh3(r);
  const cookie = r.u64big("cookie3");
  const cookieverf = decodeVerf(r, "cookieverf3");
  const count = r.u32("count");
  return { dir, cookie, cookieverf, count };
}

/** READDIRPLUS arguments. */
export interface ReaddirplusArgs {
  /** The directory. */
  dir: Uint8Array;
  /** Where to resume. */
  cookie: bigint;
  /** The verifier from the previous reply. */
  cookieverf: Uint8Array;
  /** Largest total of names, file ids and cookies in bytes. */
  dircount: number;
  /** Largest READDIRPLUS3resok in bytes. */
  maxcount: number;
}

/** Encodes READDIRPLUS arguments. */
export function encodeReaddirplusArgs(
  w: XdrWriter,
  a: ReaddirplusArgs,
): void {
  encodeFh3(w, a.dir);
  w.u64big(a.cookie);
  encodeVerf(w, a.cookieverf);
  w.u32(a.dircount);
  w.u32(a.maxcount);
}

/** Decodes READDIRPLUS arguments. */
export function decodeReaddirplusArgs(r: XdrReader): ReaddirplusArgs {
  const dir = decodeFh3(r);
  const cookie = r.u64big("cookie3");
  const cookieverf = decodeVerf(r, "cookieverf3");
  const dircount = r.u32("dircount");
  const maxcount = r.u32("maxcount");
  return { dir, cookie, cookieverf, dircount, maxcount };
}

// ---------------------------------------------------------------------------
// Results

/** GETATTR result. */
export interface GetattrRes {
  /** Status. */
  status: Nfs3Status;
  /** Attributes (OK only). */
  attrs?: Fattr3;
}

/** Encodes a GETATTR result. */
export function encodeGetattrRes(w: XdrWriter, res: GetattrRes): void {
  w.u32(res.status);
  if (res.status === 0) encodeFattr3(w, res.attrs!);
}

/** Decodes a GETATTR result. */
export function decodeGetattrRes(r: XdrReader): GetattrRes {
  const status = r.u32("nfsstat3");
  return status === 0 ? { status, attrs: decodeFattr3(r) } : { status };
}

/**
 * A result that is only `wcc_data` (SETATTR, REMOVE, RMDIR; WRITE and COMMIT on failure).
 */
export interface WccRes {
  /** Status. */
  status: Nfs3Status;
  /** The object's (or directory's) wcc data. */
  wcc?: WccData;
}

/** Encodes a SETATTR / REMOVE / RMDIR result. */
export function encodeWccRes(w: XdrWriter, res: WccRes): void {
  w.u32(res.status);
  encodeWccData(w, res.wcc);
}

/** Decodes a SETATTR / REMOVE / RMDIR result. */
export function decodeWccRes(r: XdrReader): WccRes {
  const status = r.u32("nfsstat3");
  return { status, wcc: decodeWccData(r) };
}

/** LOOKUP result. */
export interface LookupRes {
  /** Status. */
  status: Nfs3Status;
  /** The object's handle (OK). */
  object?: Uint8Array;
  /** The object's attributes (OK). */
  objAttrs?: Fattr3;
  /** The directory's attributes. */
  dirAttrs?: Fattr3;
}

/** Encodes a LOOKUP result. */
export function encodeLookupRes(w: XdrWriter, res: LookupRes): void {
  w.u32(res.status);
  if (res.status === 0) {
    encodeFh3(w, res.object!);
    encodePostOpAttr(w, res.objAttrs);
  }
  encodePostOpAttr(w, res.dirAttrs);
}

/** Decodes a LOOKUP result. */
export function decodeLookupRes(r: XdrReader): LookupRes {
  const status = r.u32("nfsstat3");
  if (status !== 0) return { status, dirAttrs: decodePostOpAttr(r) };
  const object = decodeFh3(r);
  const objAttrs = decodePostOpAttr(r);
  const dirAttrs = decodePostOpAttr(r);
  return { status, object, objAttrs, dirAttrs };
}

/** ACCESS result. */
export interface AccessRes {
  /** Status. */
  status: Nfs3Status;
  /** The object's attributes (also on failure). */
  attrs?: Fattr3;
  /** Granted {@link Access3} bits (OK). */
  access?: number;
}

/** Encodes an ACCESS result. */
export function encodeAccessRes(w: XdrWriter, res: AccessRes): void {
  w.u32(res.status);
  encodePostOpAttr(w, res.attrs);
  if (res.status === 0) w.u32(res.access ?? 0);
}

/** Decodes an ACCESS result. */
export function decodeAccessRes(r: XdrReader): AccessRes {
  const status = r.u32("nfsstat3");
  const attrs = decodePostOpAttr(r);
  return status === 0
    ? { status, attrs, access: r.u32("access") }
    : { status, attrs };
}

/** READLINK result. */
export interface ReadlinkRes {
  /** Status. */
  status: Nfs3Status;
  /** The link's attributes. */
  attrs?: Fattr3;
  /** The target (OK). */
  target?: string;
}

/** Encodes a READLINK result. */
export function encodeReadlinkRes(w: XdrWriter, res: ReadlinkRes): void {
  w.u32(res.status);
  encodePostOpAttr(w, res.attrs);
  if (res.status === 0) w.string(res.target ?? "");
}

/** Decodes a READLINK result. */
export function decodeReadlinkRes(r: XdrReader): ReadlinkRes {
  const status = r.u32("nfsstat3");
  const attrs = decodePostOpAttr(r);
  if (status !== 0) return { status, attrs };
  return { status, attrs, target: r.string(NFS3_MAXPATHLEN, "nfspath3") };
}

/** READ result. */
export interface ReadRes {
  /** Status. */
  status: Nfs3Status;
  /** The file's attributes. */
  attrs?: Fattr3;
  /** Whether the read reached end of file (OK). */
  eof?: boolean;
  /** The bytes (OK); `count` on the wire is their length. */
  data?: Uint8Array;
}

/**
 * Encodes a READ result. The data ends the reply and is passed to
 * `XdrWriter.opaqueRef`: a writer made with `refMin` keeps it by reference
 * and sends it uncopied; any other writer copies it in.
 */
export function encodeReadRes(w: XdrWriter, res: ReadRes): void {
  w.u32(res.status);
  encodePostOpAttr(w, res.attrs);
  if (res.status !== 0) return;
  const data = res.data ?? new Uint8Array(0);
  w.u32(data.byteLength);
  w.bool(res.eof ?? false);
  // The data ends the reply: a writer that allows it sends it uncopied.
  w.opaqueRef(data);
}

/** Decodes a READ result; `data` is a view into the reply. */
export function decodeReadRes(r: XdrReader): ReadRes {
  const status = r.u32("nfsstat3");
  const attrs = decodePostOpAttr(r);
  if (status !== 0) return { status, attrs };
  const count = r.u32("count");
  const eof = r.bool("eof");
  const data = r.opaque(r.remaining, "data");
  if (data.byteLength !== count) {
    throw new XdrError(
      `READ count ${count} differs from data length ${data.byteLength}`,
    );
  }
  return { status, attrs, eof, data };
}

/** WRITE result. */
export interface WriteRes {
  /** Status. */
  status: Nfs3Status;
  /** The file's wcc data. */
  wcc?: WccData;
  /** Bytes written (OK). */
  count?: number;
  /** {@link StableHow} actually achieved (OK). */
  committed?: number;
  /** The server's write verifier (OK). */
  verf?: Uint8Array;
}

/** Encodes a WRITE result. */
export function encodeWriteRes(w: XdrWriter, res: WriteRes): void {
  w.u32(res.status);
  encodeWccData(w, res.wcc);
  if (res.status !== 0) return;
  w.u32(res.count ?? 0);
  w.u32(res.committed ?? 0);
  encodeVerf(w, res.verf ?? new Uint8Array(8));
}

/** Decodes a WRITE result. */
export function decodeWriteRes(r: XdrReader): WriteRes {
  const status = r.u32("nfsstat3");
  const wcc = decodeWccData(r);
  if (status !== 0) return { status, wcc };
  const count = r.u32("count");
  const committed = r.u32("stable_how");
  const verf = decodeVerf(r, "writeverf3");
  return { status, wcc, count, committed, verf };
}

/** CREATE / MKDIR / SYMLINK / MKNOD result. */
export interface CreateRes {
  /** Status. */
  status: Nfs3Status;
  /** The new object's handle (OK). */
  object?: Uint8Array;
  /** The new object's attributes (OK). */
  attrs?: Fattr3;
  /** The directory's wcc data. */
  dirWcc?: WccData;
}

/** Encodes a CREATE / MKDIR / SYMLINK / MKNOD result. */
export function encodeCreateRes(w: XdrWriter, res: CreateRes): void {
  w.u32(res.status);
  if (res.status === 0) {
    encodePostOpFh3(w, res.object);
    encodePostOpAttr(w, res.attrs);
  }
  encodeWccData(w, res.dirWcc);
}

/** Decodes a CREATE / MKDIR / SYMLINK / MKNOD result. */
export function decodeCreateRes(r: XdrReader): CreateRes {
  const status = r.u32("nfsstat3");
  if (status !== 0) return { status, dirWcc: decodeWccData(r) };
  const object = decodePostOpFh3(r);
  const attrs = decodePostOpAttr(r);
  const dirWcc = decodeWccData(r);
  return { status, object, attrs, dirWcc };
}

/** RENAME result. */
export interface RenameRes {
  /** Status. */
  status: Nfs3Status;
  /** Source directory's wcc data. */
  fromWcc?: WccData;
  /** Target directory's wcc data. */
  toWcc?: WccData;
}

/** Encodes a RENAME result. */
export function encodeRenameRes(w: XdrWriter, res: RenameRes): void {
  w.u32(res.status);
  encodeWccData(w, res.fromWcc);
  encodeWccData(w, res.toWcc);
}

/** Decodes a RENAME result. */
export function decodeRenameRes(r: XdrReader): RenameRes {
  const status = r.u32("nfsstat3");
  const fromWcc = decodeWccData(r);
  const toWcc = decodeWccData(r);
  return { status, fromWcc, toWcc };
}

/** LINK result. */
export interface LinkRes {
  /** Status. */
  status: Nfs3Status;
  /** The linked object's attributes. */
  attrs?: Fattr3;
  /** The directory's wcc data. */
  dirWcc?: WccData;
}

/** Encodes a LINK result. */
export function encodeLinkRes(w: XdrWriter, res: LinkRes): void {
  w.u32(res.status);
  encodePostOpAttr(w, res.attrs);
  encodeWccData(w, res.dirWcc);
}

/** Decodes a LINK result. */
export function decodeLinkRes(r: XdrReader): LinkRes {
  const status = r.u32("nfsstat3");
  const attrs = decodePostOpAttr(r);
  const dirWcc = decodeWccData(r);
  return { status, attrs, dirWcc };
}

/** One READDIR / READDIRPLUS entry. */
export interface Entry3 {
  /** File id. */
  fileid: number;
  /** Name. */
  name: string;
  /** Cookie to resume after this entry. */
  cookie: bigint;
  /** Attributes (READDIRPLUS). */
  attrs?: Fattr3;
  /** Handle (READDIRPLUS). */
  handle?: Uint8Array;
}

/** READDIR / READDIRPLUS result. */
export interface ReaddirRes {
  /** Status. */
  status: Nfs3Status;
  /** The directory's attributes. */
  dirAttrs?: Fattr3;
  /** Cookie verifier (OK). */
  cookieverf?: Uint8Array;
  /** Entries (OK). */
  entries?: Entry3[];
  /** Whether the listing is complete (OK). */
  eof?: boolean;
}

/** Encoded bytes of an XDR string with `byteLength` bytes of content. */
export function xdrStringSize(byteLength: number): number {
  return 4 + ((byteLength + 3) & ~3);
}

/** UTF-8 length of a string, without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Encoded size of one READDIR `entry3`, including its "value follows" word. */
export function entry3Size(nameBytes: number): number {
  return 4 + 8 + xdrStringSize(nameBytes) + 8;
}

/** Encoded size of one `entryplus3`, including its "value follows" word. */
export function entryplus3Size(
  nameBytes: number,
  hasAttrs: boolean,
  handleBytes: number | undefined,
): number {
  return entry3Size(nameBytes) + 4 + (hasAttrs ? FATTR3_SIZE : 0) + 4 +
    (handleBytes === undefined ? 0 : xdrStringSize(handleBytes));
}

function encodeEntries(
  w: XdrWriter,
  entries: readonly Entry3[],
  plus: boolean,
): void {
  for (const e of entries) {
    w.u32(1);
    w.u64(e.fileid);
    w.string(e.name);
    w.u64big(e.cookie);
    if (plus) {
      encodePostOpAttr(w, e.attrs);
      encodePostOpFh3(w, e.handle);
    }
  }
  w.u32(0);
}

function decodeEntries(r: XdrReader, plus: boolean): Entry3[] {
  // Each entry takes at least 24 bytes, which bounds the list by the reply.
  return r.list(r.remaining >>> 4, (r) => {
    const fileid = u64n(r, "fileid3");
    const name = r.string(NFS3_MAXPATHLEN, "filename3");
    const cookie = r.u64big("cookie3");
    if (!plus) return { fileid, name, cookie };
    const attrs = decodePostOpAttr(r);
    const handle = decodePostOpFh3(r);
    const e: Entry3 = { fileid, name, cookie };
    if (attrs) e.attrs = attrs;
    if (handle) e.handle = handle;
    return e;
  }, "entry3");
}

/** Encodes a READDIR result. */
export function encodeReaddirRes(w: XdrWriter, res: ReaddirRes): void {
  encodeDirResult(w, res, false);
}

/** Encodes a READDIRPLUS result. */
export function encodeReaddirplusRes(w: XdrWriter, res: ReaddirRes): void {
  encodeDirResult(w, res, true);
}

function encodeDirResult(
  w: XdrWriter,
  res: ReaddirRes,
  plus: boolean,
): void {
  w.u32(res.status);
  encodePostOpAttr(w, res.dirAttrs);
  if (res.status !== 0) return;
  encodeVerf(w, res.cookieverf ?? new Uint8Array(8));
  encodeEntries(w, res.entries ?? [], plus);
  w.bool(res.eof ?? false);
}

function decodeDirResult(r: XdrReader, plus: boolean): ReaddirRes {
  const status = r.u32("nfsstat3");
  const dirAttrs = decodePostOpAttr(r);
  if (status !== 0) return { status, dirAttrs };
  const cookieverf = decodeVerf(r, "cookieverf3");
  const entries = decodeEntries(r, plus);
  const eof = r.bool("eof");
  return { status, dirAttrs, cookieverf, entries, eof };
}

/** Decodes a READDIR result. */
export function decodeReaddirRes(r: XdrReader): ReaddirRes {
  return decodeDirResult(r, false);
}

/** Decodes a READDIRPLUS result. */
export function decodeReaddirplusRes(r: XdrReader): ReaddirRes {
  return decodeDirResult(r, true);
}

/** FSSTAT result. */
export interface FsstatRes {
  /** Status. */
  status: Nfs3Status;
  /** The object's attributes. */
  attrs?: Fattr3;
  /** Total bytes. */
  tbytes?: number;
  /** Free bytes. */
  fbytes?: number;
  /** Bytes available to the caller. */
  abytes?: number;
  /** Total file slots. */
  tfiles?: number;
  /** Free file slots. */
  ffiles?: number;
  /** File slots available to the caller. */
  afiles?: number;
  /** Seconds the values stay valid. */
  invarsec?: number;
}

/** Encodes an FSSTAT result. */
export function encodeFsstatRes(w: XdrWriter, res: FsstatRes): void {
  w.u32(res.status);
  encodePostOpAttr(w, res.attrs);
  if (res.status !== 0) return;
  w.u64(res.tbytes ?? 0).u64(res.fbytes ?? 0).u64(res.abytes ?? 0);
  w.u64(res.tfiles ?? 0).u64(res.ffiles ?? 0).u64(res.afiles ?? 0);
  w.u32(res.invarsec ?? 0);
}

/** Decodes an FSSTAT result. */
export function decodeFsstatRes(r: XdrReader): FsstatRes {
  const status = r.u32("nfsstat3");
  const attrs = decodePostOpAttr(r);
  if (status !== 0) return { status, attrs };
  return {
    status,
    attrs,
    tbytes: u64n(r, "tbytes"),
    fbytes: u64n(r, "fbytes"),
    abytes: u64n(r, "abytes"),
    tfiles: u64n(r, "tfiles"),
    ffiles: u64n(r, "ffiles"),
    afiles: u64n(r, "afiles"),
    invarsec: r.u32("invarsec"),
  };
}

/** FSINFO result. */
export interface FsinfoRes {
  /** Status. */
  status: Nfs3Status;
  /** The root's attributes. */
  attrs?: Fattr3;
  /** Largest READ. */
  rtmax?: number;
  /** Preferred READ size. */
  rtpref?: number;
  /** Suggested READ multiple. */
  rtmult?: number;
  /** Largest WRITE. */
  wtmax?: number;
  /** Preferred WRITE size. */
  wtpref?: number;
  /** Suggested WRITE multiple. */
  wtmult?: number;
  /** Preferred READDIR size. */
  dtpref?: number;
  /** Largest file size. */
  maxfilesize?: number;
  /** Time granularity. */
  timeDelta?: Time3;
  /** {@link FsfProps} bits. */
  properties?: number;
}

/** Encodes an FSINFO result. */
export function encodeFsinfoRes(w: XdrWriter, res: FsinfoRes): void {
  w.u32(res.status);
  encodePostOpAttr(w, res.attrs);
  if (res.status !== 0) return;
  w.u32(res.rtmax ?? 0).u32(res.rtpref ?? 0).u32(res.rtmult ?? 0);
  w.u32(res.wtmax ?? 0).u32(res.wtpref ?? 0).u32(res.wtmult ?? 0);
  w.u32(res.dtpref ?? 0);
  w.u64(res.maxfilesize ?? 0);
  encodeTime3(w, res.timeDelta ?? { sec: 0, nsec: 1 });
  w.u32(res.properties ?? 0);
}

/** Decodes an FSINFO result. */
export function decodeFsinfoRes(r: XdrReader): FsinfoRes {
  const status = r.u32("nfsstat3");
  const attrs = decodePostOpAttr(r);
  if (status !== 0) return { status, attrs };
  return {
    status,
    attrs,
    rtmax: r.u32("rtmax"),
    rtpref: r.u32("rtpref"),
    rtmult: r.u32("rtmult"),
    wtmax: r.u32("wtmax"),
    wtpref: r.u32("wtpref"),
    wtmult: r.u32("wtmult"),
    dtpref: r.u32("dtpref"),
    maxfilesize: u64n(r, "maxfilesize"),
    timeDelta: decodeTime3(r),
    properties: r.u32("properties"),
  };
}

/** PATHCONF result. */
export interface PathconfRes {
  /** Status. */
  status: Nfs3Status;
  /** The object's attributes. */
  attrs?: Fattr3;
  /** Most hard links. */
  linkmax?: number;
  /** Longest name. */
  nameMax?: number;
  /** Whether over-long names are an error rather than truncated. */
  noTrunc?: boolean;
  /** Whether changing ownership is restricted to root. */
  chownRestricted?: boolean;
  /** Whether names are case-insensitive. */
  caseInsensitive?: boolean;
  /** Whether case is preserved. */
  casePreserving?: boolean;
}

/** Encodes a PATHCONF result. */
export function encodePathconfRes(w: XdrWriter, res: PathconfRes): void {
  w.u32(res.status);
  encodePostOpAttr(w, res.attrs);
  if (res.status !== 0) return;
  w.u32(res.linkmax ?? 0).u32(res.nameMax ?? 0);
  w.bool(res.noTrunc ?? true).bool(res.chownRestricted ?? true);
  w.bool(res.caseInsensitive ?? false).bool(res.casePreserving ?? true);
}

/** Decodes a PATHCONF result. */
export function decodePathconfRes(r: XdrReader): PathconfRes {
  const status = r.u32("nfsstat3");
  const attrs = decodePostOpAttr(r);
  if (status !== 0) return { status, attrs };
  return {
    status,
    attrs,
    linkmax: r.u32("linkmax"),
    nameMax: r.u32("name_max"),
    noTrunc: r.bool("no_trunc"),
    chownRestricted: r.bool("chown_restricted"),
    caseInsensitive: r.bool("case_insensitive"),
    casePreserving: r.bool("case_preserving"),
  };
}

/** COMMIT result. */
export interface CommitRes {
  /** Status. */
  status: Nfs3Status;
  /** The file's wcc data. */
  wcc?: WccData;
  /** The server's write verifier (OK). */
  verf?: Uint8Array;
}

/** Encodes a COMMIT result. */
export function encodeCommitRes(w: XdrWriter, res: CommitRes): void {
  w.u32(res.status);
  encodeWccData(w, res.wcc);
  if (res.status === 0) encodeVerf(w, res.verf ?? new Uint8Array(8));
}

/** Decodes a COMMIT result. */
export function decodeCommitRes(r: XdrReader): CommitRes {
  const status = r.u32("nfsstat3");
  const wcc = decodeWccData(r);
  if (status !== 0) return { status, wcc };
  return { status, wcc, verf: decodeVerf(r, "writeverf3") };
}
