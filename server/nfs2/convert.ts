/**
 * Attributes between the file system's forms and NFSv2's 32-bit ones.
 *
 * Going out (`fattr`):
 * - sizes, block counts and times saturate at 2^32 − 1 (a file of 4 GiB
 *   or more reports 4 GiB − 1: version 2 cannot say more), times before
 *   1970 report 0;
 * - file ids and the fsid are folded to 32 bits (high word XOR low word),
 *   as version 2 has no room for more: ids below 2^32 are unchanged;
 * - `mode` carries the file type bits as well as the permissions, as RFC
 *   1094 describes; `blocksize` is 512 and `blocks` counts 512-byte blocks
 *   (so that `blocks × blocksize` is the space used, which is also what
 *   Linux's client assumes);
 * - device numbers are packed into one word the way Linux does (12 bits of
 *   major, 20 of minor); a FIFO is sent as NFCHR with rdev 0xffffffff, the
 *   convention clients from before NFFIFO understand.
 *
 * Coming in (`sattr`): a field of all ones leaves the attribute alone, and
 * so does a time with either word all ones; a time of 1,000,000
 * microseconds means the server's current time (Sun's convention, which
 * Linux's client uses for `touch`). Other microsecond values of a million
 * or more are EINVAL.
 *
 * @example A 5 GiB file's attributes as a version 2 client sees them
 * ```ts
 * import assert from "node:assert/strict";
 * import { fattrOf } from "./convert.ts";
 * const t = { sec: 1_700_000_000, nsec: 123_456_789 };
 * const a = fattrOf({
 *   type: 1, mode: 0o644, nlink: 1, uid: 1000, gid: 1000,
 *   size: 5 * 2 ** 30, used: 4096, rdev: { major: 0, minor: 0 },
 *   fsid: 1, fileid: 2 ** 32 + 5, atime: t, mtime: t, ctime: t, change: 1,
 * });
 * assert.equal(a.size, 0xffffffff); // saturated
 * assert.equal(a.mode, 0o100644); // S_IFREG | 0644
 * assert.equal(a.blocks * a.blocksize, 4096);
 * assert.equal(a.fileid, 4); // 1 XOR 5
 * assert.deepEqual(a.mtime, { seconds: 1_700_000_000, useconds: 123_456 });
 * ```
 *
 * @module
 */

import { type fattr, ftype, type sattr } from "../../proto/nfs2/mod.ts";
import { VfsError } from "../../vfs/errors.ts";
import {
  type Attributes,
  FileType,
  type SetAttributes,
  type SetTime,
  type Time,
} from "../../vfs/types.ts";
import { fattr as withLinks } from "../nfs3/context.ts";
import {
  encodeDev,
  FIFO_RDEV,
  SERVER_TIME_USEC,
  typeBits,
  UNSET,
} from "../../proto/nfs2/fields.ts";

export {
  decodeDev,
  encodeDev,
  S_IF,
  S_IFMT,
  UNSET,
} from "../../proto/nfs2/fields.ts";

const U32_MAX = 0xffffffff;
const TWO_32 = 4294967296;
/** `blocksize` as sent, and the unit of `blocks`. */
export const BLOCK = 512;

const FTYPE_OF: Record<FileType, ftype> = {
  [FileType.Regular]: ftype.NFREG,
  [FileType.Directory]: ftype.NFDIR,
  [FileType.Block]: ftype.NFBLK,
  [FileType.Char]: ftype.NFCHR,
  [FileType.Symlink]: ftype.NFLNK,
  [FileType.Socket]: ftype.NFSOCK,
  [FileType.Fifo]: ftype.NFCHR,
};

/** `n` within 0..2^32 − 1. */
export function saturate32(n: number): number {
  return n <= 0 ? 0 : n >= U32_MAX ? U32_MAX : Math.floor(n);
}

/** A non-negative safe integer folded to 32 bits: high word XOR low word. */
export function fold32(n: number): number {
  return (Math.floor(n / TWO_32) ^ n) >>> 0;
}

function timeval(t: Time): { seconds: number; useconds: number } {
  if (t.sec < 0) return { seconds: 0, useconds: 0 };
  if (t.sec >= U32_MAX) return { seconds: U32_MAX, useconds: 999_999 };
  return { seconds: t.sec, useconds: Math.floor(t.nsec / 1000) };
}

/** The `fattr` of an object (see the module documentation). */
export function fattrOf(attrs: Attributes): fattr {
  const a = withLinks(attrs);
  const type = a.type as FileType;
  return {
    type: FTYPE_OF[type] ?? ftype.NFNON,
    mode: typeBits(type) | (a.mode & 0o7777),
    nlink: saturate32(a.nlink),
    uid: a.uid >>> 0,
    gid: a.gid >>> 0,
    size: saturate32(a.size),
    blocksize: BLOCK,
    rdev: type === FileType.Fifo
      ? FIFO_RDEV
      : type === FileType.Block || type === FileType.Char
      ? encodeDev(a.rdev)
      : 0,
    blocks: saturate32(Math.ceil(a.used / BLOCK)),
    fsid: fold32(a.fsid),
    fileid: fold32(a.fileid),
    atime: timeval(a.atime),
    mtime: timeval(a.mtime),
    ctime: timeval(a.ctime),
  };
}

function setTime(
  t: { seconds: number; useconds: number },
  what: string,
): SetTime | undefined {
  if (t.seconds === UNSET || t.useconds === UNSET) return undefined;
  if (t.useconds === SERVER_TIME_USEC) return "server";
  if (t.useconds > SERVER_TIME_USEC) {
    throw new VfsError("EINVAL", `Invalid ${what}: ${t.useconds} microseconds`);
  }
  return { sec: t.seconds, nsec: t.useconds * 1000 };
}

/**
 * The attributes a `sattr` sets (see the module documentation), without
 * the size when `size` is false (CREATE of a device carries its number
 * there). Throws EINVAL for an impossible time.
 */
export function setAttributesOf(s: sattr, size = true): SetAttributes {
  const out: SetAttributes = {};
  if (s.mode !== UNSET) out.mode = s.mode & 0o7777;
  if (s.uid !== UNSET) out.uid = s.uid;
  if (s.gid !== UNSET) out.gid = s.gid;
  if (size && s.size !== UNSET) out.size = s.size;
  const atime = setTime(s.atime, "atime");
  if (atime !== undefined) out.atime = atime;
  const mtime = setTime(s.mtime, "mtime");
  if (mtime !== undefined) out.mtime = mtime;
  return out;
}
