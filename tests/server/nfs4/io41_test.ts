// NFSv4.1 rules of READ, WRITE and COMMIT, run on the operations directly:
// a 4.1 COMPOUND needs SEQUENCE, which lives in another branch. What the
// session would set (its client, the largest reply, the current stateid)
// is set on the COMPOUND state by hand, as SEQUENCE and OPEN do.
import assert from "node:assert/strict";
import { rootCall } from "../_call.ts";
import { nfs_opnum4 as OP, type stateid4 } from "../../../proto/nfs4/mod.ts";
import { ExportTable } from "../../../server/exports.ts";
import {
  CompoundState,
  LATER_OPS_RESERVE,
  Nfs4Server,
} from "../../../server/nfs4/context.ts";
import { Nfs4Error } from "../../../server/nfs4/errors.ts";
import { ioOps } from "../../../server/nfs4/ops/io.ts";
import { stateFile } from "../../../server/nfs4/ops/_util.ts";
import { ShareAccess, ShareDeny } from "../../../server/nfs4/state/opens.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { type FileId, FileType, ROOT } from "../../../vfs/types.ts";
import { nfsstat4 } from "./_harness.ts";
import { client41 } from "./state/_helpers.ts";

const enc = new TextEncoder();
const ANON: stateid4 = { seqid: 0, other: new Uint8Array(12) };
const CURRENT: stateid4 = { seqid: 1, other: new Uint8Array(12) };

const call = rootCall(100003, 4, 1);

function setup() {
  const fs = new MemFs();
  const exports = new ExportTable([{ path: "/", fs, squash: "none" }]);
  const nfs = new Nfs4Server({ exports, graceTime: 0, log: assert.fail });
  const exp = exports.exports[0];
  const cs = (fileid: FileId, clientid?: bigint) => {
    const c = new CompoundState(call, 1);
    c.cfh = nfs.fhOf({ kind: "export", exp, fileid });
    c.session = { clientid } as unknown as CompoundState["session"];
    return c;
  };
  return { fs, nfs, exp, cs };
}

/** Runs an operation, answering its status as the COMPOUND loop would. */
async function status(
  opnum: number,
  args: unknown,
  cs: CompoundState,
  nfs: Nfs4Server,
): Promise<number> {
  try {
    return (await ioOps.get(opnum)!.run(args, cs, nfs)).status;
  } catch (e) {
    if (e instanceof Nfs4Error) return e.status;
    throw e;
  }
}

const read = (count = 10, stateid = ANON) => ({ stateid, offset: 0, count });
const write = (stateid = ANON) => ({
  stateid,
  offset: 0,
  stable: 2,
  data: enc.encode("x"),
});

Deno.test("io 4.1: a symlink is SYMLINK, a FIFO WRONG_TYPE, a directory ISDIR", async () => {
  const { fs, nfs, cs } = setup();
  const link = await fs.symlink(ROOT, fs.root, "link", "t");
  const fifo = await fs.mknod(ROOT, fs.root, "fifo", { type: FileType.Fifo });
  const dir = await fs.mkdir(ROOT, fs.root, "d");
  const want: [FileId, number][] = [
    [link.fileid, nfsstat4.NFS4ERR_SYMLINK],
    [fifo.fileid, nfsstat4.NFS4ERR_WRONG_TYPE],
    [dir.fileid, nfsstat4.NFS4ERR_ISDIR],
  ];
  for (const [id, s] of want) {
    assert.equal(await status(OP.OP_READ, read(), cs(id), nfs), s);
    assert.equal(await status(OP.OP_WRITE, write(), cs(id), nfs), s);
    assert.equal(
      await status(OP.OP_COMMIT, { offset: 0, count: 0 }, cs(id), nfs),
      s,
    );
  }
});

Deno.test("io 4.1: READ fits the session's largest reply", async () => {
  const { fs, nfs, cs } = setup();
  const f = await fs.create(ROOT, fs.root, "f");
  await fs.write(ROOT, f.fileid, 0, new Uint8Array(100_000));
  const c = cs(f.fileid);
  // What the COMPOUND already encoded, READ's 16 bytes of head, and 8192
  // bytes of data.
  c.replied = () => 100;
  c.maxResponse = 100 + 16 + 8192 + 3;
  const r = await ioOps.get(OP.OP_READ)!.run(read(65536), c, nfs);
  assert.equal(r.status, nfsstat4.NFS4_OK);
  assert.equal(r.resok4.data.byteLength, 8192, "a multiple of 4 that fits");
  assert.equal(r.resok4.eof, false);
  // An operation after READ keeps LATER_OPS_RESERVE for itself.
  c.opCount = 2;
  c.maxResponse += LATER_OPS_RESERVE;
  const mid = await ioOps.get(OP.OP_READ)!.run(read(65536), c, nfs);
  assert.equal(mid.resok4.data.byteLength, 8192);
  // Without a session limit only maxIo counts.
  const all = await ioOps.get(OP.OP_READ)!.run(read(65536), cs(f.fileid), nfs);
  assert.equal(all.resok4.data.byteLength, 65536);
});

Deno.test("io 4.1: the current stateid stands for seqid 1 and zeros", async () => {
  const { fs, nfs, exp, cs } = setup();
  const f = await fs.create(ROOT, fs.root, "f");
  const { clientid } = client41(nfs.state, "c", nfs.now());
  const o = nfs.state.open({
    minor: 1,
    clientid,
    owner: enc.encode("o"),
    file: stateFile(exp, f.fileid),
    access: ShareAccess.READ,
    deny: ShareDeny.NONE,
  }, nfs.now());
  assert.ok(!("replay" in o) && o.status === nfsstat4.NFS4_OK);
  const none = cs(f.fileid, clientid);
  assert.equal(
    await status(OP.OP_READ, read(10, CURRENT), none, nfs),
    nfsstat4.NFS4ERR_BAD_STATEID,
    "no current stateid yet",
  );
  const set = cs(f.fileid, clientid);
  set.currentStateid = o.stateid;
  assert.equal(
    await status(OP.OP_READ, read(10, CURRENT), set, nfs),
    nfsstat4.NFS4_OK,
  );
  assert.equal(
    await status(OP.OP_WRITE, write(CURRENT), set, nfs),
    nfsstat4.NFS4ERR_OPENMODE,
    "the open is for reading only",
  );
  const other = cs(f.fileid, clientid + 1n);
  assert.equal(
    await status(OP.OP_READ, read(10, o.stateid), other, nfs),
    nfsstat4.NFS4ERR_BAD_STATEID,
    "another client's stateid",
  );
});

Deno.test("io: READ's data is the file system's own when READ ends the COMPOUND, a copy otherwise", async () => {
  const { fs, nfs, cs } = setup();
  const f = await fs.create(ROOT, fs.root, "f");
  await fs.write(ROOT, f.fileid, 0, new Uint8Array(70000).fill(1));
  const own = (await fs.read(ROOT, f.fileid, 0, 70000)).data;
  const run = async (index: number, opCount: number) => {
    const c = cs(f.fileid);
    c.index = index;
    c.opCount = opCount;
    const r = await ioOps.get(OP.OP_READ)!.run(read(70000), c, nfs);
    assert.equal(r.status, nfsstat4.NFS4_OK);
    return r.resok4.data as Uint8Array;
  };
  assert.equal((await run(2, 3)).buffer, own.buffer, "last: not copied");
  const copy = await run(1, 3);
  assert.notEqual(copy.buffer, own.buffer, "not last: copied");
  assert.deepEqual(copy, own);
});
