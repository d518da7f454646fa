/**
 * NFSv3 LOOKUP and READLINK.
 *
 * @example
 * ```ts
 * import { lookupProcedures } from "./lookup.ts";
 * console.log(typeof lookupProcedures); // "function"
 * ```
 *
 * @module
 */

import type { Procedure } from "../../rpc/program.ts";
import {
  decodeDirOpArgs,
  decodeFhArgs,
  encodeLookupRes,
  encodeReadlinkRes,
  type Fattr3,
  Nfs3Proc,
} from "../../proto/nfs3.ts";
import { fattr, type Nfs3Context } from "./context.ts";

/**
 * The LOOKUP and READLINK procedures.
 *
 * @example
 * ```ts
 * import { lookupProcedures } from "./lookup.ts";
 * console.log(typeof lookupProcedures); // "function"
 * ```
 */
export function lookupProcedures(c: Nfs3Context): Record<number, Procedure> {
  return {
    [Nfs3Proc.LOOKUP]: {
      name: "LOOKUP",
      handler: async (args, reply, ctx) => {
        const a = decodeDirOpArgs(args);
        const t = c.resolve(a.dir, ctx);
        if (typeof t === "number") {
          return encodeLookupRes(reply, { status: t });
        }
        try {
          // ".." of the export's root stays at the root: clients must not
          // climb out of what they mounted.
          const name = a.name === ".." && t.id === t.exp.root ? "." : a.name;
          // Both asked for in one synchronous turn: a file system may answer
          // the directory's attributes from what the lookup just read (see
          // LocalFs getattr). Both only read, so their order does not matter.
          const found = t.fs.lookup(t.cred, t.id, name);
          const dir = c.attrs(t);
          let obj: Fattr3;
          try {
            obj = fattr(await found);
          } catch (e) {
            return encodeLookupRes(reply, {
              status: c.status(e, "LOOKUP"),
              dirAttrs: await dir,
            });
          }
          encodeLookupRes(reply, {
            status: 0,
            object: c.handle(t.exp, obj.fileid),
            objAttrs: obj,
            dirAttrs: await dir,
          });
        } catch (e) {
          encodeLookupRes(reply, {
            status: c.status(e, "LOOKUP"),
            dirAttrs: await c.attrs(t),
          });
        }
      },
    },
    [Nfs3Proc.READLINK]: {
      name: "READLINK",
      handler: async (args, reply, ctx) => {
        const a = decodeFhArgs(args);
        const t = c.resolve(a.object, ctx);
        if (typeof t === "number") {
          return encodeReadlinkRes(reply, { status: t });
        }
        try {
          const target = await t.fs.readlink(t.cred, t.id);
          encodeReadlinkRes(reply, {
            status: 0,
            attrs: await c.attrs(t),
            target,
          });
        } catch (e) {
          encodeReadlinkRes(reply, {
            status: c.status(e, "READLINK"),
            attrs: await c.attrs(t),
          });
        }
      },
    },
  };
}
