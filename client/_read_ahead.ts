// Sequential reads with read-ahead for NfsFile: chunks of `rsize` aligned
// to `rsize`, fetched up to `ahead` bytes past the one asked for, up to
// the window's worth in flight.
//
// A chunk's bytes reach the caller either as a view (`read`: the readable
// stream hands it on, so its storage is the caller's for good) or as a
// copy (`readInto`: the storage goes back to the connection for the next
// READ once the chunk has been read past or dropped).
import { NfsProtocolError } from "./errors.ts";
import type { Target } from "./_transfer.ts";

type Reply = { data: Uint8Array; eof: boolean };

interface Chunk {
  reply: Promise<Reply>;
  /** A view of it went to the caller: its storage is never reused. */
  shared: boolean;
}

/**
 * Sequential reads with read-ahead. Chunks behind the reader or beyond the
 * read-ahead are dropped, so memory stays near `ahead`.
 */
export class ReadAhead {
  readonly #t: Target;
  readonly #rsize: number;
  readonly #ahead: number;
  readonly #chunks = new Map<number, Chunk>();

  constructor(t: Target, options: { rsize: number; ahead: number }) {
    this.#t = t;
    this.#rsize = options.rsize;
    this.#ahead = Math.max(0, options.ahead);
  }

  /** Forgets every chunk (after a write or truncate). */
  clear(): void {
    for (const k of [...this.#chunks.keys()]) this.#drop(k);
  }

  /**
   * Forgets chunk `k`; its storage goes back once its READ is answered,
   * unless a view of it went out. A prefetch nobody reads, or one that
   * failed, must not surface as an unhandled rejection.
   */
  #drop(k: number): void {
    const c = this.#chunks.get(k);
    if (c === undefined) return;
    this.#chunks.delete(k);
    c.reply.then((r) => {
      if (!c.shared) this.#t.proto.recycle(r.data);
    }, () => {});
  }

  #fetch(key: number): Chunk {
    let c = this.#chunks.get(key);
    if (c === undefined) {
      const reply = this.#t.proto.read(this.#t.fh, {
        offset: key,
        count: this.#rsize,
      }, this.#t.path);
      reply.catch(() => {});
      c = { reply, shared: false };
      this.#chunks.set(key, c);
    }
    return c;
  }

  /**
   * Up to `max` bytes at `pos`, as a view the caller may keep; an empty
   * array with `eof` at the end.
   */
  read(pos: number, max: number): Promise<Reply> {
    return this.#read(pos, max, null);
  }

  /**
   * Copies up to `p.byteLength` bytes at `pos` into `p`: how many, and
   * whether the end of the file was reached with them.
   */
  async readInto(
    pos: number,
    p: Uint8Array,
  ): Promise<{ n: number; eof: boolean }> {
    const { data, eof } = await this.#read(pos, p.byteLength, p);
    return { n: data.byteLength, eof };
  }

  /**
   * The bytes at `pos`: copied into `into` (before any other task can run,
   * so the storage cannot have gone back meanwhile) and the chunk dropped
   * once read to its end, or else handed out as a view.
   */
  async #read(
    pos: number,
    max: number,
    into: Uint8Array | null,
  ): Promise<Reply> {
    const key = pos - pos % this.#rsize;
    const last = key + this.#ahead;
    for (const k of [...this.#chunks.keys()]) {
      if (k < key || k > last) this.#drop(k);
    }
    const chunk = this.#fetch(key);
    for (let k = key + this.#rsize; k <= last; k += this.#rsize) {
      this.#fetch(k);
    }
    let res;
    try {
      res = await chunk.reply;
    } catch (e) {
      if (this.#chunks.get(key) === chunk) this.#chunks.delete(key);
      throw e;
    }
    const skip = pos - key;
    if (skip < res.data.byteLength) {
      const data = res.data.subarray(skip, skip + max);
      const eof = res.eof && skip + data.byteLength === res.data.byteLength;
      if (into === null) chunk.shared = true;
      else {
        into.set(data);
        if (skip + data.byteLength === this.#rsize) this.#drop(key);
      }
      return { data, eof };
    }
    if (res.eof) return { data: new Uint8Array(0), eof: true };
    // A short chunk that does not reach `pos`: ask for exactly this spot.
    this.#drop(key);
    const direct = await this.#t.proto.read(this.#t.fh, {
      offset: pos,
      count: Math.min(max, this.#rsize),
    }, this.#t.path);
    if (direct.data.byteLength === 0 && !direct.eof) {
      throw new NfsProtocolError(
        "READ",
        `no data and no end of file at offset ${pos} of ${this.#t.path}`,
      );
    }
    into?.set(direct.data);
    return direct;
  }
}
