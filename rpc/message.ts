/**
 * RPC call and reply messages of RFC 5531 (`rpc_msg`): the constants, the
 * call header codec, and every accepted and rejected reply shape.
 *
 * Replies are written into an {@link XdrWriter} so that the server can put
 * the header and the procedure results in one buffer and send one write.
 *
 * @example Encode a call and read its header back
 * ```ts
 * import {
 *   AUTH_NONE_OPAQUE,
 *   decodeCallHeader,
 *   encodeCallHeader,
 *   XdrReader,
 *   XdrWriter,
 * } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const w = new XdrWriter();
 * encodeCallHeader(w, { xid: 1, program: 100000, version: 2, procedure: 4 });
 * w.u32(42); // the procedure's arguments follow the header
 *
 * const r = new XdrReader(w.bytes());
 * assert.deepEqual(decodeCallHeader(r), {
 *   xid: 1,
 *   rpcVersion: 2,
 *   program: 100000,
 *   version: 2,
 *   procedure: 4,
 *   cred: AUTH_NONE_OPAQUE, // the default credential and verifier
 *   verf: AUTH_NONE_OPAQUE,
 * });
 * assert.equal(r.u32(), 42);
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
 * import { decodeOpaqueAuth, XdrReader, XdrWriter } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const ok = new XdrWriter().u32(1).opaque(new Uint8Array(400)).bytes();
 * assert.equal(decodeOpaqueAuth(new XdrReader(ok)).body.length, 400);
 *
 * const tooLong = new XdrWriter().u32(1).opaque(new Uint8Array(401)).bytes();
 * assert.throws(() => decodeOpaqueAuth(new XdrReader(tooLong), "cred"), {
 *   name: "XdrError",
 *   message: "Length 401 exceeds maximum 400 (field cred)",
 * });
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
 * @example A reply where a call was expected
 * ```ts
 * import { decodeCallHeader, XdrReader, XdrWriter } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const reply = new XdrWriter().u32(5).u32(1).bytes(); // xid 5, REPLY
 * assert.throws(() => decodeCallHeader(new XdrReader(reply)), {
 *   name: "XdrError",
 *   message: "Not a call: msg_type 1 (field msg_type)",
 * });
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
 * @example A successful reply with its results
 * ```ts
 * import {
 *   AcceptStat,
 *   decodeReplyHeader,
 *   encodeAcceptedReply,
 *   ReplyStat,
 *   XdrReader,
 *   XdrWriter,
 * } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const w = new XdrWriter();
 * encodeAcceptedReply(w, 7, AcceptStat.SUCCESS);
 * w.string("result");
 *
 * const r = new XdrReader(w.bytes());
 * const h = decodeReplyHeader(r);
 * assert.equal(h.xid, 7);
 * assert.equal(h.replyStat, ReplyStat.MSG_ACCEPTED);
 * assert.equal(h.acceptStat, AcceptStat.SUCCESS);
 * assert.equal(r.string(16), "result"); // the reader is left at the results
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
 */
export function encodeRpcMismatch(w: XdrWriter, xid: number): void {
  w.u32(xid).u32(MsgType.REPLY).u32(ReplyStat.MSG_DENIED);
  w.u32(RejectStat.RPC_MISMATCH).u32(RPC_VERSION).u32(RPC_VERSION);
}

/**
 * Writes an AUTH_ERROR rejection with `authStat` (see {@link AuthStat}).
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
 * @example Tell a rejected call from an accepted one
 * ```ts
 * import {
 *   AuthStat,
 *   decodeReplyHeader,
 *   encodeAuthError,
 *   RejectStat,
 *   ReplyStat,
 *   XdrReader,
 *   XdrWriter,
 * } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const w = new XdrWriter();
 * encodeAuthError(w, 3, AuthStat.AUTH_TOOWEAK);
 * const h = decodeReplyHeader(new XdrReader(w.bytes()));
 * assert.equal(h.replyStat, ReplyStat.MSG_DENIED);
 * if (h.replyStat === ReplyStat.MSG_DENIED) { // narrows to the rejected shape
 *   assert.equal(h.rejectStat, RejectStat.AUTH_ERROR);
 *   assert.equal(h.authStat, AuthStat.AUTH_TOOWEAK);
 * }
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
