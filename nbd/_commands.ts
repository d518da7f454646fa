/**
 * The transmission phase's decisions, without a socket: what a request
 * header means for the stream ({@link onRequest}), whether a request may run
 * ({@link validate}), and one function per command that runs it against the
 * device and returns the reply ({@link run}). The shell in
 * `_transmission.ts` reads, schedules and writes; everything it sends comes
 * from here or `_replies.ts`.
 *
 * What ends the session: a bad request magic, an extended WRITE without
 * PAYLOAD_LEN (where its payload ends is unknowable), a payload above
 * {@link HARD_PAYLOAD} (or the maximum payload when that is larger), DISC.
 * Everything else is answered: refusals with EINVAL (unknown commands and
 * flags, misalignment, reads above the maximum payload, EOVERFLOW with DF,
 * writes above it up to the hard limit, whose payload is read and dropped),
 * EPERM (writes to a read-only export), ENOSPC (writes past the end),
 * ENOTSUP (FAST_ZERO the device cannot do), and device errors mapped by
 * `toErrno`.
 *
 * @module
 */

import { servedDevice } from "./_serial.ts";
import type { Negotiated } from "./_handshake.ts";
import type { ServerContext } from "./_session.ts";
import type { BufferPool } from "./_stream.ts";
import {
  Cmd,
  CmdFlag,
  Errno,
  EXTENDED_REQUEST_SIZE,
  Magic,
  REQUEST_SIZE,
  SIMPLE_REPLY_SIZE,
  State,
  TxFlag,
} from "./_constants.ts";
import {
  decodeRequest,
  type Extent,
  type NbdRequest,
} from "./_request_codec.ts";
import {
  blockStatusReply,
  copiedViewReply,
  emptyReadReply,
  errorOffsetReply,
  errorReply,
  okReply,
  pooledOkReply,
  type Reply,
  type Segment,
  segmentedRead,
  segmentedReadSize,
  type Shape,
  simpleReadReply,
  viewReply,
} from "./_replies.ts";
import type { Device } from "./device.ts";
import { NbdError, toErrno } from "./errors.ts";

/**
 * The default largest READ or WRITE: 64 MiB, as nbdkit's, advertised in
 * NBD_INFO_BLOCK_SIZE.
 */
export const MAX_PAYLOAD = 1 << 26;
/**
 * Write payloads above this (or the maximum payload, if larger) end the
 * session; up to it, one over the maximum is read, dropped and refused.
 */
export const HARD_PAYLOAD = 1 << 27;
/** Structured reads at least this long are checked for holes and answered sparsely. */
export const SPARSE_READ = 65536;
const HOLE_MIN = 4096;
const MAX_EXTENTS = 65536;

let zeroBuffer: Uint8Array | undefined;

/** A connection's transmission state, fixed by the handshake. */
export interface Tx extends Shape {
  readonly dev: Device;
  readonly size: number;
  /** The transmission flags the client was sent. */
  readonly flags: number;
  /** `base:allocation` was selected for this export. */
  readonly allocation: boolean;
  readonly min: number;
  readonly maxPayload: number;
  readonly hardPayload: number;
  /** Bytes of a request header. */
  readonly headerSize: number;
}

/** The transmission state the handshake's outcome implies. */
export function txState(ctx: ServerContext, neg: Negotiated): Tx {
  const dev = servedDevice(neg.export.device);
  return {
    dev,
    size: dev.size,
    flags: neg.flags,
    allocation: neg.allocation,
    structured: neg.structured || neg.extended,
    extended: neg.extended,
    min: ctx.blockSize.min,
    maxPayload: ctx.blockSize.max,
    hardPayload: Math.max(ctx.blockSize.max, HARD_PAYLOAD),
    headerSize: neg.extended ? EXTENDED_REQUEST_SIZE : REQUEST_SIZE,
  };
}

/** What a request header asks of the stream. */
export type Action =
  /** Unrecoverable: log and close. */
  | { readonly do: "close"; readonly log: string }
  /** Skip `length` payload bytes, then send `reply`. */
  | { readonly do: "skip"; readonly reply: Uint8Array }
  /** Read the `length`-byte write payload, then run. */
  | { readonly do: "payload" }
  /** DISC: answer what is in flight, then close. */
  | { readonly do: "disconnect" }
  /** Run it. */
  | { readonly do: "run" };

const PAYLOAD: Action = { do: "payload" };
const DISCONNECT: Action = { do: "disconnect" };
const RUN: Action = { do: "run" };

