/**
 * The NFSv4 COMPOUND procedure: a list of operations run in order.
 *
 * What it answers on its own:
 * - A minor version it does not serve: NFS4ERR_MINOR_VERS_MISMATCH with no
 *   results and the tag echoed.
 * - An operation number that the minor version does not define:
 *   NFS4ERR_OP_ILLEGAL in an OP_ILLEGAL result, and evaluation stops.
 * - An operation 4.1 forbids (SETCLIENTID, RENEW, OPEN_CONFIRM …) in a 4.1
 *   COMPOUND, or one this server does not implement (pNFS): NFS4ERR_NOTSUPP.
 * - Arguments that do not decode: NFS4ERR_BADXDR for that operation. A
 *   header that does not decode (tag, minor version, count) is GARBAGE_ARGS
 *   at the RPC level, since there is no tag to echo.
 * - 4.0: more than {@link MAX_OPS_40} operations: NFS4ERR_RESOURCE.
 * - 4.1: an operation before SEQUENCE that needs a session:
 *   NFS4ERR_OP_NOT_IN_SESSION; a session-less operation that is not alone:
 *   NFS4ERR_NOT_ONLY_OP; SEQUENCE anywhere but first: NFS4ERR_SEQUENCE_POS;
 *   a reply larger than the session allows: NFS4ERR_REP_TOO_BIG (or
 *   NFS4ERR_REP_TOO_BIG_TO_CACHE when the reply was to be cached) in place
 *   of the operation that overflowed.
 *
 * Evaluation stops at the first operation that fails; the COMPOUND's status
 * is that operation's. Errors an operation throws ({@link Nfs4Error},
 * `VfsError`) are mapped here, once, so `run` returns only results.
 *
 * @module
 */

import type { CallContext } from "../../rpc/program.ts";
import { type XdrReader, type XdrWriter, XdrError } from "../../rpc/xdr.ts";
import { nfs_opnum4, nfsstat4 } from "../../proto/nfs4/mod.ts";
import { CompoundState, MAX_OPS_40, type Nfs4Server } from "./context.ts";
import { nfs4StatusOf } from "./errors.ts";

/** A failure status (anything but NFS4_OK). */
export type Nfs4Failure = Exclude<nfsstat4, typeof nfsstat4.NFS4_OK>;

/** One operation: decode its arguments, run it, encode its result. */
// deno-lint-ignore no-explicit-any
export interface Op<A = any, R extends { status: number } = any> {
  /** Name for logs, such as "GETATTR". */
  readonly name: string;
  /** Decodes the arguments (the generated `decode_<OP>4args`). */
  readonly decode: (r: XdrReader) => A;
  /** Encodes the result (the generated `encode_<OP>4res`). */
  readonly encode: (w: XdrWriter, res: R) => void;
  /**
   * Runs the operation. It returns its result, or throws an `Nfs4Error` or a
   * `VfsError` whose status becomes the result.
   */
  readonly run: (args: A, cs: CompoundState, nfs: Nfs4Server) =>
    | R
    | Promise<R>;
  /** The result of a failure. Default `{ status }`. */
  readonly failure?: (status: Nfs4Failure) => R;
  /** The last minor version that has it (4.0-only operations: 0). */
  readonly until?: number;
  /** 4.1: may come without a SEQUENCE, as the only operation. */
  readonly sessionless?: boolean;
}

/** The operations by number. */
export type OpTable = ReadonlyMap<number, Op>;

