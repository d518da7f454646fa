/**
 * The numbers of the NBD protocol: magic values, handshake and transmission
 * flags, option, reply, command and error codes, and the fixed sizes of the
 * headers. Public through `protocol.ts`.
 *
 * @module
 */

/** "NBDMAGIC", the first 8 bytes the server sends, as two 32-bit words. */
export const NBDMAGIC: readonly [number, number] = [0x4e42444d, 0x41474943];
/** "IHAVEOPT": the newstyle magic and the prefix of every option, as two words. */
export const IHAVEOPT: readonly [number, number] = [0x49484156, 0x454f5054];
/** The magic of every option reply (0x3e889045565a9), as two words. */
export const OPT_REPLY_MAGIC: readonly [number, number] = [
  0x0003e889,
  0x045565a9,
];

/**
 * Magic numbers of the transmission phase.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Magic } from "@netfs/netfs/nbd";
 * assert.equal(Magic.REQUEST.toString(16), "25609513");
 * ```
 */
export const Magic = {
  REQUEST: 0x25609513,
  EXTENDED_REQUEST: 0x21e41c71,
  SIMPLE_REPLY: 0x67446698,
  STRUCTURED_REPLY: 0x668e33ef,
  EXTENDED_REPLY: 0x6e8a278c,
} as const;

/**
 * Handshake flags (server) and client flags; the bits have the same meaning
 * in both directions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HandshakeFlag } from "@netfs/netfs/nbd";
 * assert.equal(HandshakeFlag.FIXED_NEWSTYLE | HandshakeFlag.NO_ZEROES, 3);
 * ```
 */
export const HandshakeFlag = {
  FIXED_NEWSTYLE: 1,
  NO_ZEROES: 2,
} as const;

/**
 * Option numbers of the handshake.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Opt } from "@netfs/netfs/nbd";
 * assert.equal(Opt.GO, 7);
 * ```
 */
export const Opt = {
  EXPORT_NAME: 1,
  ABORT: 2,
  LIST: 3,
  PEEK_EXPORT: 4,
  STARTTLS: 5,
  INFO: 6,
  GO: 7,
  STRUCTURED_REPLY: 8,
  LIST_META_CONTEXT: 9,
  SET_META_CONTEXT: 10,
  EXTENDED_HEADERS: 11,
} as const;

/** Error replies have bit 31 set. */
const ERR = 0x80000000;

/**
 * Option reply types. Errors have bit 31 set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rep, isRepError } from "@netfs/netfs/nbd";
 * assert.equal(isRepError(Rep.ERR_UNSUP), true);
 * assert.equal(isRepError(Rep.ACK), false);
 * ```
 */
export const Rep = {
  ACK: 1,
  SERVER: 2,
  INFO: 3,
  META_CONTEXT: 4,
  ERR_UNSUP: ERR + 1,
  ERR_POLICY: ERR + 2,
  ERR_INVALID: ERR + 3,
  ERR_PLATFORM: ERR + 4,
  ERR_TLS_REQD: ERR + 5,
  ERR_UNKNOWN: ERR + 6,
  ERR_SHUTDOWN: ERR + 7,
  ERR_BLOCK_SIZE_REQD: ERR + 8,
  ERR_TOO_BIG: ERR + 9,
  ERR_EXT_HEADER_REQD: ERR + 10,
} as const;

/**
 * Whether an option reply type is an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRepError } from "@netfs/netfs/nbd";
 * assert.equal(isRepError(0x80000006), true);
 * ```
 */
export function isRepError(type: number): boolean {
  return type >= ERR;
}

/**
 * Information types of `NBD_REP_INFO`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Info } from "@netfs/netfs/nbd";
 * assert.equal(Info.BLOCK_SIZE, 3);
 * ```
 */
export const Info = {
  EXPORT: 0,
  NAME: 1,
  DESCRIPTION: 2,
  BLOCK_SIZE: 3,
} as const;

