/**
 * NFSv4 attribute operations: GETATTR, SETATTR, VERIFY, NVERIFY and
 * ACCESS, on export objects and pseudo directories alike.
 *
 * - GETATTR answers the requested attributes it supports and leaves the
 *   others out of the reply's mask; a write-only one is NFS4ERR_INVAL.
 * - SETATTR sets size, mode, owner, owner_group and the times; a read-only
 *   attribute is NFS4ERR_INVAL, one it cannot set NFS4ERR_ATTRNOTSUPP.
 *   A size change checks the stateid (an open or lock stateid with write
 *   access, or the anonymous stateid when no share reservation denies
 *   writing); other changes ignore it. A directory's size is
 *   NFS4ERR_ISDIR, another non-file's NFS4ERR_INVAL. Every result carries
 *   `attrsset`, empty on failure (nothing is set unless everything is).
 *   Pseudo directories and read-only exports: NFS4ERR_ROFS.
 * - VERIFY and NVERIFY compare the client's values with the encoding of
 *   the server's, byte for byte; `rdattr_error` or a write-only attribute
 *   is NFS4ERR_INVAL, an unsupported one NFS4ERR_ATTRNOTSUPP.
 * - ACCESS answers the bits it can decide for the object's type (on a
 *   non-directory, LOOKUP and DELETE are not "supported"), without write
 *   bits on a read-only export; bits above EXECUTE are NFS4ERR_INVAL (in
 *   4.2, above XALIST). A pseudo directory allows READ and LOOKUP. 4.2's
 *   XAREAD and XALIST are READ, XAWRITE is MODIFY, on regular files and
 *   directories of a file system with extended attributes (RFC 8276
 *   section 8.4.1.1); elsewhere they are not supported.
 *
 * @module
 */

