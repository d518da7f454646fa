/**
 * NFSv3's basic and attribute codecs: `nfstime3`, `nfs_fh3`, `fattr3`,
 * `post_op_attr`, `pre_op_attr`, `wcc_data`, `post_op_fh3` and `sattr3`.
 * Every argument and result codec is built from these; `fattr3` is on the
 * hot path of GETATTR, LOOKUP and READDIRPLUS replies.
 *
 * @module
 */

import type { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import { XdrError } from "../../rpc/xdr.ts";
import { u64n } from "./_wire.ts";
import {
  type Fattr3,
  NFS3_FHSIZE,
  type Sattr3,
  type SetTime3,
  type Time3,
  type WccAttr,
  type WccData,
} from "./types.ts";

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
