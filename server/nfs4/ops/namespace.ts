/**
 * NFSv4 operations on names: CREATE (directories, symlinks, devices,
 * fifos, sockets), LINK, REMOVE, RENAME and READLINK.
 *
 * - The directory changed is the current filehandle (LINK: the target
 *   directory, with the source object saved; RENAME: the target directory,
 *   with the source directory saved). Each result's `change_info4` gives
 *   the directory's `change` before and after, not atomic: other calls may
 *   run between the three steps.
 * - Under a pseudo directory or in a read-only export: NFS4ERR_ROFS. Across
 *   exports (or from a pseudo directory into one): NFS4ERR_XDEV.
 * - An export nested at a name of another export's root covers that name:
 *   creating it is NFS4ERR_EXIST, removing or renaming it NFS4ERR_XDEV.
 * - CREATE of a regular file (that is OPEN's) or of an unknown type is
 *   NFS4ERR_BADTYPE; an empty symlink target or a size in `createattrs` is
 *   NFS4ERR_INVAL. On success the new object becomes the current
 *   filehandle and `attrset` lists what `createattrs` set.
 * - LINK of a directory is NFS4ERR_ISDIR. REMOVE takes files and empty
 *   directories alike. READLINK of anything but a symlink is NFS4ERR_INVAL.
 *
 * @module
 */

import {
  type change_info4,
  type CREATE4args,
  encode_CREATE4res,
  encode_LINK4res,
  encode_READLINK4res,
  encode_REMOVE4res,
  encode_RENAME4res,
  nfs_ftype4,
  nfs_opnum4,
  nfsstat4,
} from "../../../proto/nfs4/mod.ts";
import { VfsError } from "../../../vfs/errors.ts";
import { type Attributes, FileType } from "../../../vfs/types.ts";
import { changeOf, setAttrsOf } from "../attrs.ts";
import type { Op } from "../compound.ts";
import type { CompoundState, Fh, Nfs4Server, Target } from "../context.ts";
import { fail } from "../errors.ts";
import { component, utf8String } from "./_util.ts";
import { setCurrent } from "./fh.ts";

const enc = new TextEncoder();

/** The export directory of `fh` where names may change, or ROFS. */
function writable(cs: CompoundState, fh: Fh = cs.current()): Target {
  const t = cs.target(nfsstat4.NFS4ERR_ROFS, fh);
  if (t.exp.readOnly) fail(nfsstat4.NFS4ERR_ROFS);
  return t;
}

/** Whether `name` in `t` is covered by a nested export. */
function junction(nfs: Nfs4Server, t: Target, name: string): boolean {
  return t.id === t.exp.root &&
    nfs.pseudo.nestedExport(t.exp, name) !== undefined;
}

async function changeNow(t: Target): Promise<bigint> {
  return changeOf(await t.fs.getattr(t.cred, t.id));
}

function cinfo(before: bigint, after: bigint): change_info4 {
  return { atomic: false, before, after };
}

async function create(a: CREATE4args, cs: CompoundState, nfs: Nfs4Server) {
  const fh = cs.current();
  const o = a.objtype;
  if (o.type === nfs_ftype4.NF4REG || o.type < 1 || o.type > 7) {
    fail(nfsstat4.NFS4ERR_BADTYPE, `Cannot CREATE type ${o.type}`);
  }
  const name = component(a.objname);
  const { attrs, set } = setAttrsOf(a.createattrs, cs, nfs);
  if (attrs.size !== undefined) {
    fail(nfsstat4.NFS4ERR_INVAL, "Size of a non-file");
  }
  const t = writable(cs, fh);
  if (junction(nfs, t, name)) fail(nfsstat4.NFS4ERR_EXIST);
  const before = await changeNow(t);
  let made: Attributes;
  if ("linkdata" in o) {
    const target = utf8String(o.linkdata);
    if (target === "") fail(nfsstat4.NFS4ERR_INVAL, "Empty symlink target");
    made = await t.fs.symlink(t.cred, t.id, name, target, attrs);
  } else if ("devdata" in o) {
    made = await t.fs.mknod(t.cred, t.id, name, {
      type: o.type as FileType,
      rdev: { major: o.devdata.specdata1, minor: o.devdata.specdata2 },
      attrs,
    });
  } else if (o.type === nfs_ftype4.NF4DIR) {
    made = await t.fs.mkdir(t.cred, t.id, name, attrs);
  } else {
    made = await t.fs.mknod(t.cred, t.id, name, {
      type: o.type as FileType,
      attrs,
    });
  }
  const after = await changeNow(t);
  setCurrent(
    cs,
    nfs.fhOf({ kind: "export", exp: t.exp, fileid: made.fileid }),
  );
  return {
    status: nfsstat4.NFS4_OK,
    resok4: { cinfo: cinfo(before, after), attrset: set },
  };
}

