/**
 * NFSv3 REMOVE, RMDIR, RENAME and LINK: the procedures that change
 * directory entries of existing objects.
 *
 * @example
 * ```ts
 * import { removeProcedures } from "./remove.ts";
 * console.log(typeof removeProcedures); // "function"
 * ```
 *
 * @module
 */

import type { Procedure } from "../../rpc/program.ts";
import {
  decodeDirOpArgs,
  decodeLinkArgs,
  decodeRenameArgs,
  encodeLinkRes,
  encodeRenameRes,
  encodeWccRes,
  type Fattr3,
  Nfs3Proc,
  Nfs3Status,
} from "../../proto/nfs3.ts";
import { fattr, type Nfs3Context, wcc } from "./context.ts";

/**
 * The REMOVE, RMDIR, RENAME and LINK procedures.
 *
 * @example
 * ```ts
 * import { removeProcedures } from "./remove.ts";
 * console.log(typeof removeProcedures); // "function"
 * ```
 */
export function removeProcedures(c: Nfs3Context): Record<number, Procedure> {
  const unlink = (rmdir: boolean): Procedure => ({
    name: rmdir ? "RMDIR" : "REMOVE",
    idempotent: false,
    handler: async (args, reply, ctx) => {
      const a = decodeDirOpArgs(args);
      const what = rmdir ? "RMDIR" : "REMOVE";
      const t = c.resolve(a.dir, ctx);
      if (typeof t === "number") return encodeWccRes(reply, { status: t });
      let before: Fattr3 | undefined;
      try {
        before = fattr(await t.fs.getattr(t.cred, t.id));
      } catch (e) {
        return encodeWccRes(reply, { status: c.status(e, what) });
      }
      if (t.exp.readOnly) {
        return encodeWccRes(reply, {
          status: Nfs3Status.ROFS,
          wcc: wcc(before, before),
        });
      }
      try {
        if (rmdir) await t.fs.rmdir(t.cred, t.id, a.name);
        else await t.fs.remove(t.cred, t.id, a.name);
        encodeWccRes(reply, { status: 0, wcc: wcc(before, await c.attrs(t)) });
      } catch (e) {
        encodeWccRes(reply, {
          status: c.status(e, what),
          wcc: wcc(before, await c.attrs(t)),
        });
      }
    },
  });
  return {
    [Nfs3Proc.REMOVE]: unlink(false),
    [Nfs3Proc.RMDIR]: unlink(true),
    [Nfs3Proc.RENAME]: {
      name: "RENAME",
      idempotent: false,
      handler: async (args, reply, ctx) => {
        const a = decodeRenameArgs(args);
        const from = c.resolve(a.fromDir, ctx);
        if (typeof from === "number") {
          return encodeRenameRes(reply, { status: from });
        }
        const to = c.resolve(a.toDir, ctx);
        if (typeof to === "number") {
          return encodeRenameRes(reply, { status: to });
        }
        const fromBefore = await c.attrs(from);
        const toBefore = from.id === to.id && from.exp === to.exp
          ? fromBefore
          : await c.attrs(to);
        let status = 0;
        if (from.exp !== to.exp) status = Nfs3Status.XDEV;
        else if (from.exp.readOnly) status = Nfs3Status.ROFS;
        else if (fromBefore === undefined || toBefore === undefined) {
          status = Nfs3Status.STALE;
        } else {
          try {
            await from.fs.rename(
              from.cred,
              from.id,
              a.fromName,
              to.id,
              a.toName,
            );
          } catch (e) {
            status = c.status(e, "RENAME");
          }
        }
        const fromAfter = status === 0 ? await c.attrs(from) : fromBefore;
        const toAfter = from.id === to.id
          ? fromAfter
          : status === 0
          ? await c.attrs(to)
          : toBefore;
        encodeRenameRes(reply, {
          status,
          fromWcc: wcc(fromBefore, fromAfter),
          toWcc: wcc(toBefore, toAfter),
        });
      },
    },
    [Nfs3Proc.LINK]: {
      name: "LINK",
      idempotent: false,
      handler: async (args, reply, ctx) => {
        const a = decodeLinkArgs(args);
        const file = c.resolve(a.file, ctx);
        if (typeof file === "number") {
          return encodeLinkRes(reply, { status: file });
        }
        const dir = c.resolve(a.dir, ctx);
        if (typeof dir === "number") {
          return encodeLinkRes(reply, {
            status: dir,
            attrs: await c.attrs(file),
          });
        }
        const before = await c.attrs(dir);
        let status = 0;
        let attrs: Fattr3 | undefined;
        if (file.exp !== dir.exp) status = Nfs3Status.XDEV;
        else if (dir.exp.readOnly) status = Nfs3Status.ROFS;
        else {
          try {
            attrs = fattr(
              await dir.fs.link(dir.cred, file.id, dir.id, a.name),
            );
          } catch (e) {
            status = c.status(e, "LINK");
          }
        }
        encodeLinkRes(reply, {
          status,
          attrs: attrs ?? await c.attrs(file),
          dirWcc: wcc(before, status === 0 ? await c.attrs(dir) : before),
        });
      },
    },
  };
}
