/**
 * NFSv4 attributes of this server: which it answers, their values for
 * export objects (from the VFS `Attributes`, `FsStats` and `FsLimits`) and
 * for pseudo directories, and the `fattr4` a client sends to SETATTR,
 * CREATE or OPEN turned into `SetAttributes`.
 *
 * Supported (`supported_attrs` lists exactly these, and GETATTR answers
 * each): every REQUIRED attribute; `mode`, `numlinks`, `owner`,
 * `owner_group`, `space_used`, the times, `time_delta`, `fileid`,
 * `mounted_on_fileid`, `maxread`/`maxwrite` (the program's `maxIo`),
 * `maxname`, `maxlink`, `maxfilesize`, `files_*`, `space_*`, `cansettime`,
 * `case_insensitive` (false), `case_preserving`, `chown_restricted`,
 * `homogeneous`, `no_trunc`, `rawdev`; and the settable `time_access_set`
 * and `time_modify_set`. In 4.2 also `clone_blksize`, `space_freed`,
 * `change_attr_type` and `xattr_support` (RFC 8276). Not offered: ACLs,
 * named attributes, `archive`, `hidden`, `system`, `mimetype`, quotas,
 * backup and creation times, `fs_locations`, the pNFS, retention and
 * notification attributes of 4.1, and 4.2's `sec_label`. NFSv4.0 is not
 * told of `suppattr_exclcreat`, nor 4.0 and 4.1 of 4.2's attributes.
 *
 * Choices:
 * - `fsid`: the pseudo file system is {0, 0}; an export object is
 *   {export id + 1, the VFS fsid}, so every export has its own fsid even
 *   over a shared file system, and a file system that reports several
 *   fsids (LocalFs across host mounts) shows each as its own.
 * - `change`: the VFS `change` counter, or the ctime in nanoseconds from a
 *   back end that has none. Pseudo directories never change: theirs is
 *   the time this module was loaded, in nanoseconds, which moves on a
 *   restart, when the export table may have changed.
 * - `fh_expire_type`: FH4_PERSISTENT (handles carry the export's verifier,
 *   stable with `stableHandles`).
 * - `owner` and `owner_group`: see {@link OwnerNames}.
 * - `fileid`: the VFS attributes' `inode` where the file system gives one
 *   (LocalFs's host inode number after a reuse), else the FileId; handles
 *   always carry the FileId.
 * - `mounted_on_fileid` of an export's root: the fileid of the entry it
 *   covers in the pseudo file system or the parent export.
 * - `space_used`: the VFS `used`, which counts allocated storage only, so
 *   holes (DEALLOCATE, sparse writes) do not count. `space_freed`: what
 *   removing the object would free: `used`, or 0 while other links keep
 *   it.
 * - `change_attr_type`: NFS4_CHANGE_TYPE_IS_MONOTONIC_INCR where the back
 *   end keeps a change counter (the VFS promises it never goes back),
 *   NFS4_CHANGE_TYPE_IS_TIME_METADATA where `change` is the ctime, as for
 *   pseudo directories.
 * - `clone_blksize`: 0, no alignment promised: a file system that can
 *   only clone whole blocks refuses other ranges with NFS4ERR_INVAL.
 * - `xattr_support`: whether the export's file system has extended
 *   attributes (false for pseudo directories).
 *
 * @module
 */

import {
  bitmapBits,
  bitmapHas,
  bitmapIntersect,
  bitmapIsEmpty,
  bitmapOf,
  change_attr_type4,
  decodeFattr4,
  FATTR4,
  type fattr4,
  FATTR4_KNOWN_V40,
  FATTR4_KNOWN_V41,
  FATTR4_KNOWN_V42,
  FATTR4_READABLE,
  FATTR4_WRITABLE,
  fattr4Entry,
  fattr4Of,
  type Fattr4Values,
  FH4_PERSISTENT,
  nfsstat4,
  type settime4,
  time_how4,
  UnknownAttrError,
} from "../../proto/nfs4/mod.ts";
import { XdrError } from "../../rpc/xdr.ts";
import type {
  Attributes,
  FsStats,
  SetAttributes,
  SetTime,
  Time,
} from "../../vfs/types.ts";
import { FileType } from "../../vfs/types.ts";
import type { Export } from "../exports.ts";
import { BoundedMap } from "../../collections/_bounded_map.ts";
import type { CompoundState, Nfs4Server } from "./context.ts";
import { fail } from "./errors.ts";
import type { Nfs4Object, PseudoNode } from "./pseudo.ts";
import { exportFattr, nfstime, writersOf } from "./attrs_encode.ts";

export { changeOf } from "./attrs_encode.ts";

const A = FATTR4;

