/**
 * The server's replies in the transmission phase, as bytes: pure builders
 * over a connection's reply {@link Shape}. Which kind goes out:
 *
 * - success without data: a simple reply, or with extended headers a final
 *   NONE chunk (extended headers forbid simple replies; structured replies
 *   without them still use simple replies for non-reads);
 * - errors: a simple reply carrying only the errno, or once structured a
 *   final ERROR chunk that also carries the message;
 * - read data: a simple reply followed by the data, or OFFSET_DATA chunks,
 *   OFFSET_HOLE chunks for holes, and ERROR_OFFSET naming the segment a
 *   device read failed in;
 * - block status: one final BLOCK_STATUS chunk (BLOCK_STATUS_EXT with
 *   extended headers) for context {@link ALLOCATION_ID}.
 *
 * @module
 */

import { ALLOCATION_ID } from "./_handshake.ts";
import {
  EXTENDED_REPLY_SIZE,
  Magic,
  REPLY_FLAG_DONE,
  ReplyType,
  SIMPLE_REPLY_SIZE,
  STRUCTURED_REPLY_SIZE,
} from "./_constants.ts";
import {
  encodeErrorPayload,
  type Extent,
  type NbdRequest,
  writeChunkHeader,
  writeSimpleReply,
} from "./_request_codec.ts";
import type { BufferPool } from "./_stream.ts";
import { putU32, putU64 } from "./_u64.ts";
import { WireWriter } from "./_wire.ts";

/** How a connection's replies look, fixed by the handshake. */
export interface Shape {
  /** Structured replies (negotiated, or implied by extended headers). */
  readonly structured: boolean;
  /** Extended headers: 32-byte chunk headers with the request's offset. */
  readonly extended: boolean;
}

/**
 * One reply: bytes, or a header followed by a view of device memory (sent
 * as it is, never copied), or a buffer from the connection's pool that goes
 * back once written.
 */
export type Reply =
  | Uint8Array
  | { head: Uint8Array; data: Uint8Array; pooled?: undefined }
  | { head: Uint8Array; data?: undefined; pooled: true };

/** A data segment of a read (`data`) or a hole, at `start` for `length` bytes. */
export type Segment = [data: boolean, start: number, length: number];

/** Bytes of a chunk header. */
export function chunkHeaderSize(shape: Shape): number {
  return shape.extended ? EXTENDED_REPLY_SIZE : STRUCTURED_REPLY_SIZE;
}

/**
 * writeSimpleReply's bytes at the start of `b`, without a DataView and a
 * header object per reply.
 */
function putSimple(b: Uint8Array, r: NbdRequest, error: number): Uint8Array {
  putU32(b, 0, Magic.SIMPLE_REPLY);
  putU32(b, 4, error);
  putU32(b, 8, r.cookieHi);
  putU32(b, 12, r.cookieLo);
  return b;
}

function simple(r: NbdRequest, error: number): Uint8Array {
  return putSimple(new Uint8Array(SIMPLE_REPLY_SIZE), r, error);
}

/** A chunk of `type` with room for `length` payload bytes after the header. */
function chunk(
  shape: Shape,
  r: NbdRequest,
  type: number,
  length: number,
  flags = REPLY_FLAG_DONE,
): [Uint8Array, DataView, number] {
  const b = new Uint8Array(chunkHeaderSize(shape) + length);
  const v = new DataView(b.buffer);
  const at = writeChunkHeader(v, 0, {
    flags,
    type,
    cookieHi: r.cookieHi,
    cookieLo: r.cookieLo,
    offset: r.offset,
    length,
    extended: shape.extended,
  });
  return [b, v, at];
}

/** Success without data. */
export function okReply(shape: Shape, r: NbdRequest): Uint8Array {
  return shape.extended ? chunk(shape, r, ReplyType.NONE, 0)[0] : simple(r, 0);
}

/**
 * {@link okReply} in a buffer of `pool`'s where it is a simple reply: what
 * answers each WRITE, with no array allocated once the pool is warm (a new
 * typed array costs 0.4–1 µs here, `bench/RESULTS.md`, issue 16, session 12).
 */
export function pooledOkReply(
  shape: Shape,
  r: NbdRequest,
  pool: BufferPool,
): Reply {
  if (shape.extended) return okReply(shape, r);
  return { head: putSimple(pool.get(SIMPLE_REPLY_SIZE), r, 0), pooled: true };
}

/** A refusal or a failure: `errno`, and the message once replies are structured. */
export function errorReply(
  shape: Shape,
  r: NbdRequest,
  errno: number,
  message: string,
): Uint8Array {
  if (!shape.structured) return simple(r, errno);
  return errorChunk(shape, r, ReplyType.ERROR, errno, message);
}

function errorChunk(
  shape: Shape,
  r: NbdRequest,
  type: number,
  errno: number,
  message: string,
  offset?: number,
): Uint8Array {
  const p = encodeErrorPayload(errno, { message, offset });
  const [b, , at] = chunk(shape, r, type, p.length);
  b.set(p, at);
  return b;
}

/** A failed read in structured form: ERROR_OFFSET names where. */
export function errorOffsetReply(
  shape: Shape,
  r: NbdRequest,
  errno: number,
  message: string,
  offset: number,
): Uint8Array {
  return errorChunk(shape, r, ReplyType.ERROR_OFFSET, errno, message, offset);
}

