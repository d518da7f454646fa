/**
 * RPC record marking over a byte stream (RFC 5531 section 11): each record
 * is one or more fragments, each behind a 4-byte mark whose top bit says
 * "last fragment" and whose low 31 bits give the fragment length.
 *
 * {@link RecordReader} pulls whole records out of any `read()`-able source
 * (a `Deno.Conn`), reassembling fragments and refusing records over a
 * maximum size; {@link recordMark} fills the mark in front of a reply.
 *
 * @example Read records from a connection
 * ```ts
 * import { fragmentRecord, RecordReader } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const peer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * // The peer sends one record in two fragments, then hangs up.
 * await peer.write(fragmentRecord(new Uint8Array([1, 2, 3]), { fragmentSize: 2 }));
 * peer.close();
 *
 * const records = new RecordReader(conn, { maxRecordSize: 1 << 20 });
 * assert.deepEqual(await records.next(), new Uint8Array([1, 2, 3]));
 * assert.equal(await records.next(), null); // a clean end of stream
 * conn.close();
 * listener.close();
 * ```
 *
 * @module
 */

import { RECORD_POOL_MIN, type RecordPool } from "./_record_pool.ts";

/** The "last fragment" bit of a record mark. */
export const LAST_FRAGMENT = 0x80000000;

/** The largest fragment a record mark can describe. */
export const MAX_FRAGMENT = 0x7fffffff;

/**
 * Default maximum record size: 4 MiB of data plus 64 KiB for headers, enough
 * for a 4 MiB NFS WRITE with its RPC and NFS headers.
 */
export const DEFAULT_MAX_RECORD: number = 4 * 1024 * 1024 + 64 * 1024;

/** Anything with `Deno.Conn`'s `read`. */
export interface ByteSource {
  /** Reads into `p`; resolves to the count read, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * The stream broke the record-marking rules: a record over the maximum size,
 * or the stream ended inside a record. The stream cannot be resynchronized,
 * so the connection must be closed.
 *
 * @example A record over the maximum is refused from its mark alone
 * ```ts
 * import { RecordError, RecordReader } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const mark = new Uint8Array([0x80, 0, 0x10, 0]); // last fragment, 4096 bytes
 * const source = {
 *   read(p: Uint8Array) {
 *     p.set(mark);
 *     return Promise.resolve(mark.length);
 *   },
 * };
 * const reader = new RecordReader(source, { maxRecordSize: 1024 });
 * await assert.rejects(
 *   reader.next(),
 *   (e) =>
 *     e instanceof RecordError &&
 *     e.message === "Record too large: 4096 bytes, maximum 1024",
 * );
 * ```
 */
export class RecordError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was wrong, with the value after a colon.
   */
  constructor(message: string) {
    super(message);
    this.name = "RecordError";
  }
}

/** Options of {@link RecordReader}. */
export interface RecordReaderOptions {
  /** Largest record accepted, summed over its fragments. */
  maxRecordSize?: number;
  /** Size of the reused staging buffer for small records (default 64 KiB). */
  bufferSize?: number;
  /**
   * Where a record too large for what is already buffered gets its
   * storage (one fragment of at least {@link RECORD_POOL_MIN} bytes).
   * Absent: a new zero-filled array each time.
   */
  pool?: RecordPool;
  /**
   * Told, before each read inside a record too large for the staging
   * buffer, how many bytes of it are still missing, and told 0 once it is
   * whole: a socket can then wake its reader once for the rest instead of
   * for every burst that arrives (SO_RCVLOWAT, net/_low_water.ts). Called
   * only between reads of this reader's own.
   */
  lowWater?: (bytes: number) => void;
}

export { RECORD_POOL_MIN, RecordPool } from "./_record_pool.ts";

