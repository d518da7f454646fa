/**
 * The RPC server's write path: replies queue per connection in completion
 * order and one write loop per connection sends them, joining the small
 * ones that are ready into one write (up to {@link BATCH_BYTES}) and
 * sending a by-reference tail (a READ's data) from where it lies. Reply
 * buffers come from a bounded pool, so a call allocates none. A failed
 * write closes the connection and drops what is queued.
 *
 * @module
 */

import type { Logger } from "../telemetry/log.ts";
import type { Connection } from "./_connection.ts";
import type { RpcMetrics } from "./_metrics.ts";
import type { DrcKey, DuplicateRequestCache } from "./drc.ts";
import { recordMark } from "./record.ts";
import { XdrWriter } from "./xdr.ts";

/** A reply waiting to be written. */
export interface Outgoing {
  bytes: Uint8Array;
  /** Written right after `bytes`, as part of the same record. */
  tail: Uint8Array | null;
  writer: XdrWriter | null;
}

/** Largest write that several small replies are joined into. */
export const BATCH_BYTES = 64 * 1024;

/**
 * How many replies at the head of `queue` go out in the next write: one,
 * or several small ones joined up to {@link BATCH_BYTES}.
 */
export function batchSize(queue: Outgoing[]): number {
  let n = 1;
  let total = queue[0].bytes.byteLength;
  // A reply with a tail ends a batch: its tail must follow its head.
  while (
    n < queue.length && queue[n - 1].tail === null &&
    total + queue[n].bytes.byteLength <= BATCH_BYTES
  ) {
    total += queue[n].bytes.byteLength;
    n++;
  }
  return n;
}

/** Copies the first `n` replies of `queue` into `staging`; returns the part used. */
export function joinBatch(
  queue: Outgoing[],
  n: number,
  staging: Uint8Array,
): Uint8Array {
  let at = 0;
  for (let i = 0; i < n; i++) {
    staging.set(queue[i].bytes, at);
    at += queue[i].bytes.byteLength;
  }
  return staging.subarray(0, at);
}

const MAX_POOLED_WRITERS = 256;
const MAX_POOLED_CAPACITY = 1536 * 1024;
/**
 * The pool's buffers together, at most: without it 256 writers grown by
 * large replies (READDIR, READ under 64 KiB) could keep 384 MiB.
 */
const MAX_POOLED_BYTES = 4 * 1024 * 1024;

/**
 * Data at least this large that a handler passes to `opaqueRef` (a READ
 * reply's data) is written from where it lies, with a write of its own,
 * rather than copied into the reply buffer: a second write op costs a few
 * microseconds, copying 1 MiB costs more, and growing the buffer to hold it
 * costs more again.
 */
const REF_MIN = 64 * 1024;

/** Reply writers kept for reuse, so a call allocates no buffer. */
export class WriterPool {
  readonly #free: XdrWriter[] = [];
  /** The capacity of the writers in `#free`, summed. */
  #bytes = 0;

  /** A writer, empty. */
  acquire(): XdrWriter {
    const w = this.#free.pop();
    if (w === undefined) {
      return new XdrWriter({ size: 512, reserve: 4, refMin: REF_MIN });
    }
    this.#bytes -= w.capacity;
    return w;
  }

  /** Takes `w` back (unless the pool is full or `w` grew too large). */
  release(w: XdrWriter): void {
    const size = w.capacity;
    if (
      this.#free.length < MAX_POOLED_WRITERS &&
      size <= MAX_POOLED_CAPACITY && this.#bytes + size <= MAX_POOLED_BYTES
    ) {
      w.reset();
      this.#free.push(w);
      this.#bytes += size;
    }
  }
}

/**
 * Queues the replies of every connection of one server and writes them.
 * The replies of cached procedures go to the duplicate-request cache as
 * they are queued.
 */
export class Replies {
  /** Where reply writers come from and go back to. */
  readonly pool: WriterPool = new WriterPool();
  readonly #drc: DuplicateRequestCache;
  readonly #metrics: RpcMetrics | undefined;
  readonly #log: Logger;

  constructor(
    drc: DuplicateRequestCache,
    metrics: RpcMetrics | undefined,
    log: Logger,
  ) {
    this.#drc = drc;
    this.#metrics = metrics;
    this.#log = log;
  }

