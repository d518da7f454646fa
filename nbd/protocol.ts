/**
 * NBD wire format: the constants of the fixed newstyle handshake and the
 * transmission phase, and small pure codecs for options, option replies,
 * requests, simple, structured and extended replies.
 *
 * Every decoder is total: it returns a value or throws {@link NbdProtocolError}
 * for malformed input, never reads past the bytes it was given, and never
 * allocates for a length it has not checked. 64-bit offsets and lengths are
 * decoded to `number` (two `getUint32`, no `BigInt`); values above 2^53 lose
 * precision but stay larger than any export, so bounds checks still refuse
 * them.
 *
 * @example Encode a request as a client would, decode it as a server does
 * ```ts
 * import { Cmd, CmdFlag, decodeRequest, encodeRequest, REQUEST_SIZE } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const data = new TextEncoder().encode("hello");
 * const bytes = encodeRequest(
 *   { type: Cmd.WRITE, flags: CmdFlag.FUA, cookie: 7, offset: 4096, length: data.length },
 *   { data },
 * );
 * assert.equal(bytes.length, REQUEST_SIZE + data.length); // the payload follows
 * assert.deepEqual(decodeRequest(bytes, false), {
 *   flags: CmdFlag.FUA,
 *   type: Cmd.WRITE,
 *   cookieHi: 0,
 *   cookieLo: 7,
 *   offset: 4096,
 *   length: 5,
 * });
 * ```
 *
 * @module
 */

import { getU64, setU64 } from "./_u64.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** "NBDMAGIC", the first 8 bytes the server sends, as two 32-bit words. */
export const NBDMAGIC: readonly [number, number] = [0x4e42444d, 0x41474943];
/** "IHAVEOPT": the newstyle magic and the prefix of every option, as two words. */
export const IHAVEOPT: readonly [number, number] = [0x49484156, 0x454f5054];
/** The magic of every option reply (0x3e889045565a9), as two words. */
export const OPT_REPLY_MAGIC: readonly [number, number] = [
  0x0003e889,
  0x045565a9,
];

/** Magic numbers of the transmission phase. */
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
 */
export const HandshakeFlag = {
  FIXED_NEWSTYLE: 1,
  NO_ZEROES: 2,
} as const;

/** Option numbers of the handshake. */
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

/** Option reply types. Errors have bit 31 set. */
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

/** Whether an option reply type is an error. */
export function isRepError(type: number): boolean {
  return type >= ERR;
}

/** Information types of `NBD_REP_INFO`. */
export const Info = {
  EXPORT: 0,
  NAME: 1,
  DESCRIPTION: 2,
  BLOCK_SIZE: 3,
} as const;

/** Transmission flags (16 bits, sent with the export size). */
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

/** Request (command) types. */
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

/** Command flags of a request. */
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

/** Structured reply chunk types. Error chunks have bit 15 set. */
export const ReplyType = {
  NONE: 0,
  OFFSET_DATA: 1,
  OFFSET_HOLE: 2,
  BLOCK_STATUS: 5,
  BLOCK_STATUS_EXT: 6,
  ERROR: (1 << 15) + 1,
  ERROR_OFFSET: (1 << 15) + 2,
} as const;

/** NBD error values carried in replies. */
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

/** Flags of the `base:allocation` metadata context. */
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
/** The longest string (export name, description, message) the spec allows. */
export const MAX_STRING = 4096;

/**
 * A malformed message: bad magic, a length past the end of the data, a string
 * that is not UTF-8. Servers answer it with `NBD_REP_ERR_INVALID` during the
 * handshake and close the connection during transmission.
 *
 * @example
 * ```ts
 * import { decodeGoOption, NbdProtocolError } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * // GO data naming "mem" and claiming 9 information requests but carrying none.
 * const data = new Uint8Array([0, 0, 0, 3, 0x6d, 0x65, 0x6d, 0, 9]);
 * assert.throws(
 *   () => decodeGoOption(data),
 *   (e) =>
 *     e instanceof NbdProtocolError &&
 *     e.message === "Information request count does not fit: 9",
 * );
 * ```
 */