/**
 * Pulls complete records from a byte source. Small records are copied out of
 * one reused staging buffer (several pipelined calls often arrive in one
 * read); a record larger than what is already buffered gets its own array
 * (from the {@link RecordPool} given, if any) and the rest of it is read
 * straight into that array, so a 1 MiB WRITE is not copied twice. Every
 * record handed out is the caller's to keep, but for
 * {@link RecordReader.tryNextView}'s, which are views of the staging
 * buffer.
 *
 * @example Two pipelined records arriving in one read
 * ```ts
 * import { RecordReader } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const bytes = new Uint8Array([
 *   0x80, 0, 0, 4, 1, 2, 3, 4, // a 4-byte record
 *   0x80, 0, 0, 0, // an empty record
 * ]);
 * let reads = 0;
 * const source = {
 *   read(p: Uint8Array) {
 *     if (reads++ > 0) return Promise.resolve(null);
 *     p.set(bytes);
 *     return Promise.resolve(bytes.length);
 *   },
 * };
 * const reader = new RecordReader(source);
 * assert.deepEqual(reader.tryNext(), undefined); // nothing read yet
 * assert.deepEqual(await reader.next(), new Uint8Array([1, 2, 3, 4]));
 * assert.deepEqual(reader.tryNext(), new Uint8Array(0)); // already buffered
 * assert.equal(await reader.next(), null);
 * assert.equal(reads, 2);
 * ```
 */
export class RecordReader {
  readonly #source: ByteSource;
  readonly #max: number;
  readonly #pool: RecordPool | undefined;
  readonly #lowWater: ((bytes: number) => void) | undefined;
  #buf: Uint8Array;
  #view: DataView;
  #start = 0;
  #end = 0;
  #filled = false;
  /** Bytes read from the source so far. */
  bytesRead = 0;

  /**
   * Wraps `source`.
   *
   * @param source Where the bytes come from, such as a `Deno.Conn`.
   * @param options Maximum record size and staging buffer size.
   */
  constructor(source: ByteSource, options: RecordReaderOptions = {}) {
    this.#source = source;
    this.#max = options.maxRecordSize ?? DEFAULT_MAX_RECORD;
    this.#pool = options.pool;
    this.#lowWater = options.lowWater;
    this.#buf = new Uint8Array(Math.max(options.bufferSize ?? 65536, 64));
    this.#view = new DataView(this.#buf.buffer);
  }

  /**
   * Whether the record {@link RecordReader.next} last returned ended with a
   * read that filled all it asked for: a fragment longer than what was
   * buffered, read from the source straight into its own storage. A socket
   * then still counts as readable to Deno's runtime, so a read started at
   * once tries it even when the peer has sent nothing yet (the RPC server
   * and client wait a little first: `_settle.ts`).
   */
  get filledLast(): boolean {
    return this.#filled;
  }

  /** Bytes received but not yet returned as part of a record. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * The next complete record, or null when the stream ends cleanly between
   * records. Throws {@link RecordError} for an oversized record or a stream
   * that ends inside one; errors of the source propagate.
   */
  async next(): Promise<Uint8Array | null> {
    let parts: Uint8Array[] | undefined;
    let total = 0;
    this.#filled = false;
    for (;;) {
      if (this.#end - this.#start < 4) {
        // Reads until a mark is buffered, written out here rather than in
        // a helper: an async helper costs a promise and a microtask per call.
        this.#compact();
        while (this.#end < 4) {
          // Usually nothing is left over: the whole buffer, not a new view.
          const got = await this.#source.read(
            this.#end === 0 ? this.#buf : this.#buf.subarray(this.#end),
          );
          if (got === null) {
            if (parts === undefined && this.#end === 0) return null;
            throw new RecordError(
              `Stream ended inside a record: ${this.#end} bytes of a record mark`,
            );
          }
          this.#end += got;
          this.bytesRead += got;
          this.#filled = false;
        }
      }
      const mark = this.#view.getUint32(this.#start);
      this.#start += 4;
      const len = mark & MAX_FRAGMENT;
      const last = mark >= LAST_FRAGMENT;
      total += len;
      if (total > this.#max) {
        throw new RecordError(
          `Record too large: ${total} bytes, maximum ${this.#max}`,
        );
      }
      // A fragment already buffered is taken without an await: one
      // promise and one microtask fewer per small call.
      const frag = this.#end - this.#start >= len
        ? this.#take(len)
        : await this.#fragment(len);
      if (last && parts === undefined) return frag;
      parts ??= [];
      // Empty fragments are not kept: a stream of them must not grow memory.
      if (len > 0) parts.push(frag);
      if (last) return concat(parts, total);
    }
  }

