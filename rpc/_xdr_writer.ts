// XdrWriter, split from rpc/xdr.ts (which re-exports it) to keep each file
// to one direction: xdr.ts decodes, this file encodes.

const TWO_32 = 4294967296;
const encoder = new TextEncoder();

/**
 * Writes XDR data into one growing buffer.
 *
 * @example Reserve room for a header and fill it in at the end
 * ```ts
 * import { XdrWriter } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const w = new XdrWriter({ reserve: 4 }); // room for a record mark
 * w.u32(1).opaque(new Uint8Array([1, 2, 3]));
 * assert.deepEqual(w.bytes(), new Uint8Array([0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3, 0]));
 *
 * const framed = w.withHeader((view, length) => view.setUint32(0, length));
 * assert.deepEqual(framed.subarray(0, 4), new Uint8Array([0, 0, 0, 12]));
 * assert.equal(framed.length, 16);
 * ```
 */
export class XdrWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos: number;
  #start: number;
  /** Opaque data kept by reference after the buffer (see `opaqueRef`). */
  #tail: Uint8Array | null = null;
  /** Capacity for #grow's check; 0 while a tail waits to be copied in. */
  #limit: number;
  readonly #refMin: number;

  /**
   * Creates a writer.
   *
   * @param options `size`: initial capacity; `reserve`: bytes kept free in
   * front of the data (for a record mark), reachable with `withHeader()`;
   * `refMin`: the smallest data {@link XdrWriter.opaqueRef} keeps by
   * reference instead of copying (default: never).
   */
  constructor(
    options: { size?: number; reserve?: number; refMin?: number } = {},
  ) {
    const reserve = options.reserve ?? 0;
    this.#refMin = options.refMin ?? Infinity;
    this.#buf = new Uint8Array(Math.max(options.size ?? 256, reserve + 16));
    this.#view = new DataView(this.#buf.buffer);
    this.#limit = this.#buf.byteLength;
    this.#start = reserve;
    this.#pos = reserve;
  }

  /** Bytes written so far, not counting the reserved header. */
  get length(): number {
    return this.#pos - this.#start + (this.#tail?.byteLength ?? 0);
  }

  #grow(n: number): void {
    // One compare on the hot path: #limit is 0 while a tail is pending.
    if (this.#pos + n > this.#limit) this.#slowGrow(n);
  }

  #slowGrow(n: number): void {
    // Anything written after by-reference data must follow it: copy it in.
    if (this.#tail !== null) this.#inlineTail();
    const need = this.#pos + n;
    if (need <= this.#buf.byteLength) return;
    let size = this.#buf.byteLength * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
    this.#limit = size;
  }

  /** An unsigned 32-bit integer. */
  u32(v: number): this {
    this.#grow(4);
    this.#view.setUint32(this.#pos, v >>> 0);
    this.#pos += 4;
    return this;
  }

  /** A signed 32-bit integer. */
  i32(v: number): this {
    this.#grow(4);
    this.#view.setInt32(this.#pos, v | 0);
    this.#pos += 4;
    return this;
  }

  /** An unsigned 64-bit integer from a non-negative safe `number`. */
  u64(v: number): this {
    this.#grow(8);
    this.#view.setUint32(this.#pos, Math.floor(v / TWO_32));
    this.#view.setUint32(this.#pos + 4, v >>> 0);
    this.#pos += 8;
    return this;
  }

  /** An unsigned 64-bit integer from a `bigint` (taken modulo 2^64). */
  u64big(v: bigint): this {
    this.#grow(8);
    this.#view.setBigUint64(this.#pos, BigInt.asUintN(64, v));
    this.#pos += 8;
    return this;
  }

  /** A signed 64-bit integer from a safe `number`. */
  i64(v: number): this {
    this.#grow(8);
    const hi = Math.floor(v / TWO_32);
    this.#view.setInt32(this.#pos, hi);
    this.#view.setUint32(this.#pos + 4, (v - hi * TWO_32) >>> 0);
    this.#pos += 8;
    return this;
  }

  /** A signed 64-bit integer from a `bigint`. */
  i64big(v: bigint): this {
    this.#grow(8);
    this.#view.setBigInt64(this.#pos, BigInt.asIntN(64, v));
    this.#pos += 8;
    return this;
  }

  /** A boolean. */
  bool(v: boolean): this {
    return this.u32(v ? 1 : 0);
  }

  /** Fixed-length opaque data, zero-padded to a multiple of four. */
  fixedOpaque(data: Uint8Array): this {
    const n = data.byteLength;
    const padded = (n + 3) & ~3;
    this.#grow(padded);
    const buf = this.#buf;
    const at = this.#pos;
    if (n <= 32) {
      // File handles and verifiers: a loop beats set()'s call overhead.
      for (let i = 0; i < n; i++) buf[at + i] = data[i];
      for (let i = n; i < padded; i++) buf[at + i] = 0;
    } else {
      buf.set(data, at);
      buf.fill(0, at + n, at + padded);
    }
    this.#pos = at + padded;
    return this;
  }

  /** Variable-length opaque data: its length, then the bytes. */
  opaque(data: Uint8Array): this {
    this.u32(data.byteLength);
    return this.fixedOpaque(data);
  }

  /**
   * Variable-length opaque data meant to end the message, kept by reference
   * (not copied) when the writer was made with a `refMin` it reaches and
   * its length needs no padding; {@link XdrWriter.framed} then hands it
   * out apart from the buffer, so a large READ reply is never copied. The
   * caller must not change `data` until the bytes are sent. Anything
   * written afterwards, or a call of `bytes()` or `withHeader()`, copies
   * it into the buffer, so the encoding is the same either way.
   *
   * @example Send a large payload without copying it
   * ```ts
   * import { XdrWriter } from "@netfs/netfs/rpc";
   * import assert from "node:assert/strict";
   *
   * const data = new Uint8Array(16).fill(7);
   * const w = new XdrWriter({ reserve: 4, refMin: 8 }).u32(1).opaqueRef(data);
   * const { head, tail } = w.framed((view, n) => view.setUint32(0, n));
   * assert.equal(tail, data); // the caller's array itself, not a copy
   * assert.equal(head.length, 4 + 4 + 4); // mark, u32, opaque length
   * assert.equal(new DataView(head.buffer).getUint32(0), 24); // counts the tail
   * ```
   */
  opaqueRef(data: Uint8Array): this {
    const n = data.byteLength;
    if (n < this.#refMin || (n & 3) !== 0) return this.opaque(data);
    this.u32(n); // copies in any earlier by-reference data first
    this.#tail = data;
    this.#limit = 0;
    return this;
  }

  #inlineTail(): void {
    const tail = this.#tail!;
    this.#tail = null;
    this.#limit = this.#buf.byteLength;
    this.fixedOpaque(tail);
  }

  /** A UTF-8 string. */
  string(s: string): this {
    // Encode straight into the buffer: at most 3 bytes per UTF-16 unit.
    this.#grow(4 + s.length * 3 + 3);
    const lenAt = this.#pos;
    if (s.length <= 64 && this.#ascii(s, lenAt + 4)) {
      // Short ASCII (most file names): no call into the encoder.
      const n = s.length;
      this.#view.setUint32(lenAt, n);
      const padded = (n + 3) & ~3;
      for (let i = lenAt + 4 + n; i < lenAt + 4 + padded; i++) this.#buf[i] = 0;
      this.#pos = lenAt + 4 + padded;
      return this;
    }
    const { written } = encoder.encodeInto(
      s,
      this.#buf.subarray(lenAt + 4),
    );
    this.#view.setUint32(lenAt, written);
    const padded = (written + 3) & ~3;
    this.#buf.fill(0, lenAt + 4 + written, lenAt + 4 + padded);
    this.#pos = lenAt + 4 + padded;
    return this;
  }

  /** Copies `s` to `at` if it is all ASCII; false (partly written) if not. */
  #ascii(s: string, at: number): boolean {
    const buf = this.#buf;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + i] = c;
    }
    return true;
  }

  /** A counted array. */
  array<T>(items: readonly T[], fn: (w: XdrWriter, item: T) => void): this {
    this.u32(items.length);
    for (const item of items) fn(this, item);
    return this;
  }

  /** An optional value. */
  optional<T>(v: T | undefined, fn: (w: XdrWriter, item: T) => void): this {
    if (v === undefined) return this.bool(false);
    this.bool(true);
    fn(this, v);
    return this;
  }

  /**
   * Reserves `n` zeroed bytes and returns their offset, to be filled later
   * with {@link XdrWriter.setU32At} (lengths known only after encoding).
   */
  skip(n: number): number {
    this.#grow(n);
    const at = this.#pos;
    this.#buf.fill(0, at, at + n);
    this.#pos += n;
    return at;
  }

  /** Overwrites a 32-bit value at an absolute offset returned by `skip`. */
  setU32At(offset: number, v: number): void {
    this.#view.setUint32(offset, v >>> 0);
  }

  /**
   * Drops everything written after `offset`, a value of
   * {@link XdrWriter.offset} taken earlier, including data kept by reference
   * since then (an NFSv4 COMPOUND answers a replay or an oversized result in
   * place of what it had started to write).
   */
  truncate(offset: number): void {
    if (offset < this.#start || offset > this.#pos) {
      throw new RangeError(
        `Offset outside what was written: ${offset} (${this.#start}-${this.#pos})`,
      );
    }
    if (offset === this.#pos) return;
    this.#pos = offset;
    this.#tail = null;
    this.#limit = this.#buf.byteLength;
  }

  /**
   * Forgets everything written, keeping the buffer and the reserved header
   * room, so one writer can serve many replies without reallocating.
   */
  reset(): void {
    this.#pos = this.#start;
    this.#tail = null;
    this.#limit = this.#buf.byteLength;
  }

  /** Bytes the buffer can hold before it has to grow. */
  get capacity(): number {
    return this.#buf.byteLength;
  }

  /** The current absolute write offset (including the reserved header). */
  get offset(): number {
    return this.#pos;
  }

  /** The bytes written, without the reserved header (a view, not a copy). */
  bytes(): Uint8Array {
    if (this.#tail !== null) this.#inlineTail();
    return this.#buf.subarray(this.#start, this.#pos);
  }

  /**
   * The bytes written including the reserved header area, with the header
   * filled by `fill` (for instance an RPC record mark).
   */
  withHeader(fill: (view: DataView, length: number) => void): Uint8Array {
    if (this.#tail !== null) this.#inlineTail();
    fill(this.#view, this.length);
    return this.#buf.subarray(0, this.#pos);
  }

  /**
   * Like {@link XdrWriter.withHeader}, but data kept by
   * {@link XdrWriter.opaqueRef} stays apart: the message is `head` followed
   * by `tail` (null when there is none), and the header counts both.
   */
  framed(
    fill: (view: DataView, length: number) => void,
  ): { head: Uint8Array; tail: Uint8Array | null } {
    fill(this.#view, this.length);
    return { head: this.#buf.subarray(0, this.#pos), tail: this.#tail };
  }
}