/** What every minor version answers. */
const COMMON = [
  A.supported_attrs,
  A.type,
  A.fh_expire_type,
  A.change,
  A.size,
  A.link_support,
  A.symlink_support,
  A.named_attr,
  A.fsid,
  A.unique_handles,
  A.lease_time,
  A.rdattr_error,
  A.filehandle,
  A.cansettime,
  A.case_insensitive,
  A.case_preserving,
  A.chown_restricted,
  A.fileid,
  A.files_avail,
  A.files_free,
  A.files_total,
  A.homogeneous,
  A.maxfilesize,
  A.maxlink,
  A.maxname,
  A.maxread,
  A.maxwrite,
  A.mode,
  A.no_trunc,
  A.numlinks,
  A.owner,
  A.owner_group,
  A.rawdev,
  A.space_avail,
  A.space_free,
  A.space_total,
  A.space_used,
  A.time_access,
  A.time_access_set,
  A.time_delta,
  A.time_metadata,
  A.time_modify,
  A.time_modify_set,
  A.mounted_on_fileid,
].map((d) => d.bit);

const SUPPORTED: readonly (readonly number[])[] = [
  Object.freeze(bitmapOf(COMMON)),
  Object.freeze(bitmapOf([...COMMON, A.suppattr_exclcreat.bit])),
  Object.freeze(bitmapOf([
    ...COMMON,
    A.suppattr_exclcreat.bit,
    A.clone_blksize.bit,
    A.space_freed.bit,
    A.change_attr_type.bit,
    A.xattr_support.bit,
  ])),
];

/** The attributes this server supports in minor version `minor`. */
export function supportedAttrs(minor: number): readonly number[] {
  return SUPPORTED[Math.min(minor, SUPPORTED.length - 1)];
}

/** The attributes SETATTR (and CREATE's and OPEN's createattrs) set. */
export const SETTABLE_ATTRS: readonly number[] = Object.freeze(bitmapOf([
  A.size.bit,
  A.mode.bit,
  A.owner.bit,
  A.owner_group.bit,
  A.time_access_set.bit,
  A.time_modify_set.bit,
]));

/**
 * `suppattr_exclcreat`: what an EXCLUSIVE4_1 create may set along with
 * its verifier. Without the times, which a server may keep the verifier
 * in, as knfsd does.
 */
export const EXCLCREAT_ATTRS: readonly number[] = Object.freeze(bitmapOf([
  A.size.bit,
  A.mode.bit,
  A.owner.bit,
  A.owner_group.bit,
]));

/** Attributes whose values need the object's VFS attributes. */
/**
 * Attributes that show the fileid clients see: the VFS attributes' `inode`
 * where there is one, which a listing's entry also carries.
 */
const NEEDS_INODE = bitmapOf([A.fileid, A.mounted_on_fileid].map((d) => d.bit));

const NEEDS_GETATTR = bitmapOf([
  A.type,
  A.change,
  A.size,
  A.fsid,
  A.mode,
  A.numlinks,
  A.owner,
  A.owner_group,
  A.rawdev,
  A.space_used,
  A.time_access,
  A.time_metadata,
  A.time_modify,
  A.space_freed,
  A.change_attr_type,
].map((d) => d.bit));

/** Attributes whose values need the file system's statistics. */
const NEEDS_STATFS = bitmapOf([
  A.files_avail,
  A.files_free,
  A.files_total,
  A.space_avail,
  A.space_free,
  A.space_total,
].map((d) => d.bit));

const WRITE_ONLY: readonly (readonly number[])[] = [
  FATTR4_KNOWN_V40,
  FATTR4_KNOWN_V41,
  FATTR4_KNOWN_V42,
].map((known) =>
  bitmapIntersect(
    known,
    bitmapOf(
      bitmapBits(FATTR4_WRITABLE).filter((b) => !bitmapHas(FATTR4_READABLE, b)),
    ),
  )
);

/**
 * The attributes a GETATTR, READDIR or VERIFY may be answered with:
 * `request` cut to what `minor` supports. NFS4ERR_INVAL when it asks for a
 * write-only attribute (`time_access_set`, `time_modify_set` …).
 */
export function readRequest(
  request: readonly number[],
  minor: number,
): number[] {
  if (
    !bitmapIsEmpty(
      bitmapIntersect(
        request,
        WRITE_ONLY[Math.min(minor, WRITE_ONLY.length - 1)],
      ),
    )
  ) {
    fail(nfsstat4.NFS4ERR_INVAL, "Write-only attribute requested");
  }
  return bitmapIntersect(request, supportedAttrs(minor));
}

/** The moment pseudo directories claim as their times and change. */
const PSEUDO_BORN: Time = (() => {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
})();

/**
 * Reads the values of the attributes in `want` for objects of one
 * COMPOUND, fetching VFS attributes and file system statistics only when
 * `want` needs them (statistics once per export). Export objects are
 * encoded by `attrs_encode.ts` without an intermediate table of values.
 */
