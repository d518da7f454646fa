/**
 * How a program plugs into the RPC server: a procedure table keyed by
 * procedure number. Each row names its argument decoder, what it runs and
 * its result encoder, and whether its reply goes to the duplicate-request
 * cache, as the procedure tables of the kernel's nfsd do:
 *
 * ```
 * decode(args: XdrReader) → A      absent: the call takes no arguments
 * run(args: A, call)      → R      or a promise of R; never touches XDR
 * encode(reply, result: R)         absent: the reply has no results
 * cached                           true: the reply goes to the DRC
 * ```
 *
 * The server owns the three steps: an {@link XdrError} from `decode` is
 * answered GARBAGE_ARGS (the one place that reply is made), an
 * {@link RpcReplyError} from `run` sends its status, and anything else is
 * logged and answered SYSTEM_ERR. `run` returns its result object;
 * `encode` appends it to a writer that already holds the accepted-reply
 * header, so data it passes to `XdrWriter.opaqueRef` (a READ's) is still
 * sent from where it lies.
 *
 * Two names keep the contexts apart: `call` is the RPC call (xid,
 * credentials, addresses; {@link CallContext}), and a program's own state
 * is named after the program (`nfs`, `mount`), captured by the rows or
 * passed by an adapter. A program whose calls share a first step wraps its
 * rows once: NFSv3 rows (server/nfs3/procedure.ts) add a column naming the
 * file handle, and an adapter resolves it to a target and maps a file
 * system's error to an nfsstat3 around their `run`.
 *
 * NFSv4 uses the same table for its one real procedure, COMPOUND, and the
 * same shape one level down. COMPOUND's row decodes COMPOUND4args into a
 * list of operations, each with the arguments its operation row's `decode`
 * gave (an operation that does not decode becomes one that answers
 * NFS4ERR_BADXDR, an unknown one NFS4ERR_OP_ILLEGAL, so the call is not
 * GARBAGE_ARGS); its `run` runs them in order, each operation row's `run`
 * getting its arguments, the compound's state (current and saved
 * filehandles, session) and `call`, and stops at the first result whose
 * status is not NFS4_OK; its `encode` writes the tag and each result with
 * that operation row's `encode`. The row is not `cached`: NFSv4.1 replays
 * from its session's slots.
 *
 * Where a procedure must write the reply itself (arguments whose meaning
 * depends on the procedure's own state, or a reply streamed as it is
 * built), a {@link RawProcedure} row with a `handler` is the escape hatch:
 * it reads `args` and appends to `reply` directly, and any XdrError it
 * throws is answered GARBAGE_ARGS.
 *
 * @example Serve a program whose row decodes, runs and encodes
 * ```ts
 * import assert from "node:assert/strict";
 * import { procedure, RpcClient, serveRpc } from "@netfs/netfs/rpc";
 * const server = serveRpc({
 *   port: 0,
 *   programs: [{
 *     program: 0x20000001,
 *     version: 1,
 *     name: "calc",
 *     procedures: {
 *       0: { name: "NULL", run: () => {} },
 *       1: procedure({
 *         name: "ADD",
 *         decode: (args) => ({ a: args.u32("a"), b: args.u32("b") }),
 *         run: ({ a, b }) => ({ sum: a + b }),
 *         encode: (reply, res) => void reply.u32(res.sum),
 *       }),
 *     },
 *   }],
 * });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const reply = await client.call(0x20000001, 1, 1, (w) => void w.u32(2).u32(3));
 * assert.equal(reply.u32(), 5);
 * client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import type { XdrReader, XdrWriter } from "./xdr.ts";

/** AUTH_SYS credentials as sent by the client (RFC 5531 appendix A). */
export interface AuthSysParms {
  /** Arbitrary id the client chose. */
  stamp: number;
  /** The client's host name (at most 255 bytes). */
  machineName: string;
  /** User id. */
  uid: number;
  /** Primary group id. */
  gid: number;
  /** Supplementary groups (at most 16). */
  gids: number[];
}

/** The caller's credentials after decoding. */
export type CallAuth =
  | { flavor: 0 } // AUTH_NONE
  | { flavor: 1; sys: AuthSysParms }; // AUTH_SYS

