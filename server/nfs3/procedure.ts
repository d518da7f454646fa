/**
 * The shape of an NFSv3 procedure: an RPC row (decode → run → encode) with
 * a column naming the file handle the call is about, and the adapter that
 * does for every procedure what they all share.
 *
 * The adapter resolves the handle to a {@link Target} (BADHANDLE, STALE,
 * ACCES or PERM are answered `{ status }` without running anything), runs
 * the row, and turns whatever `run` throws into a status with the one
 * table of errors.ts (logging what is not a `VfsError`, answered
 * SERVERFAULT). A failure reply often carries attributes: the row's `fail`
 * builds it from that status and the target, whose `pre` slot holds what
 * `run` took before it failed (the wcc "before" of a procedure that
 * changes something). `run` returns statuses it decides itself (ROFS on a
 * read-only export, NOT_SYNC, XDEV …) as results, and never sees XDR.
 * A rejection is mapped in the RPC row's `rescue`, which finds the target
 * in the call's `state`: so a bound row's `run` alone may reject, and
 * `runProcedure` (rpc/program.ts) calls it as the server does.
 *
 * RENAME and LINK name a second handle (`fh2`); it is resolved after the
 * first, and its failure is answered by `fail` with no second target.
 *
 * @example A row bound to a program's state: what the adapter answers for it
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindProcedure, nfs3Procedure } from "./procedure.ts";
 * import { fattr, Nfs3Context } from "./context.ts";
 * import { decodeDirOpArgs, encodeLookupRes } from "../../proto/nfs3.ts";
 * import { type CallContext, runProcedure } from "@netfs/netfs/rpc";
 * import { ExportTable } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 *
 * // A LOOKUP-like row: `run` gets a resolved target, and may throw.
 * const row = nfs3Procedure({
 *   name: "LOOKUP",
 *   decode: decodeDirOpArgs,
 *   encode: encodeLookupRes,
 *   fh: (a) => a.dir,
 *   run: async (a, t, nfs) => {
 *     const obj = await t.fs.lookup(t.cred, t.id, a.name);
 *     return { status: 0, object: nfs.handle(t.exp, obj.fileid), objAttrs: fattr(obj) };
 *   },
 * });
 * const fs = new MemFs();
 * const nfs = new Nfs3Context({ exports: new ExportTable([{ path: "/", fs }]) });
 * const lookup = bindProcedure(nfs, row);
 * // What the adapter reads of the RPC call: who calls, from where.
 * const call: Pick<CallContext, "auth" | "remote"> = {
 *   auth: { flavor: 0 },
 *   remote: { transport: "tcp", hostname: "127.0.0.1", port: 1023 },
 * };
 * const root = nfs.handle(nfs.table.exports[0], fs.root);
 * // As the server runs it: `run`, and `rescue` for what `run` throws.
 * const ask = (dir: Uint8Array, name: string) =>
 *   runProcedure(lookup, { dir, name }, { ...call } as CallContext);
 * // The ENOENT that `run` throws becomes its status (the row has no `fail`).
 * assert.deepEqual(await ask(root, "missing"), { status: 2 }); // NFS3ERR_NOENT
 * // A handle that does not decode is NFS3ERR_BADHANDLE, without running.
 * assert.deepEqual(await ask(new Uint8Array(3), "x"), { status: 10001 });
 * ```
 *
 * @module
 */

