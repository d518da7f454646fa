/**
 * NFSv3 REMOVE, RMDIR, RENAME and LINK: the procedures that change
 * directory entries of existing objects.
 *
 * All four go through the duplicate-request cache (a retransmitted REMOVE
 * gets the first reply, not NFS3ERR_NOENT) and answer NFS3ERR_ROFS on a
 * read-only export without changing anything. RENAME and LINK name two
 * handles; when they belong to different exports the answer is
 * NFS3ERR_XDEV, even over one file system. RENAME answers NFS3ERR_STALE
 * when either directory's attributes cannot be read. A failed RENAME or
 * LINK changed nothing, and its wcc data says so: the attributes from
 * before, as after.
 *
 * @module
 */

import {
  decodeDirOpArgs,
  decodeLinkArgs,
  decodeRenameArgs,
  type DirOpArgs,
  encodeLinkRes,
  encodeRenameRes,
  encodeWccRes,
  type Fattr3,
  Nfs3Proc,
  Nfs3Status,
  type WccRes,
} from "../../proto/nfs3.ts";
import { fattr, type Nfs3Context, type Target, wcc } from "./context.ts";
import { nowOf } from "../../vfs/_find.ts";
import type { FileSystemNow } from "../../vfs/types.ts";
import { type Nfs3Procedure, nfs3Procedure, wccFailed } from "./procedure.ts";

function unlink(rmdir: boolean): Nfs3Procedure<DirOpArgs, WccRes> {
  return {
    name: rmdir ? "RMDIR" : "REMOVE",
    cached: true,
    borrowsArgs: true, // a handle it resolves and a name: none kept
    decode: decodeDirOpArgs,
    encode: encodeWccRes,
    fh: (a) => a.dir,
    run: (a, t, nfs) => {
      const now = rmdir ? undefined : nowOf(t.fs);
      return now === undefined
        ? unlinking(a, t, nfs)
        : removingNow(now, a, t, nfs);
    },
    fail: wccFailed,
  };

  /** The directory's attributes, the removal, the attributes again. */
  async function unlinking(
    a: DirOpArgs,
    t: Target,
    nfs: Nfs3Context,
  ): Promise<WccRes> {
    const before = t.pre = fattr(await t.fs.getattr(t.cred, t.id));
    if (t.exp.readOnly) {
      return { status: Nfs3Status.ROFS, wcc: wcc(before, before) };
    }
    if (rmdir) await t.fs.rmdir(t.cred, t.id, a.name);
    else await t.fs.remove(t.cred, t.id, a.name);
    return { status: 0, wcc: wcc(before, await nfs.attrs(t)) };
  }
}

/**
 * REMOVE at once, for a file system with `now` (vfs `nowOf`): `unlinking`'s
 * steps in the turn the call was decoded in.
 */
function removingNow(
  now: FileSystemNow,
  a: DirOpArgs,
  t: Target,
  nfs: Nfs3Context,
): WccRes {
  const before = t.pre = fattr(now.getattr(t.cred, t.id));
  if (t.exp.readOnly) {
    return { status: Nfs3Status.ROFS, wcc: wcc(before, before) };
  }
  now.remove(t.cred, t.id, a.name);
  return { status: 0, wcc: wcc(before, nfs.attrsNow(now, t)) };
}

/**
 * The REMOVE, RMDIR, RENAME and LINK procedures.
 */
export const removeProcedures: Record<number, Nfs3Procedure<any, any>> = {
  [Nfs3Proc.REMOVE]: unlink(false),
  [Nfs3Proc.RMDIR]: unlink(true),
  [Nfs3Proc.RENAME]: nfs3Procedure({
    name: "RENAME",
    cached: true,
    borrowsArgs: true, // handles it resolves and names: none kept
    decode: decodeRenameArgs,
    encode: encodeRenameRes,
    fh: (a) => a.fromDir,
    fh2: (a) => a.toDir,
    run: async (a, from, nfs, second) => {
      const to = second!;
      const same = from.id === to.id && from.exp === to.exp;
      const fromBefore = from.pre = await nfs.attrs(from);
      const toBefore = to.pre = same ? fromBefore : await nfs.attrs(to);
      let status = 0;
      if (from.exp !== to.exp) status = Nfs3Status.XDEV;
      else if (from.exp.readOnly) status = Nfs3Status.ROFS;
      else if (fromBefore === undefined || toBefore === undefined) {
        status = Nfs3Status.STALE;
      } else {
        await from.fs.rename(from.cred, from.id, a.fromName, to.id, a.toName);
      }
      const fromAfter = status === 0 ? await nfs.attrs(from) : fromBefore;
      const toAfter = from.id === to.id
        ? fromAfter
        : status === 0
        ? await nfs.attrs(to)
        : toBefore;
      return {
        status,
        fromWcc: wcc(fromBefore, fromAfter),
        toWcc: wcc(toBefore, toAfter),
      };
    },
    // A failed rename changed nothing: both directories report their
    // attributes from before as after.
    fail: async (status, from, _nfs, to) => {
      if (to === undefined) return { status };
      const fromBefore = await from.pre;
      const toBefore = await to.pre;
      return {
        status,
        fromWcc: wcc(fromBefore, fromBefore),
        toWcc: wcc(toBefore, from.id === to.id ? fromBefore : toBefore),
      };
    },
  }),
  [Nfs3Proc.LINK]: nfs3Procedure({
    name: "LINK",
    cached: true,
    borrowsArgs: true, // handles it resolves and a name: none kept
    decode: decodeLinkArgs,
    encode: encodeLinkRes,
    fh: (a) => a.file,
    fh2: (a) => a.dir,
    run: async (a, file, nfs, second) => {
      const dir = second!;
      const before = dir.pre = await nfs.attrs(dir);
      let status = 0;
      let attrs: Fattr3 | undefined;
      if (file.exp !== dir.exp) status = Nfs3Status.XDEV;
      else if (dir.exp.readOnly) status = Nfs3Status.ROFS;
      else attrs = fattr(await dir.fs.link(dir.cred, file.id, dir.id, a.name));
      return {
        status,
        attrs: attrs ?? await nfs.attrs(file),
        dirWcc: wcc(before, status === 0 ? await nfs.attrs(dir) : before),
      };
    },
    // The file's attributes as they are now, and the directory's wcc data
    // unchanged when it resolved.
    fail: async (status, file, nfs, dir) => {
      const attrs = await nfs.attrs(file);
      if (dir === undefined) return { status, attrs };
      const before = await dir.pre;
      return { status, attrs, dirWcc: wcc(before, before) };
    },
  }),
};