/**
 * A successful read whose data is `view` (device memory): the header is
 * built here, the data goes out after it as it is.
 */
export function viewReply(
  shape: Shape,
  r: NbdRequest,
  view: Uint8Array,
): Reply {
  if (!shape.structured) return { head: simple(r, 0), data: view };
  const hdr = chunkHeaderSize(shape);
  const h = new Uint8Array(hdr + 8);
  const v = new DataView(h.buffer);
  writeChunkHeader(v, 0, {
    flags: REPLY_FLAG_DONE,
    type: ReplyType.OFFSET_DATA,
    cookieHi: r.cookieHi,
    cookieLo: r.cookieLo,
    offset: r.offset,
    length: 8 + view.length,
    extended: shape.extended,
  });
  new WireWriter(v, hdr).u64(r.offset);
  return { head: h, data: view };
}

/** A READ view at most this long is copied in after its reply's header. */
export const COPIED_READ = 16384;

/**
 * {@link viewReply} for a compact header and a view of at most
 * {@link COPIED_READ} bytes, as one buffer of `pool`'s: the header, then a
 * copy of the view. One message of one buffer, nothing allocated once the
 * pool is warm (a header of its own costs an array, a view on it and a
 * second queued part): what a 4 KiB read at 1 in flight is answered with.
 * Undefined for extended headers or a longer view.
 */
export function copiedViewReply(
  shape: Shape,
  r: NbdRequest,
  view: Uint8Array,
  pool: BufferPool,
): Reply | undefined {
  if (shape.extended || view.length > COPIED_READ) return undefined;
  const head = shape.structured ? STRUCTURED_REPLY_SIZE + 8 : SIMPLE_REPLY_SIZE;
  const b = pool.get(head + view.length);
  if (shape.structured) {
    putU32(b, 0, Magic.STRUCTURED_REPLY);
    putU32(b, 4, (REPLY_FLAG_DONE << 16) | ReplyType.OFFSET_DATA);
    putU32(b, 8, r.cookieHi);
    putU32(b, 12, r.cookieLo);
    putU32(b, 16, 8 + view.length);
    putU64(b, 20, r.offset); // OFFSET_DATA's offset, then the data
  } else {
    putSimple(b, r, 0);
  }
  b.set(view, head);
  return { head: b, pooled: true };
}

/** Fills in the simple reply header at the start of `buf`, whose data follows it. */
export function simpleReadReply(r: NbdRequest, buf: Uint8Array): Reply {
  writeSimpleReply(new DataView(buf.buffer, buf.byteOffset), 0, {
    error: 0,
    cookieHi: r.cookieHi,
    cookieLo: r.cookieLo,
  });
  return { head: buf, pooled: true };
}

/** A structured read of nothing: a bare final chunk. */
export function emptyReadReply(shape: Shape, r: NbdRequest): Uint8Array {
  return chunk(shape, r, ReplyType.NONE, 0)[0];
}

/** Bytes of a structured read reply made of `segs`. */
export function segmentedReadSize(shape: Shape, segs: Segment[]): number {
  const hdr = chunkHeaderSize(shape);
  let total = 0;
  for (const [data, , len] of segs) total += hdr + 8 + (data ? len : 4);
  return total;
}

/**
 * Writes the chunks of a structured read made of `segs` into `buf` (of
 * {@link segmentedReadSize} bytes): OFFSET_DATA with room for the data,
 * OFFSET_HOLE with the hole's length, the last one final. Returns where each
 * data segment's bytes go, for the device to read into.
 */
export function segmentedRead(
  shape: Shape,
  r: NbdRequest,
  segs: Segment[],
  buf: Uint8Array,
): { start: number; into: Uint8Array }[] {
  const w = new WireWriter(buf);
  const reads: { start: number; into: Uint8Array }[] = [];
  for (let i = 0; i < segs.length; i++) {
    const [data, start, len] = segs[i];
    w.pos += writeChunkHeader(w.view, w.pos, {
      flags: i === segs.length - 1 ? REPLY_FLAG_DONE : 0,
      type: data ? ReplyType.OFFSET_DATA : ReplyType.OFFSET_HOLE,
      cookieHi: r.cookieHi,
      cookieLo: r.cookieLo,
      offset: r.offset,
      length: data ? 8 + len : 12,
      extended: shape.extended,
    });
    w.u64(start);
    if (data) {
      reads.push({ start, into: buf.subarray(w.pos, w.pos + len) });
      w.skip(len);
    } else {
      w.u32(len);
    }
  }
  return reads;
}

/** The block status of `extents` (already clipped to the request). */
export function blockStatusReply(
  shape: Shape,
  r: NbdRequest,
  extents: Extent[],
): Uint8Array {
  const each = shape.extended ? 16 : 8;
  const plen = (shape.extended ? 8 : 4) + each * extents.length;
  const type = shape.extended
    ? ReplyType.BLOCK_STATUS_EXT
    : ReplyType.BLOCK_STATUS;
  const [b, v, at] = chunk(shape, r, type, plen);
  const w = new WireWriter(v, at).u32(ALLOCATION_ID);
  if (shape.extended) {
    w.u32(extents.length);
    for (const e of extents) w.u64(e.length).u32(0).u32(e.flags);
  } else {
    for (const e of extents) w.u32(e.length).u32(e.flags);
  }
  return b;
}