export class NbdProtocolError extends Error {
  /**
   * Builds the error.
   *
   * @param message Sentence case, the offending value after a colon.
   */
  constructor(message: string) {
    super(message);
    this.name = "NbdProtocolError";
  }
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes a UTF-8 string of the protocol: at most {@link MAX_STRING} bytes,
 * no NUL characters.
 *
 * @example
 * ```ts
 * import { decodeString, MAX_STRING } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const utf8 = (s: string) => new TextEncoder().encode(s);
 * assert.equal(decodeString(utf8("disk-é"), "export name"), "disk-é");
 * assert.throws(() => decodeString(utf8("a\0b"), "export name"), {
 *   message: "String contains NUL: export name",
 * });
 * assert.throws(() => decodeString(new Uint8Array([0xff]), "export name"), {
 *   message: "String is not UTF-8: export name",
 * });
 * assert.throws(() => decodeString(new Uint8Array(MAX_STRING + 1).fill(0x61), "description"), {
 *   message: "String too long: description of 4097 bytes",
 * });
 * ```
 */
export function decodeString(bytes: Uint8Array, what: string): string {
  if (bytes.length > MAX_STRING) {
    throw new NbdProtocolError(
      `String too long: ${what} of ${bytes.length} bytes`,
    );
  }
  if (bytes.includes(0)) {
    throw new NbdProtocolError(`String contains NUL: ${what}`);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new NbdProtocolError(`String is not UTF-8: ${what}`);
  }
}

/** Encodes a string as UTF-8. */
export function encodeString(s: string): Uint8Array {
  return encoder.encode(s);
}

// ---------------------------------------------------------------- handshake

/** The server's greeting: NBDMAGIC, IHAVEOPT and the 16-bit handshake flags. */
export function encodeGreeting(flags: number): Uint8Array {
  const b = new Uint8Array(18);
  const v = viewOf(b);
  v.setUint32(0, NBDMAGIC[0]);
  v.setUint32(4, NBDMAGIC[1]);
  v.setUint32(8, IHAVEOPT[0]);
  v.setUint32(12, IHAVEOPT[1]);
  v.setUint16(16, flags);
  return b;
}

/**
 * Decodes the server's 18-byte greeting and returns its handshake flags;
 * throws for an oldstyle or unknown server.
 *
 * @example
 * ```ts
 * import { decodeGreeting, encodeGreeting, HandshakeFlag } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const flags = HandshakeFlag.FIXED_NEWSTYLE | HandshakeFlag.NO_ZEROES;
 * const greeting = encodeGreeting(flags);
 * assert.equal(new TextDecoder().decode(greeting.subarray(0, 16)), "NBDMAGICIHAVEOPT");
 * assert.equal(decodeGreeting(greeting), flags);
 * assert.throws(() => decodeGreeting(new TextEncoder().encode("SSH-2.0-OpenSSH_9.6")), {
 *   message: "Not an NBD server: bad NBDMAGIC",
 * });
 * ```
 */
export function decodeGreeting(bytes: Uint8Array): number {
  if (bytes.length < 18) throw new NbdProtocolError("Greeting too short");
  const v = viewOf(bytes);
  if (v.getUint32(0) !== NBDMAGIC[0] || v.getUint32(4) !== NBDMAGIC[1]) {
    throw new NbdProtocolError("Not an NBD server: bad NBDMAGIC");
  }
  if (v.getUint32(8) !== IHAVEOPT[0] || v.getUint32(12) !== IHAVEOPT[1]) {
    throw new NbdProtocolError("Not a newstyle NBD server: oldstyle magic");
  }
  return v.getUint16(16);
}

/** An option header as the client sends it. */
export interface OptionHeader {
  /** The option number ({@link Opt}). */
  option: number;
  /** Bytes of option data that follow. */
  length: number;
}

/**
 * Decodes a 16-byte option header; throws if the magic is not IHAVEOPT.
 *
 * @example
 * ```ts
 * import { decodeOptionHeader, encodeOption, OPTION_HEADER_SIZE, Opt } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeOption(Opt.GO, new Uint8Array(6)); // what a client sends
 * assert.deepEqual(decodeOptionHeader(bytes), { option: Opt.GO, length: 6 });
 * assert.equal(bytes.length, OPTION_HEADER_SIZE + 6);
 * ```
 */
export function decodeOptionHeader(bytes: Uint8Array): OptionHeader {
  if (bytes.length < OPTION_HEADER_SIZE) {
    throw new NbdProtocolError("Option header too short");
  }
  const v = viewOf(bytes);
  if (v.getUint32(0) !== IHAVEOPT[0] || v.getUint32(4) !== IHAVEOPT[1]) {
    throw new NbdProtocolError("Bad option magic: expected IHAVEOPT");
  }
  return { option: v.getUint32(8), length: v.getUint32(12) };
}

/** Encodes an option (header plus data) as the client sends it. */
export function encodeOption(
  option: number,
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const b = new Uint8Array(OPTION_HEADER_SIZE + data.length);
  const v = viewOf(b);
  v.setUint32(0, IHAVEOPT[0]);
  v.setUint32(4, IHAVEOPT[1]);
  v.setUint32(8, option);
  v.setUint32(12, data.length);
  b.set(data, OPTION_HEADER_SIZE);
  return b;
}

/** Encodes an option reply (header plus data) as the server sends it. */
export function encodeOptionReply(
  option: number,
  reply: { type: number; data?: Uint8Array },
): Uint8Array {
  const { type, data = new Uint8Array(0) } = reply;
  const b = new Uint8Array(OPTION_REPLY_HEADER_SIZE + data.length);
  const v = viewOf(b);
  v.setUint32(0, OPT_REPLY_MAGIC[0]);
  v.setUint32(4, OPT_REPLY_MAGIC[1]);
  v.setUint32(8, option);
  v.setUint32(12, type);
  v.setUint32(16, data.length);
  b.set(data, OPTION_REPLY_HEADER_SIZE);
  return b;
}

/** An option reply header as the client receives it. */
export interface OptionReplyHeader {
  /** The option this answers. */
  option: number;
  /** The reply type ({@link Rep}). */
  type: number;
  /** Bytes of reply data that follow. */
  length: number;
}

/**
 * Decodes a 20-byte option reply header; throws for a bad magic.
 *
 * @example An error reply to an option
 * ```ts
 * import {
 *   decodeOptionReplyHeader,
 *   encodeOptionReply,
 *   isRepError,
 *   Opt,
 *   OPTION_REPLY_HEADER_SIZE,
 *   Rep,
 * } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const message = new TextEncoder().encode("No such export: disk2");
 * const bytes = encodeOptionReply(Opt.GO, { type: Rep.ERR_UNKNOWN, data: message });
 * const h = decodeOptionReplyHeader(bytes);
 * assert.deepEqual(h, { option: Opt.GO, type: Rep.ERR_UNKNOWN, length: message.length });
 * assert.equal(isRepError(h.type), true);
 * assert.equal(isRepError(Rep.ACK), false);
 * assert.deepEqual(bytes.subarray(OPTION_REPLY_HEADER_SIZE), message);
 * ```
 */
export function decodeOptionReplyHeader(bytes: Uint8Array): OptionReplyHeader {
  if (bytes.length < OPTION_REPLY_HEADER_SIZE) {
    throw new NbdProtocolError("Option reply header too short");
  }
  const v = viewOf(bytes);
  if (
    v.getUint32(0) !== OPT_REPLY_MAGIC[0] ||
    v.getUint32(4) !== OPT_REPLY_MAGIC[1]
  ) {
    throw new NbdProtocolError("Bad option reply magic");
  }
  return {
    option: v.getUint32(8),
    type: v.getUint32(12),
    length: v.getUint32(16),
  };
}

/** The data of `NBD_OPT_INFO` and `NBD_OPT_GO`. */
export interface GoOption {
  /** Export name ("" for the default export). */
  name: string;
  /** Information types requested ({@link Info}). */
  requests: number[];
}

/**
 * Decodes the data of `NBD_OPT_INFO` / `NBD_OPT_GO`: the name length must fit,
 * and the request list must fill the rest exactly.
 *
 * @example
 * ```ts
 * import { decodeGoOption, encodeGoOption, Info } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const go = { name: "mem", requests: [Info.NAME, Info.BLOCK_SIZE] };
 * const data = encodeGoOption(go);
 * assert.equal(data.length, 4 + 3 + 2 + 2 * 2); // name length, name, count, requests
 * assert.deepEqual(decodeGoOption(data), go);
 * ```
 */
export function decodeGoOption(data: Uint8Array): GoOption {
  if (data.length < 6) {
    throw new NbdProtocolError(`Option data too short: ${data.length} bytes`);
  }
  const v = viewOf(data);
  const nameLen = v.getUint32(0);
  if (nameLen > data.length - 6) {
    throw new NbdProtocolError(`Name length past the end: ${nameLen}`);
  }
  const name = decodeString(data.subarray(4, 4 + nameLen), "export name");
  const count = v.getUint16(4 + nameLen);
  if (6 + nameLen + 2 * count !== data.length) {
    throw new NbdProtocolError(
      `Information request count does not fit: ${count}`,
    );
  }
  const requests: number[] = [];
  for (let i = 0; i < count; i++) {
    requests.push(v.getUint16(6 + nameLen + 2 * i));
  }
  return { name, requests };
}

/** Encodes the data of `NBD_OPT_INFO` / `NBD_OPT_GO`. */
export function encodeGoOption(go: GoOption): Uint8Array {
  const name = encodeString(go.name);
  const b = new Uint8Array(6 + name.length + 2 * go.requests.length);
  const v = viewOf(b);
  v.setUint32(0, name.length);
  b.set(name, 4);
  v.setUint16(4 + name.length, go.requests.length);
  go.requests.forEach((r, i) => v.setUint16(6 + name.length + 2 * i, r));
  return b;
}

/** The data of `NBD_OPT_LIST_META_CONTEXT` / `NBD_OPT_SET_META_CONTEXT`. */
export interface MetaContextOption {
  /** Export name. */
  name: string;
  /** Queries such as `base:allocation` or `base:`. */
  queries: string[];
}

/**
 * Decodes the data of the meta context options; every length is checked
 * against the bytes left and the data must be consumed exactly.
 *
 * @example
 * ```ts
 * import { BASE_ALLOCATION, decodeMetaContextOption, encodeMetaContextOption } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const option = { name: "mem", queries: [BASE_ALLOCATION] };
 * const data = encodeMetaContextOption(option);
 * assert.deepEqual(decodeMetaContextOption(data), option);
 * assert.throws(() => decodeMetaContextOption(data.subarray(0, data.length - 1)), {
 *   name: "NbdProtocolError",
 * });
 * ```
 */
export function decodeMetaContextOption(data: Uint8Array): MetaContextOption {
  const v = viewOf(data);
  let at = 0;
  const need = (n: number, what: string) => {
    if (n > data.length - at) {
      throw new NbdProtocolError(`Meta context option truncated: ${what}`);
    }
  };
  need(4, "name length");
  const nameLen = v.getUint32(at);
  at += 4;
  need(nameLen, "name");
  const name = decodeString(data.subarray(at, at + nameLen), "export name");
  at += nameLen;
  need(4, "query count");
  const count = v.getUint32(at);
  at += 4;
  // Each query needs at least its 4-byte length: refuse absurd counts early.
  if (count > (data.length - at) / 4) {
    throw new NbdProtocolError(`Query count past the end: ${count}`);
  }
  const queries: string[] = [];
  for (let i = 0; i < count; i++) {
    need(4, "query length");
    const len = v.getUint32(at);
    at += 4;
    need(len, "query");
    queries.push(decodeString(data.subarray(at, at + len), "query"));
    at += len;
  }
  if (at !== data.length) {
    throw new NbdProtocolError(
      `Trailing bytes after queries: ${data.length - at}`,
    );
  }
  return { name, queries };
}

/** Encodes the data of the meta context options. */
export function encodeMetaContextOption(o: MetaContextOption): Uint8Array {
  const name = encodeString(o.name);
  const qs = o.queries.map(encodeString);
  const b = new Uint8Array(
    8 + name.length + qs.reduce((n, q) => n + 4 + q.length, 0),
  );
  const v = viewOf(b);
  v.setUint32(0, name.length);
  b.set(name, 4);
  let at = 4 + name.length;
  v.setUint32(at, qs.length);
  at += 4;
  for (const q of qs) {
    v.setUint32(at, q.length);
    b.set(q, at + 4);
    at += 4 + q.length;
  }
  return b;
}

/** Size constraints of an export (`NBD_INFO_BLOCK_SIZE`). */
export interface BlockSize {
  /** Minimum block size: a power of two, 1 to 65536. */
  min: number;
  /** Preferred block size: a power of two, at least max(min, 512). */
  preferred: number;
  /** Maximum payload of one request. */
  max: number;
}

/**
 * Checks block size constraints against the spec's rules and returns them;
 * throws a `RangeError` naming the bad value.
 *
 * @example
 * ```ts
 * import { checkBlockSize } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const ok = { min: 512, preferred: 4096, max: 1 << 25 };
 * assert.equal(checkBlockSize(ok), ok);
 * assert.throws(() => checkBlockSize({ ...ok, min: 768 }), {
 *   name: "RangeError",
 *   message: "Minimum block size must be a power of two up to 65536: 768",
 * });
 * ```
 */
export function checkBlockSize(b: BlockSize): BlockSize {
  const pow2 = (n: number) =>
    Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(b.min) || b.min > 65536) {
    throw new RangeError(
      `Minimum block size must be a power of two up to 65536: ${b.min}`,
    );
  }
  if (!pow2(b.preferred) || b.preferred < Math.max(b.min, 512)) {
    throw new RangeError(
      `Preferred block size must be a power of two at least max(min, 512): ${b.preferred}`,
    );
  }
  if (
    !Number.isInteger(b.max) || b.max < b.preferred || b.max > 0xffffffff ||
    b.max % b.min !== 0
  ) {
    throw new RangeError(
      `Maximum payload must be a multiple of min, at least preferred, below 2^32: ${b.max}`,
    );
  }
  return b;
}

