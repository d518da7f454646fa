/**
 * The NFSv4 COMPOUND procedure: a list of operations run in order.
 *
 * What it answers on its own:
 * - A minor version it does not serve: NFS4ERR_MINOR_VERS_MISMATCH with no
 *   results and the tag echoed.
 * - An operation number that the minor version does not define:
 *   NFS4ERR_OP_ILLEGAL in an OP_ILLEGAL result, and evaluation stops.
 * - An operation 4.1 forbids (SETCLIENTID, RENEW, OPEN_CONFIRM …) in a 4.1
 *   or 4.2 COMPOUND, or one this server does not implement (pNFS):
 *   NFS4ERR_NOTSUPP.
 * - Arguments that do not decode: NFS4ERR_BADXDR for that operation
 *   (`decodeCompoundArgs` decodes up to it). A header that does not decode
 *   (tag, minor version, count) is GARBAGE_ARGS at the RPC level, since
 *   there is no tag to echo.
 * - 4.0: more than {@link MAX_OPS_40} operations: NFS4ERR_RESOURCE.
 * - 4.1 and 4.2 (whose COMPOUND follows 4.1's rules): an operation before
 *   SEQUENCE that needs a session:
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

import type { CallContext, Procedure } from "../../rpc/program.ts";
import { XdrWriter } from "../../rpc/xdr.ts";
import {
  type CompoundArgs,
  decodeCompoundArgs,
  type nfs_argop4,
  nfs_opnum4,
  nfsstat4,
} from "../../proto/nfs4/mod.ts";
import { CompoundState, MAX_OPS_40, type Nfs4Server } from "./context.ts";
import { nfs4StatusOf } from "./errors.ts";

/** A failure status (anything but NFS4_OK). */
export type Nfs4Failure = Exclude<nfsstat4, typeof nfsstat4.NFS4_OK>;

