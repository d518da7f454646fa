/**
 * NFSv3 GETATTR, SETATTR (with the ctime guard) and ACCESS.
 *
 * @example
 * ```ts
 * import { attrProcedures } from "./attrs.ts";
 * import { Nfs3Context } from "./context.ts";
 * import { ExportTable } from "../exports.ts";
 * import { MemFs } from "../../vfs/memfs.ts";
 * const fs = new MemFs();
 * const procs = attrProcedures(new Nfs3Context({ exports: new ExportTable([{ path: "/", fs }]) }));
 * console.log(procs[1].name); // "GETATTR"
 * ```
 *
 * @module
 */

import type { Procedure } from "../../rpc/program.ts";
import {
  Access3,
  decodeAccessArgs,
  decodeFhArgs,
  decodeSetattrArgs,
  encodeAccessRes,
  encodeGetattrRes,
  encodeWccRes,
  type Fattr3,
  Nfs3Proc,
  Nfs3Status,
} from "../../proto/nfs3.ts";
import { fattr, type Nfs3Context, wcc } from "./context.ts";

const CHANGE_BITS = Access3.MODIFY | Access3.EXTEND | Access3.DELETE;

/**
 * The GETATTR, SETATTR and ACCESS procedures.
 *
 * @example
 * ```ts
 * import { attrProcedures } from "./attrs.ts";
 * console.log(typeof attrProcedures); // "function"
 * ```
 */
export function attrProcedures(c: Nfs3Context): Record<number, Procedure> {
  return {
    [Nfs3Proc.GETATTR]: {
      name: "GETATTR",
      handler: async (args, reply, ctx) => {
        const a = decodeFhArgs(args);
        const t = c.resolve(a.object, ctx);
        if (typeof t === "number") {
          return encodeGetattrRes(reply, { status: t });
        }
        try {
          const attrs = fattr(await t.fs.getattr(t.cred, t.id));
          encodeGetattrRes(reply, { status: 0, attrs });
        } catch (e) {
          encodeGetattrRes(reply, { status: c.status(e, "GETATTR") });
        }
      },
    },
    [Nfs3Proc.SETATTR]: {
      name: "SETATTR",
      handler: async (args, reply, ctx) => {
        const a = decodeSetattrArgs(args);
        const t = c.resolve(a.object, ctx);
        if (typeof t === "number") return encodeWccRes(reply, { status: t });
        let before: Fattr3 | undefined;
        try {
          before = fattr(await t.fs.getattr(t.cred, t.id));
        } catch (e) {
          return encodeWccRes(reply, { status: c.status(e, "SETATTR") });
        }
        if (
          a.guard &&
          (a.guard.sec !== before.ctime.sec ||
            a.guard.nsec !== before.ctime.nsec)
        ) {
          return encodeWccRes(reply, {
            status: Nfs3Status.NOT_SYNC,
            wcc: wcc(before, before),
          });
        }
        if (t.exp.readOnly) {
          return encodeWccRes(reply, {
            status: Nfs3Status.ROFS,
            wcc: wcc(before, before),
          });
        }
        try {
          const after = fattr(await t.fs.setattr(t.cred, t.id, a.attrs));
          encodeWccRes(reply, { status: 0, wcc: wcc(before, after) });
        } catch (e) {
          const status = c.status(e, "SETATTR");
          encodeWccRes(reply, { status, wcc: wcc(before, await c.attrs(t)) });
        }
      },
    },
    [Nfs3Proc.ACCESS]: {
      name: "ACCESS",
      handler: async (args, reply, ctx) => {
        const a = decodeAccessArgs(args);
        const t = c.resolve(a.object, ctx);
        if (typeof t === "number") {
          return encodeAccessRes(reply, { status: t });
        }
        // macOS rejects ACCESS errors without attributes, so fetch them first.
        const attrs = await c.attrs(t);
        try {
          let access = await t.fs.access(t.cred, t.id, a.access & 0x3f);
          if (t.exp.readOnly) access &= ~CHANGE_BITS;
          encodeAccessRes(reply, { status: 0, attrs, access });
        } catch (e) {
          encodeAccessRes(reply, { status: c.status(e, "ACCESS"), attrs });
        }
      },
    },
  };
}