/** What `NBD_OPT_INFO` / `NBD_OPT_GO` told about an export. */
export interface ExportInfo {
  /** Canonical name, when the server sent `NBD_INFO_NAME`. */
  name?: string;
  /** Description, when the server sent `NBD_INFO_DESCRIPTION`. */
  description?: string;
  /** Size in bytes. */
  size: number;
  /** Transmission flags ({@link TxFlag}). */
  flags: number;
  /** Size constraints, when the server sent `NBD_INFO_BLOCK_SIZE`. */
  blockSize?: BlockSize;
}

/** Encodes the data of one `NBD_REP_INFO` reply. */
export function encodeInfo(
  info:
    | { type: "export"; size: number; flags: number }
    | { type: "name"; name: string }
    | { type: "description"; description: string }
    | { type: "block size"; blockSize: BlockSize },
): Uint8Array {
  switch (info.type) {
    case "export": {
      const b = new Uint8Array(12);
      const v = viewOf(b);
      v.setUint16(0, Info.EXPORT);
      setU64(v, 2, info.size);
      v.setUint16(10, info.flags);
      return b;
    }
    case "name":
    case "description": {
      const s = encodeString(
        info.type === "name" ? info.name : info.description,
      );
      const b = new Uint8Array(2 + s.length);
      viewOf(b).setUint16(
        0,
        info.type === "name" ? Info.NAME : Info.DESCRIPTION,
      );
      b.set(s, 2);
      return b;
    }
    case "block size": {
      const b = new Uint8Array(14);
      const v = viewOf(b);
      v.setUint16(0, Info.BLOCK_SIZE);
      v.setUint32(2, info.blockSize.min);
      v.setUint32(6, info.blockSize.preferred);
      v.setUint32(10, info.blockSize.max);
      return b;
    }
  }
}

