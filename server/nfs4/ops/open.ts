/**
 * NFSv4 OPEN, OPEN_CONFIRM (4.0), OPEN_DOWNGRADE and CLOSE.
 *
 * OPEN, in order:
 * 1. Arguments 4.0 does not have (CLAIM_FH and the other claims by
 *    filehandle, EXCLUSIVE4_1): NFS4ERR_BADXDR; access or deny bits out of
 *    range: NFS4ERR_INVAL.
 * 2. The state's first half ({@link Nfs4State.openBegin}): the client,
 *    4.0 owner sequencing (a retransmission gets its kept reply, and the
 *    filehandle it made current), the grace period. Nothing has touched the
 *    file system yet.
 * 3. The file, by claim: CLAIM_NULL by name in the current directory,
 *    creating it as asked; CLAIM_PREVIOUS (a reclaim in the grace period,
 *    NFS4ERR_RECLAIM_BAD for a delegation, since none was ever granted) and
 *    CLAIM_FH the current filehandle; CLAIM_DELEGATE_CUR and
 *    CLAIM_DELEG_CUR_FH name a delegation stateid, never granted here, so
 *    NFS4ERR_BAD_STATEID (or the stateid's own error);
 *    CLAIM_DELEGATE_PREV and CLAIM_DELEG_PREV_FH are NFS4ERR_NOTSUPP.
 *    Not a regular file: NFS4ERR_ISDIR, NFS4ERR_SYMLINK, or 4.1's
 *    NFS4ERR_WRONG_TYPE.
 * 4. Creation, only by name (another claim with OPEN4_CREATE is
 *    NFS4ERR_INVAL): UNCHECKED4 opens an existing file (truncating it for a size
 *    of 0), GUARDED4 refuses one (NFS4ERR_EXIST); EXCLUSIVE4 and
 *    EXCLUSIVE4_1 store the verifier in the new file's mtime and atime
 *    seconds (as knfsd does), so a retry with the same verifier finds its
 *    own file, empty, after a server restart too, and succeeds, while
 *    another verifier gets NFS4ERR_EXIST. The result's `attrset` names the
 *    attributes set, the two times included for an exclusive create, which
 *    the client then sets with SETATTR.
 * 5. Permission for the access asked (read: read or execute permission;
 *    write or truncate: write permission), except for the file's creator;
 *    write access or creation on a read-only export: NFS4ERR_ROFS.
 * 6. The share reservation ({@link Nfs4State.openFinish}):
 *    NFS4ERR_SHARE_DENIED on a conflict, then the truncation.
 *
 * The result: OPEN4_RESULT_LOCKTYPE_POSIX always, OPEN4_RESULT_CONFIRM for
 * a 4.0 owner that must OPEN_CONFIRM, no delegation (4.1: a client that
 * wanted one learns why not), the directory's change attribute before and
 * after. The opened file becomes the current filehandle, its stateid the
 * current stateid (4.1).
 *
 * @module
 */

import {
  createmode4,
  encode_CLOSE4res,
  encode_OPEN4res,
  encode_OPEN_CONFIRM4res,
  encode_OPEN_DOWNGRADE4res,
  nfs_opnum4,
  nfsstat4,
  OPEN4_RESULT_CONFIRM,
  OPEN4_RESULT_LOCKTYPE_POSIX,
  OPEN4_SHARE_ACCESS_WANT_CANCEL,
  OPEN4_SHARE_ACCESS_WANT_NO_DELEG,
  type OPEN4args,
  type OPEN4res,
  open_claim_type4,
  type open_delegation4,
  open_delegation_type4,
  opentype4,
  type stateid4,
  why_no_delegation4,
} from "../../../proto/nfs4/mod.ts";
import { Access, accessBits } from "../../../vfs/access.ts";
import type { Op } from "../compound.ts";
import type { CompoundState, Fh, Nfs4Server } from "../context.ts";
import { fail, nfs4StatusOf } from "../errors.ts";
import type { OpenOk } from "../state/opens.ts";
import { setCurrent } from "./fh.ts";
import { byName, type Found, NO_CINFO } from "./_open_create.ts";
import {
  check,
  keep,
  noDelegation,
  orReplay,
  type Replayed,
  replayed,
  requireRegular,
  sessionClient,
  sessionOf,
  settle,
  stateidArg,
} from "./_state.ts";
import { component } from "./_util.ts";

/** The filehandle each kept 4.0 OPEN reply made current, for its replay. */
const openedFh = new WeakMap<Uint8Array, Fh>();

/** The claims by filehandle: the current filehandle is the file. */
async function byFh(cs: CompoundState): Promise<Found> {
  const t = cs.target(nfsstat4.NFS4ERR_ISDIR);
  const attrs = await t.fs.getattr(t.cred, t.id);
  return {
    t,
    attrs,
    created: false,
    truncate: false,
    cinfo: NO_CINFO,
    attrset: [],
  };
}

