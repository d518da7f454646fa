/**
 * XDR (RFC 4506) encoding and decoding.
 *
 * {@link XdrReader} decodes from one `Uint8Array` with bounds checked before
 * anything is allocated; {@link XdrWriter} grows one buffer and can reserve
 * room for an RPC record mark in front of the body.
 *
 * @example Round-trip a few values
 * ```ts
 * import { XdrReader, XdrWriter } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const bytes = new XdrWriter().u32(7).string("hello").u64(2 ** 40).bytes();
 * assert.equal(bytes.length, 4 + (4 + 8) + 8); // "hello" is padded to 8
 *
 * const r = new XdrReader(bytes);
 * assert.equal(r.u32(), 7);
 * assert.equal(r.string(255), "hello");
 * assert.equal(r.u64(), 2 ** 40);
 * r.end(); // nothing left over
 * ```
 *
 * @module
 */

const TWO_32 = 4294967296;
const MAX_SAFE_HIGH = 0x1fffff; // high word of Number.MAX_SAFE_INTEGER
import { ascii } from "./_ascii.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * A decode or encode failure: a length over its maximum, data past the end,
 * a value out of range. RPC servers answer it with GARBAGE_ARGS.
 *
 * @example Truncated input names the field being read
 * ```ts
 * import { XdrError, XdrReader } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => new XdrReader(new Uint8Array(2)).u32("count"),
 *   (e) =>
 *     e instanceof XdrError && e.field === "count" &&
 *     e.message === "Data ends early: need 4 bytes, 2 left (field count)",
 * );
 * ```
 */
export class XdrError extends Error {
  /** The field being decoded or encoded, when the caller named it. */
  readonly field: string;
  /**
   * Builds an error for `field` with a sentence-case message.
   *
   * @param message What was wrong, with the offending value after a colon.
   * @param field The field being decoded, if known.
   */
  constructor(message: string, field = "") {
    super(field ? `${message} (field ${field})` : message);
    this.name = "XdrError";
    this.field = field;
  }
}

/**
 * Reads XDR data from one byte array. Every method throws {@link XdrError}
 * instead of reading past the end or allocating for an oversized length.
 *
 * @example A length over the caller's maximum is refused before allocating
 * ```ts
 * import { XdrReader } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * // An opaque that claims 2^31 bytes.
 * const r = new XdrReader(new Uint8Array([0x80, 0, 0, 0, 1, 2, 3, 4]));
 * assert.throws(() => r.opaque(1024, "data"), {
 *   message: "Length 2147483648 exceeds maximum 1024 (field data)",
 * });
 * ```
 */
export class XdrReader {
  /** The bytes being read. */
  readonly buf: Uint8Array;
  /** The current read position, in bytes from the start of `buf`. */
  pos: number;
  /** Made on first use: only 64-bit bigints read through it. */
  #view: DataView | undefined;

  /**
   * Starts reading `buf` at `offset`.
   *
   * @param buf The encoded bytes; not copied.
   * @param offset Where to start.
   */
  constructor(buf: Uint8Array, offset = 0) {
    this.buf = buf;
    this.pos = offset;
    // No DataView here: one per reader (every call has one) costs more
    // than reading the bytes (see `#u32`).
    this.#view = undefined;
  }

