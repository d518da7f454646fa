/**
 * NFSv3 CREATE (UNCHECKED, GUARDED, EXCLUSIVE), MKDIR, SYMLINK and MKNOD.
 *
 * An EXCLUSIVE create remembers its verifier by file id, so a retransmitted
 * create with the same verifier succeeds and one with another verifier gets
 * NFS3ERR_EXIST.
 *
 * @example
 * ```ts
 * import { createProcedures } from "./create.ts";
 * console.log(typeof createProcedures); // "function"
 * ```
 *
 * @module
 */

import type { CallContext, Procedure } from "../../rpc/program.ts";
import {
  CreateMode,
  type CreateRes,
  decodeCreateArgs,
  decodeMkdirArgs,
  decodeMknodArgs,
  decodeSymlinkArgs,
  encodeCreateRes,
  type Fattr3,
  Ftype3,
  Nfs3Proc,
  Nfs3Status,
} from "../../proto/nfs3.ts";
import type { Attributes, FileType } from "../../vfs/types.ts";
import { VfsError } from "../../vfs/errors.ts";
import { fattr, type Nfs3Context, type Target, wcc } from "./context.ts";

/**
 * Runs one creating operation with the bookkeeping every such procedure
 * shares: resolve the directory, refuse on a read-only export, take the
 * directory's attributes before and after, build the new handle.
 */
async function creating(
  c: Nfs3Context,
  what: string,
  dirFh: Uint8Array,
  ctx: CallContext,
  op: (t: Target) => Promise<Attributes>,
): Promise<CreateRes> {
  const t = c.resolve(dirFh, ctx);
  if (typeof t === "number") return { status: t };
  let before: Fattr3 | undefined;
  try {
    before = fattr(await t.fs.getattr(t.cred, t.id));
  } catch (e) {
    return { status: c.status(e, what) };
  }
  if (t.exp.readOnly) {
    return { status: Nfs3Status.ROFS, dirWcc: wcc(before, before) };
  }
  try {
    const attrs = fattr(await op(t));
    return {
      status: 0,
      object: c.handle(t.exp, attrs.fileid),
      attrs,
      dirWcc: wcc(before, await c.attrs(t)),
    };
  } catch (e) {
    return {
      status: c.status(e, what),
      dirWcc: wcc(before, await c.attrs(t)),
    };
  }
}

/**
 * The CREATE, MKDIR, SYMLINK and MKNOD procedures.
 *
 * @example
 * ```ts
 * import { createProcedures } from "./create.ts";
 * console.log(typeof createProcedures); // "function"
 * ```
 */
export function createProcedures(c: Nfs3Context): Record<number, Procedure> {
  return {
    [Nfs3Proc.CREATE]: {
      name: "CREATE",
      idempotent: false,
      handler: async (args, reply, ctx) => {
        const a = decodeCreateArgs(args);
        const res = await creating(c, "CREATE", a.dir, ctx, async (t) => {
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
            c.rememberCreate(t.exp, attrs.fileid, verf);
            return attrs;
          } catch (e) {
            if (!(e instanceof VfsError) || e.code !== "EEXIST") throw e;
            // A retransmission of a create that already happened succeeds.
            const existing = await t.fs.lookup(t.cred, t.id, a.name);
            if (c.createdWith(t.exp, existing.fileid, verf)) return existing;
            throw e;
          }
        });
        encodeCreateRes(reply, res);
      },
    },
    [Nfs3Proc.MKDIR]: {
      name: "MKDIR",
      idempotent: false,
      handler: async (args, reply, ctx) => {
        const a = decodeMkdirArgs(args);
        encodeCreateRes(
          reply,
          await creating(
            c,
            "MKDIR",
            a.dir,
            ctx,
            (t) => t.fs.mkdir(t.cred, t.id, a.name, a.attrs),
          ),
        );
      },
    },
    [Nfs3Proc.SYMLINK]: {
      name: "SYMLINK",
      idempotent: false,
      handler: async (args, reply, ctx) => {
        const a = decodeSymlinkArgs(args);
        encodeCreateRes(
          reply,
          await creating(
            c,
            "SYMLINK",
            a.dir,
            ctx,
            (t) => t.fs.symlink(t.cred, t.id, a.name, a.target, a.attrs),
          ),
        );
      },
    },
    [Nfs3Proc.MKNOD]: {
      name: "MKNOD",
      idempotent: false,
      handler: async (args, reply, ctx) => {
        const a = decodeMknodArgs(args);
        if (
          a.type === Ftype3.REG || a.type === Ftype3.DIR ||
          a.type === Ftype3.LNK
        ) {
          // RFC 1813: MKNOD makes only special files.
          const t = c.resolve(a.dir, ctx);
          if (typeof t === "number") {
            return encodeCreateRes(reply, { status: t });
          }
          const attrs = await c.attrs(t);
          return encodeCreateRes(reply, {
            status: Nfs3Status.BADTYPE,
            dirWcc: wcc(attrs, attrs),
          });
        }
        encodeCreateRes(
          reply,
          await creating(
            c,
            "MKNOD",
            a.dir,
            ctx,
            (t) =>
              t.fs.mknod(t.cred, t.id, a.name, {
                type: a.type as FileType,
                rdev: a.spec,
                attrs: a.attrs,
              }),
          ),
        );
      },
    },
  };
}