/** What a procedure knows about the call it serves. */
export interface CallContext {
  /** The transaction id. */
  xid: number;
  /** Program number. */
  program: number;
  /** Program version. */
  version: number;
  /** Procedure number. */
  procedure: number;
  /** Decoded credentials (frozen: shared by calls that send the same bytes). */
  auth: CallAuth;
  /** The peer's address. */
  remote: Deno.NetAddr;
  /** The local address the call arrived on. */
  local: Deno.NetAddr;
  /** The server-assigned id of the connection. */
  connectionId: number;
  /**
   * The procedure's own state for this call: undefined when the call
   * starts, then whatever `run` leaves for its row's `rescue` (the NFS
   * rows leave the file handle they resolved). So a context serves one
   * call: the server makes a new one for each, and so should a caller of
   * {@link runProcedure} whose calls overlap.
   */
  state?: unknown;
}

/**
 * One procedure as a row of decode → run → encode. The type parameters are
 * the decoded arguments and the result; {@link procedure} infers them from
 * the row.
 */
export interface Procedure<A = any, R = any> {
  /** Name for logs, such as "GETATTR". */
  name: string;
  /**
   * Decodes the arguments. An {@link XdrError} it throws is answered
   * GARBAGE_ARGS. Absent: the procedure takes no arguments (`run` gets
   * undefined) and whatever the call carries is ignored.
   */
  decode?: (args: XdrReader) => A;
  /**
   * Does the work and returns the result (or a promise of it). Throwing
   * {@link RpcReplyError} sends that status instead; anything else, an
   * XdrError included, is logged and answered SYSTEM_ERR.
   */
  run: (args: A, call: CallContext) => R | Promise<R>;
  /** Appends the result to the reply. Absent: the reply has no results. */
  encode?: (reply: XdrWriter, result: R) => void;
  /**
   * The result for a call whose `run` returned a promise that rejected
   * with `e`. The server waits on that promise anyway, so a row that turns
   * its failures into results here pays nothing for it on success, where a
   * `then` or an async frame of its own costs a microtask turn per call
   * (about 1.2 µs of server CPU on a cold vCPU, bench/RESULTS.md). It may
   * throw or reject, as `run` may. Absent: a rejection is answered as
   * `run`'s throws are. {@link runProcedure} does what the server does.
   */
  rescue?: (e: unknown, call: CallContext) => R | Promise<R>;
  /**
   * True for procedures that must not run twice (CREATE, REMOVE, RENAME …):
   * their replies are kept in the duplicate-request cache and replayed for
   * a retransmitted xid. Default false.
   */
  cached?: boolean;
  /**
   * True when the decoded arguments, and every byte array in them, are
   * only borrowed: nothing `run` or `encode` does keeps a reference to
   * them once `run` has settled and `encode` has returned, so the server
   * may reuse the call's storage for a later call (its record's buffer,
   * see `RecordPool`). NFSv3 WRITE is the case: its data goes to
   * `FileSystem.write`, which copies what it keeps; so are the NFSv3
   * procedures whose arguments are a handle, numbers and at most a name (GETATTR, LOOKUP, READ …).
   * Default false: the arguments are the procedure's to keep.
   *
   * While such a call runs, a record of 64 KiB or more of a row that is
   * not `cached` is offered to the file systems it writes to
   * (`FileSystem.write`'s exception, vfs/types.ts): one may keep the
   * record's storage instead of copying the data (MemFs keeps a whole
   * 1 MiB chunk), and the server then does not reuse it; the file system
   * hands it back once no view of it can be read. A row that writes the
   * same `data` twice copies it first: after the first write took it, the
   * second would read the first file's storage.
   */
  borrowsArgs?: boolean;
  /** Rows have no handler; see {@link RawProcedure}. */
  handler?: undefined;
}

/**
 * A raw procedure handler: it decodes its arguments from `args` (an
 * {@link XdrError} it throws becomes GARBAGE_ARGS) and appends its result
 * to `reply`. Throwing {@link RpcReplyError} sends that accept status
 * instead; any other exception becomes SYSTEM_ERR.
 */
export type ProcedureHandler = (
  args: XdrReader,
  reply: XdrWriter,
  call: CallContext,
) => void | Promise<void>;

/**
 * The escape hatch: a procedure that reads its arguments and writes its
 * reply itself, for what a {@link Procedure} row cannot express.
 */
export interface RawProcedure {
  /** Name for logs. */
  name: string;
  /** The handler. */
  handler: ProcedureHandler;
  /** As {@link Procedure.cached}. */
  cached?: boolean;
}

