/**
 * NFSv4 file attributes: the table of every attribute of NFSv4.0, 4.1 and
 * 4.2 with RFC 8276's `xattr_support` (number, name, codec, REQUIRED or
 * RECOMMENDED, readable or writable, first minor version), and the
 * `fattr4` codec built on it.
 *
 * An `fattr4` is a bitmap of attribute numbers and one opaque holding the
 * values of those attributes in number order, each in its own XDR type
 * (`fattr4_size`, `fattr4_owner`, ...). {@link encodeFattr4} writes the
 * attributes a caller asked for that the server supports and has values
 * for; {@link decodeFattr4} reads them back, refusing a bit it does not
 * know with an {@link UnknownAttrError} that names the bit (a server
 * answers SETATTR and VERIFY with NFS4ERR_ATTRNOTSUPP, or BADXDR if it
 * prefers), since the values after an unknown one cannot be found.
 *
 * @example Encode a GETATTR answer and read it back
 * ```ts
 * import assert from "node:assert/strict";
 * import { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
 * import { bitmapOf } from "./bitmap4.ts";
 * import { decode_fattr4, FATTR4_MODE, FATTR4_SIZE, FATTR4_TYPE } from "./nfs4_gen.ts";
 * import { decodeFattr4, encodeFattr4 } from "./fattr4.ts";
 * const w = new XdrWriter();
 * const request = bitmapOf([FATTR4_TYPE, FATTR4_SIZE, FATTR4_MODE]);
 * // No mode value: the reply's mask leaves bit 33 out.
 * encodeFattr4(w, { type: 1, size: 5, owner: new Uint8Array(1) }, { request });
 * const f = decode_fattr4(new XdrReader(w.bytes()));
 * assert.deepEqual(f.attrmask, [0x12]);
 * assert.deepEqual(decodeFattr4(f), { type: 1, size: 5 });
 * ```
 *
 * @module
 */