export class AttrReader {
  /** The attributes to answer (already cut to the supported ones). */
  readonly want: readonly number[];
  readonly #cs: CompoundState;
  readonly #nfs: Nfs4Server;
  readonly #getattr: boolean;
  readonly #inode: boolean;
  readonly #statfs: boolean;
  readonly #stats = new Map<Export, Promise<FsStats>>();
  /** The mask an export object's `fattr4` carries, and its writers. */
  readonly #mask: number[];
  readonly #writers: ReturnType<typeof writersOf>;

  /** A reader of `want` for the objects of `cs`. */
  constructor(cs: CompoundState, nfs: Nfs4Server, want: readonly number[]) {
    this.want = want;
    this.#cs = cs;
    this.#nfs = nfs;
    const p = planOf(want, cs.minor);
    this.#getattr = p.getattr;
    this.#inode = p.inode;
    this.#statfs = p.statfs;
    this.#mask = p.mask;
    this.#writers = p.writers;
  }

  /** Whether the values need each object's VFS attributes. */
  get needsAttributes(): boolean {
    return this.#getattr;
  }

  /**
   * The `fattr4` of `obj` (whose handle is `fh`); `attrs` when the caller
   * has them already, `listed` when it comes from a listing (whose entry
   * says what fileid clients see). VFS failures are thrown.
   */
  async fattr(
    obj: Nfs4Object,
    fh: Uint8Array,
    attrs?: Attributes,
    listed?: { inode?: number },
  ): Promise<fattr4> {
    const nfs = this.#nfs;
    const minor = this.#cs.minor;
    if (obj.kind === "pseudo") {
      return this.encode({
        ...commonValues(nfs, minor, fh),
        ...pseudoValues(obj.node, nfs),
      });
    }
    const { exp, fileid } = obj;
    const cred = this.#cs.credentials(exp);
    const fs = exp.fsFor(cred);
    if (
      attrs === undefined &&
      (this.#getattr || (this.#inode && listed === undefined))
    ) {
      attrs = await fs.getattr(cred, fileid);
    }
    let stats: FsStats | undefined;
    if (this.#statfs) {
      let p = this.#stats.get(exp);
      if (p === undefined) this.#stats.set(exp, p = fs.statfs(cred, exp.root));
      stats = await p;
    }
    return exportFattr(this.#mask, this.#writers, {
      nfs,
      minor,
      exp,
      fs,
      fileid,
      fh,
      attrs,
      shown: attrs?.inode ?? listed?.inode ?? fileid,
      stats,
      supported: supportedAttrs(minor) as number[],
      exclcreat: EXCLCREAT_ATTRS as number[],
    });
  }