/**
 * Folds the data of one `NBD_REP_INFO` reply into `into`; unknown types are
 * ignored as the spec requires, known types with a wrong length throw.
 *
 * @example Collect what INFO or GO replies say about an export
 * ```ts
 * import { decodeInfo, encodeInfo, type ExportInfo, TxFlag } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const info: ExportInfo = { size: -1, flags: 0 };
 * const flags = TxFlag.HAS_FLAGS | TxFlag.READ_ONLY;
 * decodeInfo(encodeInfo({ type: "export", size: 1 << 30, flags }), info);
 * decodeInfo(encodeInfo({ type: "description", description: "1 GiB" }), info);
 * decodeInfo(new Uint8Array([0x12, 0x34, 0]), info); // an unknown type: ignored
 * assert.deepEqual(info, { size: 1 << 30, flags, description: "1 GiB" });
 * ```
 */
export function decodeInfo(data: Uint8Array, into: ExportInfo): void {
  if (data.length < 2) {
    throw new NbdProtocolError(`Info reply too short: ${data.length}`);
  }
  const v = viewOf(data);
  const type = v.getUint16(0);
  switch (type) {
    case Info.EXPORT:
      if (data.length !== 12) {
        throw new NbdProtocolError(
          `Bad NBD_INFO_EXPORT length: ${data.length}`,
        );
      }
      into.size = getU64(v, 2);
      into.flags = v.getUint16(10);
      return;
    case Info.NAME:
      into.name = decodeString(data.subarray(2), "export name");
      return;
    case Info.DESCRIPTION:
      into.description = decodeString(data.subarray(2), "description");
      return;
    case Info.BLOCK_SIZE:
      if (data.length !== 14) {
        throw new NbdProtocolError(
          `Bad NBD_INFO_BLOCK_SIZE length: ${data.length}`,
        );
      }
      into.blockSize = {
        min: v.getUint32(2),
        preferred: v.getUint32(6),
        max: v.getUint32(10),
      };
      return;
  }
}

