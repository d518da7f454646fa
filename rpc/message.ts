/**
 * RPC call and reply messages of RFC 5531 (`rpc_msg`): the constants, the
 * call header codec, and every accepted and rejected reply shape.
 *
 * Replies are written into an {@link XdrWriter} so that the server can put
 * the header and the procedure results in one buffer and send one write.
 *
 * @example Encode a call and read its header back
 * ```ts
 * import { XdrReader, XdrWriter } from "./xdr.ts";
 * import { decodeCallHeader, encodeCallHeader } from "./message.ts";
 * const w = new XdrWriter();
 * encodeCallHeader(w, { xid: 1, program: 100000, version: 2, procedure: 0 });
 * const call = decodeCallHeader(new XdrReader(w.bytes()));
 * console.log(call.program, call.cred.flavor); // 100000 0
 * ```
 *
 * @module
 */

import { XdrError, type XdrReader, type XdrWriter } from "./xdr.ts";

/** `msg_type`. */
export const MsgType = { CALL: 0, REPLY: 1 } as const;

/** `reply_stat`. */
export const ReplyStat = { MSG_ACCEPTED: 0, MSG_DENIED: 1 } as const;

/** `accept_stat`. */
export const AcceptStat = {
  SUCCESS: 0,
  PROG_UNAVAIL: 1,
  PROG_MISMATCH: 2,
  PROC_UNAVAIL: 3,
  GARBAGE_ARGS: 4,
  SYSTEM_ERR: 5,
} as const;

/** `reject_stat`. */
export const RejectStat = { RPC_MISMATCH: 0, AUTH_ERROR: 1 } as const;

/** `auth_stat`. */
export const AuthStat = {
  AUTH_OK: 0,
  AUTH_BADCRED: 1,
  AUTH_REJECTEDCRED: 2,
  AUTH_BADVERF: 3,
  AUTH_REJECTEDVERF: 4,
  AUTH_TOOWEAK: 5,
  AUTH_INVALIDRESP: 6,
  AUTH_FAILED: 7,
  AUTH_KERB_GENERIC: 8,
  AUTH_TIMEEXPIRE: 9,
  AUTH_TKT_FILE: 10,
  AUTH_DECODE: 11,
  AUTH_NET_ADDR: 12,
  RPCSEC_GSS_CREDPROBLEM: 13,
  RPCSEC_GSS_CTXPROBLEM: 14,
} as const;

/** `auth_flavor`. */
export const AuthFlavor = {
  AUTH_NONE: 0,
  AUTH_SYS: 1,
  AUTH_SHORT: 2,
  AUTH_DH: 3,
  RPCSEC_GSS: 6,
} as const;

/** The only RPC protocol version (`rpcvers`). */
export const RPC_VERSION = 2;

/** Largest `opaque_auth` body (RFC 5531: `opaque body<400>`). */
export const MAX_AUTH_BYTES = 400;

/** Names of accept statuses, indexed by value. */
export const ACCEPT_STAT_NAMES: readonly string[] = [
  "SUCCESS",
  "PROG_UNAVAIL",
  "PROG_MISMATCH",
  "PROC_UNAVAIL",
  "GARBAGE_ARGS",
  "SYSTEM_ERR",
];

/** Names of auth statuses, indexed by value. */
export const AUTH_STAT_NAMES: readonly string[] = Object.keys(AuthStat);

