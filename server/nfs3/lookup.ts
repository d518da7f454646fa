/**
 * NFSv3 LOOKUP and READLINK.
 *
 * LOOKUP of ".." in an export's root answers the root itself: a client
 * cannot climb out of what it mounted. Its reply carries the object's
 * handle and attributes and the directory's attributes; a failed LOOKUP
 * still carries the directory's, when they can be read. READLINK answers
 * the link's target with the link's attributes.
 *
 * @module
 */

import {
  decodeDirOpArgs,
  decodeFhArgs,
  encodeLookupRes,
  encodeReadlinkRes,
  type LookupRes,
  Nfs3Proc,
  Nfs3Status,
} from "../../proto/nfs3.ts";
import { findName, nowOf } from "../../vfs/_find.ts";
import type { FileSystemNow } from "../../vfs/types.ts";
import { fattr, type Nfs3Context, type Target } from "./context.ts";
import { attrsFailed, type Nfs3Procedure, nfs3Procedure } from "./procedure.ts";

/**
 * LOOKUP's work once the name is settled. The name and the directory's
 * attributes are asked for in one synchronous turn: a file system may
 * answer the second from what the first just read (see LocalFs getattr);
 * both only read, so their order does not matter. A failed lookup reports
 * the directory's attributes from `pre`. An absent name is answered here,
 * not thrown: see FileSystem.find. An async function: it allocated less than
 * the two nested thens (2,385 against 2,546 B per call in
 * bench/call_bench.ts, CPU the same within noise).
 */
async function lookingUp(
  t: Target,
  nfs: Nfs3Context,
  name: string,
): Promise<LookupRes> {
  const found = findName(t.fs, t.cred, t.id, name);
  const dir = t.pre = nfs.attrs(t); // never rejects
  const obj = await found;
  const dirAttrs = await dir;
  return obj === undefined ? { status: Nfs3Status.NOENT, dirAttrs } : {
    status: 0,
    object: nfs.handle(t.exp, obj.fileid),
    objAttrs: fattr(obj),
    dirAttrs,
  };
}

/**
 * {@link lookingUp} at once, for a file system with `now` (vfs `nowOf`):
 * the reply is encoded in the turn the call was decoded in. A failed find
 * throws, and the row's `fail` takes the directory's attributes.
 */
function lookingUpNow(
  now: FileSystemNow,
  t: Target,
  nfs: Nfs3Context,
  name: string,
): LookupRes {
  const obj = now.find(t.cred, t.id, name);
  const dirAttrs = nfs.attrsNow(now, t);
  return obj === undefined ? { status: Nfs3Status.NOENT, dirAttrs } : {
    status: 0,
    object: nfs.handle(t.exp, obj.fileid),
    objAttrs: fattr(obj),
    dirAttrs,
  };
}

/**
 * The LOOKUP and READLINK procedures.
 */
export const lookupProcedures: Record<number, Nfs3Procedure<any, any>> = {
  [Nfs3Proc.LOOKUP]: nfs3Procedure({
    name: "LOOKUP",
    borrowsArgs: true, // a handle it resolves and a name (a string): none kept
    decode: decodeDirOpArgs,
    encode: encodeLookupRes,
    fh: (a) => a.dir,
    run: (a, t, nfs) => {
      // ".." of the export's root stays at the root: clients must not
      // climb out of what they mounted.
      const name = a.name === ".." && t.id === t.exp.root ? "." : a.name;
      const now = nowOf(t.fs);
      return now === undefined
        ? lookingUp(t, nfs, name)
        : lookingUpNow(now, t, nfs, name);
    },
    fail: async (status, t, nfs) => ({
      status,
      dirAttrs: await (t.pre ?? nfs.attrs(t)),
    }),
  }),
  [Nfs3Proc.READLINK]: nfs3Procedure({
    name: "READLINK",
    borrowsArgs: true, // a handle it resolves and numbers: none kept
    decode: decodeFhArgs,
    encode: encodeReadlinkRes,
    fh: (a) => a.object,
    run: async (_a, t, nfs) => {
      const target = await t.fs.readlink(t.cred, t.id);
      return { status: 0, attrs: await nfs.attrs(t), target };
    },
    fail: attrsFailed,
  }),
};