  /**
   * Queues the reply in `w` (from {@link pool}), which goes back to the
   * pool once written; `replied` is its status for the metrics (a
   * `Replied` value), `drcKey` the cache entry it completes, if any.
   */
  send(
    c: Connection,
    w: XdrWriter,
    drcKey: DrcKey | null,
    replied: number,
  ): void {
    this.#metrics?.reply(replied);
    const { head, tail } = w.framed(recordMark);
    if (drcKey !== null) {
      this.#drc.finishCopy(drcKey, head, tail);
    }
    if (c.closed) return this.pool.release(w);
    c.unsent++;
    c.queue.push({ bytes: head, tail, writer: w });
    if (!c.writing) this.#flush(c);
  }

  /** Queues a whole framed reply (one from the duplicate-request cache). */
  sendBytes(c: Connection, bytes: Uint8Array): void {
    if (c.closed) return;
    c.unsent++;
    c.queue.push({ bytes, tail: null, writer: null });
    if (!c.writing) this.#flush(c);
  }

  /**
   * Writes `c`'s queue until it is empty, with `c.writing` set meanwhile,
   * then lets the connection settle; a failed write closes the connection
   * (logged) and drops what is queued. A state machine on the connection
   * (its batch, the part being written, how much of it went) driven by the
   * write promises, with callbacks made once per connection: an async
   * write loop per flush, which a reply at a time starts every time,
   * costs several hundred bytes of garbage per reply (measured).
   */
  #flush(c: Connection): void {
    c.writing = true;
    // A reply queued while a write is in progress sees `writing` and leaves
    // it to this loop; `writing` drops in the same turn as the last look.
    this.#nextBatch(c);
  }

  /** Starts the next batch of `c`'s queue, or ends its flush. */
  #nextBatch(c: Connection): void {
    const queue = c.queue;
    while (queue.length > 0) {
      // Replies that queued up behind the previous write go out together:
      // a write op costs several microseconds in Deno, more than copying
      // a few small replies. Each reply is still whole and in order.
      // Replies queued during the write go behind these n: they stay put.
      const n = c.batch = batchSize(queue);
      if (c.closed) {
        this.#batchDone(c);
        continue;
      }
      c.out = n === 1
        ? queue[0].bytes
        : joinBatch(queue, n, c.staging ??= new Uint8Array(BATCH_BYTES));
      c.outAt = 0;
      this.#write(c);
      return;
    }
    c.writing = false;
    c.settle();
  }

  /** Writes what is left of `c.out`. */
  #write(c: Connection): void {
    const out = c.out!;
    c.wrote ??= (n) => this.#wrote(c, n);
    c.writeFailed ??= (e) => this.#writeFailed(c, e);
    try {
      c.conn.write(c.outAt === 0 ? out : out.subarray(c.outAt)).then(
        c.wrote,
        c.writeFailed,
      );
    } catch (e) {
      this.#writeFailed(c, e);
    }
  }

  #wrote(c: Connection, n: number): void {
    const out = c.out!;
    c.outAt += n;
    if (c.outAt < out.byteLength) return this.#write(c);
    c.info.bytesOut += out.byteLength;
    // Only the last reply of a batch can have a tail (see batchSize).
    const tail = c.queue[c.batch - 1].tail;
    if (tail !== null && out !== tail && !c.closed) {
      c.out = tail;
      c.outAt = 0;
      return this.#write(c);
    }
    c.lastActive = Date.now();
    this.#batchDone(c);
    this.#nextBatch(c);
  }

  #writeFailed(c: Connection, e: unknown): void {
    if (!c.closed) {
      this.#log.warn(
        `Write failed on connection ${c.info.id}: ${(e as Error).message}`,
        c.fields,
      );
    }
    c.abort();
    this.#batchDone(c);
    this.#nextBatch(c);
  }

  /** The replies of `c`'s batch are written or dropped: frees their places. */
  #batchDone(c: Connection): void {
    const queue = c.queue;
    const n = c.batch;
    for (let i = 0; i < n; i++) {
      const w = queue[i].writer;
      if (w !== null) this.pool.release(w);
    }
    if (n === 1) queue.shift();
    else queue.splice(0, n);
    c.unsent -= n;
    c.out = null;
    c.slot?.();
  }
}
