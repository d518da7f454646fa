/**
 * The client's transmission phase: an export entered through the handshake
 * ({@link NbdConnection}), with many requests in flight, replies matched by
 * cookie, structured and extended replies reassembled, and typed errors that
 * carry the NBD error value. Public through `client.ts`.
 *
 * @module
 */

import { type BufferedReader, MessageWriter, type Stream } from "./_stream.ts";
import { NbdError } from "./errors.ts";
import { getU64 } from "./_u64.ts";
import {
  type BlockSize,
  Cmd,
  CmdFlag,
  decodeBlockStatus,
  decodeErrorPayload,
  Errno,
  type ExportInfo,
  type Extent,
  Magic,
  NbdProtocolError,
  REPLY_FLAG_DONE,
  ReplyType,
  writeRequestHeader,
} from "./protocol.ts";

/** Largest reply chunk accepted: a default-sized (64 MiB) READ and its header. */
const MAX_REPLY_PAYLOAD = (1 << 26) + 64;

/** Options of {@link NbdConnection.readAt}. */
export interface ReadOptions {
  /** Ask for one content chunk (NBD_CMD_FLAG_DF). */
  df?: boolean;
}

/** Options of write commands. */
export interface FuaOptions {
  /** Force unit access (NBD_CMD_FLAG_FUA). */
  fua?: boolean;
}

/** Options of {@link NbdConnection.writeZeroes}. */
export interface ZeroOptions extends FuaOptions {
  /** Keep the range allocated (NBD_CMD_FLAG_NO_HOLE). */
  noHole?: boolean;
  /** Fail with ENOTSUP unless zeroing is fast (NBD_CMD_FLAG_FAST_ZERO). */
  fast?: boolean;
}

/** A chunk of a structured read reply, as received (for inspection). */
export interface ReadChunk {
  /** `"data"` or `"hole"`. */
  type: "data" | "hole";
  /** Absolute offset. */
  offset: number;
  /** Length in bytes. */
  length: number;
}

interface Pending {
  type: number;
  offset: number;
  length: number;
  buf?: Uint8Array;
  chunks?: ReadChunk[];
  status?: Map<string, Extent[]>;
  error?: NbdError;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** What {@link releaseStream} gives back. */
export interface ReleasedStream {
  /** The stream, no longer read or written by the connection. */
  stream: Stream;
  /** Bytes received and not consumed (a well-behaved server sends none unasked). */
  buffered: number;
}

/** How {@link releaseStream} takes a stream. */
export interface StreamTaker {
  /** Whether this kind of stream can be taken (checked before anything changes). */
  accepts(s: Stream): boolean;
  /** Ends the connection's pending read without consuming bytes (a socket's hand-off does). */
  stop(s: Stream): Promise<void>;
}

const releasers = new WeakMap<
  NbdConnection,
  (taker: StreamTaker) => Promise<ReleasedStream>
>();

/**
 * Takes the stream from a connection in transmission with nothing in
 * flight, for a new owner (the kernel). The connection then acts closed:
 * requests reject, `close()` returns at once.
 */
export function releaseStream(
  c: NbdConnection,
  taker: StreamTaker,
): Promise<ReleasedStream> {
  const release = releasers.get(c);
  if (!release) {
    return Promise.reject(new TypeError("Not an NbdConnection"));
  }
  return release(taker);
}

/** Where a connection is after the handshake (internal wiring). */
export interface EnterOptions {
  reader: BufferedReader;
  name: string;
  info: ExportInfo;
  structured: boolean;
  extended: boolean;
  contexts: Map<number, string>;
  allocationId: number | undefined;
  maxInFlight: number;
}

/**
 * An export in the transmission phase. Every method may be called many
 * times without waiting: requests are pipelined up to `maxInFlight` and
 * matched to replies by cookie. A request that fails rejects with an
 * {@link NbdError} carrying the server's error value.
 *
 * @example Many requests in flight on one connection
 * ```ts
 * import { connectNbd, MemoryDevice, serveNbd } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const server = serveNbd({ exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }] });
 * const disk = await connectNbd({ port: server.addr.port, export: "mem", maxInFlight: 16 });
 * const writes = Array.from({ length: 8 }, (_, i) => disk.writeAt(i * 512, new Uint8Array(512).fill(i)));
 * assert.equal(disk.inFlight, 8); // all sent without waiting for a reply
 * await Promise.all(writes);
 * const blocks = await Promise.all(writes.map((_, i) => disk.readAt(i * 512, 512)));
 * assert.deepEqual(blocks.map((b) => b[0]), [0, 1, 2, 3, 4, 5, 6, 7]);
 * await disk.close();
 * await server.shutdown();
 * ```
 */
export class NbdConnection {
  /** The export name used to enter transmission. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** Transmission flags ({@link TxFlag}). */
  readonly flags: number;
  /** Size constraints, when the server sent them. */
  readonly blockSize?: BlockSize;
  /** Description, when the server sent one. */
  readonly description?: string;
  /** Whether replies are structured (or extended). */
  readonly structured: boolean;
  /** Whether extended headers are in use. */
  readonly extended: boolean;
  #stream: Stream;
  #reader: BufferedReader;
  #writer: MessageWriter;
  #pending = new Map<number, Pending>();
  #contexts: Map<number, string>;
  #allocationId: number | undefined;
  #nextCookie = 1;
  #maxInFlight: number;
  #slotWaiters: (() => void)[] = [];
  #drainWaiters: (() => void)[] = [];
  #closed = false;
  #failure: Error | undefined;
  #loop: Promise<void>;

