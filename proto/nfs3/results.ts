/**
 * NFSv3 procedure results other than READDIR's (`readdir.ts`): one
 * interface and one encoder/decoder pair each, `encodeXRes`/`decodeXRes`.
 * A result is a flat object, `status` plus the fields of `resok` or
 * `resfail`; `WccRes` serves SETATTR, REMOVE and RMDIR, `CreateRes` CREATE,
 * MKDIR, SYMLINK and MKNOD. READ's data ends the reply and is written by
 * reference.
 *
 * @module
 */

import type { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import { XdrError } from "../../rpc/xdr.ts";
import { decodeVerf, encodeVerf, u64n } from "./_wire.ts";
import {
  decodeFattr3,
  decodeFh3,
  decodePostOpAttr,
  decodePostOpFh3,
  decodeTime3,
  decodeWccData,
  encodeFattr3,
  encodeFh3,
  encodePostOpAttr,
  encodePostOpFh3,
  encodeTime3,
  encodeWccData,
} from "./attrs.ts";
import {
  type Fattr3,
  NFS3_MAXPATHLEN,
  type Nfs3Status,
  type Time3,
  type WccData,
} from "./types.ts";

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