/**
 * Types a {@link Procedure} row: the arguments' type comes from `decode`
 * and the result's from `run`, so `run` and `encode` are checked against
 * them. It returns the row itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CallContext, procedure, XdrReader, XdrWriter } from "@netfs/netfs/rpc";
 * const double = procedure({
 *   name: "DOUBLE",
 *   decode: (args) => args.u32("n"),
 *   run: (n) => ({ twice: 2 * n }),
 *   encode: (reply, res) => void reply.u32(res.twice),
 * });
 * // The steps the server takes for a call of this row:
 * const args = double.decode!(new XdrReader(new XdrWriter().u32(21).bytes()));
 * const result = await double.run(args, {} as CallContext);
 * const reply = new XdrWriter();
 * double.encode!(reply, result);
 * assert.equal(new XdrReader(reply.bytes()).u32(), 42);
 * ```
 */
export function procedure<A, R>(row: Procedure<A, R>): Procedure<A, R> {
  return row;
}

/**
 * Runs a row as the server runs it: `run`, and its `rescue` for a promise
 * that rejects. For calling a row in process (tests, benches); the
 * server's dispatch does the same without this function's extra turn.
 *
 * @example A row that answers its failures in `rescue`
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CallContext, procedure, runProcedure } from "@netfs/netfs/rpc";
 * const half = procedure({
 *   name: "HALF",
 *   run: (n: number) =>
 *     n % 2 === 0 ? Promise.resolve({ ok: n / 2 }) : Promise.reject(new RangeError("odd")),
 *   rescue: (e) => ({ ok: -1, why: (e as Error).message }),
 * });
 * const call = {} as CallContext;
 * assert.deepEqual(await runProcedure(half, 8, call), { ok: 4 });
 * assert.deepEqual(await runProcedure(half, 7, call), { ok: -1, why: "odd" });
 * ```
 */
export function runProcedure<A, R>(
  proc: Procedure<A, R>,
  args: A,
  call: CallContext,
): R | Promise<R> {
  const res = proc.run(args, call);
  const { rescue } = proc;
  if (rescue === undefined || !(res instanceof Promise)) return res;
  return res.catch((e) => rescue(e, call));
}

/** A program version with its procedures. */
export interface RpcProgram {
  /** Program number (100003 for NFS). */
  program: number;
  /** Version number. */
  version: number;
  /** Name for logs and rpcbind (such as "nfs"). */
  name: string;
  /** Procedures by number. A missing number is answered PROC_UNAVAIL. */
  procedures: Record<number, Procedure | RawProcedure>;
  /**
   * Called when a server serving the program has stopped (its connections
   * closed, its calls finished), to stop the program's own timers and let
   * go of what it holds; the server's `finished` waits for a promise it
   * returns. Absent: the program has nothing to stop.
   */
  close?: () => void | Promise<void>;
}

/** Accept statuses a handler may ask for by throwing {@link RpcReplyError}. */
export type AcceptStatusName =
  | "PROG_UNAVAIL"
  | "PROG_MISMATCH"
  | "PROC_UNAVAIL"
  | "GARBAGE_ARGS"
  | "SYSTEM_ERR";

/**
 * Thrown by a handler to answer with an accept status other than SUCCESS,
 * or with an auth error (`auth` set to an RFC 5531 auth_stat value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CallContext, procedure, RpcReplyError } from "@netfs/netfs/rpc";
 * const whoami = procedure({
 *   name: "WHOAMI",
 *   run: (_args, call) => {
 *     // AUTH_TOOWEAK (5): the client should retry with AUTH_SYS.
 *     if (call.auth.flavor !== 1) throw new RpcReplyError("AUTH_ERROR", "Needs AUTH_SYS", 5);
 *     return call.auth.sys.uid;
 *   },
 *   encode: (reply, uid) => void reply.u32(uid),
 * });
 * assert.throws(
 *   () => whoami.run(undefined, { auth: { flavor: 0 } } as CallContext),
 *   (e) => e instanceof RpcReplyError && e.status === "AUTH_ERROR" && e.auth === 5,
 * );
 * ```
 */
export class RpcReplyError extends Error {
  /** The accept status to send. */
  readonly status: AcceptStatusName | "AUTH_ERROR";
  /** The auth_stat when `status` is "AUTH_ERROR". */
  readonly auth: number;

  /**
   * Creates the error.
   *
   * @param status The accept status, or "AUTH_ERROR".
   * @param message Why, for logs.
   * @param auth The auth_stat for an AUTH_ERROR (RFC 5531: 1 BADCRED, 2 REJECTEDCRED, 5 TOOWEAK …).
   */
  constructor(
    status: AcceptStatusName | "AUTH_ERROR",
    message: string,
    auth = 0,
  ) {
    super(message);
    this.name = "RpcReplyError";
    this.status = status;
    this.auth = auth;
  }
}
