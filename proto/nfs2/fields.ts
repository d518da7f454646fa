/**
 * Conventions inside NFSv2's attribute fields that the XDR does not show,
 * shared by the server (which writes `fattr` and reads `sattr`) and the
 * client (the other way round):
 *
 * - `fattr.mode` carries the `st_mode` file type bits ({@link S_IF}) as
 *   well as the permissions ({@link typeBits} and {@link typeOfBits} turn
 *   them into a file type number and back);
 * - device numbers are one word, packed as Linux packs them (12 bits of
 *   major, 20 of minor: {@link encodeDev});
 * - a FIFO may be sent as NFCHR with rdev {@link FIFO_RDEV}, the convention
 *   from before NFFIFO existed;
 * - in `sattr`, a field of all ones ({@link UNSET}) leaves the attribute
 *   unchanged, and a time of {@link SERVER_TIME_USEC} microseconds means
 *   the server's current time (Sun's convention, which Linux's client uses).
 *
 * @example A device number both ways
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeDev, encodeDev } from "./fields.ts";
 * const word = encodeDev({ major: 8, minor: 300 });
 * assert.equal(word, 0x10082c);
 * assert.deepEqual(decodeDev(word), { major: 8, minor: 300 });
 * ```
 *
 * @module
 */

/** The value of a `sattr` field that leaves the attribute unchanged. */
export const UNSET = 0xffffffff;

/** `sattr` microseconds that mean "the server's current time". */
export const SERVER_TIME_USEC = 1_000_000;

/** The rdev that marks an NFCHR as a FIFO. */
export const FIFO_RDEV = 0xffffffff;

/** st_mode's file type bits. */
export const S_IFMT = 0o170000;

/** st_mode file type bits by type. */
export const S_IF = {
  FIFO: 0o010000,
  CHR: 0o020000,
  DIR: 0o040000,
  BLK: 0o060000,
  REG: 0o100000,
  LNK: 0o120000,
  SOCK: 0o140000,
} as const;

/**
 * {@link S_IF} at each file type's number in NFSv3's `ftype3`, which the
 * VFS's `FileType` shares (1 regular file … 7 FIFO).
 */
const BITS_OF_TYPE: readonly number[] = [
  0,
  S_IF.REG,
  S_IF.DIR,
  S_IF.BLK,
  S_IF.CHR,
  S_IF.LNK,
  S_IF.SOCK,
  S_IF.FIFO,
];

/**
 * The `st_mode` type bits of a file type numbered as `ftype3` (and the
 * VFS's `FileType`); 0 for a number that is no such type.
 */
export function typeBits(type: number): number {
  return BITS_OF_TYPE[type] ?? 0;
}

/** The `ftype3` number of `st_mode`'s type bits; 0 where they name none. */
export function typeOfBits(mode: number): number {
  const bits = mode & S_IFMT;
  return bits === 0 ? 0 : Math.max(0, BITS_OF_TYPE.indexOf(bits));
}

/** Device numbers packed into one word, as Linux's `new_encode_dev`. */
export function encodeDev(rdev: { major: number; minor: number }): number {
  const { major, minor } = rdev;
  return ((minor & 0xff) | ((major & 0xfff) << 8) |
    ((minor & ~0xff) << 12)) >>> 0;
}

/** The inverse of {@link encodeDev}. */
export function decodeDev(dev: number): { major: number; minor: number } {
  return {
    major: (dev & 0xfff00) >>> 8,
    minor: (dev & 0xff) | ((dev >>> 12) & 0xfff00),
  };
}
