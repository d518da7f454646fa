/**
 * NFSv4 byte-range locks: LOCK, LOCKT, LOCKU and (4.0) RELEASE_LOCKOWNER,
 * over the state's lock table. Locks are advisory and POSIX-shaped (OPEN
 * says so with OPEN4_RESULT_LOCKTYPE_POSIX): an owner's ranges merge and
 * split, a read lock shares with read locks, and the blocking types
 * (READW_LT, WRITEW_LT) are answered as their plain ones, since the server
 * never queues a waiter (the client polls).
 *
 * A conflict is NFS4ERR_DENIED with the conflicting lock's range, type and
 * owner. LOCK needs the current filehandle to be the file of its stateid;
 * LOCKT, which has none, needs a regular file (NFS4ERR_ISDIR, or as OPEN
 * refuses other types). 4.0 LOCK and LOCKU are sequenced by their owners'
 * seqids and a retransmission gets the kept reply; in 4.1 the session's
 * client owns the lock and its stateid becomes the current stateid.
 *
 * @module
 */

import {
  encode_LOCK4res,
  encode_LOCKT4res,
  encode_LOCKU4res,
  encode_RELEASE_LOCKOWNER4res,
  type LOCK4args,
  type LOCK4denied,
  type LOCK4res,
  type LOCKT4args,
  type LOCKT4res,
  nfs_lock_type4,
  nfs_opnum4,
  nfsstat4,
} from "../../../proto/nfs4/mod.ts";
import type { Nfs4Failure, Op } from "../compound.ts";
import type { CompoundState, Nfs4Server } from "../context.ts";
import type { Denied, LockDenied } from "../state/locks.ts";
import type { Locker } from "../state/locking.ts";
import {
  check,
  orReplay,
  requireRegular,
  sessionClient,
  sessionOf,
  settle,
  stateidArg,
} from "./_state.ts";
import { OK } from "./_util.ts";

function isWrite(type: nfs_lock_type4): boolean {
  return type === nfs_lock_type4.WRITE_LT || type === nfs_lock_type4.WRITEW_LT;
}

function deniedOut(d: LockDenied): LOCK4denied {
  return {
    offset: d.offset,
    length: d.length,
    locktype: d.type as nfs_lock_type4,
    owner: { clientid: d.owner.clientid, owner: d.owner.owner },
  };
}

/** A state result that may be a denial, as LOCK4res or LOCKT4res wants it. */
function failed(t: { status: number }): LOCK4res {
  if (t.status === nfsstat4.NFS4ERR_DENIED) {
    return {
      status: nfsstat4.NFS4ERR_DENIED,
      denied: deniedOut((t as Denied).denied),
    };
  }
  return {
    status: t.status as Exclude<Nfs4Failure, typeof nfsstat4.NFS4ERR_DENIED>,
  };
}

function lock(a: LOCK4args, cs: CompoundState, nfs: Nfs4Server) {
  const file = cs.stateFile();
  const l = a.locker;
  let locker: Locker;
  if (l.new_lock_owner) {
    const o = l.open_owner;
    locker = {
      newOwner: true,
      openStateid: stateidArg(cs, o.open_stateid),
      openSeqid: o.open_seqid,
      lockSeqid: o.lock_seqid,
      owner: {
        // 4.1 ignores the client ID given: the session's client owns it.
        clientid: cs.minor === 0
          ? o.lock_owner.clientid
          : sessionOf(cs).clientid,
        owner: o.lock_owner.owner,
      },
    };
  } else {
    locker = {
      newOwner: false,
      lockStateid: stateidArg(cs, l.lock_owner.lock_stateid),
      lockSeqid: l.lock_owner.lock_seqid,
    };
  }
  return settle(
    cs,
    nfs.state.lock({
      minor: cs.minor,
      clientid: sessionClient(cs),
      reclaim: a.reclaim,
      file,
      write: isWrite(a.locktype),
      offset: a.offset,
      length: a.length,
      locker,
    }, nfs.now()),
    (ok): LOCK4res => ({
      status: nfsstat4.NFS4_OK,
      resok4: { lock_stateid: ok.stateid },
    }),
    encode_LOCK4res,
    failed,
  );
}

async function lockt(
  a: LOCKT4args,
  cs: CompoundState,
  nfs: Nfs4Server,
): Promise<LOCKT4res> {
  const fh = cs.current();
  const t = cs.target(nfsstat4.NFS4ERR_ISDIR, fh);
  requireRegular((await t.fs.getattr(t.cred, t.id)).type, cs.minor);
  const r = nfs.state.lockt({
    clientid: cs.minor === 0 ? a.owner.clientid : sessionOf(cs).clientid,
    owner: a.owner.owner,
    file: cs.stateFile(fh),
    write: isWrite(a.locktype),
    offset: a.offset,
    length: a.length,
  }, nfs.now());
  if (r.status === nfsstat4.NFS4_OK) return OK;
  return failed(r) as LOCKT4res;
}

/** The lock operations by number. */
export const lockOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_LOCK, {
    name: "LOCK",
    encode: orReplay(encode_LOCK4res),
    run: lock,
  }],
  [nfs_opnum4.OP_LOCKT, {
    name: "LOCKT",
    encode: encode_LOCKT4res,
    run: lockt,
  }],
  [nfs_opnum4.OP_LOCKU, {
    name: "LOCKU",
    encode: orReplay(encode_LOCKU4res),
    run: (a, cs, nfs) =>
      settle(
        cs,
        nfs.state.locku({
          minor: cs.minor,
          clientid: sessionClient(cs),
          stateid: stateidArg(cs, a.lock_stateid),
          seqid: a.seqid,
          file: cs.stateFile(),
          offset: a.offset,
          length: a.length,
        }, nfs.now()),
        (ok) => ({ status: nfsstat4.NFS4_OK, lock_stateid: ok.stateid }),
        encode_LOCKU4res,
      ),
  }],
  [nfs_opnum4.OP_RELEASE_LOCKOWNER, {
    name: "RELEASE_LOCKOWNER",
    encode: encode_RELEASE_LOCKOWNER4res,
    until: 0,
    run: (a, _cs, nfs) => {
      check(nfs.state.releaseLockOwner(a.lock_owner, nfs.now()));
      return OK;
    },
  }],
]);