/** An `opaque_auth`: a flavour and its body (a view, not a copy). */
export interface OpaqueAuth {
  /** The flavour (see {@link AuthFlavor}). */
  flavor: number;
  /** The flavour-specific body, at most 400 bytes. */
  body: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** The AUTH_NONE credential or verifier. */
export const AUTH_NONE_OPAQUE: OpaqueAuth = Object.freeze({
  flavor: 0,
  body: EMPTY,
});

/** A decoded call header; the procedure arguments follow it. */
export interface CallHeader {
  /** Transaction id. */
  xid: number;
  /** `rpcvers`; 2 unless the peer is broken. */
  rpcVersion: number;
  /** Program number. */
  program: number;
  /** Program version. */
  version: number;
  /** Procedure number. */
  procedure: number;
  /** Credential. */
  cred: OpaqueAuth;
  /** Verifier. */
  verf: OpaqueAuth;
}

/** What a client passes to {@link encodeCallHeader}. */
export interface CallHeaderInit {
  /** Transaction id. */
  xid: number;
  /** Program number. */
  program: number;
  /** Program version. */
  version: number;
  /** Procedure number. */
  procedure: number;
  /** Credential; AUTH_NONE when absent. */
  cred?: OpaqueAuth;
  /** Verifier; AUTH_NONE when absent. */
  verf?: OpaqueAuth;
}

/**
 * Reads an `opaque_auth`, refusing a body over 400 bytes.
 *
 * @example
 * ```ts
 * import { XdrReader } from "./xdr.ts";
 * import { decodeOpaqueAuth } from "./message.ts";
 * const a = decodeOpaqueAuth(new XdrReader(new Uint8Array(8)));
 * console.log(a.flavor, a.body.length); // 0 0
 * ```
 */
export function decodeOpaqueAuth(r: XdrReader, field = "auth"): OpaqueAuth {
  const flavor = r.u32(field);
  const body = r.opaque(MAX_AUTH_BYTES, field);
  if (flavor === 0 && body.byteLength === 0) return AUTH_NONE_OPAQUE;
  return { flavor, body };
}

/**
 * Writes an `opaque_auth`.
 *
 * @example
 * ```ts
 * import { XdrWriter } from "./xdr.ts";
 * import { AUTH_NONE_OPAQUE, encodeOpaqueAuth } from "./message.ts";
 * console.log(encodeOpaqueAuth(new XdrWriter(), AUTH_NONE_OPAQUE).length); // 8
 * ```
 */
export function encodeOpaqueAuth(w: XdrWriter, auth: OpaqueAuth): XdrWriter {
  if (auth.body.byteLength > MAX_AUTH_BYTES) {
    throw new XdrError(
      `Auth body too long: ${auth.body.byteLength} bytes, maximum ${MAX_AUTH_BYTES}`,
      "auth",
    );
  }
  return w.u32(auth.flavor).opaque(auth.body);
}

/**
 * Writes a call header (`rpc_msg` with `mtype` CALL and `rpcvers` 2); the
 * caller appends the procedure arguments.
 *
 * @example
 * ```ts
 * import { XdrWriter } from "./xdr.ts";
 * import { encodeCallHeader } from "./message.ts";
 * const w = new XdrWriter({ reserve: 4 });
 * encodeCallHeader(w, { xid: 9, program: 100003, version: 3, procedure: 0 });
 * console.log(w.length); // 40
 * ```
 */
export function encodeCallHeader(w: XdrWriter, call: CallHeaderInit): void {
  w.u32(call.xid).u32(MsgType.CALL).u32(RPC_VERSION);
  w.u32(call.program).u32(call.version).u32(call.procedure);
  encodeOpaqueAuth(w, call.cred ?? AUTH_NONE_OPAQUE);
  encodeOpaqueAuth(w, call.verf ?? AUTH_NONE_OPAQUE);
}

/**
 * Reads a call header up to the procedure arguments. Throws
 * {@link XdrError} when the message is not a CALL or is cut short; it does
 * not judge `rpcvers` or the credentials (the server answers those).
 *
 * @example
 * ```ts
 * import { XdrReader, XdrWriter } from "./xdr.ts";
 * import { decodeCallHeader, encodeCallHeader } from "./message.ts";
 * const w = new XdrWriter();
 * encodeCallHeader(w, { xid: 5, program: 1, version: 2, procedure: 3 });
 * console.log(decodeCallHeader(new XdrReader(w.bytes())).xid); // 5
 * ```
 */
export function decodeCallHeader(r: XdrReader): CallHeader {
  const xid = r.u32("xid");
  const mtype = r.u32("msg_type");
  if (mtype !== MsgType.CALL) {
    throw new XdrError(`Not a call: msg_type ${mtype}`, "msg_type");
  }
  const rpcVersion = r.u32("rpcvers");
  const program = r.u32("prog");
  const version = r.u32("vers");
  const procedure = r.u32("proc");
  const cred = decodeOpaqueAuth(r, "cred");
  const verf = decodeOpaqueAuth(r, "verf");
  return { xid, rpcVersion, program, version, procedure, cred, verf };
}

/**
 * Writes an accepted reply header with an AUTH_NONE verifier and `stat`.
 * For SUCCESS the procedure results follow; for PROG_MISMATCH pass the
 * supported versions in `mismatch`.
 *
 * @example
 * ```ts
 * import { XdrWriter } from "./xdr.ts";
 * import { AcceptStat, encodeAcceptedReply } from "./message.ts";
 * const w = new XdrWriter({ reserve: 4 });
 * encodeAcceptedReply(w, 7, AcceptStat.SUCCESS);
 * console.log(w.length); // 24
 * ```
 */
export function encodeAcceptedReply(
  w: XdrWriter,
  xid: number,
  stat: number,
  mismatch?: { low: number; high: number },
): void {
  // xid, REPLY, MSG_ACCEPTED, verifier AUTH_NONE (flavor, length), stat
  w.u32(xid).u32(MsgType.REPLY).u32(ReplyStat.MSG_ACCEPTED);
  w.u32(0).u32(0).u32(stat);
  if (stat === AcceptStat.PROG_MISMATCH) {
    w.u32(mismatch?.low ?? 0).u32(mismatch?.high ?? 0);
  }
}

/**
 * Writes an RPC_MISMATCH rejection naming the supported RPC versions (2, 2).
 *
 * @example
 * ```ts
 * import { XdrWriter } from "./xdr.ts";
 * import { encodeRpcMismatch } from "./message.ts";
 * const w = new XdrWriter();
 * encodeRpcMismatch(w, 1);
 * console.log(w.length); // 24
 * ```
 */
export function encodeRpcMismatch(w: XdrWriter, xid: number): void {
  w.u32(xid).u32(MsgType.REPLY).u32(ReplyStat.MSG_DENIED);
  w.u32(RejectStat.RPC_MISMATCH).u32(RPC_VERSION).u32(RPC_VERSION);
}

/**
 * Writes an AUTH_ERROR rejection with `authStat` (see {@link AuthStat}).
 *
 * @example
 * ```ts
 * import { XdrWriter } from "./xdr.ts";
 * import { AuthStat, encodeAuthError } from "./message.ts";
 * const w = new XdrWriter();
 * encodeAuthError(w, 1, AuthStat.AUTH_BADCRED);
 * console.log(w.length); // 20
 * ```
 */
export function encodeAuthError(
  w: XdrWriter,
  xid: number,
  authStat: number,
): void {
  w.u32(xid).u32(MsgType.REPLY).u32(ReplyStat.MSG_DENIED);
  w.u32(RejectStat.AUTH_ERROR).u32(authStat);
}

/** A decoded reply header, as a client sees it. */
export type ReplyHeader =
  | {
    /** Transaction id. */
    xid: number;
    /** The call was accepted. */
    replyStat: 0;
    /** Server verifier. */
    verf: OpaqueAuth;
    /** `accept_stat`; for SUCCESS the results follow. */
    acceptStat: number;
    /** Lowest supported version, for PROG_MISMATCH. */
    low: number;
    /** Highest supported version, for PROG_MISMATCH. */
    high: number;
  }
  | {
    /** Transaction id. */
    xid: number;
    /** The call was rejected. */
    replyStat: 1;
    /** `reject_stat`. */
    rejectStat: number;
    /** `auth_stat`, for AUTH_ERROR. */
    authStat: number;
    /** Lowest supported RPC version, for RPC_MISMATCH. */
    low: number;
    /** Highest supported RPC version, for RPC_MISMATCH. */
    high: number;
  };

/**
 * Reads a reply header; for an accepted SUCCESS reply the reader is left at
 * the procedure results. Throws {@link XdrError} for anything malformed.
 *
 * @example
 * ```ts
 * import { XdrReader, XdrWriter } from "./xdr.ts";
 * import { decodeReplyHeader, encodeAcceptedReply } from "./message.ts";
 * const w = new XdrWriter();
 * encodeAcceptedReply(w, 3, 2, { low: 2, high: 4 });
 * const h = decodeReplyHeader(new XdrReader(w.bytes()));
 * console.log(h.replyStat, h.low, h.high); // 0 2 4
 * ```
 */
export function decodeReplyHeader(r: XdrReader): ReplyHeader {
  const xid = r.u32("xid");
  const mtype = r.u32("msg_type");
  if (mtype !== MsgType.REPLY) {
    throw new XdrError(`Not a reply: msg_type ${mtype}`, "msg_type");
  }
  const stat = r.u32("reply_stat");
  if (stat === ReplyStat.MSG_ACCEPTED) {
    const verf = decodeOpaqueAuth(r, "verf");
    const acceptStat = r.u32("accept_stat");
    if (acceptStat > AcceptStat.SYSTEM_ERR) {
      throw new XdrError(`Invalid accept_stat: ${acceptStat}`, "accept_stat");
    }
    let low = 0;
    let high = 0;
    if (acceptStat === AcceptStat.PROG_MISMATCH) {
      low = r.u32("low");
      high = r.u32("high");
    }
    return { xid, replyStat: 0, verf, acceptStat, low, high };
  }
  if (stat !== ReplyStat.MSG_DENIED) {
    throw new XdrError(`Invalid reply_stat: ${stat}`, "reply_stat");
  }
  const rejectStat = r.u32("reject_stat");
  if (rejectStat === RejectStat.RPC_MISMATCH) {
    const low = r.u32("low");
    const high = r.u32("high");
    return { xid, replyStat: 1, rejectStat, authStat: 0, low, high };
  }
  if (rejectStat !== RejectStat.AUTH_ERROR) {
    throw new XdrError(`Invalid reject_stat: ${rejectStat}`, "reject_stat");
  }
  const authStat = r.u32("auth_stat");
  return { xid, replyStat: 1, rejectStat, authStat, low: 0, high: 0 };
}
