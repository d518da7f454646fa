/**
 * NFSv3 READ, WRITE and COMMIT: the data path.
 *
 * WRITE honours `stable_how` through the file system's stability levels;
 * every reply carries this server instance's write verifier, so a client
 * resends UNSTABLE data that a restarted server may have lost.
 *
 * @example
 * ```ts
 * import { ioProcedures } from "./io.ts";
 * console.log(typeof ioProcedures); // "function"
 * ```
 *
 * @module
 */

import type { Procedure } from "../../rpc/program.ts";
import {
  decodeCommitArgs,
  decodeReadArgs,
  decodeWriteArgs,
  encodeCommitRes,
  encodeReadRes,
  encodeWriteRes,
  type Fattr3,
  Nfs3Proc,
  Nfs3Status,
  StableHow,
} from "../../proto/nfs3.ts";
import type { Stability } from "../../vfs/types.ts";
import { fattr, type Nfs3Context, wcc } from "./context.ts";

const STABILITY: readonly Stability[] = ["unstable", "data", "file"];
const STABLE_HOW: Record<Stability, number> = {
  unstable: StableHow.UNSTABLE,
  data: StableHow.DATA_SYNC,
  file: StableHow.FILE_SYNC,
};

/**
 * The READ, WRITE and COMMIT procedures.
 *
 * @example
 * ```ts
 * import { ioProcedures } from "./io.ts";
 * console.log(typeof ioProcedures); // "function"
 * ```
 */
export function ioProcedures(c: Nfs3Context): Record<number, Procedure> {
  return {
    [Nfs3Proc.READ]: {
      name: "READ",
      handler: async (args, reply, ctx) => {
        const a = decodeReadArgs(args);
        const t = c.resolve(a.file, ctx);
        if (typeof t === "number") return encodeReadRes(reply, { status: t });
        const count = Math.min(a.count, c.rtmax);
        try {
          // The attributes and the data are independent: fetch both at once.
          const [attrs, res] = await Promise.all([
            t.fs.getattr(t.cred, t.id),
            t.fs.read(t.cred, t.id, a.offset, count),
          ]);
          encodeReadRes(reply, {
            status: 0,
            attrs: fattr(attrs),
            eof: res.eof,
            data: res.data,
          });
        } catch (e) {
          encodeReadRes(reply, {
            status: c.status(e, "READ"),
            attrs: await c.attrs(t),
          });
        }
      },
    },
    [Nfs3Proc.WRITE]: {
      name: "WRITE",
      handler: async (args, reply, ctx) => {
        const a = decodeWriteArgs(args);
        const t = c.resolve(a.file, ctx);
        if (typeof t === "number") {
          return encodeWriteRes(reply, { status: t });
        }
        if (
          t.exp.readOnly || a.count > a.data.byteLength || a.count > c.wtmax
        ) {
          let attrs: Fattr3;
          try {
            attrs = fattr(await t.fs.getattr(t.cred, t.id));
          } catch (e) {
            return encodeWriteRes(reply, { status: c.status(e, "WRITE") });
          }
          return encodeWriteRes(reply, {
            status: t.exp.readOnly ? Nfs3Status.ROFS : Nfs3Status.INVAL,
            wcc: wcc(attrs, attrs),
          });
        }
        const data = a.count < a.data.byteLength
          ? a.data.subarray(0, a.count)
          : a.data;
        // The pre-operation attributes are asked for first, in the same
        // synchronous turn as the write: a file system that reads them
        // synchronously (MemFs, LocalFs) answers them before the write
        // starts, and LocalFs lets the write reuse what its getattr just
        // verified. One that answers later may report the state after the
        // write as "before", which only makes a client drop its cache.
        const pre = c.attrs(t);
        try {
          const res = await t.fs.write(
            t.cred,
            t.id,
            a.offset,
            data,
            STABILITY[a.stable],
          );
          encodeWriteRes(reply, {
            status: 0,
            wcc: wcc(await pre, fattr(res.attrs)),
            count: res.count,
            committed: STABLE_HOW[res.committed],
            verf: c.writeVerf,
          });
        } catch (e) {
          encodeWriteRes(reply, {
            status: c.status(e, "WRITE"),
            wcc: wcc(await pre, await c.attrs(t)),
          });
        }
      },
    },
    [Nfs3Proc.COMMIT]: {
      name: "COMMIT",
      handler: async (args, reply, ctx) => {
        const a = decodeCommitArgs(args);
        const t = c.resolve(a.file, ctx);
        if (typeof t === "number") {
          return encodeCommitRes(reply, { status: t });
        }
        let before: Fattr3 | undefined;
        try {
          before = fattr(await t.fs.getattr(t.cred, t.id));
          await t.fs.commit(t.cred, t.id);
          encodeCommitRes(reply, {
            status: 0,
            wcc: wcc(before, await c.attrs(t)),
            verf: c.writeVerf,
          });
        } catch (e) {
          encodeCommitRes(reply, {
            status: c.status(e, "COMMIT"),
            wcc: wcc(before, await c.attrs(t)),
          });
        }
      },
    },
  };
}
