/**
 * Byte-stream helpers shared by the NBD server and client: a buffered reader
 * over a reused buffer, and a writer that sends whole messages in order,
 * coalescing small ones into one write.
 *
 * @module
 */

/** The part of `Deno.Conn` the NBD code needs (a TLS wrapper provides it too). */
export interface Stream {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** Reads from a {@link Stream} through one reused buffer. */
export class BufferedReader {
  #s: Stream;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  /** Bytes read from the stream so far. */
  bytesIn = 0;
  /**
   * Called before each read from the stream, that is before waiting for the
   * peer (the server flushes the replies it held back here).
   */
  beforeRead: (() => void) | undefined;
  /**
   * Told, before each read straight into a payload, how many of its bytes
   * are still missing, and 0 once it is whole (a plain socket's receive
   * low-water mark: net/_low_water.ts). Never set over TLS, whose reads
   * do not map to the socket's bytes.
   */
  lowWater: ((bytes: number) => void) | undefined;

  constructor(s: Stream, size = 256 * 1024) {
    this.#s = s;
    this.#buf = new Uint8Array(size);
  }

  /** Bytes buffered and not yet taken. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Ensures `n` bytes (at most the buffer size) are buffered; false on end of
   * stream before that.
   */
  async fill(n: number): Promise<boolean> {
    if (this.#end - this.#start >= n) return true;
    if (n > this.#buf.length) {
      throw new RangeError(`Read larger than the buffer: ${n}`);
    }
    if (this.#start + n > this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#end - this.#start < n) {
      this.beforeRead?.();
      const got = await this.#s.read(this.#buf.subarray(this.#end));
      if (got === null || got === 0) return false;
      this.#end += got;
      this.bytesIn += got;
    }
    return true;
  }

  /** The next `n` buffered bytes (call {@link fill} first); valid until the next fill. */
  take(n: number): Uint8Array {
    const b = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return b;
  }

  /** Fills `dst` completely: buffered bytes first, then straight from the stream. */
  async readInto(dst: Uint8Array): Promise<boolean> {
    const have = Math.min(this.#end - this.#start, dst.length);
    dst.set(this.#buf.subarray(this.#start, this.#start + have));
    this.#start += have;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    let at = have;
    const lowWater = this.lowWater;
    let marked = false;
    while (at < dst.length) {
      // Small remainders go through the buffer so that following headers are read ahead too.
      if (dst.length - at < 16384) {
        if (marked) lowWater?.(0);
        if (!await this.fill(dst.length - at)) return false;
        dst.set(this.take(dst.length - at), at);
        return true;
      }
      this.beforeRead?.();
      if (lowWater !== undefined) {
        lowWater(dst.length - at);
        marked = true;
      }
      const got = await this.#s.read(dst.subarray(at));
      if (got === null || got === 0) return false;
      at += got;
      this.bytesIn += got;
    }
    if (marked) lowWater?.(0);
    return true;
  }

  /** Reads and drops `n` bytes. */
  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      if (this.buffered === 0 && !await this.fill(1)) return false;
      const k = Math.min(n, this.buffered);
      this.take(k);
      n -= k;
    }
    return true;
  }

  /** Removes and returns whatever is buffered (for a switch to TLS). */
  drain(): Uint8Array {
    const b = this.#buf.slice(this.#start, this.#end);
    this.#start = this.#end = 0;
    return b;
  }
}

/** Writes all of `p`, looping over partial writes. */
export async function writeAll(s: Stream, p: Uint8Array): Promise<void> {
  let at = 0;
  while (at < p.length) at += await s.write(at === 0 ? p : p.subarray(at));
}

interface Pending {
  bytes: Uint8Array;
  done?: () => void;
}

const COALESCE = 256 * 1024;
const SMALL = 64 * 1024;

/**
 * Sends whole messages in the order they are queued; messages queued while a
 * write is in progress, or while the writer is corked, are coalesced into one
 * write when small. A message is never split between others, so replies
 * never interleave.
 */
export class MessageWriter {
  #s: Stream;
  #queue: Pending[] = [];
  #busy = false;
  #corked = false;
  #scratch: Uint8Array | undefined;
  #idle: (() => void)[] = [];
  /** Set when a write failed; later messages are dropped. */
  failed: unknown = undefined;
  /** Bytes written so far. */
  bytesOut = 0;
  /** Bytes queued and not yet written. */
  pendingBytes = 0;
  /** Buffers queued and not yet written (a message sent in parts counts each). */
  pendingCount = 0;
  #below: { limit: number; count: number; resolve: () => void }[] = [];

  constructor(s: Stream) {
    this.#s = s;
  }