/** Decodes a request header; a close when its magic is wrong. */
export function parseRequest(
  tx: Tx,
  header: Uint8Array,
): NbdRequest | { do: "close"; log: string } {
  const want = tx.extended ? Magic.EXTENDED_REQUEST : Magic.REQUEST;
  if (
    ((header[0] << 24) | (header[1] << 16) | (header[2] << 8) | header[3]) >>>
        0 !== want
  ) {
    return { do: "close", log: "bad request magic, closing" };
  }
  return decodeRequest(header, tx.extended);
}

/** What to do with a decoded request header before anything runs. */
export function onRequest(tx: Tx, r: NbdRequest): Action {
  const hasPayload = tx.extended
    ? (r.flags & CmdFlag.PAYLOAD_LEN) !== 0
    : r.type === Cmd.WRITE;
  if (!hasPayload) {
    if (r.type === Cmd.WRITE) {
      // Where the payload ends is unknowable: the stream cannot be trusted.
      return {
        do: "close",
        log: "extended WRITE without PAYLOAD_LEN, closing",
      };
    }
    return r.type === Cmd.DISC ? DISCONNECT : RUN;
  }
  if (r.length > tx.hardPayload) {
    return { do: "close", log: `payload of ${r.length} bytes, closing` };
  }
  if (r.length > tx.maxPayload || r.type !== Cmd.WRITE) {
    return {
      do: "skip",
      reply: errorReply(
        tx,
        r,
        Errno.EINVAL,
        r.type === Cmd.WRITE
          ? `Write longer than the maximum payload: ${r.length} > ${tx.maxPayload}`
          : `Command ${r.type} takes no payload`,
      ),
    };
  }
  return PAYLOAD;
}

/** The refusal of a request sent while the server shuts down. */
export function shutdownReply(tx: Tx, r: NbdRequest): Uint8Array {
  return errorReply(tx, r, Errno.ESHUTDOWN, "Server is shutting down");
}

/** Returns [errno, message] when the request must be refused, else undefined. */
export function validate(tx: Tx, r: NbdRequest): [number, string] | undefined {
  const { type, offset, length } = r;
  let flags = r.flags;
  if (type > Cmd.BLOCK_STATUS || type === Cmd.DISC) {
    return [Errno.EINVAL, `Unknown command: ${type}`];
  }
  const writes = type === Cmd.WRITE || type === Cmd.TRIM ||
    type === Cmd.WRITE_ZEROES;
  if (writes && tx.dev.readOnly) return [Errno.EPERM, "Export is read-only"];
  if (tx.extended && type === Cmd.WRITE) flags &= ~CmdFlag.PAYLOAD_LEN;
  let allowed = tx.flags & TxFlag.SEND_FUA ? CmdFlag.FUA : 0;
  switch (type) {
    case Cmd.READ:
      if (tx.structured) allowed |= CmdFlag.DF;
      break;
    case Cmd.WRITE_ZEROES:
      allowed |= CmdFlag.NO_HOLE | CmdFlag.FAST_ZERO;
      break;
    case Cmd.BLOCK_STATUS:
      allowed |= CmdFlag.REQ_ONE;
      break;
    case Cmd.TRIM:
      if (!(tx.flags & TxFlag.SEND_TRIM)) {
        return [Errno.EINVAL, "TRIM is not supported"];
      }
      break;
  }
  if (flags & ~allowed) {
    return [
      Errno.EINVAL,
      `Invalid flags for command ${type}: 0x${flags.toString(16)}`,
    ];
  }
  if (type === Cmd.FLUSH) {
    if (offset !== 0 || length !== 0) {
      return [Errno.EINVAL, "FLUSH offset and length must be zero"];
    }
    return undefined;
  }
  if (type === Cmd.BLOCK_STATUS) {
    if (!tx.allocation) {
      return [Errno.EINVAL, "No metadata context selected for this export"];
    }
    if (length === 0) return [Errno.EINVAL, "Zero-length block status"];
  }
  const size = tx.size;
  if (offset > size || length > size - offset) {
    const e = type === Cmd.WRITE || type === Cmd.WRITE_ZEROES
      ? Errno.ENOSPC
      : Errno.EINVAL;
    return [
      e,
      `Request past the end of the export: offset ${offset} length ${length} size ${size}`,
    ];
  }
  const min = tx.min;
  if (min > 1 && (offset % min !== 0 || length % min !== 0)) {
    return [
      Errno.EINVAL,
      `Request not aligned to ${min} bytes: offset ${offset} length ${length}`,
    ];
  }
  if (type === Cmd.READ && length > tx.maxPayload) {
    return [
      flags & CmdFlag.DF ? Errno.EOVERFLOW : Errno.EINVAL,
      `Read longer than the maximum payload: ${length} > ${tx.maxPayload}`,
    ];
  }
  return undefined;
}

