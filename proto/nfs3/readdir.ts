/**
 * READDIR and READDIRPLUS results, and the encoded sizes of their entries
 * (`entry3Size`, `entryplus3Size`) by which server/nfs3/readdir.ts pages a
 * listing to the client's byte counts. A decoded entry list is bounded by
 * the bytes left in the reply.
 *
 * @module
 */

import type { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import { decodeVerf, encodeVerf, u64n } from "./_wire.ts";
import {
  decodePostOpAttr,
  decodePostOpFh3,
  encodePostOpAttr,
  encodePostOpFh3,
} from "./attrs.ts";
import {
  type Fattr3,
  FATTR3_SIZE,
  NFS3_MAXPATHLEN,
  type Nfs3Status,
} from "./types.ts";

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
