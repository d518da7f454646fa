/**
 * The operations that open and lock files, across the state tables: OPEN,
 * OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE, LOCK, LOCKT, LOCKU,
 * RELEASE_LOCKOWNER and the stateid check of READ and WRITE. They are
 * methods of {@link Nfs4State}; this file holds their bodies.
 *
 * What they add to {@link OpenTable} and {@link LockTable}:
 * - NFSv4.0: the client ID must be confirmed (NFS4ERR_STALE_CLIENTID,
 *   NFS4ERR_EXPIRED); the owner's seqid is checked before the stateid's,
 *   since a retransmission carries a stateid that has moved on since; an
 *   OPEN by an owner that was never confirmed starts the owner afresh,
 *   dropping its unconfirmed opens; until OPEN_CONFIRM the owner's stateid
 *   is NFS4ERR_BAD_STATEID for everything but OPEN_CONFIRM;
 * - NFSv4.1: stateids must belong to the session's client;
 * - the grace period: new OPENs and LOCKs, and LOCKT, wait for it to end
 *   (NFS4ERR_GRACE), reclaims must come within it;
 * - every use renews the client's lease;
 * - READ and WRITE under the anonymous stateid (and READ under the bypass
 *   stateid) are checked against share deny bits; WRITE under the bypass
 *   stateid is NFS4ERR_BAD_STATEID, as are the current and invalid
 *   stateids, which the COMPOUND replaces before calling.
 *
 * @module
 */

import type { LockState } from "./locks.ts";
import { lockRange } from "./locks.ts";
import type { CloseOk, OpenOk, OpenState } from "./opens.ts";
import type { Replay, SeqidTicket, Sequenced } from "./seqid.ts";
import { specialStateid, type StateEntry } from "./stateids.ts";
import type { Nfs4State } from "./state.ts";
import { Nfs4Status } from "./status.ts";
import {
  fail,
  type Failure,
  ok,
  type Result,
  type Stateid,
  type StateOwner,
} from "./types.ts";
import type { Denied } from "./locks.ts";

const OK = Nfs4Status.NFS4_OK;

/** Arguments of OPEN. */
export interface OpenArgs {
  /** The COMPOUND's minor version. */
  minor: number;
  /** NFSv4.0: `open_owner.clientid`; NFSv4.1: the session's client. */
  clientid: bigint;
  /** `open_owner.owner`. */
  owner: Uint8Array;
  /** NFSv4.0: the request's seqid. */
  seqid?: number;
  /** The file opened (the caller's key). */
  file: string;
  /** `share_access` without the NFSv4.1 want bits. */
  access: number;
  /** `share_deny`. */
  deny: number;
  /** A reclaim (CLAIM_PREVIOUS). */
  reclaim?: boolean;
}

/** Arguments of the operations on an existing stateid. */
export interface StateidArgs {
  /** The COMPOUND's minor version. */
  minor: number;
  /** NFSv4.1: the session's client. */
  clientid?: bigint;
  /** The stateid presented. */
  stateid: Stateid;
  /** NFSv4.0: the request's seqid. */
  seqid?: number;
  /** The current filehandle's file. */
  file: string;
}

/** Who LOCK locks for (`locker4`). */
export type Locker =
  | {
    /** `open_to_lock_owner4`: a lock-owner new to this open. */
    newOwner: true;
    /** `open_stateid`. */
    openStateid: Stateid;
    /** NFSv4.0 `open_seqid`. */
    openSeqid?: number;
    /** NFSv4.0 `lock_seqid`. */
    lockSeqid?: number;
    /** `lock_owner`. */
    owner: StateOwner;
  }
  | {
    /** `exist_lock_owner4`. */
    newOwner: false;
    /** `lock_stateid`. */
    lockStateid: Stateid;
    /** NFSv4.0 `lock_seqid`. */
    lockSeqid?: number;
  };

/** A byte range with its lock type. */
export interface RangeArgs {
  /** The current filehandle's file. */
  file: string;
  /** A write lock (WRITE_LT, WRITEW_LT). */
  write: boolean;
  /** `offset`. */
  offset: bigint;
  /** `length`. */
  length: bigint;
}

/** Arguments of LOCK. */
export interface LockArgs extends RangeArgs {
  /** The COMPOUND's minor version. */
  minor: number;
  /** NFSv4.1: the session's client. */
  clientid?: bigint;
  /** A reclaim. */
  reclaim?: boolean;
  /** The lock-owner and stateid. */
  locker: Locker;
}