/**
 * A READ answered at once from a view of device memory (no await, no
 * promise), or undefined when it needs {@link run}.
 */
export function readNow(
  tx: Tx,
  r: NbdRequest,
  pool: BufferPool,
): Reply | undefined {
  if (
    r.type !== Cmd.READ || !tx.dev.view || !r.length ||
    (tx.structured && r.length >= SPARSE_READ) || validate(tx, r)
  ) return undefined;
  const view = tx.dev.view(r.offset, r.length);
  if (view === undefined) return undefined;
  return copiedViewReply(tx, r, view, pool) ?? viewReply(tx, r, view);
}

/**
 * Device memory a valid WRITE's payload can be received into directly, or
 * undefined. After the payload is in, {@link written} gives the reply.
 */
export function writeTarget(tx: Tx, r: NbdRequest): Uint8Array | undefined {
  if (!r.length || !tx.dev.view || validate(tx, r)) return undefined;
  return tx.dev.view(r.offset, r.length, { write: true });
}

/** The reply to a WRITE received in place: at once, or after the FUA flush. */
export function written(
  tx: Tx,
  r: NbdRequest,
  pool: BufferPool,
): Reply | Promise<Reply> {
  if (!(r.flags & CmdFlag.FUA)) return pooledOkReply(tx, r, pool);
  return tx.dev.flush().then(
    () => okReply(tx, r),
    (e) => errorReply(tx, r, toErrno(e), (e as Error)?.message ?? String(e)),
  );
}

type Command = (
  tx: Tx,
  r: NbdRequest,
  payload: Uint8Array | undefined,
  pool: BufferPool,
) => Promise<Reply>;

/**
 * Runs a request against the device and returns its reply; never rejects
 * (failures become error replies). `payload` is a WRITE's data.
 */
export async function run(
  tx: Tx,
  r: NbdRequest,
  payload: Uint8Array | undefined,
  pool: BufferPool,
): Promise<Reply> {
  const bad = validate(tx, r);
  if (bad) return errorReply(tx, r, bad[0], bad[1]);
  try {
    return await COMMANDS[r.type](tx, r, payload, pool);
  } catch (e) {
    return errorReply(tx, r, toErrno(e), (e as Error)?.message ?? String(e));
  }
}

const fuaOf = (r: NbdRequest) => (r.flags & CmdFlag.FUA) !== 0;

const read: Command = (tx, r, _payload, pool) =>
  tx.structured ? readStructured(tx, r, pool) : readSimple(tx, r, pool);

async function readSimple(
  tx: Tx,
  r: NbdRequest,
  pool: BufferPool,
): Promise<Reply> {
  const view = r.length && tx.dev.view
    ? tx.dev.view(r.offset, r.length)
    : undefined;
  if (view) return viewReply(tx, r, view);
  const buf = pool.get(SIMPLE_REPLY_SIZE + r.length);
  try {
    if (r.length) {
      await tx.dev.readAt(r.offset, buf.subarray(SIMPLE_REPLY_SIZE));
    }
  } catch (e) {
    pool.release(buf);
    return errorReply(
      tx,
      r,
      toErrno(e),
      (e as Error)?.message ?? "Read failed",
    );
  }
  return simpleReadReply(r, buf);
}

async function readStructured(
  tx: Tx,
  r: NbdRequest,
  pool: BufferPool,
): Promise<Reply> {
  const { offset, length } = r;
  const dev = tx.dev;
  if (length === 0) return emptyReadReply(tx, r);
  // Holes only when the device knows them.
  let segs: Segment[] = [[true, offset, length]];
  if (!(r.flags & CmdFlag.DF) && length >= SPARSE_READ && dev.blockStatus) {
    try {
      const ext = await dev.blockStatus(offset, length, { maxExtents: 256 });
      segs = sparseSegments(ext, offset, length);
    } catch { /* fall back to one data chunk */ }
  }
  if (segs.length === 1 && dev.view) {
    const view = dev.view(offset, length);
    if (view) return viewReply(tx, r, view);
  }
  const buf = pool.get(segmentedReadSize(tx, segs));
  const reads = segmentedRead(tx, r, segs, buf).map(({ start, into }) =>
    dev.readAt(start, into).catch((e) => {
      throw new ReadFailure(e, start);
    })
  );
  try {
    await Promise.all(reads);
  } catch (e) {
    // The other segments may still be reading into buf: let them finish
    // before the pool hands it to another request.
    await Promise.allSettled(reads);
    pool.release(buf);
    // Say where the read failed (NBD_REPLY_TYPE_ERROR_OFFSET).
    const f = e as ReadFailure;
    return errorOffsetReply(
      tx,
      r,
      toErrno(f.cause),
      (f.cause as Error)?.message ?? "Read failed",
      f.offset,
    );
  }
  return { head: buf, pooled: true };
}

