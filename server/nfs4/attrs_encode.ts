/**
 * The `fattr4` of an export object, encoded straight from its VFS
 * attributes: GETATTR's and READDIR's hot path. Each supported attribute
 * has a writer (the generated `encode_fattr4_<name>` on a value computed
 * from the object), called in number order for the bits a reader wants,
 * with no intermediate table of values. The values are those `attrs.ts`
 * documents; pseudo directories go through `attrs.ts`'s values instead.
 *
 * @module
 */

import {
  bitmapBits,
  change_attr_type4,
  FATTR4,
  type fattr4,
  fattr4From,
  type Fattr4Name,
  type Fattr4Value,
  FH4_PERSISTENT,
  nfsstat4,
  type nfstime4,
} from "../../proto/nfs4/mod.ts";
import type { XdrWriter } from "../../rpc/xdr.ts";
import type {
  Attributes,
  FileId,
  FileSystem,
  FsStats,
  Time,
} from "../../vfs/types.ts";
import { FileType } from "../../vfs/types.ts";
import type { Export } from "../exports.ts";
import type { Nfs4Server } from "./context.ts";

/** An NFSv4 time from a VFS time. */
export function nfstime(t: Time): nfstime4 {
  return { seconds: t.sec, nseconds: t.nsec };
}

/** `time_delta` from a granularity in nanoseconds (at least 1 ns). */
export function timeDelta(ns: number): nfstime4 {
  const d = Math.max(1, Math.floor(ns));
  return { seconds: Math.floor(d / 1e9), nseconds: d % 1e9 };
}

/** Whether the back end keeps a change counter for `a`. */
function hasCounter(a: Attributes): boolean {
  return Number.isSafeInteger(a.change) && a.change >= 0;
}

/**
 * The `change` attribute of `a`: its change counter, or its ctime in
 * nanoseconds when the back end keeps none.
 */
export function changeOf(a: Attributes): bigint {
  if (hasCounter(a)) return BigInt(a.change);
  return BigInt(a.ctime.sec) * 1_000_000_000n + BigInt(a.ctime.nsec);
}

/** What the attributes of one export object are made from. */
export interface ExportSource {
  /** The program state. */
  nfs: Nfs4Server;
  /** The minor version of the COMPOUND. */
  minor: number;
  /** The export holding the object. */
  exp: Export;
  /** The file system as the caller sees it. */
  fs: FileSystem;
  /** The object. */
  fileid: FileId;
  /** Its handle on the wire. */
  fh: Uint8Array;
  /** Its VFS attributes (present when a wanted attribute needs them). */
  attrs: Attributes | undefined;
  /** The fileid clients see (the VFS `inode` where there is one). */
  shown: number;
  /** The file system's statistics (present when wanted). */
  stats: FsStats | undefined;
  /** The attributes supported in `minor`. */
  supported: number[];
  /** What an EXCLUSIVE4_1 create may set. */
  exclcreat: number[];
}

type Writer = (w: XdrWriter, s: ExportSource) => void;

/** The writer of each attribute by number. */
const WRITERS: (Writer | undefined)[] = [];

function on<K extends Fattr4Name>(
  name: K,
  value: (s: ExportSource) => Fattr4Value<K>,
): void {
  const d = FATTR4[name];
  WRITERS[d.bit] = (w, s) => d.encode(w, value(s));
}

const a = (s: ExportSource): Attributes => s.attrs!;
const st = (s: ExportSource): FsStats => s.stats!;

on("supported_attrs", (s) => s.supported);
on("type", (s) => a(s).type);
on("fh_expire_type", () => FH4_PERSISTENT);
on("change", (s) => changeOf(a(s)));
on("size", (s) => a(s).size);
on("link_support", (s) => s.fs.limits.hardLinks);
on("symlink_support", (s) => s.fs.limits.symlinks);
on("named_attr", () => false);
on("fsid", (s) => {
  const f = a(s).fsid;
  const minor = Number.isFinite(f) ? Math.trunc(Math.abs(f)) : 0;
  return { major: BigInt(s.exp.id + 1), minor: BigInt(minor) };
});
on("unique_handles", () => true);
on("lease_time", (s) => s.nfs.leaseTime);
on("rdattr_error", () => nfsstat4.NFS4_OK);
on("filehandle", (s) => s.fh);
on("cansettime", () => true);
on("case_insensitive", () => false);
on("case_preserving", () => true);
on("chown_restricted", () => true);
on("fileid", (s) => s.shown);
on("files_avail", (s) => st(s).availFiles);
on("files_free", (s) => st(s).freeFiles);
on("files_total", (s) => st(s).totalFiles);
on("homogeneous", () => true);
on("maxfilesize", (s) => s.fs.limits.maxFileSize);
on("maxlink", (s) => Math.min(s.fs.limits.maxLinks, 0xffffffff));
on("maxname", (s) => s.fs.limits.maxNameLength);
on("maxread", (s) => s.nfs.maxIo);
on("maxwrite", (s) => s.nfs.maxIo);
on("mode", (s) => a(s).mode & 0o7777);
on("no_trunc", () => true);
on("numlinks", (s) => a(s).nlink);
on("owner", (s) => s.nfs.owners.owner(a(s).uid));
on("owner_group", (s) => s.nfs.owners.group(a(s).gid));
on("rawdev", (s) => ({
  specdata1: a(s).rdev.major,
  specdata2: a(s).rdev.minor,
}));
on("space_avail", (s) => st(s).availBytes);
on("space_free", (s) => st(s).freeBytes);
on("space_total", (s) => st(s).totalBytes);
on("space_used", (s) => a(s).used);
on("time_access", (s) => nfstime(a(s).atime));
on("time_delta", (s) => timeDelta(s.fs.limits.timeDelta));
on("time_metadata", (s) => nfstime(a(s).ctime));
on("time_modify", (s) => nfstime(a(s).mtime));
on(
  "mounted_on_fileid",
  (s) =>
    s.fileid === s.exp.root ? s.nfs.pseudo.mountedOnFileid(s.exp) : s.shown,
);
on("suppattr_exclcreat", (s) => s.exclcreat);
on("clone_blksize", () => 0);
on("space_freed", (s) => {
  const at = a(s);
  return at.nlink > 1 && at.type !== FileType.Directory ? 0 : at.used;
});
on(
  "change_attr_type",
  (s) =>
    hasCounter(a(s))
      ? change_attr_type4.NFS4_CHANGE_TYPE_IS_MONOTONIC_INCR
      : change_attr_type4.NFS4_CHANGE_TYPE_IS_TIME_METADATA,
);
on("xattr_support", (s) => s.fs.xattrs !== undefined);

/**
 * The writers for the attributes of `mask` in number order; throws for an
 * attribute without one (a supported attribute this module forgot).
 */
export function writersOf(mask: readonly number[]): Writer[] {
  return bitmapBits(mask).map((bit) => {
    const f = WRITERS[bit];
    if (f === undefined) throw new Error(`No writer for attribute ${bit}`);
    return f;
  });
}

/** The `fattr4` of `mask` (whose writers are `writers`) for `s`. */
export function exportFattr(
  mask: number[],
  writers: readonly Writer[],
  s: ExportSource,
): fattr4 {
  return fattr4From(mask, (w) => {
    for (let i = 0; i < writers.length; i++) writers[i](w, s);
  });
}
