/**
 * The server's transmission phase: reads requests, runs many at once
 * against the device (bounded), and writes each reply whole as it completes.
 *
 * @module
 */

import { ALLOCATION_ID, type Negotiated } from "./_handshake.ts";
import type { ServerContext, Session } from "./_session.ts";
import { servedDevice } from "./_serial.ts";
import { BufferPool, MessageWriter } from "./_stream.ts";
import { NbdError, toErrno } from "./errors.ts";
import { setU64 } from "./_u64.ts";
import {
  Cmd,
  CmdFlag,
  encodeErrorPayload,
  Errno,
  EXTENDED_REQUEST_SIZE,
  type Extent,
  Magic,
  REPLY_FLAG_DONE,
  ReplyType,
  REQUEST_SIZE,
  SIMPLE_REPLY_SIZE,
  State,
  TxFlag,
  writeChunkHeader,
  writeSimpleReply,
} from "./protocol.ts";

const TWO_32 = 4294967296;
const HARD_PAYLOAD = 1 << 25;
// Reads at least this long are checked for holes and answered sparsely.
const SPARSE_READ = 65536;
const HOLE_MIN = 4096;
const MAX_EXTENTS = 65536;
// Bytes of write payloads and read replies one connection may hold at once:
// a client that sends faster than it reads replies is paused, not buffered.
const BYTE_BUDGET = 128 * 1024 * 1024;

let zeroBuffer: Uint8Array | undefined;

interface Req {
  flags: number;
  type: number;
  cookieHi: number;
  cookieLo: number;
  offset: number;
  length: number;
}

/** Hooks the server uses to end a connection in transmission. */
export interface TransmissionControl {
  /** Called on graceful shutdown: finish in-flight requests, then close. */
  shutdown?: () => void;
  /** Requests in flight now. */
  inflight: () => number;
  /** Bytes written by the transmission phase. */
  bytesOut: () => number;
}