async function link(raw: Uint8Array, cs: CompoundState, nfs: Nfs4Server) {
  const src = cs.saved();
  const dirFh = cs.current();
  const name = component(raw);
  const dir = writable(cs, dirFh);
  const file = cs.target(nfsstat4.NFS4ERR_XDEV, src);
  if (file.exp !== dir.exp) fail(nfsstat4.NFS4ERR_XDEV);
  if (junction(nfs, dir, name)) fail(nfsstat4.NFS4ERR_EXIST);
  const a = await file.fs.getattr(file.cred, file.id);
  if (a.type === FileType.Directory) fail(nfsstat4.NFS4ERR_ISDIR);
  const before = await changeNow(dir);
  await dir.fs.link(dir.cred, file.id, dir.id, name);
  const after = await changeNow(dir);
  return {
    status: nfsstat4.NFS4_OK,
    resok4: { cinfo: cinfo(before, after) },
  };
}

async function remove(raw: Uint8Array, cs: CompoundState, nfs: Nfs4Server) {
  const name = component(raw);
  const t = writable(cs);
  if (junction(nfs, t, name)) fail(nfsstat4.NFS4ERR_XDEV);
  const before = await changeNow(t);
  try {
    await t.fs.remove(t.cred, t.id, name);
  } catch (e) {
    if (!(e instanceof VfsError && e.code === "EISDIR")) throw e;
    await t.fs.rmdir(t.cred, t.id, name);
  }
  const after = await changeNow(t);
  return {
    status: nfsstat4.NFS4_OK,
    resok4: { cinfo: cinfo(before, after) },
  };
}

async function rename(
  oldRaw: Uint8Array,
  newRaw: Uint8Array,
  cs: CompoundState,
  nfs: Nfs4Server,
) {
  const fromFh = cs.saved();
  const oldname = component(oldRaw);
  const newname = component(newRaw);
  const to = writable(cs);
  const from = cs.target(nfsstat4.NFS4ERR_XDEV, fromFh);
  if (from.exp !== to.exp) fail(nfsstat4.NFS4ERR_XDEV);
  if (junction(nfs, from, oldname) || junction(nfs, to, newname)) {
    fail(nfsstat4.NFS4ERR_XDEV);
  }
  const same = from.id === to.id;
  const fromBefore = await changeNow(from);
  const toBefore = same ? fromBefore : await changeNow(to);
  await to.fs.rename(to.cred, from.id, oldname, to.id, newname);
  const fromAfter = await changeNow(from);
  const toAfter = same ? fromAfter : await changeNow(to);
  return {
    status: nfsstat4.NFS4_OK,
    resok4: {
      source_cinfo: cinfo(fromBefore, fromAfter),
      target_cinfo: cinfo(toBefore, toAfter),
    },
  };
}

async function readlink(cs: CompoundState) {
  const t = cs.target(nfsstat4.NFS4ERR_INVAL);
  const a = await t.fs.getattr(t.cred, t.id);
  if (a.type !== FileType.Symlink) {
    fail(nfsstat4.NFS4ERR_INVAL, "Not a symlink");
  }
  const target = await t.fs.readlink(t.cred, t.id);
  return { status: nfsstat4.NFS4_OK, resok4: { link: enc.encode(target) } };
}

/** The name operations by number. */
export const namespaceOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_CREATE, {
    name: "CREATE",
    encode: encode_CREATE4res,
    run: (a, cs, nfs) => create(a, cs, nfs),
  }],
  [nfs_opnum4.OP_LINK, {
    name: "LINK",
    encode: encode_LINK4res,
    run: (a, cs, nfs) => link(a.newname, cs, nfs),
  }],
  [nfs_opnum4.OP_REMOVE, {
    name: "REMOVE",
    encode: encode_REMOVE4res,
    run: (a, cs, nfs) => remove(a.target, cs, nfs),
  }],
  [nfs_opnum4.OP_RENAME, {
    name: "RENAME",
    encode: encode_RENAME4res,
    run: (a, cs, nfs) => rename(a.oldname, a.newname, cs, nfs),
  }],
  [nfs_opnum4.OP_READLINK, {
    name: "READLINK",
    encode: encode_READLINK4res,
    run: (_, cs) => readlink(cs),
  }],
]);