/**
 * Transmission flags (16 bits, sent with the export size).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TxFlag } from "@netfs/netfs/nbd";
 * assert.equal(TxFlag.HAS_FLAGS | TxFlag.READ_ONLY, 3);
 * ```
 */
export const TxFlag = {
  HAS_FLAGS: 1 << 0,
  READ_ONLY: 1 << 1,
  SEND_FLUSH: 1 << 2,
  SEND_FUA: 1 << 3,
  ROTATIONAL: 1 << 4,
  SEND_TRIM: 1 << 5,
  SEND_WRITE_ZEROES: 1 << 6,
  SEND_DF: 1 << 7,
  CAN_MULTI_CONN: 1 << 8,
  SEND_RESIZE: 1 << 9,
  SEND_CACHE: 1 << 10,
  SEND_FAST_ZERO: 1 << 11,
  BLOCK_STATUS_PAYLOAD: 1 << 12,
} as const;

/**
 * Request (command) types.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cmd } from "@netfs/netfs/nbd";
 * assert.equal(Cmd.BLOCK_STATUS, 7);
 * ```
 */
export const Cmd = {
  READ: 0,
  WRITE: 1,
  DISC: 2,
  FLUSH: 3,
  TRIM: 4,
  CACHE: 5,
  WRITE_ZEROES: 6,
  BLOCK_STATUS: 7,
  RESIZE: 8,
} as const;

/**
 * Command flags of a request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CmdFlag } from "@netfs/netfs/nbd";
 * assert.equal(CmdFlag.FUA | CmdFlag.NO_HOLE, 3);
 * ```
 */
export const CmdFlag = {
  FUA: 1 << 0,
  NO_HOLE: 1 << 1,
  DF: 1 << 2,
  REQ_ONE: 1 << 3,
  FAST_ZERO: 1 << 4,
  PAYLOAD_LEN: 1 << 5,
} as const;

/** The structured/extended reply flag that marks the final chunk. */
export const REPLY_FLAG_DONE = 1;

/**
 * Structured reply chunk types. Error chunks have bit 15 set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReplyType } from "@netfs/netfs/nbd";
 * assert.equal(ReplyType.ERROR.toString(16), "8001");
 * ```
 */
export const ReplyType = {
  NONE: 0,
  OFFSET_DATA: 1,
  OFFSET_HOLE: 2,
  BLOCK_STATUS: 5,
  BLOCK_STATUS_EXT: 6,
  ERROR: (1 << 15) + 1,
  ERROR_OFFSET: (1 << 15) + 2,
} as const;

/**
 * NBD error values carried in replies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Errno } from "@netfs/netfs/nbd";
 * assert.equal(Errno.ENOSPC, 28);
 * ```
 */
export const Errno = {
  EPERM: 1,
  EIO: 5,
  ENOMEM: 12,
  EINVAL: 22,
  ENOSPC: 28,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  ESHUTDOWN: 108,
} as const;

/**
 * Flags of the `base:allocation` metadata context.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { State } from "@netfs/netfs/nbd";
 * assert.equal(State.HOLE | State.ZERO, 3);
 * ```
 */
export const State = {
  HOLE: 1,
  ZERO: 2,
} as const;

/** The one metadata context this implementation serves. */
export const BASE_ALLOCATION = "base:allocation";

/** Bytes of a compact request header. */
export const REQUEST_SIZE = 28;
/** Bytes of an extended request header. */
export const EXTENDED_REQUEST_SIZE = 32;
/** Bytes of a simple reply header. */
export const SIMPLE_REPLY_SIZE = 16;
/** Bytes of a structured reply chunk header. */
export const STRUCTURED_REPLY_SIZE = 20;
/** Bytes of an extended reply chunk header. */
export const EXTENDED_REPLY_SIZE = 32;
/** Bytes of an option header (IHAVEOPT, option, length). */
export const OPTION_HEADER_SIZE = 16;
/** Bytes of an option reply header (magic, option, type, length). */
export const OPTION_REPLY_HEADER_SIZE = 20;
