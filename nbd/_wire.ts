/**
 * The one idiom for NBD's big-endian structures: a bounded {@link WireReader}
 * over the bytes of one message and a {@link WireWriter} over a buffer of
 * known size, plus the protocol's string rules and its error type.
 *
 * A reader never reads past its bytes: every read checks the bytes left
 * first and throws {@link NbdProtocolError} naming the message and the field
 * ("Meta context option truncated: query"). A writer never writes past its
 * buffer: an encoder that sized it wrong gets a `RangeError`, a bug rather
 * than a peer's fault. 64-bit values travel as two 32-bit halves and come
 * back as `number` (exact below 2^53; larger values stay larger than any
 * export, so bounds checks still refuse them).
 *
 * @module
 */

import { getU64, setU64 } from "./_u64.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The longest string (export name, description, message) the spec allows. */
export const MAX_STRING = 4096;

/**
 * A malformed message: bad magic, a length past the end of the data, a string
 * that is not UTF-8. Servers answer it with `NBD_REP_ERR_INVALID` during the
 * handshake and close the connection during transmission.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeGoOption, NbdProtocolError } from "@netfs/netfs/nbd";
 * assert.throws(() => decodeGoOption(new Uint8Array(3)), NbdProtocolError);
 * ```
 */
export class NbdProtocolError extends Error {
  /**
   * Builds the error.
   *
   * @param message Sentence case, the offending value after a colon.
   */
  constructor(message: string) {
    super(message);
    this.name = "NbdProtocolError";
  }
}

/**
 * Decodes a UTF-8 string of the protocol: at most {@link MAX_STRING} bytes,
 * no NUL characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeString } from "@netfs/netfs/nbd";
 * assert.equal(decodeString(new TextEncoder().encode("mem"), "export name"), "mem");
 * ```
 */
export function decodeString(bytes: Uint8Array, what: string): string {
  if (bytes.length > MAX_STRING) {
    throw new NbdProtocolError(
      `String too long: ${what} of ${bytes.length} bytes`,
    );
  }
  if (bytes.includes(0)) {
    throw new NbdProtocolError(`String contains NUL: ${what}`);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new NbdProtocolError(`String is not UTF-8: ${what}`);
  }
}

/**
 * Encodes a string as UTF-8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeString } from "@netfs/netfs/nbd";
 * assert.equal(encodeString("mem").length, 3);
 * ```
 */
export function encodeString(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Reads one message's fields in order, never past its end. */
export class WireReader {
  /** The message being read. */
  readonly bytes: Uint8Array;
  /** The next byte to read, from the start of {@link bytes}. */
  pos = 0;
  readonly #view: DataView;
  readonly #what: string;

  /**
   * @param bytes The message; not copied.
   * @param what Names the message in errors ("Meta context option").
   */
  constructor(bytes: Uint8Array, what = "Message") {
    this.bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#what = what;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Throws unless `n` more bytes are there for `field`. */
  need(n: number, field: string): void {
    if (n > this.bytes.length - this.pos) {
      throw new NbdProtocolError(`${this.#what} truncated: ${field}`);
    }
  }

  /** A 16-bit unsigned value. */
  u16(field: string): number {
    this.need(2, field);
    const v = this.#view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  /** A 32-bit unsigned value. */
  u32(field: string): number {
    this.need(4, field);
    const v = this.#view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** A 64-bit unsigned value as a number (exact below 2^53). */
  u64(field: string): number {
    this.need(8, field);
    const v = getU64(this.#view, this.pos);
    this.pos += 8;
    return v;
  }

  /** The next `n` bytes, as a view (not a copy). */
  raw(n: number, field: string): Uint8Array {
    this.need(n, field);
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** A protocol string of `n` bytes ({@link decodeString}'s rules). */
  string(n: number, field: string): string {
    return decodeString(this.raw(n, field), field);
  }

  /** Whatever is left, as a view. */
  rest(): Uint8Array {
    const b = this.bytes.subarray(this.pos);
    this.pos = this.bytes.length;
    return b;
  }
}

/** Writes fields in order into a buffer sized for them. */
export class WireWriter {
  /** The buffer written into. */
  readonly view: DataView;
  /** The next byte to write, from the start of {@link view}. */
  pos: number;
  readonly #start: number;

  /**
   * @param target A size to allocate, or a buffer (a view of it) to write into.
   * @param at Where to start writing in `target`.
   */
  constructor(target: number | Uint8Array | DataView, at = 0) {
    if (typeof target === "number") {
      this.view = new DataView(new ArrayBuffer(target));
    } else if (target instanceof DataView) {
      this.view = target;
    } else {
      this.view = new DataView(
        target.buffer,
        target.byteOffset,
        target.byteLength,
      );
    }
    this.pos = this.#start = at;
  }

  #room(n: number): void {
    if (n > this.view.byteLength - this.pos) {
      throw new RangeError(
        `Buffer too small: ${n} bytes more at ${this.pos} of ${this.view.byteLength}`,
      );
    }
  }

  /** A 16-bit unsigned value. */
  u16(v: number): this {
    this.#room(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }

  /** A 32-bit unsigned value. */
  u32(v: number): this {
    this.#room(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  /** A non-negative integer below 2^53 as a 64-bit value. */
  u64(v: number): this {
    this.#room(8);
    setU64(this.view, this.pos, v);
    this.pos += 8;
    return this;
  }

  /** Bytes as they are. */
  raw(data: Uint8Array): this {
    this.#room(data.length);
    new Uint8Array(this.view.buffer, this.view.byteOffset + this.pos).set(data);
    this.pos += data.length;
    return this;
  }

  /** Leaves `n` bytes as they are (zero in a fresh buffer). */
  skip(n: number): this {
    this.#room(n);
    this.pos += n;
    return this;
  }

  /** The bytes written since the start. */
  bytes(): Uint8Array {
    return new Uint8Array(
      this.view.buffer,
      this.view.byteOffset + this.#start,
      this.pos - this.#start,
    );
  }
}