import { XdrError, XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import { bitmapSet } from "./bitmap4.ts";
import * as g from "./nfs4_gen.ts";
import type { fattr4 } from "./nfs4_gen.ts";

/** Who may read or write an attribute: GETATTR, SETATTR, or both. */
export type Fattr4Access = "R" | "W" | "RW";

/** One attribute: its number, codec and properties. */
export interface Fattr4Def<T> {
  /** The attribute number (`FATTR4_*`). */
  readonly bit: number;
  /** Writes a value (`encode_fattr4_<name>`). */
  readonly encode: (w: XdrWriter, v: T) => void;
  /** Reads a value (`decode_fattr4_<name>`). */
  readonly decode: (r: XdrReader) => T;
  /** REQUIRED (every server supports it) rather than RECOMMENDED. */
  readonly required: boolean;
  /** Readable by GETATTR ("R"), settable by SETATTR ("W"), or both. */
  readonly access: Fattr4Access;
  /** The first minor version that defines it. */
  readonly minorversion: 0 | 1 | 2;
}

const REQ = true;
const REC = false;

/**
 * Every attribute of NFSv4.0, 4.1 and 4.2 by name (the XDR name without
 * `fattr4_`): number, access, REQUIRED, first minor version. From RFC 7530
 * section 5, RFC 8881 section 5, RFC 7862 section 12.2 and RFC 8276
 * section 8.2; the codecs are the generated `encode_fattr4_<name>` and
 * `decode_fattr4_<name>`.
 */
const TABLE = {
  supported_attrs: [g.FATTR4_SUPPORTED_ATTRS, "R", REQ, 0],
  type: [g.FATTR4_TYPE, "R", REQ, 0],
  fh_expire_type: [g.FATTR4_FH_EXPIRE_TYPE, "R", REQ, 0],
  change: [g.FATTR4_CHANGE, "R", REQ, 0],
  size: [g.FATTR4_SIZE, "RW", REQ, 0],
  link_support: [g.FATTR4_LINK_SUPPORT, "R", REQ, 0],
  symlink_support: [g.FATTR4_SYMLINK_SUPPORT, "R", REQ, 0],
  named_attr: [g.FATTR4_NAMED_ATTR, "R", REQ, 0],
  fsid: [g.FATTR4_FSID, "R", REQ, 0],
  unique_handles: [g.FATTR4_UNIQUE_HANDLES, "R", REQ, 0],
  lease_time: [g.FATTR4_LEASE_TIME, "R", REQ, 0],
  rdattr_error: [g.FATTR4_RDATTR_ERROR, "R", REQ, 0],
  acl: [g.FATTR4_ACL, "RW", REC, 0],
  aclsupport: [g.FATTR4_ACLSUPPORT, "R", REC, 0],
  archive: [g.FATTR4_ARCHIVE, "RW", REC, 0],
  cansettime: [g.FATTR4_CANSETTIME, "R", REC, 0],
  case_insensitive: [g.FATTR4_CASE_INSENSITIVE, "R", REC, 0],
  case_preserving: [g.FATTR4_CASE_PRESERVING, "R", REC, 0],
  chown_restricted: [g.FATTR4_CHOWN_RESTRICTED, "R", REC, 0],
  filehandle: [g.FATTR4_FILEHANDLE, "R", REQ, 0],
  fileid: [g.FATTR4_FILEID, "R", REC, 0],
  files_avail: [g.FATTR4_FILES_AVAIL, "R", REC, 0],
  files_free: [g.FATTR4_FILES_FREE, "R", REC, 0],
  files_total: [g.FATTR4_FILES_TOTAL, "R", REC, 0],
  fs_locations: [g.FATTR4_FS_LOCATIONS, "R", REC, 0],
  hidden: [g.FATTR4_HIDDEN, "RW", REC, 0],
  homogeneous: [g.FATTR4_HOMOGENEOUS, "R", REC, 0],
  maxfilesize: [g.FATTR4_MAXFILESIZE, "R", REC, 0],
  maxlink: [g.FATTR4_MAXLINK, "R", REC, 0],
  maxname: [g.FATTR4_MAXNAME, "R", REC, 0],
  maxread: [g.FATTR4_MAXREAD, "R", REC, 0],
  maxwrite: [g.FATTR4_MAXWRITE, "R", REC, 0],
  mimetype: [g.FATTR4_MIMETYPE, "RW", REC, 0],
  mode: [g.FATTR4_MODE, "RW", REC, 0],
  no_trunc: [g.FATTR4_NO_TRUNC, "R", REC, 0],
  numlinks: [g.FATTR4_NUMLINKS, "R", REC, 0],
  owner: [g.FATTR4_OWNER, "RW", REC, 0],
  owner_group: [g.FATTR4_OWNER_GROUP, "RW", REC, 0],
  quota_avail_hard: [g.FATTR4_QUOTA_AVAIL_HARD, "R", REC, 0],
  quota_avail_soft: [g.FATTR4_QUOTA_AVAIL_SOFT, "R", REC, 0],
  quota_used: [g.FATTR4_QUOTA_USED, "R", REC, 0],
  rawdev: [g.FATTR4_RAWDEV, "R", REC, 0],
  space_avail: [g.FATTR4_SPACE_AVAIL, "R", REC, 0],
  space_free: [g.FATTR4_SPACE_FREE, "R", REC, 0],
  space_total: [g.FATTR4_SPACE_TOTAL, "R", REC, 0],
  space_used: [g.FATTR4_SPACE_USED, "R", REC, 0],
  system: [g.FATTR4_SYSTEM, "RW", REC, 0],
  time_access: [g.FATTR4_TIME_ACCESS, "R", REC, 0],
  time_access_set: [g.FATTR4_TIME_ACCESS_SET, "W", REC, 0],
  time_backup: [g.FATTR4_TIME_BACKUP, "RW", REC, 0],
  time_create: [g.FATTR4_TIME_CREATE, "RW", REC, 0],
  time_delta: [g.FATTR4_TIME_DELTA, "R", REC, 0],
  time_metadata: [g.FATTR4_TIME_METADATA, "R", REC, 0],
  time_modify: [g.FATTR4_TIME_MODIFY, "R", REC, 0],
  time_modify_set: [g.FATTR4_TIME_MODIFY_SET, "W", REC, 0],
  mounted_on_fileid: [g.FATTR4_MOUNTED_ON_FILEID, "R", REC, 0],
  dir_notif_delay: [g.FATTR4_DIR_NOTIF_DELAY, "R", REC, 1],
  dirent_notif_delay: [g.FATTR4_DIRENT_NOTIF_DELAY, "R", REC, 1],
  dacl: [g.FATTR4_DACL, "RW", REC, 1],
  sacl: [g.FATTR4_SACL, "RW", REC, 1],
  change_policy: [g.FATTR4_CHANGE_POLICY, "R", REC, 1],
  fs_status: [g.FATTR4_FS_STATUS, "R", REC, 1],
  fs_layout_types: [g.FATTR4_FS_LAYOUT_TYPES, "R", REC, 1],
  layout_hint: [g.FATTR4_LAYOUT_HINT, "W", REC, 1],
  layout_types: [g.FATTR4_LAYOUT_TYPES, "R", REC, 1],
  layout_blksize: [g.FATTR4_LAYOUT_BLKSIZE, "R", REC, 1],
  layout_alignment: [g.FATTR4_LAYOUT_ALIGNMENT, "R", REC, 1],
  fs_locations_info: [g.FATTR4_FS_LOCATIONS_INFO, "R", REC, 1],
  mdsthreshold: [g.FATTR4_MDSTHRESHOLD, "R", REC, 1],
  retention_get: [g.FATTR4_RETENTION_GET, "R", REC, 1],
  retention_set: [g.FATTR4_RETENTION_SET, "W", REC, 1],
  retentevt_get: [g.FATTR4_RETENTEVT_GET, "R", REC, 1],
  retentevt_set: [g.FATTR4_RETENTEVT_SET, "W", REC, 1],
  retention_hold: [g.FATTR4_RETENTION_HOLD, "RW", REC, 1],
  mode_set_masked: [g.FATTR4_MODE_SET_MASKED, "W", REC, 1],
  suppattr_exclcreat: [g.FATTR4_SUPPATTR_EXCLCREAT, "R", REQ, 1],
  fs_charset_cap: [g.FATTR4_FS_CHARSET_CAP, "R", REC, 1],
  clone_blksize: [g.FATTR4_CLONE_BLKSIZE, "R", REC, 2],
  space_freed: [g.FATTR4_SPACE_FREED, "R", REC, 2],
  change_attr_type: [g.FATTR4_CHANGE_ATTR_TYPE, "R", REC, 2],
  sec_label: [g.FATTR4_SEC_LABEL, "RW", REC, 2],
  xattr_support: [g.FATTR4_XATTR_SUPPORT, "R", REC, 2],
} as const;

/** An attribute's name (the XDR name without `fattr4_`). */
export type Fattr4Name = keyof typeof TABLE;

/** The value type of attribute `K`: the generated `fattr4_<K>`. */
export type Fattr4Value<K extends Fattr4Name> = ReturnType<
  (typeof g)[`decode_fattr4_${K}`]
>;

/** Attribute values by name; absent means "not given". */
export type Fattr4Values = { [K in Fattr4Name]?: Fattr4Value<K> };

const codecs = g as unknown as Record<string, unknown>;

/** Every attribute by name, with its codec. */
export const FATTR4: { readonly [K in Fattr4Name]: Fattr4Def<Fattr4Value<K>> } =
  Object.fromEntries(
    Object.entries(TABLE).map(([name, [bit, access, required, minor]]) => {
      const encode = codecs[`encode_fattr4_${name}`];
      const decode = codecs[`decode_fattr4_${name}`];
      if (typeof encode !== "function" || typeof decode !== "function") {
        throw new Error(`No generated codec for attribute ${name}`);
      }
      return [name, {
        bit,
        encode,
        decode,
        access,
        required,
        minorversion: minor,
      }];
    }),
  ) as { readonly [K in Fattr4Name]: Fattr4Def<Fattr4Value<K>> };

/** An attribute of the table with its name, as found by number. */
export interface Fattr4Entry extends Fattr4Def<unknown> {
  /** The attribute's name. */
  readonly name: Fattr4Name;
}

const BY_BIT: (Fattr4Entry | undefined)[] = [];
for (const [name, d] of Object.entries(FATTR4)) {
  BY_BIT[d.bit] = { ...(d as Fattr4Def<unknown>), name: name as Fattr4Name };
}

function _mask(pick: (d: Fattr4Entry) => boolean): readonly number[] {
  const bm: number[] = [];
  for (const d of BY_BIT) if (d && pick(d)) bitmapSet(bm, d.bit);
  return Object.freeze(bm);
}

/** Every attribute NFSv4.0 defines (numbers 0 to 55). */
export const FATTR4_KNOWN_V40: readonly number[] = _mask((d) =>
  d.minorversion === 0
);
/** Every attribute NFSv4.1 defines (numbers 0 to 76). */
export const FATTR4_KNOWN_V41: readonly number[] = _mask((d) =>
  d.minorversion <= 1
);
/** Every attribute NFSv4.2 defines (numbers 0 to 80, and 82 of RFC 8276). */
export const FATTR4_KNOWN_V42: readonly number[] = _mask(() => true);
/** The REQUIRED attributes of NFSv4.1 (those of 4.0 plus 75). */
export const FATTR4_REQUIRED: readonly number[] = _mask((d) => d.required);
/** The attributes SETATTR may set. */
export const FATTR4_WRITABLE: readonly number[] = _mask((d) =>
  d.access !== "R"
);
/** The attributes GETATTR may return. */
export const FATTR4_READABLE: readonly number[] = _mask((d) =>
  d.access !== "W"
);

/** The attribute numbered `bit`, or undefined when there is none. */
export function fattr4Entry(bit: number): Fattr4Entry | undefined {
  return BY_BIT[bit];
}

/**
 * An attribute number the decoder does not know (or that the minor
 * version in use does not define): the attribute values after it cannot
 * be located. `bit` is the number.
 */
export class UnknownAttrError extends XdrError {
  /** The unknown attribute number. */
  readonly bit: number;

  /** Builds the error for attribute number `bit`. */
  constructor(bit: number) {
    super(`Unknown attribute: bit ${bit}`, "fattr4.attrmask");
    this.name = "UnknownAttrError";
    this.bit = bit;
  }
}

/** Which attributes {@link encodeFattr4} may write. */
export interface EncodeFattr4Options {
  /** The attributes asked for (GETATTR's `attr_request`); all if absent. */
  request?: readonly number[];
  /** The attributes the server supports; all it knows if absent. */
  supported?: readonly number[];
}

/**
 * The mask {@link encodeFattr4} writes: the attributes requested and
 * supported that `values` holds, in the table, trimmed of zero words.
 */
export function fattr4Mask(
  values: Fattr4Values,
  options: EncodeFattr4Options = {},
): number[] {
  return _select(values, options, [], []);
}

/** The mask to write; fills `defs` and `vals` with what to encode, in order. */
function _select(
  values: Fattr4Values,
  options: EncodeFattr4Options,
  defs: Fattr4Entry[],
  vals: unknown[],
): number[] {
  const { request = FATTR4_KNOWN_V42, supported = FATTR4_KNOWN_V42 } = options;
  const byName = values as Record<string, unknown>;
  const n = Math.min(request.length, supported.length, FATTR4_KNOWN_V42.length);
  const mask: number[] = [];
  for (let i = 0; i < n; i++) {
    let bits = request[i] & supported[i] & FATTR4_KNOWN_V42[i];
    let out = 0;
    while (bits !== 0) {
      const low = bits & -bits;
      bits ^= low;
      const d = BY_BIT[i * 32 + 31 - Math.clz32(low)]!;
      const v = byName[d.name];
      if (v === undefined) continue;
      out |= low;
      defs.push(d);
      vals.push(v);
    }
    mask.push(out >>> 0);
  }
  while (mask.length > 0 && mask[mask.length - 1] === 0) mask.pop();
  return mask;
}

/**
 * Writes an `fattr4` straight into `w`: the attributes requested and
 * supported that `values` holds, in number order. Attributes requested but
 * unknown, unsupported or without a value are left out of the mask, as
 * GETATTR's answer must. Returns the mask written.
 */
export function encodeFattr4(
  w: XdrWriter,
  values: Fattr4Values,
  options: EncodeFattr4Options = {},
): number[] {
  const defs: Fattr4Entry[] = [];
  const vals: unknown[] = [];
  const mask = _select(values, options, defs, vals);
  w.u32(mask.length);
  for (let i = 0; i < mask.length; i++) w.u32(mask[i]);
  const lengthAt = w.skip(4);
  const start = w.offset;
  for (let i = 0; i < defs.length; i++) defs[i].encode(w, vals[i]);
  // Every XDR value is a multiple of four bytes: no padding to add.
  w.setU32At(lengthAt, w.offset - start);
  return mask;
}

/** The `fattr4` value {@link encodeFattr4} would write, as a struct. */
export function fattr4Of(
  values: Fattr4Values,
  options: EncodeFattr4Options = {},
): fattr4 {
  const defs: Fattr4Entry[] = [];
  const vals: unknown[] = [];
  const mask = _select(values, options, defs, vals);
  return fattr4From(mask, (w) => {
    for (let i = 0; i < defs.length; i++) defs[i].encode(w, vals[i]);
  });
}

/**
 * An `fattr4` of `attrmask` whose values `write` puts into the writer it
 * is given, in number order (a caller that encodes attributes its own
 * way). The writer is one shared by every call, so `write` must not keep
 * it; the values come back as a copy of their own size.
 */
export function fattr4From(
  attrmask: number[],
  write: (w: XdrWriter) => void,
): fattr4 {
  // One writer for every call (encoding is synchronous): a GETATTR or a
  // READDIR entry costs one buffer of the values' size, not a writer that
  // grows. A writer grown by a huge value is dropped after use.
  const w = scratch;
  w.reset();
  write(w);
  const attr_vals = w.bytes().slice();
  if (w.capacity > SCRATCH_KEEP) scratch = new XdrWriter({ size: SCRATCH });
  return { attrmask, attr_vals };
}

const SCRATCH = 1024;
const SCRATCH_KEEP = 64 * 1024;
let scratch = new XdrWriter({ size: SCRATCH });

/** Options of {@link decodeFattr4}. */
export interface DecodeFattr4Options {
  /**
   * The minor version in use: attributes of later minor versions are
   * unknown (under 0, NFSv4.1's and 4.2's; under 1, 4.2's). Default 2.
   */
  minorversion?: number;
}

/**
 * Decodes the values of an `fattr4`. Every value must be present and the
 * opaque used up exactly.
 *
 * @throws {UnknownAttrError} for an attribute number outside the table
 * (or of a minor version later than the one in use).
 * @throws {XdrError} for a malformed value or trailing bytes.
 */
export function decodeFattr4(
  f: fattr4,
  options: DecodeFattr4Options = {},
): Fattr4Values {
  const minor = options.minorversion ?? 2;
  const r = new XdrReader(f.attr_vals);
  const out: Record<string, unknown> = {};
  const mask = f.attrmask;
  for (let i = 0; i < mask.length; i++) {
    let bits = mask[i] | 0;
    while (bits !== 0) {
      const low = bits & -bits;
      bits ^= low;
      const bit = i * 32 + 31 - Math.clz32(low);
      const d = BY_BIT[bit];
      if (d === undefined || d.minorversion > minor) {
        throw new UnknownAttrError(bit);
      }
      out[d.name] = d.decode(r);
    }
  }
  r.end("fattr4.attr_vals");
  return out as Fattr4Values;
}
