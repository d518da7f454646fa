/**
 * Codecs of the transmission phase: request headers, simple reply headers,
 * structured and extended chunk headers, and the payloads of error and block
 * status chunks. Request headers are read in place after a length check;
 * the other decoders read through a bounded {@link WireReader}; whole
 * messages are encoded through a {@link WireWriter}; the `write*` functions
 * fill a header in place at an offset of a caller's buffer (a pooled reply,
 * a batch of requests), so the hot paths allocate nothing else. Public
 * through `protocol.ts`.
 *
 * @module
 */

import { getU64, setU64 } from "./_u64.ts";
import {
  EXTENDED_REPLY_SIZE,
  EXTENDED_REQUEST_SIZE,
  Magic,
  REQUEST_SIZE,
  STRUCTURED_REPLY_SIZE,
} from "./_constants.ts";
import {
  encodeString,
  MAX_STRING,
  NbdProtocolError,
  WireReader,
  WireWriter,
} from "./_wire.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

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
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cmd, decodeRequest, encodeRequest } from "@netfs/netfs/nbd";
 * const r = decodeRequest(encodeRequest({ type: Cmd.FLUSH, flags: 0, cookie: 1, offset: 0, length: 0 }), false);
 * assert.equal(r.type, 3);
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
  // Read in place, through one view of the buffer the last header came
  // from (the server's receive buffer, the same from one request to the
  // next): a WireReader and a DataView per request cost more than the rest
  // of a 4 KiB read's JavaScript (bench/RESULTS.md, issue 16, session 12).
  if (headers?.buffer !== bytes.buffer) headers = new DataView(bytes.buffer);
  const v = headers, at = bytes.byteOffset;
  const magic = v.getUint32(at);
  const want = extended ? Magic.EXTENDED_REQUEST : Magic.REQUEST;
  if (magic !== want) {
    throw new NbdProtocolError(`Bad request magic: 0x${magic.toString(16)}`);
  }
  return {
    flags: v.getUint16(at + 4),
    type: v.getUint16(at + 6),
    cookieHi: v.getUint32(at + 8),
    cookieLo: v.getUint32(at + 12),
    offset: getU64(v, at + 16),
    length: extended ? getU64(v, at + 24) : v.getUint32(at + 24),
  };
}

/** A view of the buffer the last request header was decoded from. */
let headers: DataView | undefined;

/**
 * Encodes a request header (and appends `data` for writes). Compact unless
 * `extended`; a compact length must fit in 32 bits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cmd, encodeRequest } from "@netfs/netfs/nbd";
 * assert.equal(encodeRequest({ type: Cmd.READ, flags: 0, cookie: 1, offset: 0, length: 512 }).length, 28);
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeRequestHeader } from "@netfs/netfs/nbd";
 * const v = new DataView(new ArrayBuffer(28));
 * writeRequestHeader(v, 0, { type: 3, flags: 0, cookie: 9, offset: 0, length: 0 });
 * assert.equal(v.getUint32(0).toString(16), "25609513"); // the request magic
 * assert.equal(v.getUint32(12), 9); // the cookie's low half
 * ```
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
 * import assert from "node:assert/strict";
 * import { writeSimpleReply } from "@netfs/netfs/nbd";
 * const b = new Uint8Array(16);
 * writeSimpleReply(new DataView(b.buffer), 0, { error: 0, cookieHi: 0, cookieLo: 42 });
 * assert.deepEqual([...b], [0x67, 0x44, 0x66, 0x98, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42]);
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
 * import assert from "node:assert/strict";
 * import { ReplyType, REPLY_FLAG_DONE, writeChunkHeader } from "@netfs/netfs/nbd";
 * const b = new Uint8Array(32);
 * const n = writeChunkHeader(new DataView(b.buffer), 0, { flags: REPLY_FLAG_DONE, type: ReplyType.NONE, cookieHi: 0, cookieLo: 1, offset: 0, length: 0, extended: true });
 * assert.equal(n, 32);
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeErrorPayload, Errno } from "@netfs/netfs/nbd";
 * assert.equal(encodeErrorPayload(Errno.EIO, { message: "Disk on fire" }).length, 18);
 * ```
 */
export function encodeErrorPayload(
  error: number,
  options: { message?: string; offset?: number } = {},
): Uint8Array {
  const offset = options.offset;
  let m = encodeString(options.message ?? "");
  if (m.length > MAX_STRING) m = m.subarray(0, MAX_STRING);
  const w = new WireWriter(6 + m.length + (offset === undefined ? 0 : 8))
    .u32(error).u16(m.length).raw(m);
  if (offset !== undefined) w.u64(offset);
  return w.bytes();
}

/**
 * Decodes the payload of an error chunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeErrorPayload, encodeErrorPayload } from "@netfs/netfs/nbd";
 * const p = encodeErrorPayload(22, { message: "Bad", offset: 512 });
 * assert.deepEqual(decodeErrorPayload(p, true), { error: 22, message: "Bad", offset: 512 });
 * ```
 */
export function decodeErrorPayload(
  data: Uint8Array,
  withOffset: boolean,
): { error: number; message: string; offset?: number } {
  if (data.length < (withOffset ? 14 : 6)) {
    throw new NbdProtocolError(`Error chunk too short: ${data.length}`);
  }
  const r = new WireReader(data, "Error chunk");
  const error = r.u32("error");
  const len = r.u16("message length");
  if (len > data.length - (withOffset ? 14 : 6)) {
    throw new NbdProtocolError(`Error message length past the end: ${len}`);
  }
  let message: string;
  try {
    message = decoder.decode(r.raw(len, "message"));
  } catch {
    message = "(message is not UTF-8)";
  }
  if (!withOffset) return { error, message };
  r.pos = data.length - 8; // the offset ends the chunk
  return { error, message, offset: r.u64("offset") };
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
 * import assert from "node:assert/strict";
 * import { decodeBlockStatus } from "@netfs/netfs/nbd";
 * const b = new Uint8Array(12);
 * const v = new DataView(b.buffer);
 * v.setUint32(0, 1); v.setUint32(4, 4096); v.setUint32(8, 3);
 * assert.deepEqual(decodeBlockStatus(b, false), { id: 1, extents: [{ length: 4096, flags: 3 }] });
 * ```
 */
export function decodeBlockStatus(
  data: Uint8Array,
  extended: boolean,
): { id: number; extents: Extent[] } {
  const head = extended ? 8 : 4;
  const each = extended ? 16 : 8;
  if (data.length < head + each || (data.length - head) % each !== 0) {
    throw new NbdProtocolError(`Bad block status length: ${data.length}`);
  }
  const r = new WireReader(data, "Block status");
  const id = r.u32("context id");
  if (extended) r.u32("descriptor count");
  const extents: Extent[] = [];
  while (r.remaining) {
    const length = extended ? r.u64("extent length") : r.u32("extent length");
    if (extended) r.u32("status flags"); // the high half: no flags defined
    const flags = r.u32("status flags");
    if (length === 0) throw new NbdProtocolError("Zero-length extent");
    extents.push({ length, flags });
  }
  return { id, extents };
}