import {
  ACCESS4_XALIST,
  ACCESS4_XAREAD,
  ACCESS4_XAWRITE,
  bitmapHas,
  encode_ACCESS4res,
  encode_GETATTR4res,
  encode_NVERIFY4res,
  encode_SETATTR4res,
  encode_VERIFY4res,
  type fattr4,
  FATTR4_RDATTR_ERROR,
  nfs_opnum4,
  nfsstat4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import { Access, ACCESS_CHANGE_BITS } from "../../../vfs/access.ts";
import { FileType } from "../../../vfs/types.ts";
import {
  AttrReader,
  decodeClientAttrs,
  readRequest,
  setAttrsOf,
} from "../attrs.ts";
import type { Op } from "../compound.ts";
import type { CompoundState, Nfs4Server } from "../context.ts";
import { fail } from "../errors.ts";
import type { Session } from "../state/sessions.ts";
import { OK, stateFile } from "./_util.ts";

const ALL_ACCESS = 0x3f;
const FILE_ACCESS = Access.READ | Access.MODIFY | Access.EXTEND |
  Access.EXECUTE;
const PSEUDO_ACCESS = Access.READ | Access.LOOKUP;
const XA_ACCESS = ACCESS4_XAREAD | ACCESS4_XAWRITE | ACCESS4_XALIST;

/** The ACCESS bits an xattr bit is decided by. */
function xattrBase(mask: number): number {
  return ((mask & (ACCESS4_XAREAD | ACCESS4_XALIST)) !== 0 ? Access.READ : 0) |
    ((mask & ACCESS4_XAWRITE) !== 0 ? Access.MODIFY : 0);
}

/**
 * The stateid an operation acts on: 4.1's "current stateid" (seqid 1,
 * other all zeros) replaced by the COMPOUND's current stateid, or
 * NFS4ERR_BAD_STATEID when there is none.
 */
export function effectiveStateid(cs: CompoundState, s: stateid4): stateid4 {
  if (cs.minor === 0 || s.seqid !== 1 || s.other.some((b) => b !== 0)) {
    return s;
  }
  if (cs.currentStateid === undefined) fail(nfsstat4.NFS4ERR_BAD_STATEID);
  return cs.currentStateid;
}

async function setattr(
  stateid: stateid4,
  f: fattr4,
  cs: CompoundState,
  nfs: Nfs4Server,
) {
  const fh = cs.current();
  const { attrs, set } = setAttrsOf(f, cs, nfs);
  const t = cs.target(nfsstat4.NFS4ERR_ROFS, fh);
  if (t.exp.readOnly) fail(nfsstat4.NFS4ERR_ROFS);
  if (attrs.size !== undefined) {
    const a = await t.fs.getattr(t.cred, t.id);
    if (a.type === FileType.Directory) fail(nfsstat4.NFS4ERR_ISDIR);
    if (a.type !== FileType.Regular) fail(nfsstat4.NFS4ERR_INVAL);
    const r = nfs.state.checkIo({
      minor: cs.minor,
      clientid: (cs.session as Session | undefined)?.clientid,
      stateid: effectiveStateid(cs, stateid),
      file: stateFile(t.exp, t.id),
      io: "write",
    }, nfs.now());
    if (r.status !== nfsstat4.NFS4_OK) fail(r.status);
  }
  await t.fs.setattr(t.cred, t.id, attrs);
  return { status: nfsstat4.NFS4_OK, attrsset: set };
}

/** Whether the object's attributes are those of `f` (VERIFY, NVERIFY). */
async function same(
  f: fattr4,
  cs: CompoundState,
  nfs: Nfs4Server,
): Promise<boolean> {
  const fh = cs.current();
  decodeClientAttrs(f, cs.minor);
  if (bitmapHas(f.attrmask, FATTR4_RDATTR_ERROR)) {
    fail(nfsstat4.NFS4ERR_INVAL, "rdattr_error cannot be verified");
  }
  const want = readRequest(f.attrmask, cs.minor);
  const asked = f.attrmask.slice();
  while (asked.length > 0 && asked[asked.length - 1] === 0) asked.pop();
  if (want.length !== asked.length || want.some((w, i) => w !== asked[i])) {
    fail(nfsstat4.NFS4ERR_ATTRNOTSUPP);
  }
  const mine = await new AttrReader(cs, nfs, want).fattr(fh.obj, fh.fh);
  const a = mine.attr_vals;
  const b = f.attr_vals;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function access(mask: number, cs: CompoundState) {
  const fh = cs.current();
  const known = cs.minor >= 2 ? ALL_ACCESS | XA_ACCESS : ALL_ACCESS;
  if ((mask & ~known) !== 0) {
    fail(nfsstat4.NFS4ERR_INVAL, `Unknown access bits: ${mask}`);
  }
  if (fh.obj.kind === "pseudo") {
    return resok(mask & ~XA_ACCESS, mask & PSEUDO_ACCESS);
  }
  const t = cs.target(nfsstat4.NFS4ERR_INVAL, fh);
  const a = await t.fs.getattr(t.cred, t.id);
  const xattrs = t.fs.xattrs !== undefined &&
      (a.type === FileType.Regular || a.type === FileType.Directory)
    ? mask & XA_ACCESS
    : 0;
  const plain = mask &
    (a.type === FileType.Directory ? ALL_ACCESS : FILE_ACCESS);
  const asked = plain | xattrBase(xattrs);
  let granted = asked === 0 ? 0 : await t.fs.access(t.cred, t.id, asked);
  if (t.exp.readOnly) granted &= ~ACCESS_CHANGE_BITS;
  const xGranted = xattrs &
    (((granted & Access.READ) !== 0 ? ACCESS4_XAREAD | ACCESS4_XALIST : 0) |
      ((granted & Access.MODIFY) !== 0 ? ACCESS4_XAWRITE : 0));
  return resok(plain | xattrs, (granted & plain) | xGranted);
}

function resok(supported: number, access: number) {
  return { status: nfsstat4.NFS4_OK, resok4: { supported, access } };
}

/** The attribute operations by number. */
export const attrOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_GETATTR, {
    name: "GETATTR",
    encode: encode_GETATTR4res,
    run: async (a, cs, nfs) => {
      const fh = cs.current();
      const r = new AttrReader(cs, nfs, readRequest(a.attr_request, cs.minor));
      const found = cs.lookedUp?.fh === fh ? cs.lookedUp.attrs : undefined;
      return {
        status: OK.status,
        resok4: { obj_attributes: await r.fattr(fh.obj, fh.fh, found) },
      };
    },
  }],
  [nfs_opnum4.OP_SETATTR, {
    name: "SETATTR",
    encode: encode_SETATTR4res,
    run: (a, cs, nfs) => setattr(a.stateid, a.obj_attributes, cs, nfs),
    failure: (status) => ({ status, attrsset: [] }),
  }],
  [nfs_opnum4.OP_VERIFY, {
    name: "VERIFY",
    encode: encode_VERIFY4res,
    run: async (a, cs, nfs) =>
      (await same(a.obj_attributes, cs, nfs))
        ? OK
        : { status: nfsstat4.NFS4ERR_NOT_SAME },
  }],
  [nfs_opnum4.OP_NVERIFY, {
    name: "NVERIFY",
    encode: encode_NVERIFY4res,
    run: async (a, cs, nfs) =>
      (await same(a.obj_attributes, cs, nfs))
        ? { status: nfsstat4.NFS4ERR_SAME }
        : OK,
  }],
  [nfs_opnum4.OP_ACCESS, {
    name: "ACCESS",
    encode: encode_ACCESS4res,
    run: (a, cs) => access(a.access, cs),
  }],
]);
