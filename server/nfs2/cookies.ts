/**
 * NFSv2 READDIR cookies: 4 bytes on the wire, where a file system's
 * cookies are 64-bit (LocalFs's are 53-bit name hashes).
 *
 * Wire values, as a big-endian 32-bit number:
 * - 0 is the start, 1 follows ".", 2 follows "..";
 * - 3 to 2^31 − 1 are the file system's own cookie, unchanged (MemFs and
 *   CallbackFs number their entries, so their cookies stay small and keep
 *   working across server restarts);
 * - 2^31 and up name a slot of a {@link CookieTable}, which remembers
 *   larger cookies: the slot number and a generation that changes each
 *   time the table wraps, so a cookie whose slot was reused is known as
 *   stale rather than resuming somewhere else.
 *
 * A table cookie lives until 2^18 newer ones are handed out (each entry
 * of a READDIR reply takes one) or the server restarts; after that the
 * directory's READDIR from it answers NFSERR_STALE.
 *
 * @example A large cookie goes through the table, a small one does not
 * ```ts
 * import assert from "node:assert/strict";
 * import { CookieTable } from "./cookies.ts";
 * const table = new CookieTable(2);
 * assert.equal(table.wire(0, 7, 42n), 42);
 * const big = table.wire(0, 7, 2n ** 50n);
 * assert.ok(big >= 2 ** 31);
 * assert.equal(table.cookie(0, 7, big), 2n ** 50n);
 * assert.equal(table.cookie(0, 8, big), undefined); // another directory's
 * for (let i = 0; i < 4; i++) table.wire(0, 7, 2n ** 50n + BigInt(i));
 * assert.equal(table.cookie(0, 7, big), undefined); // its slot was reused
 * ```
 *
 * @module
 */

import type { FileId } from "../../vfs/types.ts";

const TABLE_BIT = 0x80000000;

/** Remembers file-system cookies too large for NFSv2's 31 bits. */
export class CookieTable {
  readonly #slotBits: number;
  readonly #size: number;
  readonly #genMask: number;
  #next = 0;
  #gen: number;
  // Allocated on first use: most servers never see a large cookie.
  #tags?: Uint32Array;
  #exports?: Uint8Array;
  #dirs?: Float64Array;
  #cookies?: BigUint64Array;

  /** A table of 2^`slotBits` cookies (at most 2^24). */
  constructor(slotBits = 18) {
    if (!Number.isInteger(slotBits) || slotBits < 1 || slotBits > 24) {
      throw new RangeError(`Cookie table size out of range: ${slotBits}`);
    }
    this.#slotBits = slotBits;
    this.#size = 2 ** slotBits;
    this.#genMask = 2 ** (31 - slotBits) - 1;
    // A random first generation: another server instance's cookies are
    // unlikely to name a slot of this one.
    this.#gen = crypto.getRandomValues(new Uint32Array(1))[0] & this.#genMask;
  }

  /**
   * The wire value of file-system cookie `cookie` (at least 3) of
   * directory `dir` in export `exp`.
   */
  wire(exp: number, dir: FileId, cookie: bigint): number {
    if (cookie < BigInt(TABLE_BIT)) return Number(cookie);
    if (this.#tags === undefined) {
      this.#tags = new Uint32Array(this.#size);
      this.#exports = new Uint8Array(this.#size);
      this.#dirs = new Float64Array(this.#size);
      this.#cookies = new BigUint64Array(this.#size);
    }
    const slot = this.#next;
    const tag = (TABLE_BIT | (this.#gen << this.#slotBits) | slot) >>> 0;
    this.#tags[slot] = tag;
    this.#exports![slot] = exp;
    this.#dirs![slot] = dir;
    this.#cookies![slot] = cookie;
    if (++this.#next === this.#size) {
      this.#next = 0;
      this.#gen = (this.#gen + 1) & this.#genMask;
    }
    return tag;
  }

  /**
   * The file-system cookie a wire value (at least 3) stands for in
   * directory `dir` of export `exp`; undefined when the table no longer
   * has it or it belongs to another directory.
   */
  cookie(exp: number, dir: FileId, wire: number): bigint | undefined {
    if (wire < TABLE_BIT) return BigInt(wire);
    const slot = wire & (this.#size - 1);
    if (
      this.#tags?.[slot] !== wire || this.#exports![slot] !== exp ||
      this.#dirs![slot] !== dir
    ) {
      return undefined;
    }
    return this.#cookies![slot];
  }
}