/** Arguments of LOCKT. */
export interface LocktArgs extends RangeArgs {
  /** NFSv4.0: `owner.clientid`; NFSv4.1: the session's client. */
  clientid: bigint;
  /** `owner.owner`. */
  owner: Uint8Array;
}

/** Arguments of LOCKU. */
export interface LockuArgs extends StateidArgs {
  /** `offset`. */
  offset: bigint;
  /** `length`. */
  length: bigint;
}

/** Arguments of the stateid check of READ, WRITE and SETATTR of size. */
export interface IoArgs {
  /** The COMPOUND's minor version. */
  minor: number;
  /** NFSv4.1: the session's client. */
  clientid?: bigint;
  /** The stateid presented (the current stateid already substituted). */
  stateid: Stateid;
  /** The current filehandle's file. */
  file: string;
  /** What the operation does. */
  io: "read" | "write";
}

type Resolved = { status: typeof OK; entry: StateEntry; seq?: SeqidTicket };

/** OPEN: {@link openBegin}, then {@link openFinish}. */
export function openFile(
  st: Nfs4State,
  a: OpenArgs,
  now: number,
): Sequenced<Result<OpenOk>> {
  const b = openBegin(st, a, now);
  if ("replay" in b || b.status !== OK) return b;
  return { ...openFinish(st, a, now), seq: b.seq };
}

/**
 * The half of OPEN that comes before the file is looked at, so that a
 * retransmission is answered before anything is created and a refusal
 * leaves the file system alone: the client ID (renewing its lease), in
 * NFSv4.0 the open-owner's seqid (an owner never confirmed starts afresh,
 * except for a retransmission of its last request), and the grace period. `file`, `access` and `deny` are not looked at.
 */
export function openBegin(
  st: Nfs4State,
  a: Omit<OpenArgs, "file" | "access" | "deny">,
  now: number,
): Sequenced<Result> {
  st.tick(now);
  const c = st.clients.lookup(a.clientid);
  if (c.status !== OK) return c;
  st.clients.renew(c.client, now);
  let seq: SeqidTicket | undefined;
  if (a.minor === 0) {
    const name = { clientid: a.clientid, owner: a.owner };
    const had = st.opens.findOwner(name);
    if (had !== undefined && !had.confirmed) {
      // A retransmission still gets its reply; anything else starts afresh.
      const r = had.seq.check(a.seqid ?? 0);
      if ("replay" in r) return r;
      for (const o of st.opens.releaseOwner(had)) st.released(o);
    }
    const s = st.opens.owner(name, 0).seq.check(a.seqid ?? 0);
    if (!("ticket" in s)) return s;
    seq = s.ticket;
  }
  const g = st.checkGrace(c.client, a.reclaim ?? false, now);
  return { ...g, seq };
}

/**
 * The half of OPEN after {@link openBegin} let it through and the caller
 * found (or made) the file: the share reservation, recorded for the owner.
 * The owner's seqid is not checked again.
 */
export function openFinish(
  st: Nfs4State,
  a: OpenArgs,
  now: number,
): Result<OpenOk> {
  st.tick(now);
  const c = st.clients.lookup(a.clientid);
  if (c.status !== OK) return c;
  const oo = st.opens.owner({ clientid: a.clientid, owner: a.owner }, a.minor);
  // A reclaim confirms its owner, as knfsd does: the Linux client does not
  // expect OPEN_CONFIRM after CLAIM_PREVIOUS (it would send it without a
  // filehandle).
  if (a.reclaim) oo.confirmed = true;
  const r = st.opens.open(oo, a.file, a.access, a.deny);
  if (r.status === OK) st.grace.record(c.client);
  else if (a.minor >= 1 && oo.opens.size === 0) st.opens.releaseOwner(oo);
  return r;
}

/** NFSv4.0 OPEN_CONFIRM. */
export function openConfirm(
  st: Nfs4State,
  a: StateidArgs,
  now: number,
): Sequenced<Result<{ stateid: Stateid }>> {
  const q = resolve(st, a, "open", now, true);
  if ("replay" in q || q.status !== OK) return q;
  return { ...st.opens.confirm(q.entry.data as OpenState), seq: q.seq };
}

