/**
 * What `NfsClient.stat` and a directory listing return, shaped as Deno's
 * `Deno.FileInfo` and `Deno.DirEntry`, made from NFS attributes.
 *
 * @example From NFS attributes to a file info
 * ```ts
 * import { fileInfoOf, Ftype3 } from "@netfs/netfs/client";
 * import assert from "node:assert/strict";
 *
 * const t = { sec: 1700000000, nsec: 5e8 };
 * const info = fileInfoOf({
 *   type: Ftype3.REG, mode: 0o644, nlink: 1, uid: 1000, gid: 100, size: 5, used: 4096,
 *   rdev: { major: 0, minor: 0 }, fsid: 7, fileid: 42, atime: t, mtime: t, ctime: t,
 * });
 * assert.equal(info.isFile, true);
 * assert.equal(info.mode, 0o100644); // the type bits, as Deno.stat gives them
 * assert.equal(info.mtime?.getTime(), 1700000000500);
 * assert.equal(info.blocks, 8);
 * ```
 *
 * @module
 */

import { type Fattr3, Ftype3, type Time3 } from "../proto/nfs3.ts";
import { encodeDev, typeBits } from "../proto/nfs2/fields.ts";

/** File information, field for field as `Deno.FileInfo`. */
export interface NfsFileInfo {
  /** A regular file. */
  isFile: boolean;
  /** A directory. */
  isDirectory: boolean;
  /** A symbolic link (only from `lstat`). */
  isSymlink: boolean;
  /** Size in bytes. */
  size: number;
  /** Last modification. */
  mtime: Date | null;
  /** Last access. */
  atime: Date | null;
  /** NFS has no creation time: always null. */
  birthtime: Date | null;
  /** Last status change. */
  ctime: Date | null;
  /** The file system id (`fsid`). */
  dev: number;
  /** The file id (`fileid`). */
  ino: number | null;
  /** Type and permission bits, as `st_mode`. */
  mode: number | null;
  /** Hard links. */
  nlink: number | null;
  /** Owner. */
  uid: number | null;
  /** Group. */
  gid: number | null;
  /** Device number of a device file, as `makedev(major, minor)`. */
  rdev: number | null;
  /** NFS does not say: always null. */
  blksize: number | null;
  /** 512-byte blocks in use. */
  blocks: number | null;
  /** A block device. */
  isBlockDevice: boolean | null;
  /** A character device. */
  isCharDevice: boolean | null;
  /** A FIFO. */
  isFifo: boolean | null;
  /** A socket. */
  isSocket: boolean | null;
}

/** A directory entry, as `Deno.DirEntry`. */
export interface NfsDirEntry {
  /** The name (never "." or ".."). */
  name: string;
  /** A regular file. */
  isFile: boolean;
  /** A directory. */
  isDirectory: boolean;
  /** A symbolic link. */
  isSymlink: boolean;
}

/** Space and file slots of a file system (FSSTAT), from `NfsClient.statfs`. */
export interface NfsFsStats {
  /** Size in bytes. */
  totalBytes: number;
  /** Free bytes. */
  freeBytes: number;
  /** Free bytes the caller may use. */
  availableBytes: number;
  /** File slots (inodes). */
  totalFiles: number;
  /** Free file slots. */
  freeFiles: number;
  /** Free file slots the caller may use. */
  availableFiles: number;
}

function dateOf(t: Time3): Date {
  return new Date(t.sec * 1000 + Math.floor(t.nsec / 1e6));
}

/**
 * Converts NFS attributes to a {@link NfsFileInfo}.
 *
 * @param a The attributes (v2 attributes map onto the same shape).
 */
export function fileInfoOf(a: Fattr3): NfsFileInfo {
  return {
    isFile: a.type === Ftype3.REG,
    isDirectory: a.type === Ftype3.DIR,
    isSymlink: a.type === Ftype3.LNK,
    size: a.size,
    mtime: dateOf(a.mtime),
    atime: dateOf(a.atime),
    birthtime: null,
    ctime: dateOf(a.ctime),
    dev: a.fsid,
    ino: a.fileid,
    mode: typeBits(a.type) | (a.mode & 0o7777),
    nlink: a.nlink,
    uid: a.uid,
    gid: a.gid,
    // glibc's makedev within 32 bits, as NFSv2 packs device numbers.
    rdev: encodeDev(a.rdev),
    blksize: null,
    blocks: Math.ceil(a.used / 512),
    isBlockDevice: a.type === Ftype3.BLK,
    isCharDevice: a.type === Ftype3.CHR,
    isFifo: a.type === Ftype3.FIFO,
    isSocket: a.type === Ftype3.SOCK,
  };
}

/**
 * A directory entry from its name and file type.
 *
 * @param name The entry's name.
 * @param type Its `Ftype3`.
 */
export function dirEntryOf(name: string, type: number): NfsDirEntry {
  return {
    name,
    isFile: type === Ftype3.REG,
    isDirectory: type === Ftype3.DIR,
    isSymlink: type === Ftype3.LNK,
  };
}
