/**
 * How a program plugs into the RPC server: a procedure table keyed by
 * procedure number, each handler decoding its arguments from an
 * {@link XdrReader} and appending its result to an {@link XdrWriter} that
 * already holds the accepted-reply header.
 *
 * @example A tiny program with one procedure
 * ```ts
 * import type { RpcProgram } from "./program.ts";
 * const echo: RpcProgram = {
 *   program: 0x20000001,
 *   version: 1,
 *   name: "echo",
 *   procedures: {
 *     0: { name: "NULL", handler: () => {} },
 *     1: {
 *       name: "ECHO",
 *       handler: (args, reply) => {
 *         reply.opaque(args.opaque(1024));
 *       },
 *     },
 *   },
 * };
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

/** What a procedure handler knows about the call it serves. */
export interface CallContext {
  /** The transaction id. */
  xid: number;
  /** Program number. */
  program: number;
  /** Program version. */
  version: number;
  /** Procedure number. */
  procedure: number;
  /** Decoded credentials. */
  auth: CallAuth;
  /** The peer's address. */
  remote: Deno.NetAddr;
  /** The local address the call arrived on. */
  local: Deno.NetAddr;
  /** The server-assigned id of the connection. */
  connectionId: number;
}

/**
 * A procedure handler. It decodes its arguments from `args` (an
 * {@link XdrError} thrown while decoding becomes GARBAGE_ARGS) and appends
 * its result to `reply`. Throwing {@link RpcReplyError} sends that accept
 * status instead; any other exception becomes SYSTEM_ERR.
 */
export type ProcedureHandler = (
  args: XdrReader,
  reply: XdrWriter,
  ctx: CallContext,
) => void | Promise<void>;

/** One procedure of a program. */
export interface Procedure {
  /** Name for logs, such as "GETATTR". */
  name: string;
  /** The handler. */
  handler: ProcedureHandler;
  /**
   * False for non-idempotent procedures (CREATE, REMOVE, RENAME …): their
   * replies are kept in the duplicate-request cache and replayed for a
   * retransmitted xid. Defaults to true.
   */
  idempotent?: boolean;
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
  procedures: Record<number, Procedure>;
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
 * import { RpcReplyError } from "./program.ts";
 * throw new RpcReplyError("SYSTEM_ERR", "Backing store unavailable");
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