  /** Encodes `values` as the `fattr4` of this reader's attributes. */
  encode(values: Fattr4Values): fattr4 {
    return fattr4Of(values, {
      request: this.want,
      supported: supportedAttrs(this.#cs.minor),
    });
  }
}

/** What a reader of one request needs to know, worked out once. */
interface Plan {
  getattr: boolean;
  inode: boolean;
  statfs: boolean;
  mask: number[];
  writers: ReturnType<typeof writersOf>;
}

/** Plans by minor version and request: clients send a few masks only. */
const PLANS = new BoundedMap<string, Plan>(64);

function planOf(want: readonly number[], minor: number): Plan {
  const key = `${minor}:${want.join(",")}`;
  let p = PLANS.get(key);
  if (p === undefined) {
    // Every supported attribute has a value for an export object.
    const mask = Object.freeze(bitmapIntersect(want, supportedAttrs(minor)));
    p = {
      getattr: !bitmapIsEmpty(bitmapIntersect(want, NEEDS_GETATTR)),
      inode: !bitmapIsEmpty(bitmapIntersect(want, NEEDS_INODE)),
      statfs: !bitmapIsEmpty(bitmapIntersect(want, NEEDS_STATFS)),
      mask: mask as number[],
      writers: writersOf(mask),
    };
    PLANS.set(key, p);
  }
  return p;
}

/** The values of a pseudo directory that every object shares. */
function commonValues(
  nfs: Nfs4Server,
  minor: number,
  fh: Uint8Array,
): Fattr4Values {
  return {
    supported_attrs: supportedAttrs(minor) as number[],
    suppattr_exclcreat: minor >= 1 ? EXCLCREAT_ATTRS as number[] : undefined,
    fh_expire_type: FH4_PERSISTENT,
    named_attr: false,
    unique_handles: true,
    lease_time: nfs.leaseTime,
    rdattr_error: nfsstat4.NFS4_OK,
    filehandle: fh,
    cansettime: true,
    case_insensitive: false,
    case_preserving: true,
    chown_restricted: true,
    homogeneous: true,
    no_trunc: true,
    maxread: nfs.maxIo,
    maxwrite: nfs.maxIo,
  };
}

/** A pseudo directory: read-only, root's, mode 0555, fsid {0, 0}. */
function pseudoValues(node: PseudoNode, nfs: Nfs4Server): Fattr4Values {
  const t = nfstime(PSEUDO_BORN);
  return {
    type: FileType.Directory,
    change: BigInt(PSEUDO_BORN.sec) * 1_000_000_000n +
      BigInt(PSEUDO_BORN.nsec),
    size: 4096,
    link_support: false,
    symlink_support: false,
    fsid: { major: 0n, minor: 0n },
    fileid: node.fileid,
    mounted_on_fileid: node.fileid,
    files_avail: 0,
    files_free: 0,
    files_total: 0,
    maxfilesize: 0,
    maxlink: 1,
    maxname: 255,
    mode: 0o555,
    numlinks: 2 + node.children.size,
    owner: nfs.owners.owner(0),
    owner_group: nfs.owners.group(0),
    rawdev: { specdata1: 0, specdata2: 0 },
    space_avail: 0,
    space_free: 0,
    space_total: 0,
    space_used: 4096,
    time_access: t,
    time_delta: { seconds: 1, nseconds: 0 },
    time_metadata: t,
    time_modify: t,
    clone_blksize: 0,
    space_freed: 0,
    change_attr_type: change_attr_type4.NFS4_CHANGE_TYPE_IS_TIME_METADATA,
    xattr_support: false,
  };
}

/**
 * Decodes a client's `fattr4` (SETATTR, VERIFY, CREATE, OPEN): an
 * attribute number outside the minor version is NFS4ERR_ATTRNOTSUPP,
 * values that do not decode NFS4ERR_BADXDR.
 */
export function decodeClientAttrs(f: fattr4, minor: number): Fattr4Values {
  try {
    return decodeFattr4(f, { minorversion: minor });
  } catch (e) {
    if (e instanceof UnknownAttrError) {
      fail(nfsstat4.NFS4ERR_ATTRNOTSUPP, e.message);
    }
    if (e instanceof XdrError) fail(nfsstat4.NFS4ERR_BADXDR, e.message);
    throw e;
  }
}

function setTime(t: settime4): SetTime {
  if (t.set_it !== time_how4.SET_TO_CLIENT_TIME4) return "server";
  if (t.time.nseconds >= 1e9) {
    fail(nfsstat4.NFS4ERR_INVAL, `Bad nanoseconds: ${t.time.nseconds}`);
  }
  return { sec: t.time.seconds, nsec: t.time.nseconds };
}

/**
 * The VFS changes a client's `fattr4` asks for (SETATTR, and CREATE's and
 * OPEN's createattrs), and the attributes it sets (`attrsset`).
 * NFS4ERR_INVAL for a read-only attribute or a bad value (mode bits above
 * 07777, nanoseconds past a second), NFS4ERR_ATTRNOTSUPP for one this
 * server cannot set, NFS4ERR_BADOWNER for an owner it cannot map.
 */
export function setAttrsOf(
  f: fattr4,
  cs: CompoundState,
  nfs: Nfs4Server,
): { attrs: SetAttributes; set: number[] } {
  for (const bit of bitmapBits(f.attrmask)) {
    const d = fattr4Entry(bit);
    if (d !== undefined && d.minorversion <= cs.minor && d.access === "R") {
      fail(nfsstat4.NFS4ERR_INVAL, `Read-only attribute: ${d.name}`);
    }
  }
  const v = decodeClientAttrs(f, cs.minor);
  for (const bit of bitmapBits(f.attrmask)) {
    if (!bitmapHas(SETTABLE_ATTRS, bit)) {
      fail(
        nfsstat4.NFS4ERR_ATTRNOTSUPP,
        `Attribute not settable: ${fattr4Entry(bit)?.name}`,
      );
    }
  }
  const attrs: SetAttributes = {};
  if (v.size !== undefined) attrs.size = v.size;
  if (v.mode !== undefined) {
    if (v.mode > 0o7777) {
      fail(nfsstat4.NFS4ERR_INVAL, `Bad mode: ${v.mode.toString(8)}`);
    }
    attrs.mode = v.mode;
  }
  if (v.owner !== undefined) attrs.uid = nfs.owners.uidOf(v.owner);
  if (v.owner_group !== undefined) attrs.gid = nfs.owners.gidOf(v.owner_group);
  if (v.time_access_set !== undefined) {
    attrs.atime = setTime(v.time_access_set);
  }
  if (v.time_modify_set !== undefined) {
    attrs.mtime = setTime(v.time_modify_set);
  }
  return { attrs, set: bitmapIntersect(f.attrmask, SETTABLE_ATTRS) };
}