/** Encodes the data of an `NBD_REP_SERVER` reply (LIST). */
export function encodeServerReply(name: string, description = ""): Uint8Array {
  const n = encodeString(name);
  const d = encodeString(description);
  const b = new Uint8Array(4 + n.length + d.length);
  viewOf(b).setUint32(0, n.length);
  b.set(n, 4);
  b.set(d, 4 + n.length);
  return b;
}

/**
 * Decodes the data of an `NBD_REP_SERVER` reply.
 *
 * @example
 * ```ts
 * import { decodeServerReply, encodeServerReply } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const data = encodeServerReply("mem", "RAM disk");
 * assert.deepEqual(decodeServerReply(data), { name: "mem", description: "RAM disk" });
 * ```
 */
export function decodeServerReply(
  data: Uint8Array,
): { name: string; description: string } {
  if (data.length < 4) throw new NbdProtocolError("Server reply too short");
  const len = viewOf(data).getUint32(0);
  if (len > data.length - 4) {
    throw new NbdProtocolError(`Name length past the end: ${len}`);
  }
  return {
    name: decodeString(data.subarray(4, 4 + len), "export name"),
    description: decodeString(data.subarray(4 + len), "description"),
  };
}

/** Encodes the data of an `NBD_REP_META_CONTEXT` reply. */
export function encodeMetaContextReply(id: number, name: string): Uint8Array {
  const n = encodeString(name);
  const b = new Uint8Array(4 + n.length);
  viewOf(b).setUint32(0, id);
  b.set(n, 4);
  return b;
}