  /** Built by {@link NbdHandshake.go}; not for direct use. */
  constructor(stream: Stream, o: EnterOptions) {
    this.name = o.name;
    this.size = o.info.size;
    this.flags = o.info.flags;
    this.blockSize = o.info.blockSize;
    this.description = o.info.description;
    this.structured = o.structured;
    this.extended = o.extended;
    this.#stream = stream;
    this.#reader = o.reader;
    this.#writer = new MessageWriter(stream);
    this.#contexts = o.contexts;
    this.#allocationId = o.allocationId;
    this.#maxInFlight = Math.max(1, o.maxInFlight);
    this.#loop = this.#readLoop();
    releasers.set(this, (taker) => this.#release(taker));
  }

  async #release(taker: StreamTaker): Promise<ReleasedStream> {
    if (this.#closed) throw this.#failure ?? new Error("Connection is closed");
    if (!taker.accepts(this.#stream)) {
      throw new TypeError(
        "Connection's stream cannot be handed over: open it with connectSocket",
      );
    }
    if (this.#pending.size) {
      throw new Error(`Requests in flight: ${this.#pending.size}`);
    }
    // Closed first, so that the read loop's failure leaves the stream open.
    this.#closed = true;
    this.#failure = new Error("Connection was handed over");
    for (const w of this.#slotWaiters.splice(0)) w();
    try {
      await taker.stop(this.#stream);
    } catch (e) {
      try {
        this.#stream.close();
      } catch { /* closed */ }
      throw e;
    } finally {
      await this.#loop;
    }
    return { stream: this.#stream, buffered: this.#reader.buffered };
  }

  /** Whether `base:allocation` was selected (block status is usable). */
  get hasAllocation(): boolean {
    return this.#allocationId !== undefined;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  async #submit(
    type: number,
    flags: number,
    offset: number,
    length: number,
    extra: { data?: Uint8Array; buf?: Uint8Array; chunks?: ReadChunk[] } = {},
  ): Promise<unknown> {
    while (this.#pending.size >= this.#maxInFlight && !this.#closed) {
      await new Promise<void>((r) => this.#slotWaiters.push(r));
    }
    if (this.#closed) throw this.#failure ?? new Error("Connection is closed");
    const cookie = this.#nextCookie++;
    const hdrSize = this.extended ? 32 : 28;
    const hdr = new Uint8Array(hdrSize);
    if (this.extended && extra.data) flags |= CmdFlag.PAYLOAD_LEN;
    writeRequestHeader(
      new DataView(hdr.buffer),
      0,
      {
        type,
        flags,
        cookie,
        offset,
        length: extra.data ? extra.data.length : length,
        extended: this.extended,
      },
    );
    return new Promise((resolve, reject) => {
      this.#pending.set(cookie, {
        type,
        offset,
        length,
        buf: extra.buf,
        chunks: extra.chunks,
        resolve,
        reject,
      });
      if (extra.data && extra.data.length <= 65536) {
        const b = new Uint8Array(hdrSize + extra.data.length);
        b.set(hdr);
        b.set(extra.data, hdrSize);
        this.#writer.send(b);
      } else {
        this.#writer.send(hdr);
        if (extra.data) this.#writer.send(extra.data);
      }
    });
  }

  /** Reads `length` bytes at `offset`. */
  async readAt(
    offset: number,
    length: number,
    options: ReadOptions = {},
  ): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
    await this.#submit(Cmd.READ, options.df ? CmdFlag.DF : 0, offset, length, {
      buf,
    });
    return buf;
  }

  /**
   * Reads like {@link readAt} and also returns the structured chunks the
   * server sent (data and holes), for clients that care about sparseness.
   */
  async readChunks(
    offset: number,
    length: number,
    options: ReadOptions = {},
  ): Promise<{ data: Uint8Array; chunks: ReadChunk[] }> {
    const buf = new Uint8Array(length);
    const chunks: ReadChunk[] = [];
    await this.#submit(Cmd.READ, options.df ? CmdFlag.DF : 0, offset, length, {
      buf,
      chunks,
    });
    return { data: buf, chunks };
  }