import type { CallContext, Procedure, RpcProgram } from "../../rpc/program.ts";
import type { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import type { Fattr3, WccData, WccRes } from "../../proto/nfs3.ts";
import { type Nfs3Context, type Target, wcc } from "./context.ts";

/**
 * What the adapter needs of a program's state: handle resolution and the
 * error mapping. NFSv3's {@link Nfs3Context} and NFSv2's context both
 * have them, so NFSv2 rows go through the same adapter.
 */
export interface NfsContext {
  /** The target of a handle, or the status that refuses it. */
  resolve(fh: Uint8Array, call: CallContext): Target | number;
  /** The status for what `run` threw (logging what is unexpected). */
  status(e: unknown, what: string): number;
}

/**
 * One NFS procedure of a program whose state is `C`. `A` is the decoded
 * arguments, `R` the result, whose `status` is 0 on success.
 */
export interface NfsProcedure<
  C extends NfsContext,
  A,
  R extends { status: number },
> {
  /** Name for logs, such as "GETATTR". */
  name: string;
  /** Decodes the arguments (an XdrError is answered GARBAGE_ARGS). */
  decode: (args: XdrReader) => A;
  /** Encodes the result. */
  encode: (reply: XdrWriter, result: R) => void;
  /** True when the reply goes to the duplicate-request cache. */
  cached?: boolean;
  /** As the RPC row's `borrowsArgs`: `run` keeps nothing of its arguments. */
  borrowsArgs?: boolean;
  /** The handle the call is about; resolved before `run`. */
  fh: (args: A) => Uint8Array;
  /** A second handle (RENAME's target directory, LINK's directory). */
  fh2?: (args: A) => Uint8Array;
  /**
   * Does the work on the resolved target (and second target, for a row
   * with `fh2`). It may throw a file system's error; see `fail`. A result
   * it has at once (from a file system's `now`) is encoded at once.
   */
  run: (
    args: A,
    target: Target,
    nfs: C,
    second: Target | undefined,
  ) => R | Promise<R>;
  /**
   * The reply when `run` throws (with the status errors.ts gives the
   * error) or the second handle does not resolve (with its status, and no
   * second target). Default: the status alone.
   */
  fail?: (
    status: number,
    target: Target,
    nfs: C,
    second: Target | undefined,
  ) => R | Promise<R>;
}

/** One NFSv3 procedure (see {@link NfsProcedure}). */
export type Nfs3Procedure<A, R extends { status: number }> = NfsProcedure<
  Nfs3Context,
  A,
  R
>;

/**
 * Types an {@link Nfs3Procedure} row from its decoder and encoder, and
 * returns it.
 */
export function nfs3Procedure<A, R extends { status: number }>(
  row: Nfs3Procedure<A, R>,
): Nfs3Procedure<A, R> {
  return row;
}

/**
 * Makes an NFS row an RPC procedure of the program whose state is `nfs`:
 * the RPC layer decodes and encodes, this adds handle resolution and the
 * error mapping around `run`.
 */
export function bindProcedure<
  C extends NfsContext,
  A,
  R extends { status: number },
>(
  nfs: C,
  row: NfsProcedure<C, A, R>,
): Procedure<A, R> {
  const { name, fh, fh2, run, fail } = row;
  /** The reply to a call whose `run` threw `e`. */
  const failed = (
    e: unknown,
    t: Target,
    second: Target | undefined,
  ): R | Promise<R> => {
    const status = nfs.status(e, name);
    return fail === undefined ? { status } as R : fail(status, t, nfs, second);
  };
  /** RENAME and LINK: the second handle, then `run`. */
  const runTwo = async (args: A, call: CallContext, t: Target): Promise<R> => {
    const s = nfs.resolve(fh2!(args), call);
    if (typeof s === "number") {
      return fail === undefined
        ? { status: s } as R
        : await fail(s, t, nfs, undefined);
    }
    try {
      return await run(args, t, nfs, s);
    } catch (e) {
      return await failed(e, t, s);
    }
  };
  return {
    name,
    decode: row.decode,
    encode: row.encode,
    cached: row.cached,
    borrowsArgs: row.borrowsArgs,
    // Not an async function: a refused handle is answered at once, and a
    // call that runs returns `run`'s own promise. Its rejection is mapped
    // by `rescue`, on the server's own wait for it: a `then` here cost a
    // microtask turn per call (bench/RESULTS.md), an async frame more.
    run: (args: A, call: CallContext): R | Promise<R> => {
      const t = nfs.resolve(fh(args), call);
      if (typeof t === "number") return { status: t } as R;
      if (fh2 !== undefined) return runTwo(args, call, t);
      call.state = t;
      try {
        return run(args, t, nfs, undefined);
      } catch (e) {
        // To `rescue`, as a rejection is: a `fail` that rejects then
        // fails the call once, not twice.
        return Promise.reject(e);
      }
    },
    // RENAME and LINK answer their failures in `runTwo`.
    rescue: fh2 === undefined
      ? (e: unknown, call: CallContext) =>
        failed(e, call.state as Target, undefined)
      : undefined,
  };
}

/**
 * The procedure table of a program whose state is `nfs`: each group's rows
 * bound with {@link bindProcedure}, by procedure number, after `extra`
 * (rows that need no handle, such as NULL).
 */
export function bindProcedures<C extends NfsContext>(
  nfs: C,
  groups: readonly Record<number, NfsProcedure<C, any, any>>[],
  extra: RpcProgram["procedures"] = {},
): RpcProgram["procedures"] {
  const procedures: RpcProgram["procedures"] = { ...extra };
  for (const group of groups) {
    for (const [num, row] of Object.entries(group)) {
      procedures[Number(num)] = bindProcedure(nfs, row);
    }
  }
  return procedures;
}

/**
 * The wcc data a failed changing procedure reports: none when `run` failed
 * before it took the attributes, else from them to the attributes now.
 */
export async function wccSince(
  t: Target,
  nfs: Nfs3Context,
): Promise<WccData | undefined> {
  if (t.pre === undefined) return undefined;
  return wcc(await t.pre, await nfs.attrs(t));
}

/**
 * The `fail` of a procedure whose result is wcc data (SETATTR, WRITE,
 * REMOVE, RMDIR): see {@link wccSince}.
 */
export async function wccFailed(
  status: number,
  t: Target,
  nfs: Nfs3Context,
): Promise<WccRes> {
  return { status, wcc: await wccSince(t, nfs) };
}

/**
 * The `fail` of a procedure whose failure reply carries the object's
 * attributes as they are now (READ, READLINK, FSSTAT, FSINFO, PATHCONF).
 */
export async function attrsFailed(
  status: number,
  t: Target,
  nfs: Nfs3Context,
): Promise<{ status: number; attrs?: Fattr3 }> {
  return { status, attrs: await nfs.attrs(t) };
}