/** Decodes the data of an `NBD_REP_META_CONTEXT` reply. */
export function decodeMetaContextReply(
  data: Uint8Array,
): { id: number; name: string } {
  if (data.length < 4) {
    throw new NbdProtocolError("Meta context reply too short");
  }
  return {
    id: viewOf(data).getUint32(0),
    name: decodeString(data.subarray(4), "meta context"),
  };
}

// ------------------------------------------------------------- transmission

/** A request header as decoded by the server. */
export interface NbdRequest {
  /** Command flags ({@link CmdFlag}). */
  flags: number;
  /** Command type ({@link Cmd}). */
  type: number;
  /** High 32 bits of the client's opaque cookie. */
  cookieHi: number;
  /** Low 32 bits of the client's opaque cookie. */
  cookieLo: number;
  /** Offset in bytes (inexact above 2^53). */
  offset: number;
  /** Length in bytes: effect length, or payload length for writes. */
  length: number;
}

/**
 * Decodes a request header (28 bytes compact, 32 extended); throws for a bad
 * magic, which ends the session.
 *
 * @example Extended headers carry a 64-bit length
 * ```ts
 * import { Cmd, decodeRequest, encodeRequest, EXTENDED_REQUEST_SIZE } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const r = { type: Cmd.WRITE_ZEROES, flags: 0, cookie: 1, offset: 0, length: 2 ** 33 };
 * const bytes = encodeRequest(r, { extended: true });
 * assert.equal(bytes.length, EXTENDED_REQUEST_SIZE);
 * assert.equal(decodeRequest(bytes, true).length, 2 ** 33);
 * assert.throws(() => decodeRequest(bytes, false), { // a compact header was expected
 *   message: "Bad request magic: 0x21e41c71",
 * });
 * ```
 */
export function decodeRequest(
  bytes: Uint8Array,
  extended: boolean,
): NbdRequest {
  const size = extended ? EXTENDED_REQUEST_SIZE : REQUEST_SIZE;
  if (bytes.length < size) {
    throw new NbdProtocolError(`Request header too short: ${bytes.length}`);
  }
  const v = viewOf(bytes);
  const magic = v.getUint32(0);
  const want = extended ? Magic.EXTENDED_REQUEST : Magic.REQUEST;
  if (magic !== want) {
    throw new NbdProtocolError(`Bad request magic: 0x${magic.toString(16)}`);
  }
  return {
    flags: v.getUint16(4),
    type: v.getUint16(6),
    cookieHi: v.getUint32(8),
    cookieLo: v.getUint32(12),
    offset: getU64(v, 16),
    length: extended ? getU64(v, 24) : v.getUint32(24),
  };
}

/**
 * Encodes a request header (and appends `data` for writes). Compact unless
 * `extended`; a compact length must fit in 32 bits.
 *
 * @example
 * ```ts
 * import { Cmd, encodeRequest } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const read = encodeRequest({ type: Cmd.READ, flags: 0, cookie: 1, offset: 512, length: 512 });
 * assert.deepEqual(read.subarray(0, 8), new Uint8Array([0x25, 0x60, 0x95, 0x13, 0, 0, 0, 0])); // magic, flags, type
 * assert.throws(
 *   () => encodeRequest({ type: Cmd.READ, flags: 0, cookie: 1, offset: 0, length: 2 ** 32 }),
 *   RangeError, // a compact length must fit in 32 bits
 * );
 * ```
 */
