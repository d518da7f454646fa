/**
 * NFSv3 READ, WRITE and COMMIT: the data path.
 *
 * - READ returns at most `rtmax` bytes, whatever the client asked for, with
 *   the attributes and end of file as the file system reports them.
 * - WRITE answers NFS3ERR_ROFS on a read-only export, and NFS3ERR_INVAL when
 *   `count` exceeds the data sent or `wtmax`, before writing anything; of
 *   more data than `count` it writes `count` bytes. It honours `stable_how`
 *   through the file system's stability levels and reports the level the
 *   file system reached.
 * - COMMIT makes the whole file durable (the range is not used).
 *
 * READ and WRITE answer in the turn the call was decoded in where the file
 * system has `now` (vfs `nowOf`), with the same steps in the same order.
 *
 * Every WRITE and COMMIT reply carries this server instance's write
 * verifier, so a client resends UNSTABLE data that a restarted server may
 * have lost.
 *
 * @module
 */

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
import type {
  Attributes,
  ReadResult,
  Stability,
  WriteResult,
} from "../../vfs/types.ts";
import { nowOf } from "../../vfs/_find.ts";
import { fattr, type Nfs3Context, wcc } from "./context.ts";
import {
  attrsFailed,
  type Nfs3Procedure,
  nfs3Procedure,
  wccFailed,
} from "./procedure.ts";

const STABILITY: readonly Stability[] = ["unstable", "data", "file"];
const STABLE_HOW: Record<Stability, number> = {
  unstable: StableHow.UNSTABLE,
  data: StableHow.DATA_SYNC,
  file: StableHow.FILE_SYNC,
};

function ignore(): void {}

function readOk(attrs: Attributes, res: ReadResult) {
  return { status: 0, attrs: fattr(attrs), eof: res.eof, data: res.data };
}

function writeOk(
  before: Fattr3 | undefined,
  res: WriteResult,
  nfs: Nfs3Context,
) {
  return {
    status: 0,
    wcc: wcc(before, fattr(res.attrs)),
    count: res.count,
    committed: STABLE_HOW[res.committed],
    verf: nfs.writeVerf,
  };
}

/**
 * The READ, WRITE and COMMIT procedures.
 */
export const ioProcedures: Record<number, Nfs3Procedure<any, any>> = {
  [Nfs3Proc.READ]: nfs3Procedure({
    name: "READ",
    borrowsArgs: true, // a handle it resolves and numbers: none kept
    decode: decodeReadArgs,
    encode: encodeReadRes,
    fh: (a) => a.file,
    run: (a, t, nfs) => {
      const count = Math.min(a.count, nfs.rtmax);
      const now = nowOf(t.fs);
      if (now !== undefined) {
        const got = now.getattr(t.cred, t.id);
        return readOk(got, now.read(t.cred, t.id, a.offset, count));
      }
      // The attributes and the data are independent: both are asked for
      // at once. Thens, not an async function (see Nfs3Context.attrs), nor
      // Promise.all, whose array and per-element callbacks cost more.
      const attrs = t.fs.getattr(t.cred, t.id);
      return t.fs.read(t.cred, t.id, a.offset, count).then(
        (res) => attrs.then((got) => readOk(got, res)),
        (e) => {
          // The read's failure is the answer: the attributes' own is
          // handled here rather than left unhandled.
          attrs.then(undefined, ignore);
          throw e;
        },
      );
    },
    fail: attrsFailed,
  }),
  [Nfs3Proc.WRITE]: nfs3Procedure({
    name: "WRITE",
    decode: decodeWriteArgs,
    encode: encodeWriteRes,
    // The data is a view of the call's record: FileSystem.write copies
    // what it keeps, and nothing else here holds on to it.
    borrowsArgs: true,
    fh: (a) => a.file,
    run: (a, t, nfs) => {
      if (
        t.exp.readOnly || a.count > a.data.byteLength || a.count > nfs.wtmax
      ) {
        return t.fs.getattr(t.cred, t.id).then((got) => {
          const attrs = fattr(got);
          return {
            status: t.exp.readOnly ? Nfs3Status.ROFS : Nfs3Status.INVAL,
            wcc: wcc(attrs, attrs),
          };
        });
      }
      const data = a.count < a.data.byteLength
        ? a.data.subarray(0, a.count)
        : a.data;
      const stable = STABILITY[a.stable];
      const now = nowOf(t.fs);
      if (now !== undefined) {
        const before = t.pre = fattr(now.getattr(t.cred, t.id));
        return writeOk(
          before,
          now.write(t.cred, t.id, a.offset, data, stable),
          nfs,
        );
      }
      // The pre-operation attributes are asked for first, in the same
      // synchronous turn as the write: a file system that reads them
      // synchronously (MemFs, LocalFs) answers them before the write
      // starts, and LocalFs lets the write reuse what its getattr just
      // verified. One that answers later may report the state after the
      // write as "before", which only makes a client drop its cache.
      const pre = t.pre = nfs.attrs(t);
      // Thens, not an async function: see Nfs3Context.attrs.
      return t.fs.write(t.cred, t.id, a.offset, data, stable)
        .then((res) => pre.then((before) => writeOk(before, res, nfs)));
    },
    fail: wccFailed,
  }),
  [Nfs3Proc.COMMIT]: nfs3Procedure({
    name: "COMMIT",
    borrowsArgs: true, // a handle it resolves and numbers: none kept
    decode: decodeCommitArgs,
    encode: encodeCommitRes,
    fh: (a) => a.file,
    run: async (_a, t, nfs) => {
      const before = t.pre = fattr(await t.fs.getattr(t.cred, t.id));
      await t.fs.commit(t.cred, t.id);
      return {
        status: 0,
        wcc: wcc(before, await nfs.attrs(t)),
        verf: nfs.writeVerf,
      };
    },
    // Unlike the others, a COMMIT that fails reports wcc data even when
    // it could not take the attributes before.
    fail: async (status, t, nfs) => ({
      status,
      wcc: wcc(await t.pre, await nfs.attrs(t)),
    }),
  }),
};