/** Steps 3 and 4: the file by claim. */
function find(
  a: OPEN4args,
  cs: CompoundState,
  nfs: Nfs4Server,
): Promise<Found | typeof nfsstat4.NFS4ERR_NOENT> {
  const c = a.claim;
  if (
    c.claim !== open_claim_type4.CLAIM_NULL &&
    a.openhow.opentype === opentype4.OPEN4_CREATE
  ) {
    fail(nfsstat4.NFS4ERR_INVAL);
  }
  switch (c.claim) {
    case open_claim_type4.CLAIM_NULL:
      return byName(a, component(c.file), cs, nfs);
    case open_claim_type4.CLAIM_PREVIOUS:
      if (c.delegate_type !== open_delegation_type4.OPEN_DELEGATE_NONE) {
        fail(nfsstat4.NFS4ERR_RECLAIM_BAD);
      }
      return byFh(cs);
    case open_claim_type4.CLAIM_FH:
      return byFh(cs);
    case open_claim_type4.CLAIM_DELEGATE_CUR:
      return noDelegation(c.delegate_cur_info.delegate_stateid, cs, nfs);
    case open_claim_type4.CLAIM_DELEG_CUR_FH:
      return noDelegation(c.oc_delegate_stateid, cs, nfs);
    default:
      fail(nfsstat4.NFS4ERR_NOTSUPP);
  }
}

/** Step 5: may the caller open `f` for `access`? */
function permit(f: Found, access: number): void {
  const write = (access & 2) !== 0 || f.truncate;
  if (write && f.t.exp.readOnly) fail(nfsstat4.NFS4ERR_ROFS);
  // The creator may use what it made whatever its mode (knfsd's owner
  // override for a new file).
  if (f.created) return;
  const bits = accessBits(
    f.attrs,
    f.t.cred,
    Access.READ | Access.MODIFY | Access.EXECUTE,
  );
  if ((access & 1) !== 0 && (bits & (Access.READ | Access.EXECUTE)) === 0) {
    fail(nfsstat4.NFS4ERR_ACCESS);
  }
  if (write && (bits & Access.MODIFY) === 0) fail(nfsstat4.NFS4ERR_ACCESS);
}

/** 4.1: why no delegation came, for a client that wanted one. */
function delegationFor(shareAccess: number, minor: number): open_delegation4 {
  const want = shareAccess & 0xff00;
  if (minor === 0 || want === 0) {
    return { delegation_type: open_delegation_type4.OPEN_DELEGATE_NONE };
  }
  return {
    delegation_type: open_delegation_type4.OPEN_DELEGATE_NONE_EXT,
    od_whynone: want === OPEN4_SHARE_ACCESS_WANT_NO_DELEG
      ? { ond_why: why_no_delegation4.WND4_NOT_WANTED }
      : want === OPEN4_SHARE_ACCESS_WANT_CANCEL
      ? { ond_why: why_no_delegation4.WND4_CANCELLED }
      : {
        ond_why: why_no_delegation4.WND4_RESOURCE,
        ond_server_will_signal_avail: false,
      },
  };
}

/** A stable name of an open owner for the file system's open hook. */
function ownerName(clientid: bigint, owner: Uint8Array): string {
  let hex = "";
  for (const b of owner) hex += b.toString(16).padStart(2, "0");
  return `${clientid.toString(16)}:${hex}`;
}

/** Takes back a new open whose truncation or open hook failed. */
function undo(nfs: Nfs4Server, ok: OpenOk): void {
  if (!ok.created) return;
  nfs.state.opens.release(ok.open);
  const owner = ok.open.owner;
  if (owner.minor >= 1 && owner.opens.size === 0) {
    nfs.state.opens.releaseOwner(owner);
  }
  nfs.state.released(ok.open);
}

/** Steps 3 to 6, after the state let the OPEN through. */
async function opening(
  a: OPEN4args,
  cs: CompoundState,
  nfs: Nfs4Server,
  clientid: bigint,
  access: number,
): Promise<OPEN4res> {
  const f = await find(a, cs, nfs);
  if (f === nfsstat4.NFS4ERR_NOENT) return { status: f };
  requireRegular(f.attrs.type, cs.minor);
  permit(f, access);
  const fh = nfs.fhOf({ kind: "export", exp: f.t.exp, fileid: f.t.id });
  const r = nfs.state.openFinish({
    minor: cs.minor,
    clientid,
    owner: a.owner.owner,
    seqid: a.seqid,
    file: cs.stateFile(fh),
    access,
    deny: a.share_deny,
    reclaim: a.claim.claim === open_claim_type4.CLAIM_PREVIOUS,
  }, nfs.now());
  check(r);
  try {
    if (f.truncate && f.attrs.size !== 0) {
      await f.t.fs.setattr(f.t.cred, f.t.id, { size: 0 });
    }
    await nfs.fsOpens.opened(f.t, r.open, {
      created: f.created === true,
      owner: ownerName(clientid, a.owner.owner),
    });
  } catch (e) {
    undo(nfs, r);
    throw e;
  }
  setCurrent(cs, fh);
  cs.currentStateid = r.stateid;
  return {
    status: nfsstat4.NFS4_OK,
    resok4: {
      stateid: r.stateid,
      cinfo: f.cinfo,
      rflags: OPEN4_RESULT_LOCKTYPE_POSIX |
        (r.confirm ? OPEN4_RESULT_CONFIRM : 0),
      attrset: f.attrset,
      delegation: delegationFor(a.share_access, cs.minor),
    },
  };
}