export function encodeRequest(
  r: {
    type: number;
    flags: number;
    cookie: number;
    offset: number;
    length: number;
  },
  options: { extended?: boolean; data?: Uint8Array } = {},
): Uint8Array {
  const size = options.extended ? EXTENDED_REQUEST_SIZE : REQUEST_SIZE;
  const data = options.data;
  const b = new Uint8Array(size + (data ? data.length : 0));
  writeRequestHeader(new DataView(b.buffer), 0, {
    ...r,
    extended: options.extended,
  });
  if (data) b.set(data, size);
  return b;
}

/**
 * Writes a request header into `view` at `at` (for callers that reuse buffers).
 */
export function writeRequestHeader(
  v: DataView,
  at: number,
  r: {
    type: number;
    flags: number;
    cookie: number;
    offset: number;
    length: number;
    /** Write the 32-byte extended header. */
    extended?: boolean;
  },
): void {
  const extended = r.extended ?? false;
  v.setUint32(at, extended ? Magic.EXTENDED_REQUEST : Magic.REQUEST);
  v.setUint16(at + 4, r.flags);
  v.setUint16(at + 6, r.type);
  setU64(v, at + 8, r.cookie);
  setU64(v, at + 16, r.offset);
  if (extended) setU64(v, at + 24, r.length);
  else {
    if (r.length > 0xffffffff) {
      throw new RangeError(`Length needs extended headers: ${r.length}`);
    }
    v.setUint32(at + 24, r.length);
  }
}

/**
 * Writes a 16-byte simple reply header.
 *
 * @example
 * ```ts
 * import { Errno, SIMPLE_REPLY_SIZE, writeSimpleReply } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const b = new Uint8Array(SIMPLE_REPLY_SIZE);
 * writeSimpleReply(new DataView(b.buffer), 0, { error: Errno.ENOSPC, cookieHi: 0, cookieLo: 42 });
 * assert.deepEqual(b, new Uint8Array([
 *   0x67, 0x44, 0x66, 0x98, // simple reply magic
 *   0, 0, 0, 28, // ENOSPC
 *   0, 0, 0, 0, 0, 0, 0, 42, // the request's cookie
 * ]));
 * ```
 */
export function writeSimpleReply(
  v: DataView,
  at: number,
  reply: { error: number; cookieHi: number; cookieLo: number },
): void {
  v.setUint32(at, Magic.SIMPLE_REPLY);
  v.setUint32(at + 4, reply.error);
  v.setUint32(at + 8, reply.cookieHi);
  v.setUint32(at + 12, reply.cookieLo);
}

/** The fields of a structured or extended reply chunk header. */
export interface ChunkHeader {
  /** Reply flags ({@link REPLY_FLAG_DONE}). */
  flags: number;
  /** Chunk type ({@link ReplyType}). */
  type: number;
  /** High 32 bits of the cookie. */
  cookieHi: number;
  /** Low 32 bits of the cookie. */
  cookieLo: number;
  /** The request's offset (extended headers only). */
  offset: number;
  /** Payload length. */
  length: number;
  /** Write the 32-byte extended header (with `offset`). */
  extended?: boolean;
}

/**
 * Writes a chunk header: 20 bytes structured, or 32 bytes extended (which
 * also carries the request's offset). Returns the header size.
 *
 * @example
 * ```ts
 * import {
 *   EXTENDED_REPLY_SIZE,
 *   REPLY_FLAG_DONE,
 *   ReplyType,
 *   STRUCTURED_REPLY_SIZE,
 *   writeChunkHeader,
 * } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const view = new DataView(new ArrayBuffer(EXTENDED_REPLY_SIZE));
 * const chunk = { flags: REPLY_FLAG_DONE, type: ReplyType.NONE, cookieHi: 0, cookieLo: 1, offset: 0, length: 0 };
 * assert.equal(writeChunkHeader(view, 0, chunk), STRUCTURED_REPLY_SIZE);
 * assert.equal(writeChunkHeader(view, 0, { ...chunk, extended: true }), EXTENDED_REPLY_SIZE);
 * ```
 */
