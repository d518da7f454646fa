/**
 * NFSv4 READ, WRITE and COMMIT: the data path.
 *
 * What each checks, in order:
 * - READ: the stateid (below), then the file's type and the data together;
 *   a pseudo directory is NFS4ERR_ISDIR.
 * - WRITE: a pseudo directory or a read-only export is NFS4ERR_ROFS; then
 *   the stateid, then the file's type and the write together.
 * - COMMIT: the file's type (a pseudo directory is NFS4ERR_ISDIR), then the
 *   file system's commit.
 *
 * The type rules are each minor version's: a directory is NFS4ERR_ISDIR;
 * any other non-regular file is NFS4ERR_INVAL in 4.0 (RFC 7530), and in 4.1
 * (RFC 8881) NFS4ERR_SYMLINK for a symbolic link, NFS4ERR_WRONG_TYPE for the
 * rest.
 *
 * Stateids go to `nfs.state.checkIo`: an open or lock stateid of this file
 * and this client with the access the operation needs, or a special one —
 * the anonymous stateid (all zeros) for READ and WRITE, the READ-bypass
 * stateid (all ones) for READ — which only share reservations that deny
 * the access refuse. In 4.1, seqid 1 with zeros names the current stateid
 * (NFS4ERR_BAD_STATEID when there is none). A real stateid renews its
 * client's lease.
 *
 * READ answers at most `maxIo` bytes and, in a 4.1 session, what fits in
 * the session's largest reply after what the COMPOUND already encoded
 * (`CompoundState.replyRoom`), so a READ of the session's `maxread` in
 * SEQUENCE, PUTFH, READ comes back whole; when it is
 * the COMPOUND's last operation its data goes out uncopied, as NFSv3 READ's
 * does (`proto/nfs4/read.ts`). WRITE
 * writes at most `maxIo` bytes and says how many; it honours `stable` as
 * NFSv3 does, through the file system's stability levels, and its replies
 * and COMMIT's carry the write verifier, which changes with each server
 * instance so a client resends UNSTABLE data a restart may have lost.
 * COMMIT flushes the whole file, which covers any range it names (count 0:
 * to the end of the file).
 *
 * @module
 */