  /** Writes `data` at `offset`. The caller must not change `data` until this resolves. */
  async writeAt(
    offset: number,
    data: Uint8Array,
    options: FuaOptions = {},
  ): Promise<void> {
    await this.#submit(
      Cmd.WRITE,
      options.fua ? CmdFlag.FUA : 0,
      offset,
      data.length,
      { data },
    );
  }

  /** Makes completed writes durable (NBD_CMD_FLUSH). */
  async flush(): Promise<void> {
    await this.#submit(Cmd.FLUSH, 0, 0, 0);
  }

  /** Discards a range (NBD_CMD_TRIM). */
  async trim(
    offset: number,
    length: number,
    options: FuaOptions = {},
  ): Promise<void> {
    await this.#submit(Cmd.TRIM, options.fua ? CmdFlag.FUA : 0, offset, length);
  }

  /** Zeroes a range (NBD_CMD_WRITE_ZEROES). */
  async writeZeroes(
    offset: number,
    length: number,
    options: ZeroOptions = {},
  ): Promise<void> {
    const flags = (options.fua ? CmdFlag.FUA : 0) |
      (options.noHole ? CmdFlag.NO_HOLE : 0) |
      (options.fast ? CmdFlag.FAST_ZERO : 0);
    await this.#submit(Cmd.WRITE_ZEROES, flags, offset, length);
  }

  /** Asks the server to prefetch a range (NBD_CMD_CACHE). */
  async cache(offset: number, length: number): Promise<void> {
    await this.#submit(Cmd.CACHE, 0, offset, length);
  }