/** One operation: run it on its decoded arguments, encode its result. */
// deno-lint-ignore no-explicit-any
export interface Op<A = any, R extends { status: number } = any> {
  /** Name for logs, such as "GETATTR". */
  readonly name: string;
  /** Encodes the result (the generated `encode_<OP>4res`). */
  readonly encode: (w: XdrWriter, res: R) => void;
  /**
   * Runs the operation. It returns its result, or throws an `Nfs4Error` or a
   * `VfsError` whose status becomes the result. Byte arrays in `args` are
   * lent: views of the call's record, reused once the COMPOUND has settled.
   * What the operation keeps past that (in the state, a cache, work still
   * running) it copies first; its result may hold them, since results are
   * encoded before the record goes back.
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

/** One operation's outcome, kept for the encoder. */
interface Outcome {
  opnum: number;
  op: Op | undefined;
  res: { status: number };
}

/** What COMPOUND's `run` returns and its `encode` writes. */
export interface CompoundResult {
  /** The tag, echoed. */
  tag: Uint8Array;
  /** The status of the last operation run. */
  status: nfsstat4;
  /** The results in order. */
  results: Outcome[];
  /** A 4.1 retry's cached reply, sent instead. */
  replay?: Uint8Array;
  /** The COMPOUND's state (for the reply size limit and caching). */
  cs?: CompoundState;
}

/** The last operation number of each minor version. */
const LAST_OP = [
  nfs_opnum4.OP_RELEASE_LOCKOWNER,
  nfs_opnum4.OP_RECLAIM_COMPLETE,
  nfs_opnum4.OP_REMOVEXATTR,
];

/** Whether `opnum` is an operation of minor version `minor`. */
function inMinor(opnum: number, minor: number): boolean {
  return opnum <= LAST_OP[Math.min(minor, LAST_OP.length - 1)];
}

/** The field name of each operation's arguments in `nfs_argop4`, by number. */
const ARG_FIELD: (string | null | undefined)[] = [];

/** The arguments in an `nfs_argop4` arm (its one field besides `argop`). */
function argsOf(a: nfs_argop4): unknown {
  // The field depends on the operation alone: look it up once per number
  // (a `for…in` per operation showed in profiles).
  let field = ARG_FIELD[a.argop];
  if (field === undefined) {
    field = null;
    for (const k in a) if (k !== "argop") field = k;
    ARG_FIELD[a.argop] = field;
  }
  return field === null ? undefined : (a as Record<string, unknown>)[field];
}

/** The COMPOUND procedure's row over the program state and operations. */
export function compoundProcedure(
  nfs: Nfs4Server,
  ops: OpTable,
): Procedure<CompoundArgs, CompoundResult> {
  return {
    name: "COMPOUND",
    decode: decodeCompoundArgs,
    // Opaque arguments (WRITE's data, owners, verifiers, session IDs,
    // stateids, names, filehandles) are views of the call's record, which
    // the RPC server reuses for a later large call once this row settles
    // (a fresh zero-filled 1 MiB record per WRITE cost about a quarter of
    // the CPU per MiB written). Every operation finishes with them by then:
    // the state copies the owners, verifiers and client names it keeps
    // (`state/clients.ts`, `opens.ts`, `locks.ts`), stateids and session
    // IDs are only looked up, names become strings, SEQUENCE keeps a copy
    // of the reply, WRITE and SETXATTR wait for the file system, which
    // copies what it keeps (`FileSystem.write`, `XattrOps.setxattr`), and
    // CREATE_SESSION copies the callback's GSS handles. An operation that
    // keeps an argument's bytes must copy them (see `Op.run`).
    borrowsArgs: true,
    run: async (args, call) => {
      try {
        return await runCompound(args, call, nfs, ops);
      } finally {
        nfs.watchLeases();
      }
    },
    encode: encodeCompound,
  };
}

/** Runs the operations of one COMPOUND in order. */
export async function runCompound(
  args: CompoundArgs,
  call: CallContext,
  nfs: Nfs4Server,
  ops: OpTable,
): Promise<CompoundResult> {
  const { tag, minorversion: minor, argarray } = args;
  const results: Outcome[] = [];
  if (!nfs.minors.has(minor)) {
    return { tag, status: nfsstat4.NFS4ERR_MINOR_VERS_MISMATCH, results };
  }
  const cs = new CompoundState(call, minor);
  cs.replied = replyMeter(tag, results);
  const count = argarray.length + (args.stopped ? 1 : 0);
  cs.opCount = count;
  if (minor === 0 && count > MAX_OPS_40) {
    return { tag, status: nfsstat4.NFS4ERR_RESOURCE, results, cs };
  }
  let status: nfsstat4 = nfsstat4.NFS4_OK;
  for (let i = 0; i < argarray.length; i++) {
    const opnum = argarray[i].argop;
    const op = inMinor(opnum, minor) ? ops.get(opnum) : undefined;
    if (op === undefined) {
      status = nfsstat4.NFS4ERR_OP_ILLEGAL;
      results.push({
        opnum: nfs_opnum4.OP_ILLEGAL,
        op: undefined,
        res: { status },
      });
      return { tag, status, results, cs };
    }
    let res: { status: number };
    cs.index = i;
    if (opnum !== nfs_opnum4.OP_GETFH && opnum !== nfs_opnum4.OP_GETATTR) {
      cs.lookedUp = undefined;
    }
    const refused = gate(op, opnum, i, count, cs);
    if (refused !== undefined) {
      res = op.failure ? op.failure(refused) : { status: refused };
    } else {
      try {
        res = await op.run(argsOf(argarray[i]), cs, nfs);
      } catch (e) {
        if (e instanceof ReplayReply) {
          return {
            tag,
            status: nfsstat4.NFS4_OK,
            results: [],
            replay: e.bytes,
          };
        }
        const s = nfs4StatusOf(e, nfs.log, op.name);
        res = op.failure ? op.failure(s) : { status: s };
      }
    }
    results.push({ opnum, op, res });
    status = res.status as nfsstat4;
    if (status !== nfsstat4.NFS4_OK) return { tag, status, results, cs };
  }
  if (args.stopped) {
    const { opnum, status: s } = args.stopped;
    // An operation this server does not have is OP_ILLEGAL whether or not
    // its arguments decode; one it has encodes its own failure, since some
    // results carry more than the status (SETATTR4res's attrsset).
    const op = inMinor(opnum, minor) ? ops.get(opnum) : undefined;
    if (s === nfsstat4.NFS4ERR_OP_ILLEGAL || op === undefined) {
      status = nfsstat4.NFS4ERR_OP_ILLEGAL;
      results.push({
        opnum: nfs_opnum4.OP_ILLEGAL,
        op: undefined,
        res: { status },
      });
    } else {
      status = s;
      results.push({
        opnum,
        op,
        res: op.failure ? op.failure(s) : { status: s },
      });
    }
  }
  return { tag, status, results, cs };
}

/**
 * The encoded size of a COMPOUND4res holding `results` as far as they go,
 * kept as a running sum: each result is measured once, the first time an
 * operation asks after it was added (READ, READ_PLUS, GETXATTR and
 * LISTXATTRS size their results to what the session has left). Measuring
 * the whole reply again on each ask cost a writer and every earlier result
 * (an earlier READ's data among them) per READ.
 */
function replyMeter(
  tag: Uint8Array,
  results: readonly Outcome[],
): () => number {
  // Status, the tag and the count of results.
  let size = 4 + 4 + ((tag.byteLength + 3) & ~3) + 4;
  let measured = 0;
  return () => {
    while (measured < results.length) size += resultSize(results[measured++]);
    return size;
  };
}

/** The scratch writer of {@link resultSize}, dropped when it grew large. */
let scratch: XdrWriter | undefined;

/**
 * The encoded size of one result, its operation number included. The
 * scratch writer keeps opaque data by reference (`refMin` 4), so a READ's
 * data is counted, not copied.
 */
function resultSize({ op, res }: Outcome): number {
  if (op === undefined) return 8;
  const w = scratch ??= new XdrWriter({ refMin: 4 });
  try {
    op.encode(w, res);
    return 4 + w.length;
  } finally {
    w.reset();
    if (w.capacity > 64 * 1024) scratch = undefined;
  }
}

/** Writes COMPOUND4res, holding the reply to the session's size limits. */
export function encodeCompound(w: XdrWriter, res: CompoundResult): void {
  if (res.replay) {
    w.fixedOpaque(res.replay);
    return;
  }
  const start = w.offset;
  const statusAt = w.skip(4);
  w.opaque(res.tag);
  const countAt = w.skip(4);
  let status = res.status;
  let count = 0;
  const max = res.cs?.maxResponse;
  for (const { opnum, op, res: r } of res.results) {
    const before = w.offset;
    w.u32(opnum);
    // An unknown or undecodable operation's result is its status alone.
    if (op === undefined) w.u32(r.status);
    else op.encode(w, r);
    count++;
    if (max !== undefined && w.offset - start > max) {
      w.truncate(before);
      status = res.cs!.cacheThis
        ? nfsstat4.NFS4ERR_REP_TOO_BIG_TO_CACHE
        : nfsstat4.NFS4ERR_REP_TOO_BIG;
      w.u32(opnum);
      const fail = status as Nfs4Failure;
      if (op === undefined) w.u32(fail);
      else op.encode(w, op.failure ? op.failure(fail) : { status: fail });
      break;
    }
  }
  w.setU32At(statusAt, status);
  w.setU32At(countAt, count);
  res.cs?.finish?.(w, start);
}

/**
 * The 4.1 rules on where an operation may stand (4.2's too); undefined
 * when it may run.
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
