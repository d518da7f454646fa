/**
 * NFSv4 filehandle operations: PUTFH, PUTROOTFH, PUTPUBFH, GETFH, SAVEFH,
 * RESTOREFH, LOOKUP and LOOKUPP, across the pseudo file system's junctions.
 *
 * @module
 */

import {
  encode_GETFH4res,
  encode_LOOKUP4res,
  encode_LOOKUPP4res,
  encode_PUTFH4res,
  encode_PUTPUBFH4res,
  encode_PUTROOTFH4res,
  encode_RESTOREFH4res,
  encode_SAVEFH4res,
  nfs_opnum4,
  nfsstat4,
} from "../../../proto/nfs4/mod.ts";
import { FileType } from "../../../vfs/types.ts";
import { VfsError } from "../../../vfs/errors.ts";
import { findName } from "../../../vfs/_find.ts";
import type { Op } from "../compound.ts";
import type { CompoundState, Fh, Nfs4Server } from "../context.ts";
import { fail } from "../errors.ts";
import type { Nfs4Object } from "../pseudo.ts";
import { component, OK } from "./_util.ts";

/** LOOKUP's result for a name that does not exist. */
const NOENT = Object.freeze({ status: nfsstat4.NFS4ERR_NOENT });

/** Makes `obj` the current filehandle, after checking the client may use it. */
function enter(cs: CompoundState, nfs: Nfs4Server, obj: Nfs4Object): void {
  if (obj.kind === "export") cs.admit(obj.exp);
  setCurrent(cs, nfs.fhOf(obj));
}

/** Sets the current filehandle; 4.1's current stateid goes with the old one. */
export function setCurrent(cs: CompoundState, fh: Fh): void {
  cs.cfh = fh;
  cs.currentStateid = undefined;
}

function visible(cs: CompoundState) {
  const host = cs.call.remote.hostname;
  return (exp: { allows(address: string): boolean }) => exp.allows(host);
}

/** Why a non-directory cannot be searched: SYMLINK for a link, else NOTDIR. */
async function notDir(cs: CompoundState, fh: Fh): Promise<never> {
  const t = cs.target(nfsstat4.NFS4ERR_NOTDIR, fh);
  const a = await t.fs.getattr(t.cred, t.id);
  fail(
    a.type === FileType.Symlink
      ? nfsstat4.NFS4ERR_SYMLINK
      : nfsstat4.NFS4ERR_NOTDIR,
  );
}

/** LOOKUP: makes the child `raw` of the current directory current. */
export async function lookup(
  cs: CompoundState,
  nfs: Nfs4Server,
  raw: Uint8Array,
): Promise<void> {
  if (!(await enterChild(cs, nfs, raw))) fail(nfsstat4.NFS4ERR_NOENT);
}

/**
 * As {@link lookup}, but a name that does not exist is `false` (the current
 * filehandle unchanged) rather than a thrown NFS4ERR_NOENT: no error object
 * is built for the commonest failure of LOOKUP.
 */
async function enterChild(
  cs: CompoundState,
  nfs: Nfs4Server,
  raw: Uint8Array,
): Promise<boolean> {
  const fh = cs.current();
  const o = fh.obj;
  const name = component(raw);
  if (o.kind === "pseudo") {
    const found = nfs.pseudo.lookup(o.node, name, visible(cs));
    if (found === undefined) return false;
    enter(cs, nfs, found);
    return true;
  }
  if (o.fileid === o.exp.root) {
    const nested = nfs.pseudo.nestedExport(o.exp, name);
    if (nested !== undefined && nested.allows(cs.call.remote.hostname)) {
      enter(cs, nfs, { kind: "export", exp: nested, fileid: nested.root });
      return true;
    }
  }
  const t = cs.target(nfsstat4.NFS4ERR_NOTDIR, fh);
  let found;
  try {
    found = await findName(t.fs, t.cred, t.id, name);
  } catch (e) {
    if (e instanceof VfsError && e.code === "ENOTDIR") await notDir(cs, fh);
    throw e;
  }
  if (found === undefined) return false;
  const child = nfs.fhOf({ kind: "export", exp: t.exp, fileid: found.fileid });
  setCurrent(cs, child);
  cs.lookedUp = { fh: child, attrs: found };
  return true;
}