/** OPEN_DOWNGRADE. */
export function openDowngrade(
  st: Nfs4State,
  a: StateidArgs & { access: number; deny: number },
  now: number,
): Sequenced<Result<{ stateid: Stateid }>> {
  const q = resolve(st, a, "open", now);
  if ("replay" in q || q.status !== OK) return q;
  const open = q.entry.data as OpenState;
  return { ...st.opens.downgrade(open, a.access, a.deny), seq: q.seq };
}

/** CLOSE; the open goes to `onRelease`, NFSv4.1 locks with it. */
export function closeFile(
  st: Nfs4State,
  a: StateidArgs,
  now: number,
): Sequenced<Result<CloseOk>> {
  const q = resolve(st, a, "open", now);
  if ("replay" in q || q.status !== OK) return q;
  const r = st.opens.close(q.entry.data as OpenState);
  if (r.status === OK) {
    for (const l of r.locks) st.locks.release(l as LockState);
    st.released(r.open);
  }
  return { ...r, seq: q.seq };
}

/** LOCK. */
export function lockRangeOp(
  st: Nfs4State,
  a: LockArgs,
  now: number,
): Sequenced<Result<{ stateid: Stateid }> | Denied> {
  const l = a.locker;
  const q = l.newOwner
    ? resolve(
      st,
      { ...a, stateid: l.openStateid, seqid: l.openSeqid },
      "open",
      now,
    )
    : resolve(
      st,
      { ...a, stateid: l.lockStateid, seqid: l.lockSeqid },
      "lock",
      now,
    );
  if ("replay" in q || q.status !== OK) return q;
  let seq = q.seq;
  const open = l.newOwner
    ? q.entry.data as OpenState
    : (q.entry.data as LockState).open;
  const clientid = q.entry.clientid;
  let lo = l.newOwner ? undefined : (q.entry.data as LockState).owner;
  if (l.newOwner) {
    if (a.minor === 0 && l.owner.clientid !== clientid) {
      return { ...fail(Nfs4Status.NFS4ERR_BAD_STATEID), seq };
    }
    const who = { clientid, owner: l.owner.owner };
    // A lock-owner that holds no lock state is forgotten, as knfsd forgets
    // it with its last stateid: the Linux client reuses a freed owner's
    // name for a new one whose seqids start again at 0.
    if (st.locks.findOwner(who)?.states.size === 0) st.locks.releaseOwner(who);
    lo = st.locks.owner(who, a.minor);
    if (a.minor === 0) {
      const s = lo.seq.check(l.lockSeqid ?? 0);
      if (!("ticket" in s)) {
        return { ...fail(Nfs4Status.NFS4ERR_BAD_SEQID), seq };
      }
      seq = _both(seq, s.ticket);
    }
  }
  const c = st.clients.lookup(clientid);
  if (c.status !== OK) return { ...c, seq };
  const g = st.checkGrace(c.client, a.reclaim ?? false, now);
  if (g.status !== OK) return { ...g, seq };
  const range = lockRange(a.offset, a.length);
  if (range.status !== OK) return { ...range, seq };
  const { state, created } = st.locks.stateFor(open, lo!);
  const r = st.locks.lock(state, a.write, range.start, range.end);
  if (r.status !== OK && created) st.locks.release(state);
  return { ...r, seq };
}

/** LOCKT. */
export function lockTest(
  st: Nfs4State,
  a: LocktArgs,
  now: number,
): Result | Denied {
  st.tick(now);
  const c = st.clients.lookup(a.clientid);
  if (c.status !== OK) return c;
  st.clients.renew(c.client, now);
  if (st.grace.active(now)) return fail(Nfs4Status.NFS4ERR_GRACE);
  const range = lockRange(a.offset, a.length);
  if (range.status !== OK) return range;
  const owner = { clientid: a.clientid, owner: a.owner };
  return st.locks.test(a.file, owner, a.write, range.start, range.end);
}

/** LOCKU. */
export function unlockRange(
  st: Nfs4State,
  a: LockuArgs,
  now: number,
): Sequenced<Result<{ stateid: Stateid }>> {
  const q = resolve(st, a, "lock", now);
  if ("replay" in q || q.status !== OK) return q;
  const range = lockRange(a.offset, a.length);
  if (range.status !== OK) return { ...range, seq: q.seq };
  const r = st.locks.unlock(q.entry.data as LockState, range.start, range.end);
  return { ...r, seq: q.seq };
}