const write: Command = async (tx, r, payload) => {
  if (payload!.length) {
    await tx.dev.writeAt(r.offset, payload!, { fua: fuaOf(r) });
  }
  return okReply(tx, r);
};

const flush: Command = async (tx, r) => {
  await tx.dev.flush();
  return okReply(tx, r);
};

const trim: Command = async (tx, r) => {
  if (r.length) await tx.dev.trim!(r.offset, r.length, { fua: fuaOf(r) });
  return okReply(tx, r);
};

const cache: Command = async (tx, r) => {
  if (r.length && tx.dev.cache) await tx.dev.cache(r.offset, r.length);
  return okReply(tx, r);
};

const writeZeroes: Command = async (tx, r) => {
  if (!r.length) return okReply(tx, r);
  const dev = tx.dev;
  const fua = fuaOf(r);
  const noHole = (r.flags & CmdFlag.NO_HOLE) !== 0;
  const fast = (r.flags & CmdFlag.FAST_ZERO) !== 0;
  if (dev.writeZeroes) {
    await dev.writeZeroes(r.offset, r.length, { fua, noHole, fast });
    return okReply(tx, r);
  }
  if (fast) {
    throw new NbdError(
      Errno.ENOTSUP,
      "Zeroing is not faster than writing here",
    );
  }
  const z = zeroBuffer ??= new Uint8Array(1 << 20);
  for (let pos = r.offset, end = r.offset + r.length; pos < end;) {
    const n = Math.min(z.length, end - pos);
    await dev.writeAt(pos, z.subarray(0, n));
    pos += n;
  }
  if (fua) await dev.flush();
  return okReply(tx, r);
};

const blockStatus: Command = async (tx, r) => {
  const reqOne = (r.flags & CmdFlag.REQ_ONE) !== 0;
  const max = reqOne ? 1 : MAX_EXTENTS;
  let ext: Extent[] = tx.dev.blockStatus
    ? await tx.dev.blockStatus(r.offset, r.length, { maxExtents: max })
    : [{ length: r.length, flags: 0 }];
  ext = clipExtents(ext, r.length, max);
  if (ext.length === 0) ext = [{ length: r.length, flags: 0 }];
  return blockStatusReply(tx, r, ext);
};

/** One function per command; {@link validate} has refused every other type. */
const COMMANDS: Record<number, Command> = {
  [Cmd.READ]: read,
  [Cmd.WRITE]: write,
  [Cmd.FLUSH]: flush,
  [Cmd.TRIM]: trim,
  [Cmd.CACHE]: cache,
  [Cmd.WRITE_ZEROES]: writeZeroes,
  [Cmd.BLOCK_STATUS]: blockStatus,
};

/** A device read failure and the offset of the segment it happened in. */
class ReadFailure extends Error {
  readonly offset: number;
  constructor(cause: unknown, offset: number) {
    super("Read failed", { cause });
    this.offset = offset;
  }
}

/** Cuts extents to `length` bytes in total and at most `max` entries. */
export function clipExtents(
  ext: Extent[],
  length: number,
  max: number,
): Extent[] {
  const out: Extent[] = [];
  let sum = 0;
  for (const e of ext) {
    if (sum >= length || out.length >= max) break;
    const len = Math.min(e.length, length - sum);
    if (len <= 0) break;
    out.push({ length: len, flags: e.flags });
    sum += len;
  }
  return out;
}

/** Data and hole segments of a read, from the device's extents. */
export function sparseSegments(
  ext: Extent[],
  offset: number,
  length: number,
): Segment[] {
  const segs: Segment[] = [];
  let pos = offset;
  const end = offset + length;
  for (const e of ext) {
    if (pos >= end) break;
    const len = Math.min(e.length, end - pos);
    const data = !(e.flags & State.ZERO) || len < HOLE_MIN;
    const last = segs[segs.length - 1];
    if (last && last[0] === data) last[2] += len;
    else segs.push([data, pos, len]);
    pos += len;
  }
  if (pos < end) {
    const last = segs[segs.length - 1];
    if (last && last[0]) last[2] += end - pos;
    else segs.push([true, pos, end - pos]);
  }
  return segs;
}