/** Thrown by SEQUENCE to answer a retry with the reply it cached. */
export class ReplayReply {
  /** The cached COMPOUND4res bytes. */
  readonly bytes: Uint8Array;
  /** A replay of `bytes`. */
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

/** The largest tag accepted (bytes). */
const MAX_TAG = 1024;
/** The last operation number of each minor version. */
const LAST_OP = [nfs_opnum4.OP_RELEASE_LOCKOWNER, nfs_opnum4.OP_RECLAIM_COMPLETE];

/**
 * Runs one COMPOUND: reads its arguments from `r` and writes COMPOUND4res to
 * `w`.
 */
export async function runCompound(
  r: XdrReader,
  w: XdrWriter,
  call: CallContext,
  nfs: Nfs4Server,
  ops: OpTable,
): Promise<void> {
  const requestSize = r.remaining;
  const tag = r.opaque(MAX_TAG, "COMPOUND4args.tag");
  const minor = r.u32("COMPOUND4args.minorversion");
  const count = r.u32("COMPOUND4args.argarray");
  const start = w.offset;
  const statusAt = w.skip(4);
  w.opaque(tag);
  const countAt = w.skip(4);
  if (!nfs.minors.has(minor)) {
    w.setU32At(statusAt, nfsstat4.NFS4ERR_MINOR_VERS_MISMATCH);
    return;
  }
  const cs = new CompoundState(call, minor);
  cs.opCount = count;
  cs.requestSize = requestSize;
  let status: nfsstat4 = nfsstat4.NFS4_OK;
  let done = 0;
  if (minor === 0 && count > MAX_OPS_40) {
    status = nfsstat4.NFS4ERR_RESOURCE;
  }
  for (let i = 0; i < count && status === nfsstat4.NFS4_OK; i++) {
    const before = w.offset;
    let opnum: number;
    try {
      opnum = r.u32("nfs_argop4.argop");
    } catch {
      // Not even an operation number: answer for a void OP_ILLEGAL.
      w.u32(nfs_opnum4.OP_ILLEGAL).u32(nfsstat4.NFS4ERR_BADXDR);
      status = nfsstat4.NFS4ERR_BADXDR;
      done++;
      break;
    }
    const op = opnum <= LAST_OP[Math.min(minor, 1)] ? ops.get(opnum) : undefined;
    if (op === undefined) {
      w.u32(nfs_opnum4.OP_ILLEGAL).u32(nfsstat4.NFS4ERR_OP_ILLEGAL);
      status = nfsstat4.NFS4ERR_OP_ILLEGAL;
      done++;
      break;
    }
    w.u32(opnum);
    let args: unknown;
    try {
      args = op.decode(r);
    } catch (e) {
      if (!(e instanceof XdrError)) throw e;
      status = nfsstat4.NFS4ERR_BADXDR;
    }
    if (status === nfsstat4.NFS4_OK) {
      status = gate(op, opnum, i, count, cs) ?? nfsstat4.NFS4_OK;
    }
    if (status === nfsstat4.NFS4_OK) {
      try {
        const res = await op.run(args, cs, nfs);
        op.encode(w, res);
        status = res.status as nfsstat4;
      } catch (e) {
        w.truncate(before + 4); // nothing half-encoded stays
        if (e instanceof ReplayReply) {
          // A retried 4.1 request: its cached reply answers it whole.
          w.truncate(start);
          w.fixedOpaque(e.bytes);
          return;
        }
        status = nfs4StatusOf(e, nfs.log, op.name);
      }
    }
    if (status !== nfsstat4.NFS4_OK && w.offset === before + 4) {
      // Failed before or instead of encoding a result of its own.
      const fail = status as Nfs4Failure;
      op.encode(w, op.failure ? op.failure(fail) : { status: fail });
    }
    done++;
    if (cs.maxResponse !== undefined && w.offset - start > cs.maxResponse) {
      w.truncate(before);
      w.u32(opnum);
      status = cs.cacheThis
        ? nfsstat4.NFS4ERR_REP_TOO_BIG_TO_CACHE
        : nfsstat4.NFS4ERR_REP_TOO_BIG;
      w.u32(status);
    }
  }
  w.setU32At(statusAt, status);
  w.setU32At(countAt, done);
  cs.finish?.(w, start);
}

/**
 * The 4.1 rules on where an operation may stand; undefined when it may run.
 */
function gate(
  op: Op,
  opnum: number,
  index: number,
  count: number,
  cs: CompoundState,
): Nfs4Failure | undefined {
  // Operations of later minor versions never get here: LAST_OP makes them
  // OP_ILLEGAL.
  if (op.until !== undefined && cs.minor > op.until) {
    return nfsstat4.NFS4ERR_NOTSUPP;
  }
  if (cs.minor === 0) return undefined;
  if (opnum === nfs_opnum4.OP_SEQUENCE) {
    return index === 0 ? undefined : nfsstat4.NFS4ERR_SEQUENCE_POS;
  }
  if (index === 0) {
    if (!op.sessionless) return nfsstat4.NFS4ERR_OP_NOT_IN_SESSION;
    return count > 1 ? nfsstat4.NFS4ERR_NOT_ONLY_OP : undefined;
  }
  if (cs.session === undefined) return nfsstat4.NFS4ERR_OP_NOT_IN_SESSION;
  return undefined;
}