/** NFSv4.0 RELEASE_LOCKOWNER. */
export function releaseLockOwner(
  st: Nfs4State,
  owner: StateOwner,
  now: number,
): Result {
  st.tick(now);
  const c = st.clients.lookup(owner.clientid);
  if (c.status !== OK) return c;
  st.clients.renew(c.client, now);
  return st.locks.releaseOwner(owner);
}

/**
 * The stateid check of READ, WRITE and SETATTR of size. Returns the open
 * (and the lock state, for a lock stateid); neither for a special stateid.
 */
export function checkIo(
  st: Nfs4State,
  a: IoArgs,
  now: number,
): Result<{ open?: OpenState; lock?: LockState }> {
  st.tick(now);
  const special = specialStateid(a.stateid, a.minor);
  if (special === "anonymous" || (special === "bypass" && a.io === "read")) {
    return st.opens.checkDeny(a.file, a.io);
  }
  if (special !== undefined) return fail(Nfs4Status.NFS4ERR_BAD_STATEID);
  const r = st.stateids.check(a.stateid, {
    minor: a.minor,
    clientid: a.minor >= 1 ? a.clientid : undefined,
    file: a.file,
    kinds: ["open", "lock"],
  });
  if (r.status !== OK) return r;
  const lock = r.entry.kind === "lock" ? r.entry.data as LockState : undefined;
  const open = lock?.open ?? r.entry.data as OpenState;
  if (!open.owner.confirmed) return fail(Nfs4Status.NFS4ERR_BAD_STATEID);
  st.renewClient(r.entry.clientid, now);
  const access = st.opens.checkAccess(open, a.io);
  return access.status === OK ? ok({ open, lock }) : access;
}

/**
 * Finds the state a stateid names and, in NFSv4.0, sequences its owner
 * first: a retransmission is a replay before its stale stateid is looked
 * at.
 */
function resolve(
  st: Nfs4State,
  a: StateidArgs,
  kind: "open" | "lock",
  now: number,
  confirming = false,
): Resolved | Replay | (Failure & { seq?: SeqidTicket }) {
  st.tick(now);
  if (specialStateid(a.stateid, a.minor) !== undefined) {
    return fail(Nfs4Status.NFS4ERR_BAD_STATEID);
  }
  let seq: SeqidTicket | undefined;
  if (a.minor === 0) {
    const e = st.stateids.find(a.stateid.other);
    const closed = kind === "open" && e === undefined
      ? st.opens.closedOwner(a.stateid.other)
      : undefined;
    if (closed !== undefined) {
      // A CLOSE retransmitted: replay it, or else the stateid is gone.
      const s = closed.seq.check(a.seqid ?? 0);
      return "replay" in s ? s : fail(Nfs4Status.NFS4ERR_BAD_STATEID);
    }
    if (e === undefined || e.kind !== kind) {
      const r = st.stateids.check(a.stateid, { minor: 0, kinds: [kind] });
      return r.status === OK ? fail(Nfs4Status.NFS4ERR_BAD_STATEID) : r;
    }
    const owner = kind === "open"
      ? (e.data as OpenState).owner
      : (e.data as LockState).owner;
    const s = owner.seq.check(a.seqid ?? 0);
    if (!("ticket" in s)) return s;
    seq = s.ticket;
  }
  const r = st.stateids.check(a.stateid, {
    minor: a.minor,
    clientid: a.minor >= 1 ? a.clientid : undefined,
    file: a.file,
    kinds: [kind],
  });
  if (r.status !== OK) return { ...r, seq };
  const open = kind === "open"
    ? r.entry.data as OpenState
    : (r.entry.data as LockState).open;
  if (open.owner.confirmed === confirming && kind === "open" && a.minor === 0) {
    // OPEN_CONFIRM needs an unconfirmed owner, everything else a confirmed one.
    return { ...fail(Nfs4Status.NFS4ERR_BAD_STATEID), seq };
  }
  st.renewClient(r.entry.clientid, now);
  return { status: OK, entry: r.entry, seq };
}

/** One ticket finishing two owners' requests (LOCK by a new lock-owner). */
function _both(a: SeqidTicket | undefined, b: SeqidTicket): SeqidTicket {
  return {
    finish(status, reply) {
      a?.finish(status, reply);
      b.finish(status, reply);
    },
  };
}
