/**
 * NFSv3 CREATE (UNCHECKED, GUARDED, EXCLUSIVE), MKDIR, SYMLINK and MKNOD.
 *
 * An EXCLUSIVE create remembers its verifier by file id, so a retransmitted
 * create with the same verifier succeeds and one with another verifier gets
 * NFS3ERR_EXIST.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createProcedures } from "./create.ts";
 * import { Nfs3Proc } from "../../proto/nfs3.ts";
 * assert.equal(createProcedures[Nfs3Proc.CREATE].cached, true);
 * ```
 *
 * @module
 */

import {
  CreateMode,
  type CreateRes,
  decodeCreateArgs,
  decodeMkdirArgs,
  decodeMknodArgs,
  decodeSymlinkArgs,
  encodeCreateRes,
  Ftype3,
  Nfs3Proc,
  Nfs3Status,
} from "../../proto/nfs3.ts";
import type { Attributes, FileType } from "../../vfs/types.ts";
import { VfsError } from "../../vfs/errors.ts";
import { fattr, type Nfs3Context, type Target, wcc } from "./context.ts";
import { type Nfs3Procedure, nfs3Procedure, wccSince } from "./procedure.ts";

/**
 * Runs one creating operation with the bookkeeping every such procedure
 * shares: refuse on a read-only export, take the directory's attributes
 * before and after, build the new handle.
 */
async function creating(
  t: Target,
  nfs: Nfs3Context,
  op: () => Promise<Attributes>,
): Promise<CreateRes> {
  const before = t.pre = fattr(await t.fs.getattr(t.cred, t.id));
  if (t.exp.readOnly) {
    return { status: Nfs3Status.ROFS, dirWcc: wcc(before, before) };
  }
  const attrs = fattr(await op());
  return {
    status: 0,
    object: nfs.handle(t.exp, attrs.fileid),
    attrs,
    dirWcc: wcc(before, await nfs.attrs(t)),
  };
}

/** The `fail` of the creating procedures: the directory's wcc data. */
async function createFailed(
  status: number,
  t: Target,
  nfs: Nfs3Context,
): Promise<CreateRes> {
  return { status, dirWcc: await wccSince(t, nfs) };
}

/**
 * The CREATE, MKDIR, SYMLINK and MKNOD procedures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createProcedures } from "./create.ts";
 * import { Nfs3Proc } from "../../proto/nfs3.ts";
 * assert.equal(createProcedures[Nfs3Proc.MKDIR].name, "MKDIR");
 * ```
 */
export const createProcedures: Record<number, Nfs3Procedure<any, any>> = {
  [Nfs3Proc.CREATE]: nfs3Procedure({
    name: "CREATE",
    cached: true,
    decode: decodeCreateArgs,
    encode: encodeCreateRes,
    fh: (a) => a.dir,
    run: (a, t, nfs) =>
      creating(t, nfs, async () => {
        if (a.mode !== CreateMode.EXCLUSIVE) {
          return await t.fs.create(t.cred, t.id, a.name, {
            attrs: a.attrs,
            exclusive: a.mode === CreateMode.GUARDED,
          });
        }
        const verf = a.verf!;
        try {
          const attrs = await t.fs.create(t.cred, t.id, a.name, {
            exclusive: true,
          });
          nfs.rememberCreate(t.exp, attrs.fileid, verf);
          return attrs;
        } catch (e) {
          if (!(e instanceof VfsError) || e.code !== "EEXIST") throw e;
          // A retransmission of a create that already happened succeeds.
          const existing = await t.fs.lookup(t.cred, t.id, a.name);
          if (nfs.createdWith(t.exp, existing.fileid, verf)) return existing;
          throw e;
        }
      }),
    fail: createFailed,
  }),
  [Nfs3Proc.MKDIR]: nfs3Procedure({
    name: "MKDIR",
    cached: true,
    decode: decodeMkdirArgs,
    encode: encodeCreateRes,
    fh: (a) => a.dir,
    run: (a, t, nfs) =>
      creating(t, nfs, () => t.fs.mkdir(t.cred, t.id, a.name, a.attrs)),
    fail: createFailed,
  }),
  [Nfs3Proc.SYMLINK]: nfs3Procedure({
    name: "SYMLINK",
    cached: true,
    decode: decodeSymlinkArgs,
    encode: encodeCreateRes,
    fh: (a) => a.dir,
    run: (a, t, nfs) =>
      creating(
        t,
        nfs,
        () => t.fs.symlink(t.cred, t.id, a.name, a.target, a.attrs),
      ),
    fail: createFailed,
  }),
  [Nfs3Proc.MKNOD]: nfs3Procedure({
    name: "MKNOD",
    cached: true,
    decode: decodeMknodArgs,
    encode: encodeCreateRes,
    fh: (a) => a.dir,
    run: async (a, t, nfs) => {
      if (
        a.type === Ftype3.REG || a.type === Ftype3.DIR || a.type === Ftype3.LNK
      ) {
        // RFC 1813: MKNOD makes only special files.
        const attrs = await nfs.attrs(t);
        return { status: Nfs3Status.BADTYPE, dirWcc: wcc(attrs, attrs) };
      }
      return await creating(t, nfs, () =>
        t.fs.mknod(t.cred, t.id, a.name, {
          type: a.type as FileType,
          rdev: a.spec,
          attrs: a.attrs,
        }));
    },
    fail: createFailed,
  }),
};