/** Runs the transmission phase until DISC, end of stream, or a fatal error. */
export async function transmit(
  s: Session,
  ctx: ServerContext,
  neg: Negotiated,
  control: TransmissionControl,
): Promise<void> {
  const dev = servedDevice(neg.export.device);
  const size = dev.size;
  const txFlags = neg.flags;
  const extended = s.extended;
  const structured = s.structured || extended;
  const hdrSize = extended ? EXTENDED_REQUEST_SIZE : REQUEST_SIZE;
  const chunkHdr = extended ? 32 : 20;
  const min = ctx.blockSize.min;
  const maxPayload = ctx.blockSize.max;
  const hardPayload = Math.max(maxPayload, HARD_PAYLOAD);
  const reader = s.reader;
  const writer = new MessageWriter(s.stream);
  const pool = new BufferPool();
  let inflight = 0;
  let inflightBytes = 0;
  let slotWaiter: (() => void) | undefined;
  let drainWaiter: (() => void) | undefined;
  let stopping = false;

  control.inflight = () => inflight;
  control.bytesOut = () => writer.bytesOut;
  const closeWhenIdle = () => {
    if (stopping) return;
    stopping = true;
    writer.idle().then(() => s.close());
  };
  control.shutdown = () => {
    if (inflight === 0) closeWhenIdle();
  };

  const release = (b: Uint8Array) => () => pool.release(b);

  const replyOk = (r: Req) => {
    if (!extended) {
      const b = new Uint8Array(SIMPLE_REPLY_SIZE);
      writeSimpleReply(new DataView(b.buffer), 0, {
        error: 0,
        cookieHi: r.cookieHi,
        cookieLo: r.cookieLo,
      });
      writer.send(b);
      return;
    }
    const b = new Uint8Array(32);
    writeChunkHeader(new DataView(b.buffer), 0, {
      flags: REPLY_FLAG_DONE,
      type: ReplyType.NONE,
      cookieHi: r.cookieHi,
      cookieLo: r.cookieLo,
      offset: r.offset,
      length: 0,
      extended: true,
    });
    writer.send(b);
  };

  const replyError = (r: Req, errno: number, message: string) => {
    if (!structured) {
      const b = new Uint8Array(SIMPLE_REPLY_SIZE);
      writeSimpleReply(new DataView(b.buffer), 0, {
        error: errno,
        cookieHi: r.cookieHi,
        cookieLo: r.cookieLo,
      });
      writer.send(b);
      return;
    }
    const p = encodeErrorPayload(errno, { message });
    const b = new Uint8Array(chunkHdr + p.length);
    writeChunkHeader(new DataView(b.buffer), 0, {
      flags: REPLY_FLAG_DONE,
      type: ReplyType.ERROR,
      cookieHi: r.cookieHi,
      cookieLo: r.cookieLo,
      offset: r.offset,
      length: p.length,
      extended: extended,
    });
    b.set(p, chunkHdr);
    writer.send(b);
  };

  // Returns [errno, message] when the request must be refused, else undefined.
  const validate = (r: Req): [number, string] | undefined => {
    const { type, offset, length } = r;
    let flags = r.flags;
    if (type > Cmd.BLOCK_STATUS || type === Cmd.DISC) {
      return [Errno.EINVAL, `Unknown command: ${type}`];
    }
    const writes = type === Cmd.WRITE || type === Cmd.TRIM ||
      type === Cmd.WRITE_ZEROES;
    if (writes && dev.readOnly) return [Errno.EPERM, "Export is read-only"];
    if (extended && type === Cmd.WRITE) flags &= ~CmdFlag.PAYLOAD_LEN;
    let allowed = txFlags & TxFlag.SEND_FUA ? CmdFlag.FUA : 0;
    switch (type) {
      case Cmd.READ:
        if (structured) allowed |= CmdFlag.DF;
        break;
      case Cmd.WRITE_ZEROES:
        allowed |= CmdFlag.NO_HOLE | CmdFlag.FAST_ZERO;
        break;
      case Cmd.BLOCK_STATUS:
        allowed |= CmdFlag.REQ_ONE;
        break;
      case Cmd.TRIM:
        if (!(txFlags & TxFlag.SEND_TRIM)) {
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
      if (!neg.allocation) {
        return [Errno.EINVAL, "No metadata context selected for this export"];
      }
      if (length === 0) return [Errno.EINVAL, "Zero-length block status"];
    }
    if (offset > size || length > size - offset) {
      const e = type === Cmd.WRITE || type === Cmd.WRITE_ZEROES
        ? Errno.ENOSPC
        : Errno.EINVAL;
      return [
        e,
        `Request past the end of the export: offset ${offset} length ${length} size ${size}`,
      ];
    }
    if (min > 1 && (offset % min !== 0 || length % min !== 0)) {
      return [
        Errno.EINVAL,
        `Request not aligned to ${min} bytes: offset ${offset} length ${length}`,
      ];
    }
    if (type === Cmd.READ && length > maxPayload) {
      return [
        flags & CmdFlag.DF ? Errno.EOVERFLOW : Errno.EINVAL,
        `Read longer than the maximum payload: ${length} > ${maxPayload}`,
      ];
    }
    return undefined;
  };

  // A successful read reply whose data is a view of device memory: the
  // header is built here, the data goes out as it is, never copied.
  const sendView = (r: Req, view: Uint8Array) => {
    if (!structured) {
      const h = new Uint8Array(SIMPLE_REPLY_SIZE);
      writeSimpleReply(new DataView(h.buffer), 0, {
        error: 0,
        cookieHi: r.cookieHi,
        cookieLo: r.cookieLo,
      });
      writer.sendParts([h, view]);
      return;
    }
    const h = new Uint8Array(chunkHdr + 8);
    const hv = new DataView(h.buffer);
    writeChunkHeader(hv, 0, {
      flags: REPLY_FLAG_DONE,
      type: ReplyType.OFFSET_DATA,
      cookieHi: r.cookieHi,
      cookieLo: r.cookieLo,
      offset: r.offset,
      length: 8 + view.length,
      extended,
    });
    setU64(hv, chunkHdr, r.offset);
    writer.sendParts([h, view]);
  };

  const readSimple = async (r: Req) => {
    const view = r.length && dev.view
      ? dev.view(r.offset, r.length)
      : undefined;
    if (view) {
      sendView(r, view);
      return;
    }
    const buf = pool.get(SIMPLE_REPLY_SIZE + r.length);
    try {
      if (r.length) await dev.readAt(r.offset, buf.subarray(SIMPLE_REPLY_SIZE));
    } catch (e) {
      pool.release(buf);
      replyError(r, toErrno(e), (e as Error)?.message ?? "Read failed");
      return;
    }
    writeSimpleReply(new DataView(buf.buffer, buf.byteOffset), 0, {
      error: 0,
      cookieHi: r.cookieHi,
      cookieLo: r.cookieLo,
    });
    writer.send(buf, release(buf));
  };

  const readStructured = async (r: Req) => {
    const { offset, length } = r;
    if (length === 0) {
      // Nothing to cover: a bare final chunk.
      const b = new Uint8Array(chunkHdr);
      writeChunkHeader(new DataView(b.buffer), 0, {
        flags: REPLY_FLAG_DONE,
        type: ReplyType.NONE,
        cookieHi: r.cookieHi,
        cookieLo: r.cookieLo,
        offset,
        length: 0,
        extended: extended,
      });
      writer.send(b);
      return;
    }
    // Segments of [data?, start, len]; holes only when the device knows them.
    let segs: [boolean, number, number][] = [[true, offset, length]];
    if (!(r.flags & CmdFlag.DF) && length >= SPARSE_READ && dev.blockStatus) {
      try {
        const ext = await dev.blockStatus(offset, length, { maxExtents: 256 });
        segs = sparseSegments(ext, offset, length);
      } catch { /* fall back to one data chunk */ }
    }
    if (segs.length === 1 && dev.view) {
      const view = dev.view(offset, length);
      if (view) {
        sendView(r, view);
        return;
      }
    }
    let total = 0;
    for (const [data, , len] of segs) total += chunkHdr + 8 + (data ? len : 4);
    const buf = pool.get(total);
    const v = new DataView(buf.buffer, buf.byteOffset, total);
    let at = 0;
    const reads: Promise<void>[] = [];
    for (let i = 0; i < segs.length; i++) {
      const [data, start, len] = segs[i];
      const last = i === segs.length - 1;
      const plen = data ? 8 + len : 12;
      at += writeChunkHeader(v, at, {
        flags: last ? REPLY_FLAG_DONE : 0,
        type: data ? ReplyType.OFFSET_DATA : ReplyType.OFFSET_HOLE,
        cookieHi: r.cookieHi,
        cookieLo: r.cookieLo,
        offset,
        length: plen,
        extended: extended,
      });
      setU64(v, at, start);
      if (data) {
        reads.push(
          dev.readAt(start, buf.subarray(at + 8, at + 8 + len)).catch((e) => {
            throw Object.assign(new ReadFailure(e), { offset: start });
          }),
        );
        at += 8 + len;
      } else {
        v.setUint32(at + 8, len);
        at += 12;
      }
    }
    try {
      await Promise.all(reads);
    } catch (e) {
      pool.release(buf);
      // Say where the read failed (NBD_REPLY_TYPE_ERROR_OFFSET).
      const f = e as ReadFailure;
      const p = encodeErrorPayload(toErrno(f.cause), {
        message: (f.cause as Error)?.message ?? "Read failed",
        offset: f.offset,
      });
      const b = new Uint8Array(chunkHdr + p.length);
      writeChunkHeader(new DataView(b.buffer), 0, {
        flags: REPLY_FLAG_DONE,
        type: ReplyType.ERROR_OFFSET,
        cookieHi: r.cookieHi,
        cookieLo: r.cookieLo,
        offset,
        length: p.length,
        extended,
      });
      b.set(p, chunkHdr);
      writer.send(b);
      return;
    }
    writer.send(buf, release(buf));
  };

  const writeZeroes = async (r: Req) => {
    const fua = (r.flags & CmdFlag.FUA) !== 0;
    const noHole = (r.flags & CmdFlag.NO_HOLE) !== 0;
    const fast = (r.flags & CmdFlag.FAST_ZERO) !== 0;
    if (dev.writeZeroes) {
      await dev.writeZeroes(r.offset, r.length, { fua, noHole, fast });
      return;
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
  };

  const blockStatus = async (r: Req) => {
    const reqOne = (r.flags & CmdFlag.REQ_ONE) !== 0;
    let ext: Extent[] = dev.blockStatus
      ? await dev.blockStatus(r.offset, r.length, {
        maxExtents: reqOne ? 1 : MAX_EXTENTS,
      })
      : [{ length: r.length, flags: 0 }];
    ext = clipExtents(ext, r.length, reqOne ? 1 : MAX_EXTENTS);
    if (ext.length === 0) ext = [{ length: r.length, flags: 0 }];
    const each = extended ? 16 : 8;
    const plen = (extended ? 8 : 4) + each * ext.length;
    const b = new Uint8Array(chunkHdr + plen);
    const v = new DataView(b.buffer);
    writeChunkHeader(v, 0, {
      flags: REPLY_FLAG_DONE,
      type: extended ? ReplyType.BLOCK_STATUS_EXT : ReplyType.BLOCK_STATUS,
      cookieHi: r.cookieHi,
      cookieLo: r.cookieLo,
      offset: r.offset,
      length: plen,
      extended: extended,
    });
    let at = chunkHdr;
    v.setUint32(at, ALLOCATION_ID);
    if (extended) v.setUint32(at + 4, ext.length);
    at += extended ? 8 : 4;
    for (const e of ext) {
      if (extended) {
        setU64(v, at, e.length);
        v.setUint32(at + 12, e.flags);
      } else {
        v.setUint32(at, e.length);
        v.setUint32(at + 4, e.flags);
      }
      at += each;
    }
    writer.send(b);
  };

  const handle = async (r: Req, payload: Uint8Array | undefined) => {
    try {
      const bad = validate(r);
      if (bad) {
        replyError(r, bad[0], bad[1]);
        return;
      }
      const fua = (r.flags & CmdFlag.FUA) !== 0;
      switch (r.type) {
        case Cmd.READ:
          await (structured ? readStructured(r) : readSimple(r));
          return;
        case Cmd.WRITE:
          if (payload!.length) await dev.writeAt(r.offset, payload!, { fua });
          break;
        case Cmd.FLUSH:
          await dev.flush();
          break;
        case Cmd.TRIM:
          if (r.length) await dev.trim!(r.offset, r.length, { fua });
          break;
        case Cmd.WRITE_ZEROES:
          if (r.length) await writeZeroes(r);
          break;
        case Cmd.CACHE:
          if (r.length && dev.cache) await dev.cache(r.offset, r.length);
          break;
        case Cmd.BLOCK_STATUS:
          await blockStatus(r);
          return;
      }
      replyOk(r);
    } catch (e) {
      replyError(r, toErrno(e), (e as Error)?.message ?? String(e));
    } finally {
      if (payload) pool.release(payload);
    }
  };

  const done = (cost: number) => {
    inflight--;
    inflightBytes -= cost;
    const w = slotWaiter;
    slotWaiter = undefined;
    w?.();
    if (inflight === 0) {
      const d = drainWaiter;
      drainWaiter = undefined;
      d?.();
      if (ctx.shuttingDown) closeWhenIdle();
    }
  };

  try {
    for (;;) {
      while (inflight >= ctx.maxInFlight || inflightBytes >= BYTE_BUDGET) {
        await new Promise<void>((r) => slotWaiter = r);
      }
      if (writer.pendingBytes > BYTE_BUDGET) {
        await writer.waitBelow(BYTE_BUDGET / 2);
      }
      if (!await reader.fill(hdrSize)) break;
      const h = reader.take(hdrSize);
      const v = new DataView(h.buffer, h.byteOffset, hdrSize);
      if (
        v.getUint32(0) !== (extended ? Magic.EXTENDED_REQUEST : Magic.REQUEST)
      ) {
        ctx.log(`connection ${s.info.id}: bad request magic, closing`);
        break;
      }
      const r: Req = {
        flags: v.getUint16(4),
        type: v.getUint16(6),
        cookieHi: v.getUint32(8),
        cookieLo: v.getUint32(12),
        offset: v.getUint32(16) * TWO_32 + v.getUint32(20),
        length: extended
          ? v.getUint32(24) * TWO_32 + v.getUint32(28)
          : v.getUint32(24),
      };
      s.info.requests++;
      let payload: Uint8Array | undefined;
      const hasPayload = extended
        ? (r.flags & CmdFlag.PAYLOAD_LEN) !== 0
        : r.type === Cmd.WRITE;
      if (extended && r.type === Cmd.WRITE && !hasPayload) {
        // Where the payload ends is unknowable: the stream cannot be trusted.
        ctx.log(
          `connection ${s.info.id}: extended WRITE without PAYLOAD_LEN, closing`,
        );
        break;
      }
      if (hasPayload) {
        if (r.length > hardPayload) {
          ctx.log(
            `connection ${s.info.id}: payload of ${r.length} bytes, closing`,
          );
          break;
        }
        if (r.length > maxPayload || r.type !== Cmd.WRITE) {
          if (!await reader.skip(r.length)) break;
          replyError(
            r,
            Errno.EINVAL,
            r.type === Cmd.WRITE
              ? `Write longer than the maximum payload: ${r.length} > ${maxPayload}`
              : `Command ${r.type} takes no payload`,
          );
          continue;
        }
        if (r.length && dev.view && !ctx.shuttingDown && !stopping) {
          // Zero copy: check first, then receive straight into device memory.
          const bad = validate(r);
          const view = bad
            ? undefined
            : dev.view(r.offset, r.length, { write: true });
          if (view) {
            if (!await reader.readInto(view)) break;
            inflight++;
            inflightBytes += r.length;
            const cost = r.length;
            const fua = (r.flags & CmdFlag.FUA) !== 0;
            if (!fua) {
              // Nothing left to wait for: answer now, no promise round trip.
              replyOk(r);
              done(cost);
              continue;
            }
            dev.flush().then(
              () => replyOk(r),
              (e) =>
                replyError(r, toErrno(e), (e as Error)?.message ?? String(e)),
            ).finally(() => done(cost));
            continue;
          }
        }
        payload = pool.get(r.length);
        if (!await reader.readInto(payload)) break;
      }
      if (r.type === Cmd.DISC) break;
      if (ctx.shuttingDown || stopping) {
        if (payload) pool.release(payload);
        replyError(r, Errno.ESHUTDOWN, "Server is shutting down");
        continue;
      }
      if (
        r.type === Cmd.READ && dev.view && r.length &&
        (!structured || r.length < SPARSE_READ) && !validate(r)
      ) {
        // Fast path for reads of in-memory devices: no await, no promises.
        const view = dev.view(r.offset, r.length);
        if (view) {
          sendView(r, view);
          continue;
        }
      }
      const cost = payload
        ? payload.length
        : r.type === Cmd.READ
        ? Math.min(r.length, maxPayload)
        : 0;
      inflight++;
      inflightBytes += cost;
      handle(r, payload).finally(() => done(cost));
    }
  } catch (e) {
    if (!s.closed) {
      ctx.log(`connection ${s.info.id}: ${(e as Error)?.message ?? e}`);
    }
  }
  if (inflight > 0) await new Promise<void>((r) => drainWaiter = r);
  await writer.idle();
}

/** A device read failure and the offset of the segment it happened in. */
class ReadFailure extends Error {
  offset = 0;
  constructor(cause: unknown) {
    super("Read failed", { cause });
  }
}

/** Cuts extents to `length` bytes in total and at most `max` entries. */
function clipExtents(ext: Extent[], length: number, max: number): Extent[] {
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
function sparseSegments(
  ext: Extent[],
  offset: number,
  length: number,
): [boolean, number, number][] {
  const segs: [boolean, number, number][] = [];
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
