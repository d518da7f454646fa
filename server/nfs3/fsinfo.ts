/**
 * NFSv3 FSSTAT, FSINFO and PATHCONF: what the client learns about the file
 * system as a whole.
 *
 * @example
 * ```ts
 * import { fsinfoProcedures } from "./fsinfo.ts";
 * console.log(typeof fsinfoProcedures); // "function"
 * ```
 *
 * @module
 */

import type { Procedure } from "../../rpc/program.ts";
import {
  decodeFhArgs,
  encodeFsinfoRes,
  encodeFsstatRes,
  encodePathconfRes,
  FsfProps,
  Nfs3Proc,
} from "../../proto/nfs3.ts";
import { fattr, type Nfs3Context } from "./context.ts";

/**
 * The FSSTAT, FSINFO and PATHCONF procedures.
 *
 * @example
 * ```ts
 * import { fsinfoProcedures } from "./fsinfo.ts";
 * console.log(typeof fsinfoProcedures); // "function"
 * ```
 */
export function fsinfoProcedures(c: Nfs3Context): Record<number, Procedure> {
  return {
    [Nfs3Proc.FSSTAT]: {
      name: "FSSTAT",
      handler: async (args, reply, ctx) => {
        const a = decodeFhArgs(args);
        const t = c.resolve(a.object, ctx);
        if (typeof t === "number") {
          return encodeFsstatRes(reply, { status: t });
        }
        try {
          const attrs = fattr(await t.fs.getattr(t.cred, t.id));
          const s = await t.fs.statfs(t.cred, t.id);
          encodeFsstatRes(reply, {
            status: 0,
            attrs,
            tbytes: s.totalBytes,
            fbytes: s.freeBytes,
            abytes: s.availBytes,
            tfiles: s.totalFiles,
            ffiles: s.freeFiles,
            afiles: s.availFiles,
            invarsec: 0,
          });
        } catch (e) {
          encodeFsstatRes(reply, {
            status: c.status(e, "FSSTAT"),
            attrs: await c.attrs(t),
          });
        }
      },
    },
    [Nfs3Proc.FSINFO]: {
      name: "FSINFO",
      handler: async (args, reply, ctx) => {
        const a = decodeFhArgs(args);
        const t = c.resolve(a.object, ctx);
        if (typeof t === "number") {
          return encodeFsinfoRes(reply, { status: t });
        }
        try {
          const attrs = fattr(await t.fs.getattr(t.cred, t.id));
          const l = t.fs.limits;
          const delta = Math.max(1, l.timeDelta);
          encodeFsinfoRes(reply, {
            status: 0,
            attrs,
            rtmax: c.rtmax,
            rtpref: c.rtmax,
            rtmult: 4096,
            wtmax: c.wtmax,
            wtpref: c.wtmax,
            wtmult: 4096,
            dtpref: c.dtpref,
            maxfilesize: l.maxFileSize,
            timeDelta: {
              sec: Math.floor(delta / 1e9),
              nsec: delta % 1e9,
            },
            properties: (l.hardLinks ? FsfProps.LINK : 0) |
              (l.symlinks ? FsfProps.SYMLINK : 0) | FsfProps.HOMOGENEOUS |
              FsfProps.CANSETTIME,
          });
        } catch (e) {
          encodeFsinfoRes(reply, {
            status: c.status(e, "FSINFO"),
            attrs: await c.attrs(t),
          });
        }
      },
    },
    [Nfs3Proc.PATHCONF]: {
      name: "PATHCONF",
      handler: async (args, reply, ctx) => {
        const a = decodeFhArgs(args);
        const t = c.resolve(a.object, ctx);
        if (typeof t === "number") {
          return encodePathconfRes(reply, { status: t });
        }
        try {
          const attrs = fattr(await t.fs.getattr(t.cred, t.id));
          const l = t.fs.limits;
          encodePathconfRes(reply, {
            status: 0,
            attrs,
            linkmax: Math.min(l.maxLinks, 0xffffffff),
            nameMax: l.maxNameLength,
            noTrunc: true,
            chownRestricted: true,
            caseInsensitive: false,
            casePreserving: true,
          });
        } catch (e) {
          encodePathconfRes(reply, {
            status: c.status(e, "PATHCONF"),
            attrs: await c.attrs(t),
          });
        }
      },
    },
  };
}