/** LOOKUPP: makes the parent of the current directory current. */
export async function lookupp(
  cs: CompoundState,
  nfs: Nfs4Server,
): Promise<void> {
  const fh = cs.current();
  const o = fh.obj;
  if (o.kind === "pseudo") {
    if (o.node.parent === undefined) fail(nfsstat4.NFS4ERR_NOENT);
    return enter(cs, nfs, { kind: "pseudo", node: o.node.parent });
  }
  const t = cs.target(nfsstat4.NFS4ERR_NOTDIR, fh);
  const a = await t.fs.getattr(t.cred, t.id);
  if (a.type !== FileType.Directory) await notDir(cs, fh);
  if (o.fileid === o.exp.root) {
    const up = nfs.pseudo.parentOfExport(o.exp);
    if (up === undefined) fail(nfsstat4.NFS4ERR_NOENT);
    return enter(cs, nfs, up);
  }
  const parent = await t.fs.lookup(t.cred, t.id, "..");
  setCurrent(
    cs,
    nfs.fhOf({ kind: "export", exp: t.exp, fileid: parent.fileid }),
  );
}

/** The filehandle operations by number. */
export const fhOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_PUTFH, {
    name: "PUTFH",
    encode: encode_PUTFH4res,
    run: (a, cs, nfs) => {
      const fh = nfs.decodeFh(a.object);
      if (fh.obj.kind === "export") cs.admit(fh.obj.exp);
      setCurrent(cs, fh);
      return OK;
    },
  }],
  [nfs_opnum4.OP_PUTROOTFH, {
    name: "PUTROOTFH",
    encode: encode_PUTROOTFH4res,
    run: (_, cs, nfs) => (enter(cs, nfs, nfs.pseudo.rootObject()), OK),
  }],
  [nfs_opnum4.OP_PUTPUBFH, {
    name: "PUTPUBFH",
    encode: encode_PUTPUBFH4res,
    // The public filehandle is the root: there is no WebNFS here.
    run: (_, cs, nfs) => (enter(cs, nfs, nfs.pseudo.rootObject()), OK),
  }],
  [nfs_opnum4.OP_GETFH, {
    name: "GETFH",
    encode: encode_GETFH4res,
    run: (_, cs) => ({
      status: OK.status,
      resok4: { object: cs.current().fh },
    }),
  }],
  [nfs_opnum4.OP_SAVEFH, {
    name: "SAVEFH",
    encode: encode_SAVEFH4res,
    run: (_, cs) => {
      cs.sfh = cs.current();
      cs.savedStateid = cs.currentStateid;
      return OK;
    },
  }],
  [nfs_opnum4.OP_RESTOREFH, {
    name: "RESTOREFH",
    encode: encode_RESTOREFH4res,
    run: (_, cs) => {
      if (cs.sfh === undefined) {
        fail(
          cs.minor === 0
            ? nfsstat4.NFS4ERR_RESTOREFH
            : nfsstat4.NFS4ERR_NOFILEHANDLE,
        );
      }
      cs.cfh = cs.sfh;
      cs.currentStateid = cs.savedStateid;
      return OK;
    },
  }],
  [nfs_opnum4.OP_LOOKUP, {
    name: "LOOKUP",
    encode: encode_LOOKUP4res,
    run: async (a, cs, nfs) =>
      (await enterChild(cs, nfs, a.objname)) ? OK : NOENT,
  }],
  [nfs_opnum4.OP_LOOKUPP, {
    name: "LOOKUPP",
    encode: encode_LOOKUPP4res,
    run: async (_, cs, nfs) => (await lookupp(cs, nfs), OK),
  }],
]);