export function writeChunkHeader(
  v: DataView,
  at: number,
  h: ChunkHeader,
): number {
  const extended = h.extended ?? false;
  v.setUint32(at, extended ? Magic.EXTENDED_REPLY : Magic.STRUCTURED_REPLY);
  v.setUint16(at + 4, h.flags);
  v.setUint16(at + 6, h.type);
  v.setUint32(at + 8, h.cookieHi);
  v.setUint32(at + 12, h.cookieLo);
  if (extended) {
    setU64(v, at + 16, h.offset);
    setU64(v, at + 24, h.length);
    return EXTENDED_REPLY_SIZE;
  }
  v.setUint32(at + 16, h.length);
  return STRUCTURED_REPLY_SIZE;
}

/**
 * Encodes the payload of an error chunk (`NBD_REPLY_TYPE_ERROR`, or
 * `NBD_REPLY_TYPE_ERROR_OFFSET` when `offset` is given).
 */
export function encodeErrorPayload(
  error: number,
  options: { message?: string; offset?: number } = {},
): Uint8Array {
  const offset = options.offset;
  let m = encodeString(options.message ?? "");
  if (m.length > MAX_STRING) m = m.subarray(0, MAX_STRING);
  const b = new Uint8Array(6 + m.length + (offset === undefined ? 0 : 8));
  const v = viewOf(b);
  v.setUint32(0, error);
  v.setUint16(4, m.length);
  b.set(m, 6);
  if (offset !== undefined) setU64(v, 6 + m.length, offset);
  return b;
}

/**
 * Decodes the payload of an error chunk.
 *
 * @example
 * ```ts
 * import { decodeErrorPayload, encodeErrorPayload, Errno } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const plain = encodeErrorPayload(Errno.EIO, { message: "Disk on fire" });
 * assert.deepEqual(decodeErrorPayload(plain, false), { error: Errno.EIO, message: "Disk on fire" });
 *
 * // NBD_REPLY_TYPE_ERROR_OFFSET also says where a read failed.
 * const at = encodeErrorPayload(Errno.EIO, { message: "Bad sector", offset: 4096 });
 * assert.deepEqual(decodeErrorPayload(at, true), { error: Errno.EIO, message: "Bad sector", offset: 4096 });
 * ```
 */
export function decodeErrorPayload(
  data: Uint8Array,
  withOffset: boolean,
): { error: number; message: string; offset?: number } {
  if (data.length < (withOffset ? 14 : 6)) {
    throw new NbdProtocolError(`Error chunk too short: ${data.length}`);
  }
  const v = viewOf(data);
  const error = v.getUint32(0);
  const len = v.getUint16(4);
  if (len > data.length - (withOffset ? 14 : 6)) {
    throw new NbdProtocolError(`Error message length past the end: ${len}`);
  }
  let message: string;
  try {
    message = decoder.decode(data.subarray(6, 6 + len));
  } catch {
    message = "(message is not UTF-8)";
  }
  if (!withOffset) return { error, message };
  return { error, message, offset: getU64(v, data.length - 8) };
}

/** One extent of block status: a length and its state flags. */
export interface Extent {
  /** Length in bytes (non-zero). */
  length: number;
  /** State flags ({@link State} for `base:allocation`). */
  flags: number;
}

/**
 * Decodes the payload of a block status chunk (compact type 5 or extended
 * type 6) into its context id and extents.
 *
 * @example
 * ```ts
 * import { decodeBlockStatus, State } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * // Context 1: 4096 bytes of hole reading as zeroes, then 512 allocated bytes.
 * const payload = new Uint8Array([0, 0, 0, 1, 0, 0, 0x10, 0, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0, 0, 0]);
 * assert.deepEqual(decodeBlockStatus(payload, false), {
 *   id: 1,
 *   extents: [{ length: 4096, flags: State.HOLE | State.ZERO }, { length: 512, flags: 0 }],
 * });
 * assert.throws(() => decodeBlockStatus(payload.subarray(0, 10), false), {
 *   message: "Bad block status length: 10",
 * });
 * ```
 */
export function decodeBlockStatus(
  data: Uint8Array,
  extended: boolean,
): { id: number; extents: Extent[] } {
  const v = viewOf(data);
  const head = extended ? 8 : 4;
  const each = extended ? 16 : 8;
  if (data.length < head + each || (data.length - head) % each !== 0) {
    throw new NbdProtocolError(`Bad block status length: ${data.length}`);
  }
  const id = v.getUint32(0);
  const extents: Extent[] = [];
  for (let at = head; at < data.length; at += each) {
    const length = extended ? getU64(v, at) : v.getUint32(at);
    const flags = v.getUint32(at + (extended ? 12 : 4));
    if (length === 0) throw new NbdProtocolError("Zero-length extent");
    extents.push({ length, flags });
  }
  return { id, extents };
}