  /**
   * Resolves once at most `limit` bytes in at most `count` buffers are
   * waiting to be written.
   */
  waitBelow(limit: number, count = Infinity): Promise<void> {
    if (this.#corked) this.uncork();
    if (!this.#over(limit, count)) return Promise.resolve();
    return new Promise((resolve) =>
      this.#below.push({ limit, count, resolve })
    );
  }

  /**
   * Holds messages back until {@link uncork}, so that the replies to a batch
   * of requests go out in one write. The caller must uncork before it waits
   * for anything but {@link waitBelow} and {@link idle}, which uncork.
   */
  cork(): void {
    this.#corked = true;
  }

  /** Ends {@link cork}: writes what was held back. */
  uncork(): void {
    this.#corked = false;
    if (!this.#busy && this.#queue.length) this.#pump();
  }

  #over(limit: number, count: number): boolean {
    return this.failed === undefined &&
      (this.pendingBytes > limit || this.pendingCount > count);
  }

  #written(n: number, messages: number): void {
    this.pendingBytes -= n;
    this.pendingCount -= messages;
    if (this.#below.length) {
      this.#below = this.#below.filter((w) => {
        if (this.#over(w.limit, w.count)) return true;
        w.resolve();
        return false;
      });
    }
  }

  /** Queues `bytes`; `done` runs once they are written (or dropped). */
  send(bytes: Uint8Array, done?: () => void): void {
    if (this.failed !== undefined) {
      done?.();
      return;
    }
    this.#queue.push({ bytes, done });
    this.pendingBytes += bytes.length;
    this.pendingCount++;
    if (!this.#busy && !this.#corked) this.#pump();
  }

  /**
   * Queues one message made of several parts (a header and a view of device
   * memory, say), written back to back; `done` runs after the last.
   */
  sendParts(parts: Uint8Array[], done?: () => void): void {
    if (this.failed !== undefined) {
      done?.();
      return;
    }
    for (let i = 0; i < parts.length; i++) {
      const bytes = parts[i];
      this.#queue.push({
        bytes,
        done: i === parts.length - 1 ? done : undefined,
      });
      this.pendingBytes += bytes.length;
    }
    this.pendingCount += parts.length;
    if (!this.#busy && !this.#corked) this.#pump();
  }

  /** Resolves when everything queued so far has been written or dropped. */
  idle(): Promise<void> {
    if (this.#corked) this.uncork();
    if (!this.#busy && this.#queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  async #pump(): Promise<void> {
    this.#busy = true;
    const q = this.#queue;
    try {
      // Corked again while a write was under way: what is queued now waits
      // for the uncork, to go out with the rest of its batch.
      while (q.length && !this.#corked) {
        if (
          q.length > 1 && q[0].bytes.length <= SMALL &&
          q[1].bytes.length <= SMALL
        ) {
          // Small messages go out together; big ones (often views of device
          // memory) are written as they are, never copied.
          const buf = this.#scratch ??= new Uint8Array(COALESCE);
          let n = 0;
          let k = 0;
          while (
            k < q.length && q[k].bytes.length <= SMALL &&
            n + q[k].bytes.length <= COALESCE
          ) {
            buf.set(q[k].bytes, n);
            n += q[k].bytes.length;
            k++;
          }
          const batch = q.splice(0, k);
          for (const p of batch) p.done?.();
          await writeAll(this.#s, buf.subarray(0, n));
          this.bytesOut += n;
          this.#written(n, k);
        } else {
          const p = q.shift()!;
          try {
            await writeAll(this.#s, p.bytes);
            this.bytesOut += p.bytes.length;
            this.#written(p.bytes.length, 1);
          } finally {
            p.done?.();
          }
        }
      }
    } catch (e) {
      this.failed = e;
      for (const p of q.splice(0)) p.done?.();
      this.#written(this.pendingBytes, this.pendingCount);
    } finally {
      this.#busy = false;
      // Stopped by a cork with messages left: not idle yet.
      if (q.length === 0) {
        for (const r of this.#idle.splice(0)) r();
      }
    }
  }
}

/**
 * Reuses reply buffers by size class (powers of two of the payload plus a
 * small header room), so large reads do not allocate per request.
 */
export class BufferPool {
  #free = new Map<number, Uint8Array[]>();
  #bytes = 0;
  readonly #limit: number;

  constructor(limitBytes = 32 * 1024 * 1024) {
    this.#limit = limitBytes;
  }

  /** A buffer of at least `n` bytes (contents undefined). */
  get(n: number): Uint8Array {
    const cls = n <= 4096 ? 4096 : 2 ** Math.ceil(Math.log2(n - 64));
    const list = this.#free.get(cls);
    const b = list?.pop();
    if (b) {
      this.#bytes -= b.length;
      return b.length >= n ? b.subarray(0, n) : new Uint8Array(n);
    }
    return new Uint8Array(cls + 64).subarray(0, n);
  }

  /** Returns a buffer obtained from {@link get}. */
  release(b: Uint8Array): void {
    const full = new Uint8Array(b.buffer);
    const cls = full.length - 64;
    if (cls < 4096 || this.#bytes + full.length > this.#limit) return;
    let list = this.#free.get(cls);
    if (!list) this.#free.set(cls, list = []);
    if (list.length >= 64) return;
    list.push(full);
    this.#bytes += full.length;
  }
}