  /**
   * Block status of a range for every selected metadata context, keyed by
   * context name (NBD_CMD_BLOCK_STATUS).
   */
  async blockStatus(
    offset: number,
    length: number,
    options: { reqOne?: boolean } = {},
  ): Promise<Map<string, Extent[]>> {
    return await this.#submit(
      Cmd.BLOCK_STATUS,
      options.reqOne ? CmdFlag.REQ_ONE : 0,
      offset,
      length,
    ) as Map<string, Extent[]>;
  }

  /**
   * Sends a raw request (flags and type as given) and resolves when its reply
   * is complete. Low level: for tests of servers.
   */
  async request(
    r: {
      type: number;
      flags?: number;
      offset?: number;
      length?: number;
      data?: Uint8Array;
    },
  ): Promise<void> {
    const buf = r.type === Cmd.READ ? new Uint8Array(r.length ?? 0) : undefined;
    await this.#submit(r.type, r.flags ?? 0, r.offset ?? 0, r.length ?? 0, {
      data: r.data,
      buf,
    });
  }

  /**
   * Waits for requests in flight, sends NBD_CMD_DISC and closes the
   * connection.
   */
  async close(): Promise<void> {
    if (this.#closed) {
      await this.#loop;
      return;
    }
    while (this.#pending.size && !this.#closed) {
      await new Promise<void>((r) => this.#drainWaiters.push(r));
    }
    if (!this.#closed) {
      const hdr = new Uint8Array(this.extended ? 32 : 28);
      writeRequestHeader(
        new DataView(hdr.buffer),
        0,
        {
          type: Cmd.DISC,
          flags: 0,
          cookie: this.#nextCookie++,
          offset: 0,
          length: 0,
          extended: this.extended,
        },
      );
      this.#writer.send(hdr);
      await this.#writer.idle();
    }
    this.#fail(new Error("Connection is closed"));
    await this.#loop;
  }

  #fail(e: Error): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#failure = e;
      try {
        this.#stream.close();
      } catch { /* closed */ }
    }
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    for (const w of this.#slotWaiters.splice(0)) w();
    for (const d of this.#drainWaiters.splice(0)) d();
  }

  #finish(cookie: number, p: Pending): void {
    this.#pending.delete(cookie);
    if (p.error) p.reject(p.error);
    else if (p.type === Cmd.BLOCK_STATUS) p.resolve(p.status ?? new Map());
    else p.resolve(undefined);
    const w = this.#slotWaiters.shift();
    w?.();
    if (this.#pending.size === 0) {
      for (const d of this.#drainWaiters.splice(0)) {
        d();
      }
    }
  }

  async #readLoop(): Promise<void> {
    const rd = this.#reader;
    try {
      for (;;) {
        if (!await rd.fill(4)) break;
        const magic = new DataView(rd.take(4).slice().buffer).getUint32(0);
        if (magic === Magic.SIMPLE_REPLY && !this.extended) {
          if (!await rd.fill(12)) break;
          const b = rd.take(12);
          const v = new DataView(b.buffer, b.byteOffset, 12);
          const error = v.getUint32(0);
          const cookie = getU64(v, 4);
          const p = this.#pending.get(cookie);
          if (!p) {
            throw new NbdProtocolError(`Reply for unknown cookie: ${cookie}`);
          }
          if (error) {
            p.error = new NbdError(error, `Server replied ${errName(error)}`);
          } else if (p.type === Cmd.READ) {
            if (this.structured) {
              throw new NbdProtocolError("Simple reply to a structured read");
            }
            if (!await rd.readInto(p.buf!)) break;
          }
          this.#finish(cookie, p);
          continue;
        }
        const ext = magic === Magic.EXTENDED_REPLY;
        if (
          !(ext
            ? this.extended
            : magic === Magic.STRUCTURED_REPLY && this.structured &&
              !this.extended)
        ) {
          throw new NbdProtocolError(
            `Bad reply magic: 0x${magic.toString(16)}`,
          );
        }
        const rest = ext ? 28 : 16;
        if (!await rd.fill(rest)) break;
        const hb = rd.take(rest);
        const hv = new DataView(hb.buffer, hb.byteOffset, rest);
        const flags = hv.getUint16(0);
        const type = hv.getUint16(2);
        const cookie = getU64(hv, 4);
        const length = ext ? getU64(hv, 20) : hv.getUint32(12);
        const p = this.#pending.get(cookie);
        if (!p) {
          throw new NbdProtocolError(`Reply for unknown cookie: ${cookie}`);
        }
        if (length > MAX_REPLY_PAYLOAD) {
          throw new NbdProtocolError(`Reply too long: ${length}`);
        }
        if (type === ReplyType.OFFSET_DATA && p.buf) {
          if (length < 9) {
            throw new NbdProtocolError(`Bad OFFSET_DATA length: ${length}`);
          }
          if (!await rd.fill(8)) break;
          const ob = rd.take(8);
          const off = getU64(new DataView(ob.buffer, ob.byteOffset, 8), 0);
          const n = length - 8;
          const rel = off - p.offset;
          if (rel < 0 || rel + n > p.buf.length) {
            throw new NbdProtocolError(
              `Data chunk outside the request: offset ${off}`,
            );
          }
          if (!await rd.readInto(p.buf.subarray(rel, rel + n))) break;
          p.chunks?.push({ type: "data", offset: off, length: n });
        } else {
          const d = new Uint8Array(length);
          if (!await rd.readInto(d)) break;
          this.#chunk(p, type, d, ext);
        }
        if (flags & REPLY_FLAG_DONE) this.#finish(cookie, p);
      }
      this.#fail(
        this.#closed
          ? this.#failure!
          : new Error("Server closed the connection"),
      );
    } catch (e) {
      this.#fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #chunk(p: Pending, type: number, d: Uint8Array, ext: boolean): void {
    const v = new DataView(d.buffer, d.byteOffset, d.length);
    switch (type) {
      case ReplyType.NONE:
        return;
      case ReplyType.OFFSET_HOLE: {
        if (d.length !== 12 || !p.buf) {
          throw new NbdProtocolError("Bad OFFSET_HOLE chunk");
        }
        const off = getU64(v, 0);
        const n = v.getUint32(8);
        const rel = off - p.offset;
        if (n === 0 || rel < 0 || rel + n > p.buf.length) {
          throw new NbdProtocolError(
            `Hole chunk outside the request: offset ${off}`,
          );
        }
        p.buf.fill(0, rel, rel + n);
        p.chunks?.push({ type: "hole", offset: off, length: n });
        return;
      }
      case ReplyType.BLOCK_STATUS:
      case ReplyType.BLOCK_STATUS_EXT: {
        if (p.type !== Cmd.BLOCK_STATUS) {
          throw new NbdProtocolError("Unexpected block status chunk");
        }
        if (type === ReplyType.BLOCK_STATUS_EXT && !ext) {
          throw new NbdProtocolError(
            "Extended block status without extended headers",
          );
        }
        const bs = decodeBlockStatus(d, type === ReplyType.BLOCK_STATUS_EXT);
        const name = this.#contexts.get(bs.id) ?? `context ${bs.id}`;
        (p.status ??= new Map()).set(name, bs.extents);
        return;
      }
      case ReplyType.ERROR:
      case ReplyType.ERROR_OFFSET: {
        const e = decodeErrorPayload(d, type === ReplyType.ERROR_OFFSET);
        p.error ??= new NbdError(
          e.error,
          e.message || `Server replied ${errName(e.error)}`,
        );
        return;
      }
      default:
        if (type & 0x8000) {
          p.error ??= new NbdError(
            Errno.EINVAL,
            `Unknown error chunk type: ${type}`,
          );
          return;
        }
        throw new NbdProtocolError(`Unknown reply chunk type: ${type}`);
    }
  }
}

function errName(errno: number): string {
  return new NbdError(errno, "").code;
}