import {
  encode_COMMIT4res,
  encode_READ4res,
  encode_WRITE4res,
  nfs_opnum4,
  nfsstat4,
  type stable_how4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import { FileType, type Stability } from "../../../vfs/types.ts";
import type { Op } from "../compound.ts";
import type { CompoundState, Nfs4Server, Target } from "../context.ts";
import { fail } from "../errors.ts";
import { specialStateid } from "../state/stateids.ts";
import type { OpenState } from "../state/opens.ts";
import { stateFile } from "./_util.ts";

/** READ's result before its data: opnum, status, eof and the length. */
const READ_HEAD = 16;

const STABILITY: readonly Stability[] = ["unstable", "data", "file"];
const STABLE_HOW: Readonly<Record<Stability, stable_how4>> = {
  unstable: 0,
  data: 1,
  file: 2,
};

/** Fails unless `type` is a regular file, with the minor version's status. */
export function requireRegular(type: FileType, minor: number): void {
  if (type === FileType.Regular) return;
  if (type === FileType.Directory) fail(nfsstat4.NFS4ERR_ISDIR);
  if (minor === 0) fail(nfsstat4.NFS4ERR_INVAL);
  fail(
    type === FileType.Symlink
      ? nfsstat4.NFS4ERR_SYMLINK
      : nfsstat4.NFS4ERR_WRONG_TYPE,
  );
}

/**
 * The stateid an operation presents, with 4.1's current stateid put in
 * for seqid 1 and zeros (NFS4ERR_BAD_STATEID when none is set).
 */
export function presentedStateid(
  cs: CompoundState,
  stateid: stateid4,
): stateid4 {
  if (specialStateid(stateid, cs.minor) !== "current") return stateid;
  if (cs.currentStateid === undefined) fail(nfsstat4.NFS4ERR_BAD_STATEID);
  return cs.currentStateid;
}

/**
 * Checks that `stateid` allows `io` on the target; returns the open it
 * was made under (none for a special stateid).
 */
export function checkStateid(
  cs: CompoundState,
  nfs: Nfs4Server,
  t: Target,
  stateid: stateid4,
  io: "read" | "write",
): OpenState | undefined {
  const r = nfs.state.checkIo({
    minor: cs.minor,
    clientid: (cs.session as { clientid?: bigint } | undefined)?.clientid,
    stateid: presentedStateid(cs, stateid),
    file: stateFile(t.exp, t.id),
    io,
  }, nfs.now());
  if (r.status !== nfsstat4.NFS4_OK) fail(r.status);
  return r.open ?? r.lock?.open;
}

/**
 * How many bytes READ (and READ_PLUS, whose result takes `head` bytes
 * besides the data) may answer with: at most `maxIo`, and in a session what
 * is left of its largest reply (a multiple of 4, so the padding fits).
 */
export function readCount(
  cs: CompoundState,
  nfs: Nfs4Server,
  asked: number,
  head = READ_HEAD,
): number {
  const count = Math.min(asked, nfs.maxIo);
  const room = cs.replyRoom(head);
  // A budget of nothing is left to the reply limit (NFS4ERR_REP_TOO_BIG):
  // answering zero bytes short of the end would have a client loop.
  if (room >= count || room < 4) return count;
  return room - (room % 4);
}

/** The data operations by number. */
export const ioOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_READ, {
    name: "READ",
    encode: encode_READ4res,
    run: async (a, cs, nfs) => {
      const t = cs.target(nfsstat4.NFS4ERR_ISDIR);
      const open = checkStateid(cs, nfs, t, a.stateid, "read");
      // The type and the data are independent: ask for both at once and
      // let a wrong type win over the read's own complaint.
      const attrs = t.fs.getattr(t.cred, t.id);
      const count = readCount(cs, nfs, a.count);
      const data = nfs.fsOpens.withContext(
        open,
        (context) => t.fs.read(t.cred, t.id, a.offset, count, context),
      );
      data.catch(() => {});
      requireRegular((await attrs).type, cs.minor);
      const res = await data;
      // Results are encoded after the last operation ran: data that may be
      // a view of the file would show what a later WRITE in the same
      // COMPOUND put there. Only a READ that ends the COMPOUND (as
      // clients send them) goes out uncopied.
      const last = cs.index === cs.opCount - 1;
      return {
        status: nfsstat4.NFS4_OK,
        resok4: { eof: res.eof, data: last ? res.data : res.data.slice() },
      };
    },
  }],
  [nfs_opnum4.OP_WRITE, {
    name: "WRITE",
    encode: encode_WRITE4res,
    run: async (a, cs, nfs) => {
      const t = cs.target(nfsstat4.NFS4ERR_ROFS);
      if (t.exp.readOnly) fail(nfsstat4.NFS4ERR_ROFS);
      const open = checkStateid(cs, nfs, t, a.stateid, "write");
      const data = a.data.byteLength > nfs.maxIo
        ? a.data.subarray(0, nfs.maxIo)
        : a.data;
      // Both asked in one synchronous turn, as NFSv3 WRITE does: LocalFs
      // then lets the write reuse what its getattr just verified. A file
      // system refuses to write what is not a regular file (NFSv3 relies
      // on it too); the type check only picks the minor version's status.
      const attrs = t.fs.getattr(t.cred, t.id);
      const written = nfs.fsOpens.withContext(
        open,
        (context) =>
          t.fs.write(
            t.cred,
            t.id,
            a.offset,
            data,
            STABILITY[a.stable],
            context,
          ),
      );
      // `data` is a view of the call's record, which the RPC server reuses
      // once the COMPOUND has settled (the row borrows its arguments): a
      // failed type check must not leave the write running behind it.
      const [got, done] = await Promise.allSettled([attrs, written]);
      if (got.status === "rejected") throw got.reason;
      requireRegular(got.value.type, cs.minor);
      if (done.status === "rejected") throw done.reason;
      const res = done.value;
      return {
        status: nfsstat4.NFS4_OK,
        resok4: {
          count: res.count,
          committed: STABLE_HOW[res.committed],
          writeverf: nfs.writeVerf,
        },
      };
    },
  }],
  [nfs_opnum4.OP_COMMIT, {
    name: "COMMIT",
    encode: encode_COMMIT4res,
    run: async (_a, cs, nfs) => {
      const t = cs.target(nfsstat4.NFS4ERR_ISDIR);
      requireRegular((await t.fs.getattr(t.cred, t.id)).type, cs.minor);
      await t.fs.commit(t.cred, t.id);
      return { status: nfsstat4.NFS4_OK, resok4: { writeverf: nfs.writeVerf } };
    },
  }],
]);
