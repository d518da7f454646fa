// RecordPool, split from rpc/record.ts (which re-exports it) to keep each
// file to one job: record.ts frames and reads records, this file keeps the
// storage large records are read into.

/**
 * The smallest record `RecordReader` reads into storage from its
 * {@link RecordPool}: smaller ones are copied out of its receive buffer.
 */
export const RECORD_POOL_MIN = 64 * 1024;

/**
 * Pooled storage is allocated in steps of this size (nearby sizes still
 * share buffers: `take` serves any free one up to twice the size asked). A
 * page, not more: a MemFs may keep a 1 MiB WRITE's whole record as a chunk
 * (store/_offers.ts), so the step is memory a file holds per MiB.
 */
const POOL_STEP = 4 * 1024;

/**
 * Storage under {@link RECORD_POOL_MIN} is allocated in steps of this
 * size, and kept free in one stack per size.
 */
const SMALL_STEP = 512;

/**
 * Storage for records, handed back and reused. A 1 MiB NFS WRITE
 * otherwise costs a fresh 1 MiB array per call, zero-filled (`memset`) and
 * faulted in page by page, only for the socket to overwrite it: about a
 * quarter of the server's CPU per MiB written, measured. Storage under
 * {@link RECORD_POOL_MIN} comes in steps of 512 bytes (a server copies a
 * small call into it once it knows the procedure gives it back).
 *
 * A record the pool served is the caller's to keep, like any other; one the
 * caller is done with, and of which nothing keeps a view, may go back with
 * {@link RecordPool.give}. Arrays the pool did not allocate are ignored
 * there, and it keeps at most `maxBytes` of free storage. A reused array
 * holds stale bytes until the reader has filled it: it is handed out only
 * once the whole fragment has been read into it.
 *
 * @example A record handed back is reused for the next large record
 * ```ts
 * import { RecordPool, RecordReader } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const size = 100_000;
 * const record = (fill: number) => {
 *   const bytes = new Uint8Array(4 + size).fill(fill);
 *   new DataView(bytes.buffer).setUint32(0, 0x80000000 | size);
 *   return bytes;
 * };
 * const stream = [record(1), record(2)];
 * const source = {
 *   // One read at a time, at most 4 KiB: the records are never buffered whole.
 *   read(p: Uint8Array) {
 *     while (stream.length > 0 && stream[0].length === 0) stream.shift();
 *     if (stream.length === 0) return Promise.resolve(null);
 *     const n = Math.min(p.length, 4096, stream[0].length);
 *     p.set(stream[0].subarray(0, n));
 *     stream[0] = stream[0].subarray(n);
 *     return Promise.resolve(n);
 *   },
 * };
 * const pool = new RecordPool();
 * const reader = new RecordReader(source, { pool });
 * const first = (await reader.next())!;
 * assert.equal(first[0], 1);
 * pool.give(first); // done with it: nothing keeps a view
 * const second = (await reader.next())!;
 * assert.equal(second.buffer, first.buffer, "the storage is reused");
 * assert.ok(second.every((b) => b === 2), "and wholly overwritten");
 * ```
 */
export class RecordPool {
  readonly #free: ArrayBuffer[] = [];
  /** Free storage under RECORD_POOL_MIN, by its size in SMALL_STEPs. */
  readonly #small: ArrayBuffer[][] = [];
  /** The storage this pool allocated: only it may come back. */
  readonly #ours = new WeakSet<ArrayBuffer>();
  readonly #maxBytes: number;
  #freeBytes = 0;

  /**
   * A pool keeping at most `maxBytes` of free storage (default 16 MiB:
   * eight 1 MiB WRITEs in flight on two connections).
   */
  constructor(options: { maxBytes?: number } = {}) {
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  }

  /** Bytes of free storage held. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /**
   * An array of `length` bytes whose contents are stale: the caller
   * overwrites all of them before anyone reads them.
   */
  take(length: number): Uint8Array {
    if (length < RECORD_POOL_MIN) return this.#takeSmall(length);
    const free = this.#free;
    // The smallest free buffer that fits and wastes at most half of itself.
    let best = -1;
    for (let i = 0; i < free.length; i++) {
      const n = free[i].byteLength;
      if (
        n >= length && n <= 2 * length &&
        (best < 0 || n < free[best].byteLength)
      ) best = i;
    }
    if (best >= 0) {
      const buf = free[best];
      free[best] = free[free.length - 1];
      free.pop();
      this.#freeBytes -= buf.byteLength;
      return new Uint8Array(buf, 0, length);
    }
    const buf = new ArrayBuffer(Math.ceil(length / POOL_STEP) * POOL_STEP);
    this.#ours.add(buf);
    return new Uint8Array(buf, 0, length);
  }

  /**
   * Takes back a record this pool served, once the caller and everything
   * it handed the record to are done with it (no view of it is used
   * again). Anything else, or a second give of the same storage, is
   * ignored; so is storage over the pool's limit.
   */
  give(record: Uint8Array): void {
    const buf = record.buffer as ArrayBuffer;
    const n = buf.byteLength;
    const free = n < RECORD_POOL_MIN ? this.#small[n / SMALL_STEP] : this.#free;
    if (
      free === undefined || !this.#ours.has(buf) || record.byteOffset !== 0 ||
      this.#freeBytes + n > this.#maxBytes || free.includes(buf)
    ) return;
    free.push(buf);
    this.#freeBytes += n;
  }

  /**
   * Small storage (a 4 KiB WRITE's record): one stack per size, since many
   * are in use at once. A fresh `ArrayBuffer` costs about 1 µs at 4 KiB,
   * counting the garbage collector's share, a reused one about 0.1
   * (measured).
   */
  #takeSmall(length: number): Uint8Array {
    const steps = Math.max(1, Math.ceil(length / SMALL_STEP));
    const free = this.#small[steps] ??= [];
    let buf = free.pop();
    if (buf === undefined) {
      buf = new ArrayBuffer(steps * SMALL_STEP);
      this.#ours.add(buf);
    } else this.#freeBytes -= buf.byteLength;
    return new Uint8Array(buf, 0, length);
  }
}
