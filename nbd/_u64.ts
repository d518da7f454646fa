/**
 * 64-bit big-endian integers as numbers: two 32-bit halves, no BigInt
 * (exact below 2^53, which covers every offset a device can have). The
 * `put` forms write bytes straight into an array, for a reply whose buffer
 * has no DataView of its own (a new one costs 76–101 ns here).
 *
 * @module
 */

const TWO_32 = 4294967296;

/**
 * Reads a 64-bit big-endian unsigned value as a number (exact below 2^53).
 */
export function getU64(view: DataView, at: number): number {
  return view.getUint32(at) * TWO_32 + view.getUint32(at + 4);
}

/**
 * Writes a non-negative integer (below 2^53) as a 64-bit big-endian value.
 */
export function setU64(view: DataView, at: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  view.setUint32(at, hi);
  view.setUint32(at + 4, value - hi * TWO_32);
}

/** Writes `value` as 4 big-endian bytes at `at` of `b`. */
export function putU32(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 24;
  b[at + 1] = value >>> 16;
  b[at + 2] = value >>> 8;
  b[at + 3] = value;
}

/** {@link setU64} into the bytes of `b`. */
export function putU64(b: Uint8Array, at: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  putU32(b, at, hi);
  putU32(b, at + 4, value - hi * TWO_32);
}