  /**
   * The next record if it is already buffered whole, as one fragment;
   * undefined when {@link RecordReader.next} has to read (or to report an
   * error). Lets a caller hand out every pipelined call of one read at once,
   * without an `await` between them.
   */
  tryNext(): Uint8Array | undefined {
    return this.tryNextView()?.slice();
  }

  /**
   * {@link RecordReader.tryNext} without the copy: the record as a view of
   * the receive buffer, valid only until the reader is next used
   * ({@link RecordReader.room}, {@link RecordReader.received},
   * {@link RecordReader.next}; further `tryNextView` calls leave it
   * alone). A caller that keeps the record copies it, and can choose where
   * to (a server, once it knows the call's procedure).
   */
  tryNextView(): Uint8Array | undefined {
    const have = this.#end - this.#start;
    if (have < 4) return undefined;
    const mark = this.#view.getUint32(this.#start);
    const len = mark & MAX_FRAGMENT;
    if (mark < LAST_FRAGMENT || len > this.#max || have - 4 < len) {
      return undefined;
    }
    const from = this.#start + 4;
    this.#start = from + len;
    return this.#buf.subarray(from, from + len);
  }

  /**
   * Where the next bytes go, for a caller that reads the source itself and
   * takes records with {@link RecordReader.tryNext}: one `await` in the
   * caller's own loop instead of an async call per record, which costs a
   * server several hundred bytes of garbage per call once it waits for the
   * socket (measured). The free end of the staging buffer; undefined when
   * the record at its head will not fit there (larger than the buffer, in
   * several fragments, or over the maximum), which
   * {@link RecordReader.next} then reads. Report the read's count with
   * {@link RecordReader.received}, or its end of stream with
   * {@link RecordReader.end}.
   *
   * @example A read loop of one's own
   * ```ts
   * import { RecordReader } from "@netfs/netfs/rpc";
   * import assert from "node:assert/strict";
   *
   * const chunks = [new Uint8Array([0x80, 0, 0, 2, 7]), new Uint8Array([8])];
   * const source = {
   *   read(p: Uint8Array) {
   *     const chunk = chunks.shift();
   *     if (chunk === undefined) return Promise.resolve(null);
   *     p.set(chunk);
   *     return Promise.resolve(chunk.length);
   *   },
   * };
   * const reader = new RecordReader(source);
   * const records: Uint8Array[] = [];
   * for (;;) {
   *   const rec = reader.tryNext();
   *   if (rec !== undefined) {
   *     records.push(rec);
   *     continue;
   *   }
   *   const room = reader.room()!; // small records only here
   *   const got = await source.read(room);
   *   if (got === null) break;
   *   reader.received(got);
   * }
   * reader.end(); // would throw had the stream ended inside a record
   * assert.deepEqual(records, [new Uint8Array([7, 8])]);
   * ```
   */
  room(): Uint8Array | undefined {
    if (this.#end - this.#start >= 4) {
      const mark = this.#view.getUint32(this.#start);
      const len = mark & MAX_FRAGMENT;
      if (
        mark < LAST_FRAGMENT || len > this.#max ||
        len + 4 > this.#buf.byteLength
      ) return undefined;
      if (this.#start + 4 + len > this.#buf.byteLength) this.#compact();
    } else this.#compact();
    // Usually nothing is left over: the whole buffer, not a new view.
    return this.#end === 0 ? this.#buf : this.#buf.subarray(this.#end);
  }

  /** Counts `n` bytes read into the array {@link RecordReader.room} gave. */
  received(n: number): void {
    this.#end += n;
    this.bytesRead += n;
  }

  /**
   * The source ended, as a caller of {@link RecordReader.room} saw: throws
   * {@link RecordError} when that was inside a record.
   */
  end(): void {
    const have = this.#end - this.#start;
    if (have === 0) return;
    if (have < 4) {
      throw new RecordError(
        `Stream ended inside a record: ${have} bytes of a record mark`,
      );
    }
    const len = this.#view.getUint32(this.#start) & MAX_FRAGMENT;
    throw new RecordError(
      `Stream ended inside a record: ${have - 4} of ${len} fragment bytes`,
    );
  }

  /** A copy of the next `len` buffered bytes (the caller checked they are there). */
  #take(len: number): Uint8Array {
    const out = this.#buf.slice(this.#start, this.#start + len);
    this.#start += len;
    return out;
  }