async function open(
  a: OPEN4args,
  cs: CompoundState,
  nfs: Nfs4Server,
): Promise<OPEN4res | Replayed> {
  cs.current();
  const claim = a.claim.claim;
  const how = a.openhow.opentype === opentype4.OPEN4_CREATE
    ? a.openhow.how.mode
    : undefined;
  if (
    cs.minor === 0 &&
    (claim > open_claim_type4.CLAIM_DELEGATE_PREV ||
      how === createmode4.EXCLUSIVE4_1)
  ) {
    fail(nfsstat4.NFS4ERR_BADXDR);
  }
  // 4.1 puts delegation wishes (at most WANT_CANCEL) and two flags above
  // the access bits; 4.0 has none.
  const access = a.share_access & (cs.minor === 0 ? 0xffffffff : 0xff);
  const want = a.share_access & ~0xff;
  if (
    access < 1 || access > 3 || a.share_deny > 3 ||
    (cs.minor >= 1 &&
      ((want & ~0x3ff00) !== 0 ||
        (want & 0xff00) > OPEN4_SHARE_ACCESS_WANT_CANCEL))
  ) {
    fail(nfsstat4.NFS4ERR_INVAL);
  }
  const clientid = cs.minor === 0 ? a.owner.clientid : sessionOf(cs).clientid;
  const begun = nfs.state.openBegin({
    minor: cs.minor,
    clientid,
    owner: a.owner.owner,
    seqid: a.seqid,
    reclaim: claim === open_claim_type4.CLAIM_PREVIOUS,
  }, nfs.now());
  if ("replay" in begun) {
    const fh = openedFh.get(begun.replay);
    if (fh !== undefined) setCurrent(cs, fh);
    return replayed(begun.replay);
  }
  let res: OPEN4res;
  try {
    check(begun);
    res = await opening(a, cs, nfs, clientid, access);
  } catch (e) {
    res = { status: nfs4StatusOf(e, nfs.log, "OPEN") };
  }
  const kept = keep(begun.seq, encode_OPEN4res, res);
  if (kept !== undefined && res.status === nfsstat4.NFS4_OK) {
    openedFh.set(kept, cs.current());
  }
  return res;
}

/** OPEN_CONFIRM's and OPEN_DOWNGRADE's success: the open stateid. */
function withStateid(ok: { stateid: stateid4 }) {
  return { status: nfsstat4.NFS4_OK, resok4: { open_stateid: ok.stateid } };
}

/** The open operations by number. */
export const openOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_OPEN, {
    name: "OPEN",
    encode: orReplay(encode_OPEN4res),
    run: open,
  }],
  [nfs_opnum4.OP_OPEN_CONFIRM, {
    name: "OPEN_CONFIRM",
    encode: orReplay(encode_OPEN_CONFIRM4res),
    until: 0,
    run: (a, cs, nfs) =>
      settle(
        cs,
        nfs.state.openConfirm({
          minor: cs.minor,
          stateid: a.open_stateid,
          seqid: a.seqid,
          file: cs.stateFile(),
        }, nfs.now()),
        withStateid,
        encode_OPEN_CONFIRM4res,
      ),
  }],
  [nfs_opnum4.OP_OPEN_DOWNGRADE, {
    name: "OPEN_DOWNGRADE",
    encode: orReplay(encode_OPEN_DOWNGRADE4res),
    run: (a, cs, nfs) =>
      settle(
        cs,
        nfs.state.openDowngrade({
          minor: cs.minor,
          clientid: sessionClient(cs),
          stateid: stateidArg(cs, a.open_stateid),
          seqid: a.seqid,
          file: cs.stateFile(),
          access: a.share_access,
          deny: a.share_deny,
        }, nfs.now()),
        withStateid,
        encode_OPEN_DOWNGRADE4res,
      ),
  }],
  [nfs_opnum4.OP_CLOSE, {
    name: "CLOSE",
    encode: orReplay(encode_CLOSE4res),
    run: (a, cs, nfs) =>
      settle(
        cs,
        nfs.state.close({
          minor: cs.minor,
          clientid: sessionClient(cs),
          stateid: stateidArg(cs, a.open_stateid),
          seqid: a.seqid,
          file: cs.stateFile(),
        }, nfs.now()),
        (ok) => ({ status: nfsstat4.NFS4_OK, open_stateid: ok.stateid }),
        encode_CLOSE4res,
      ),
  }],
]);
