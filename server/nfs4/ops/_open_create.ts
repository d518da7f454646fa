/**
 * OPEN by name (CLAIM_NULL): finding the file in the current directory, or
 * making it as OPEN4_CREATE asks, with the exclusive create verifier kept
 * in the new file's times. The rules are listed in open.ts, steps 3 and 4.
 *
 * @module
 */

import {
  type bitmap4,
  bitmapBits,
  bitmapHas,
  bitmapSet,
  type change_info4,
  createmode4,
  FATTR4_TIME_ACCESS,
  FATTR4_TIME_MODIFY,
  nfsstat4,
  type OPEN4args,
  opentype4,
} from "../../../proto/nfs4/mod.ts";
import { VfsError } from "../../../vfs/errors.ts";
import { findName } from "../../../vfs/_find.ts";
import {
  type Attributes,
  FileType,
  type SetAttributes,
} from "../../../vfs/types.ts";
import type { CompoundState, Nfs4Server, Target } from "../context.ts";
import { fail } from "../errors.ts";
import { EXCLCREAT_ATTRS, setAttrsOf } from "../attrs.ts";

/** The file OPEN found or made, and what it did to it. */
export interface Found {
  t: Target;
  attrs: Attributes;
  created: boolean;
  truncate: boolean;
  cinfo: change_info4;
  attrset: bitmap4;
}

/** `cinfo` when OPEN named no directory. */
export const NO_CINFO: change_info4 = { atomic: false, before: 0n, after: 0n };

/** The two 31-bit seconds values a verifier is kept as (knfsd's layout). */
function verifierTimes(verf: Uint8Array): { mtime: number; atime: number } {
  const v = new DataView(verf.buffer, verf.byteOffset, 8);
  return {
    mtime: v.getUint32(0) & 0x7fffffff,
    atime: v.getUint32(4) & 0x7fffffff,
  };
}

function lookupMaybe(
  t: Target,
  name: string,
): Promise<Attributes | undefined> {
  return findName(t.fs, t.cred, t.id, name);
}

/**
 * CLAIM_NULL: the file `name` in the current directory, made if asked;
 * NFS4ERR_NOENT returned, not thrown, when it is absent and not to be made
 * (see `FileSystem.find`: no error object for the commonest failure).
 */
export async function byName(
  a: OPEN4args,
  name: string,
  cs: CompoundState,
  nfs: Nfs4Server,
): Promise<Found | typeof nfsstat4.NFS4ERR_NOENT> {
  const dirFh = cs.current();
  const create = a.openhow.opentype === opentype4.OPEN4_CREATE;
  const o = dirFh.obj;
  if (o.kind === "pseudo") {
    const host = cs.call.remote.hostname;
    const hit = nfs.pseudo.lookup(o.node, name, (e) => e.allows(host));
    if (hit !== undefined) fail(nfsstat4.NFS4ERR_ISDIR);
    fail(create ? nfsstat4.NFS4ERR_ROFS : nfsstat4.NFS4ERR_NOENT);
  }
  if (o.fileid === o.exp.root && nfs.pseudo.nestedExport(o.exp, name)) {
    fail(nfsstat4.NFS4ERR_ISDIR);
  }
  const dir = cs.target(nfsstat4.NFS4ERR_NOTDIR, dirFh);
  const before = await dir.fs.getattr(dir.cred, dir.id);
  if (before.type !== FileType.Directory) fail(nfsstat4.NFS4ERR_NOTDIR);
  const at = (attrs: Attributes) => ({
    ...dir,
    id: attrs.fileid,
  });
  const found = (
    attrs: Attributes,
    extra: Partial<Found> = {},
  ): Found => ({
    t: at(attrs),
    attrs,
    created: false,
    truncate: false,
    cinfo: {
      atomic: true,
      before: BigInt(before.change),
      after: BigInt(before.change),
    },
    attrset: [],
    ...extra,
  });
  if (a.openhow.opentype !== opentype4.OPEN4_CREATE) {
    const attrs = await lookupMaybe(dir, name);
    if (attrs === undefined) return nfsstat4.NFS4ERR_NOENT;
    return found(attrs);
  }
  if (dir.exp.readOnly) fail(nfsstat4.NFS4ERR_ROFS);
  const how = a.openhow.how;
  let attrs: SetAttributes = {};
  let set: bitmap4 = [];
  let verf: { mtime: number; atime: number } | undefined;
  switch (how.mode) {
    case createmode4.EXCLUSIVE4:
      verf = verifierTimes(how.createverf);
      // As knfsd: no mode was given, so none is granted until SETATTR.
      attrs = { mode: 0 };
      break;
    case createmode4.EXCLUSIVE4_1:
      ({ attrs, set } = setAttrsOf(how.ch_createboth.cva_attrs, cs, nfs));
      // Only what suppattr_exclcreat offers: the verifier lives in the times.
      for (const bit of bitmapBits(set)) {
        if (!bitmapHas(EXCLCREAT_ATTRS, bit)) fail(nfsstat4.NFS4ERR_INVAL);
      }
      // A new file is empty; any other size would hide the verifier's file
      // from a retry, which must find it empty.
      if (attrs.size !== undefined && attrs.size !== 0) {
        fail(nfsstat4.NFS4ERR_INVAL);
      }
      verf = verifierTimes(how.ch_createboth.cva_verf);
      break;
    default:
      ({ attrs, set } = setAttrsOf(how.createattrs, cs, nfs));
  }
  if (verf !== undefined) {
    attrs = {
      ...attrs,
      mtime: { sec: verf.mtime, nsec: 0 },
      atime: { sec: verf.atime, nsec: 0 },
    };
    bitmapSet(set, FATTR4_TIME_ACCESS);
    bitmapSet(set, FATTR4_TIME_MODIFY);
  }
  // Two rounds: a name made by someone else between the lookup and the
  // exclusive create is then found by the second lookup.
  for (let round = 0; round < 2; round++) {
    const existing = await lookupMaybe(dir, name);
    if (existing !== undefined) {
      if (how.mode === createmode4.GUARDED4) fail(nfsstat4.NFS4ERR_EXIST);
      if (verf === undefined) {
        return found(existing, { truncate: attrs.size === 0 });
      }
      if (
        existing.mtime.sec !== verf.mtime ||
        existing.atime.sec !== verf.atime || existing.size !== 0 ||
        existing.type !== FileType.Regular
      ) {
        fail(nfsstat4.NFS4ERR_EXIST);
      }
      // A retry of this very create: answered as the create was.
      return found(existing, { created: true, attrset: set });
    }
    try {
      const made = await dir.fs.create(dir.cred, dir.id, name, {
        attrs,
        exclusive: true,
      });
      const after = await dir.fs.getattr(dir.cred, dir.id);
      return found(made, {
        created: true,
        attrset: set,
        cinfo: {
          atomic: false,
          before: BigInt(before.change),
          after: BigInt(after.change),
        },
      });
    } catch (e) {
      if (!(e instanceof VfsError) || e.code !== "EEXIST" || round > 0) {
        throw e;
      }
    }
  }
  fail(nfsstat4.NFS4ERR_EXIST);
}
