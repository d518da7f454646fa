/**
 * NFSv3 procedure arguments: one interface and one encoder/decoder pair per
 * shape, `encodeXArgs`/`decodeXArgs`. Procedures of one shape share a codec:
 * `FhArgs` (GETATTR, READLINK, FSSTAT, FSINFO, PATHCONF), `DirOpArgs`
 * (LOOKUP, REMOVE, RMDIR), `ReadArgs` (READ and COMMIT). WRITE's data is
 * written by reference and decoded as a view into the request.
 *
 * @module
 */

import type { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import { XdrError } from "../../rpc/xdr.ts";
import { decodeName, decodeVerf, encodeVerf } from "./_wire.ts";
import {
  decodeFh3,
  decodeSattr3,
  decodeTime3,
  encodeFh3,
  encodeSattr3,
  encodeTime3,
} from "./attrs.ts";
import {
  CreateMode,
  Ftype3,
  NFS3_MAXPATHLEN,
  type Sattr3,
  type Time3,
} from "./types.ts";

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