  /**
   * Reads one fragment body of `len` bytes, more than is buffered, into an
   * array of its own.
   */
  async #fragment(len: number): Promise<Uint8Array> {
    const have = this.#end - this.#start;
    const out = this.#pool !== undefined && len >= RECORD_POOL_MIN
      ? this.#pool.take(len)
      : new Uint8Array(len);
    out.set(this.#buf.subarray(this.#start, this.#end));
    this.#start = this.#end = 0;
    let at = have;
    const lowWater = this.#lowWater;
    while (at < len) {
      lowWater?.(len - at);
      const n = await this.#source.read(out.subarray(at));
      if (n === null) {
        throw new RecordError(
          `Stream ended inside a record: ${at} of ${len} fragment bytes`,
        );
      }
      at += n;
      this.bytesRead += n;
    }
    if (have < len) {
      lowWater?.(0);
      this.#filled = true;
    }
    return out;
  }

  /** Moves the buffered bytes to the start of the staging buffer. */
  #compact(): void {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Writes a one-fragment record mark for a body of `length` bytes at offset
 * 0 of `view`: the shape {@link XdrWriter.withHeader} expects.
 *
 * @example Frame a message for the wire
 * ```ts
 * import { recordMark, XdrWriter } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const w = new XdrWriter({ reserve: 4 }).u32(7);
 * assert.deepEqual(
 *   w.withHeader(recordMark),
 *   new Uint8Array([0x80, 0, 0, 4, 0, 0, 0, 7]),
 * );
 * ```
 */
export function recordMark(view: DataView, length: number): void {
  if (length > MAX_FRAGMENT) {
    throw new RangeError(`Record too large for one fragment: ${length}`);
  }
  view.setUint32(0, (LAST_FRAGMENT | length) >>> 0);
}

/**
 * Splits `body` into fragments of at most `fragmentSize` bytes, each behind
 * its own mark (for tests and peers that fragment records).
 *
 * @example
 * ```ts
 * import { fragmentRecord } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const bytes = fragmentRecord(new Uint8Array([1, 2, 3]), { fragmentSize: 2 });
 * assert.deepEqual(bytes, new Uint8Array([
 *   0, 0, 0, 2, 1, 2, // a fragment of 2 bytes, more to come
 *   0x80, 0, 0, 1, 3, // the last fragment, 1 byte
 * ]));
 * ```
 */
export function fragmentRecord(
  body: Uint8Array,
  options: { fragmentSize?: number } = {},
): Uint8Array {
  const size = Math.max(
    1,
    Math.min(options.fragmentSize ?? MAX_FRAGMENT, MAX_FRAGMENT),
  );
  const count = Math.max(1, Math.ceil(body.byteLength / size));
  const out = new Uint8Array(body.byteLength + 4 * count);
  const view = new DataView(out.buffer);
  let from = 0;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const len = Math.min(size, body.byteLength - from);
    const last = i === count - 1;
    view.setUint32(at, ((last ? LAST_FRAGMENT : 0) | len) >>> 0);
    out.set(body.subarray(from, from + len), at + 4);
    at += 4 + len;
    from += len;
  }
  return out;
}