  /** The unsigned 32 bits at `at`, read from the bytes. */
  #u32(at: number): number {
    const b = this.buf;
    return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) |
      b[at + 3]) >>> 0;
  }

  #dataView(): DataView {
    const b = this.buf;
    return this.#view ??= new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.buf.byteLength - this.pos;
  }

  #need(n: number, field: string): void {
    if (n > this.buf.byteLength - this.pos) {
      throw new XdrError(
        `Data ends early: need ${n} bytes, ${
          this.buf.byteLength - this.pos
        } left`,
        field,
      );
    }
  }

  /** An unsigned 32-bit integer. */
  u32(field = ""): number {
    this.#need(4, field);
    const v = this.#u32(this.pos);
    this.pos += 4;
    return v;
  }

  /** A signed 32-bit integer. */
  i32(field = ""): number {
    this.#need(4, field);
    const v = this.#u32(this.pos) | 0;
    this.pos += 4;
    return v;
  }

  /**
   * An unsigned 64-bit integer as a `number`. Throws when it is above
   * 2^53 − 1; use {@link XdrReader.u64big} where all 64 bits matter.
   */
  u64(field = ""): number {
    this.#need(8, field);
    const hi = this.#u32(this.pos);
    const lo = this.#u32(this.pos + 4);
    if (hi > MAX_SAFE_HIGH) {
      throw new XdrError(
        `Value too large for a number: ${(BigInt(hi) << 32n) | BigInt(lo)}`,
        field,
      );
    }
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /**
   * An unsigned 64-bit integer as a `number`, saturated at
   * `Number.MAX_SAFE_INTEGER` (for sizes and offsets where "more than 2^53"
   * means the same as "very large").
   */
  u64sat(field = ""): number {
    this.#need(8, field);
    const hi = this.#u32(this.pos);
    const lo = this.#u32(this.pos + 4);
    this.pos += 8;
    return hi > MAX_SAFE_HIGH ? Number.MAX_SAFE_INTEGER : hi * TWO_32 + lo;
  }

  /** An unsigned 64-bit integer as a `bigint` (cookies, verifiers). */
  u64big(field = ""): bigint {
    this.#need(8, field);
    const v = this.#dataView().getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /** A signed 64-bit integer as a `number`; throws outside ±(2^53 − 1). */
  i64(field = ""): number {
    this.#need(8, field);
    const hi = this.#u32(this.pos) | 0;
    const lo = this.#u32(this.pos + 4);
    const v = hi * TWO_32 + lo;
    if (!Number.isSafeInteger(v)) {
      throw new XdrError(`Value out of safe range: ${v}`, field);
    }
    this.pos += 8;
    return v;
  }

  /** A signed 64-bit integer as a `bigint`. */
  i64big(field = ""): bigint {
    this.#need(8, field);
    const v = this.#dataView().getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  /** A boolean; anything but 0 or 1 is an error. */
  bool(field = ""): boolean {
    const v = this.u32(field);
    if (v > 1) throw new XdrError(`Invalid boolean: ${v}`, field);
    return v === 1;
  }

  /** An enum value checked against the allowed set. */
  enumOf<T extends number>(allowed: ReadonlySet<number>, field = ""): T {
    const v = this.i32(field);
    if (!allowed.has(v)) throw new XdrError(`Invalid enum value: ${v}`, field);
    return v as T;
  }

  /** Fixed-length opaque data of `n` bytes (plus padding), as a subarray. */
  fixedOpaque(n: number, field = ""): Uint8Array {
    // Not `(n + 3) & ~3`: that wraps to a small or negative number for a
    // length near 2^31 or 2^32 and would let a hostile length through.
    const padded = n + ((4 - (n % 4)) % 4);
    this.#need(padded, field);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += padded;
    return out;
  }

  /** Variable-length opaque data of at most `max` bytes, as a subarray. */
  opaque(max: number, field = ""): Uint8Array {
    const n = this.u32(field);
    if (n > max) {
      throw new XdrError(`Length ${n} exceeds maximum ${max}`, field);
    }
    return this.fixedOpaque(n, field);
  }

  /** A UTF-8 string of at most `max` bytes; invalid UTF-8 is an error. */
  string(max: number, field = ""): string {
    const bytes = this.opaque(max, field);
    const short = ascii(bytes);
    if (short !== undefined) return short;
    try {
      return decoder.decode(bytes);
    } catch {
      throw new XdrError("Invalid UTF-8 in string", field);
    }
  }

  /**
   * A variable-length array of at most `max` elements. `minSize` is the
   * smallest encoded size of one element, so a count that cannot fit in the
   * remaining bytes is refused before any element is decoded.
   */
  array<T>(
    max: number,
    fn: (r: XdrReader) => T,
    field = "",
    minSize = 4,
  ): T[] {
    const n = this.u32(field);
    if (n > max) {
      throw new XdrError(`Array length ${n} exceeds maximum ${max}`, field);
    }
    if (n * minSize > this.remaining) {
      throw new XdrError(
        `Array length ${n} cannot fit in ${this.remaining} bytes`,
        field,
      );
    }
    const out: T[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = fn(this);
    return out;
  }

  /** An optional value (`*T` in XDR): a boolean then the value. */
  optional<T>(fn: (r: XdrReader) => T, field = ""): T | undefined {
    return this.bool(field) ? fn(this) : undefined;
  }

  /**
   * An XDR linked list (`entry *next` chains), bounded by `max` elements.
   */
  list<T>(max: number, fn: (r: XdrReader) => T, field = ""): T[] {
    const out: T[] = [];
    while (this.bool(field)) {
      if (out.length >= max) {
        throw new XdrError(`List longer than ${max} entries`, field);
      }
      out.push(fn(this));
    }
    return out;
  }

  /** Throws unless every byte has been consumed. */
  end(field = ""): void {
    if (this.pos !== this.buf.byteLength) {
      throw new XdrError(
        `Trailing data: ${this.buf.byteLength - this.pos} bytes`,
        field,
      );
    }
  }
}

export { XdrWriter } from "./_xdr_writer.ts";
