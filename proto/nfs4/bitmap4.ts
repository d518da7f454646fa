/**
 * `bitmap4` helpers. A bitmap is an array of uint32 words; bit `n` is bit
 * `n % 32` (counting from the least significant) of word `n / 32`, so
 * attribute 33 (mode) is `0x2` in word 1. Results are trimmed of trailing
 * zero words, as servers send them; inputs may carry any number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bitmapHas, bitmapIntersect, bitmapOf } from "./bitmap4.ts";
 * const asked = bitmapOf([1, 4, 33, 90]);
 * assert.deepEqual(asked, [0x12, 0x2, 1 << 26]);
 * const both = bitmapIntersect(asked, bitmapOf([4, 33]));
 * assert.ok(bitmapHas(both, 33) && !bitmapHas(both, 1));
 * ```
 *
 * @module
 */

/** Largest bit number these helpers accept: bitmaps stay small. */
const MAX_BIT = 32 * 1024 - 1;

function _word(bit: number): number {
  if (!Number.isInteger(bit) || bit < 0 || bit > MAX_BIT) {
    throw new RangeError(`Bit number out of range 0..${MAX_BIT}: ${bit}`);
  }
  return bit >>> 5;
}

function _trim(bm: number[]): number[] {
  let n = bm.length;
  while (n > 0 && bm[n - 1] === 0) n--;
  bm.length = n;
  return bm;
}

/** A bitmap with the given bits set. */
export function bitmapOf(bits: Iterable<number>): number[] {
  const bm: number[] = [];
  for (const bit of bits) bitmapSet(bm, bit);
  return bm;
}

/** Sets `bit` in `bm` (growing it as needed) and returns `bm`. */
export function bitmapSet(bm: number[], bit: number): number[] {
  const w = _word(bit);
  while (bm.length <= w) bm.push(0);
  bm[w] = (bm[w] | (1 << (bit & 31))) >>> 0;
  return bm;
}

/** True when `bit` is set in `bm`. */
export function bitmapHas(bm: readonly number[], bit: number): boolean {
  const w = bit >>> 5;
  return bit >= 0 && w < bm.length && ((bm[w] >>> (bit & 31)) & 1) === 1;
}

/** The bits set in both `a` and `b`. */
export function bitmapIntersect(
  a: readonly number[],
  b: readonly number[],
): number[] {
  const n = Math.min(a.length, b.length);
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = (a[i] & b[i]) >>> 0;
  return _trim(out);
}

/**
 * The bits of `a` not set in `b` (for instance the requested attributes a
 * server does not support).
 */
export function bitmapDifference(
  a: readonly number[],
  b: readonly number[],
): number[] {
  const out: number[] = new Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] & ~(b[i] ?? 0)) >>> 0;
  return _trim(out);
}

/** The bit numbers set in `bm`, in ascending order. */
export function bitmapBits(bm: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < bm.length; i++) {
    let word = bm[i] | 0;
    while (word !== 0) {
      const low = word & -word;
      out.push(i * 32 + 31 - Math.clz32(low));
      word ^= low;
    }
  }
  return out;
}

/** True when no bit is set. */
export function bitmapIsEmpty(bm: readonly number[]): boolean {
  for (let i = 0; i < bm.length; i++) if (bm[i] !== 0) return false;
  return true;
}
