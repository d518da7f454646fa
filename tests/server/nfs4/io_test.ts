// NFSv4 READ, WRITE and COMMIT over the wire. Without OPEN in this branch,
// the tests use the special stateids, and open stateids made straight in
// the server's state tables (as OPEN would), presented over the wire.
import assert from "node:assert/strict";
import {
  type COMPOUND4res,
  type nfs_argop4,
  nfs_opnum4 as OP,
  stable_how4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import { type ExportOptions, ExportTable } from "../../../server/exports.ts";
import { type Nfs4Options, Nfs4Server } from "../../../server/nfs4/context.ts";
import { stateFile } from "../../../server/nfs4/ops/_util.ts";
import { ShareAccess, ShareDeny } from "../../../server/nfs4/state/opens.ts";
import { LocalFs } from "../../../vfs/localfs.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import {
  type Credentials,
  type FileId,
  FileType,
  ROOT,
  type Stability,
} from "../../../vfs/types.ts";
import { nfsstat4, resultOf, start4, sys } from "./_harness.ts";

const enc = new TextEncoder();
const ANON: stateid4 = { seqid: 0, other: new Uint8Array(12) };
const BYPASS: stateid4 = {
  seqid: 0xffffffff,
  other: new Uint8Array(12).fill(0xff),
};
const VERF = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

/** MemFs that records the stability asked of it and answers its own. */
class StabilityFs extends MemFs {
  asked: (Stability | undefined)[] = [];
  answer: Stability | undefined;
  commits = 0;
  override async write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable?: Stability,
  ) {
    this.asked.push(stable);
    const r = await super.write(cred, id, offset, data, stable);
    return this.answer === undefined ? r : { ...r, committed: this.answer };
  }
  override commit(cred: Credentials, id: FileId) {
    this.commits++;
    return super.commit(cred, id);
  }
}

interface IoHarness {
  fs: StabilityFs;
  nfs: Nfs4Server;
  exports: ExportTable;
  compound(ops: nfs_argop4[], uid?: number): Promise<COMPOUND4res>;
  close(): Promise<void>;
}

async function start(
  options: {
    exports?: Partial<ExportOptions>[];
    nfs4?: Partial<Nfs4Options>;
  } = {},
): Promise<IoHarness> {
  const fs = new StabilityFs({ rootMode: 0o777 });
  const logged: string[] = [];
  const h = await start4({
    fs,
    exports: options.exports,
    nfs4: {
      graceTime: 0,
      writeVerifier: VERF,
      log: (m) => void logged.push(m),
      ...options.nfs4,
    },
  });
  return {
    fs,
    nfs: h.nfs,
    exports: h.exports,
    compound: (ops, uid) =>
      h.compound(ops, uid === undefined ? {} : { auth: sys(uid) }),
    async close() {
      await h.close();
      assert.deepEqual(logged, [], "no operation failed unexpectedly");
    },
  };
}

/** PUTROOTFH then LOOKUP of each component of `path`. */
function walk(path: string): nfs_argop4[] {
  return [
    { argop: OP.OP_PUTROOTFH },
    ...path.split("/").filter((c) => c !== "").map((c): nfs_argop4 => ({
      argop: OP.OP_LOOKUP,
      oplookup: { objname: enc.encode(c) },
    })),
  ];
}

function read(offset: number, count: number, stateid = ANON): nfs_argop4 {
  return { argop: OP.OP_READ, opread: { stateid, offset, count } };
}

function write(
  offset: number,
  data: Uint8Array,
  stable: stable_how4 = stable_how4.FILE_SYNC4,
  stateid = ANON,
): nfs_argop4 {
  return { argop: OP.OP_WRITE, opwrite: { stateid, offset, stable, data } };
}

const commit: nfs_argop4 = {
  argop: OP.OP_COMMIT,
  opcommit: { offset: 0, count: 0 },
};

async function file(h: IoHarness, name: string, content = "", mode = 0o644) {
  const f = await h.fs.create(ROOT, h.fs.root, name, { attrs: { mode } });
  if (content) await h.fs.write(ROOT, f.fileid, 0, enc.encode(content));
  return f.fileid;
}

function readOk(res: COMPOUND4res) {
  const r = resultOf(res, OP.OP_READ).opread;
  assert.equal(r.status, nfsstat4.NFS4_OK, `READ: ${r.status}`);
  return r.status === nfsstat4.NFS4_OK ? r.resok4 : assert.fail();
}

function writeOk(res: COMPOUND4res) {
  const r = resultOf(res, OP.OP_WRITE).opwrite;
  assert.equal(r.status, nfsstat4.NFS4_OK, `WRITE: ${r.status}`);
  return r.status === nfsstat4.NFS4_OK ? r.resok4 : assert.fail();
}

/** A confirmed 4.0 client's confirmed open of `fileid` (as OPEN gives). */
function open40(
  h: IoHarness,
  fileid: FileId,
  access: number,
  deny: number = ShareDeny.NONE,
  owner = "owner",
): stateid4 {
  const st = h.nfs.state;
  const sc = st.setClientId({
    verifier: new Uint8Array(8),
    id: enc.encode(`client-${owner}`),
    callback: { program: 1, netid: "tcp", addr: "127.0.0.1.0.1", ident: 0 },
    principal: `sys:0@${owner}`,
  }, h.nfs.now());
  assert.ok(sc.status === nfsstat4.NFS4_OK && "confirmVerifier" in sc);
  const cc = st.setClientIdConfirm({
    clientid: sc.clientid,
    verifier: sc.confirmVerifier,
    principal: `sys:0@${owner}`,
  }, h.nfs.now());
  assert.equal(cc.status, nfsstat4.NFS4_OK);
  const f = stateFile(h.exports.exports[0], fileid);
  const o = st.open({
    minor: 0,
    clientid: sc.clientid,
    owner: enc.encode(owner),
    seqid: 1,
    file: f,
    access,
    deny,
  }, h.nfs.now());
  assert.ok(!("replay" in o) && o.status === nfsstat4.NFS4_OK);
  o.seq!.finish(0, new Uint8Array(1));
  const c = st.openConfirm(
    { minor: 0, stateid: o.stateid, seqid: 2, file: f },
    h.nfs.now(),
  );
  assert.ok(!("replay" in c) && c.status === nfsstat4.NFS4_OK);
  c.seq!.finish(0, new Uint8Array(1));
  return c.stateid;
}

Deno.test("io: READ with the anonymous stateid answers the data and eof", async () => {
  const h = await start();
  try {
    await file(h, "f", "hello, world");
    const all = readOk(await h.compound([...walk("f"), read(0, 100)]));
    assert.equal(new TextDecoder().decode(all.data), "hello, world");
    assert.equal(all.eof, true, "a read reaching the end is eof");
    const part = readOk(await h.compound([...walk("f"), read(7, 3)]));
    assert.equal(new TextDecoder().decode(part.data), "wor");
    assert.equal(part.eof, false, "a read short of the end is not eof");
  } finally {
    await h.close();
  }
});

Deno.test("io: READ at and past the end is empty with eof", async () => {
  const h = await start();
  try {
    await file(h, "f", "abc");
    for (const offset of [3, 4, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      const r = readOk(await h.compound([...walk("f"), read(offset, 10)]));
      assert.equal(r.data.byteLength, 0, `offset ${offset}`);
      assert.equal(r.eof, true, `offset ${offset}`);
    }
  } finally {
    await h.close();
  }
});

Deno.test("io: READ of 1 MiB comes back whole, alone or before another result", async () => {
  const h = await start();
  try {
    const id = await file(h, "big");
    const data = crypto.getRandomValues(new Uint8Array(65536));
    for (let i = 0; i < 16; i++) {
      await h.fs.write(ROOT, id, i * 65536, data);
    }
    const r = readOk(await h.compound([...walk("big"), read(0, 1 << 20)]));
    assert.equal(r.data.byteLength, 1 << 20);
    assert.equal(r.eof, true);
    for (let i = 0; i < 16; i++) {
      assert.deepEqual(r.data.subarray(i * 65536, (i + 1) * 65536), data);
    }
    // A result after the data: the writer copies it in, same encoding.
    const res = await h.compound([
      ...walk("big"),
      read(65536, 65536),
      { argop: OP.OP_GETFH },
    ]);
    assert.deepEqual(readOk(res).data, data);
    assert.equal(resultOf(res, OP.OP_GETFH).opgetfh.status, nfsstat4.NFS4_OK);
  } finally {
    await h.close();
  }
});

Deno.test("io: READ answers the data as it was before a WRITE later in the COMPOUND", async () => {
  const h = await start();
  try {
    const id = await file(h, "f");
    // Large enough to be sent by reference, small enough for one chunk.
    await h.fs.write(ROOT, id, 0, new Uint8Array(70000).fill(0x61));
    const res = await h.compound([
      ...walk("f"),
      read(0, 70000),
      write(0, new Uint8Array(70000).fill(0x62)),
      read(0, 70000),
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    const [before, after] = res.resarray.filter((r) => r.resop === OP.OP_READ)
      .map((r) =>
        r.resop === OP.OP_READ && r.opread.status === 0
          ? r.opread.resok4.data
          : assert.fail()
      );
    assert.ok(
      before.every((b) => b === 0x61),
      "the first READ saw the old data",
    );
    assert.ok(after.every((b) => b === 0x62), "the second READ saw the write");
  } finally {
    await h.close();
  }
});

Deno.test("io: READ asks the file system for at most maxIo bytes", async () => {
  const h = await start({ nfs4: { maxIo: 4096 } });
  try {
    const id = await file(h, "f");
    await h.fs.write(ROOT, id, 0, new Uint8Array(10000).fill(7));
    const r = readOk(await h.compound([...walk("f"), read(0, 10000)]));
    assert.equal(r.data.byteLength, 4096, "clamped to maxIo");
    assert.equal(r.eof, false);
    const count0 = readOk(await h.compound([...walk("f"), read(0, 0)]));
    assert.equal(count0.data.byteLength, 0);
  } finally {
    await h.close();
  }
});

Deno.test("io: READ-bypass reads, but does not write (BAD_STATEID)", async () => {
  const h = await start();
  try {
    await file(h, "f", "data");
    const r = readOk(await h.compound([...walk("f"), read(0, 4, BYPASS)]));
    assert.equal(new TextDecoder().decode(r.data), "data");
    const w = await h.compound([
      ...walk("f"),
      write(0, enc.encode("x"), 2, BYPASS),
    ]);
    assert.equal(w.status, nfsstat4.NFS4ERR_BAD_STATEID);
  } finally {
    await h.close();
  }
});

Deno.test("io: READ and WRITE with a malformed special stateid are BAD_STATEID", async () => {
  const h = await start();
  try {
    await file(h, "f", "data");
    // Zeros with seqid 1 is 4.1's current stateid: in 4.0 it is no stateid.
    const zeros1 = { seqid: 1, other: new Uint8Array(12) };
    const ones0 = { seqid: 0, other: new Uint8Array(12).fill(0xff) };
    for (const s of [zeros1, ones0]) {
      const r = await h.compound([...walk("f"), read(0, 4, s)]);
      assert.equal(r.status, nfsstat4.NFS4ERR_BAD_STATEID);
      const w = await h.compound([
        ...walk("f"),
        write(0, enc.encode("x"), 2, s),
      ]);
      assert.equal(w.status, nfsstat4.NFS4ERR_BAD_STATEID);
    }
  } finally {
    await h.close();
  }
});

Deno.test("io: an open stateid reads and writes its file, not another", async () => {
  const h = await start();
  try {
    const a = await file(h, "a", "aaaa");
    await file(h, "b", "bbbb");
    const sid = open40(h, a, ShareAccess.BOTH);
    const r = readOk(await h.compound([...walk("a"), read(0, 4, sid)]));
    assert.equal(new TextDecoder().decode(r.data), "aaaa");
    writeOk(
      await h.compound([...walk("a"), write(0, enc.encode("A"), 2, sid)]),
    );
    assert.equal(
      (await h.compound([...walk("b"), read(0, 4, sid)])).status,
      nfsstat4.NFS4ERR_BAD_STATEID,
      "the stateid of a is not one for b",
    );
    const stale = { seqid: sid.seqid + 1, other: sid.other };
    assert.equal(
      (await h.compound([...walk("a"), read(0, 4, stale)])).status,
      nfsstat4.NFS4ERR_BAD_STATEID,
      "a seqid from the future",
    );
  } finally {
    await h.close();
  }
});

Deno.test("io: a read-only open refuses WRITE with OPENMODE", async () => {
  const h = await start();
  try {
    const a = await file(h, "a", "aaaa");
    const sid = open40(h, a, ShareAccess.READ);
    readOk(await h.compound([...walk("a"), read(0, 4, sid)]));
    const w = await h.compound([
      ...walk("a"),
      write(0, enc.encode("x"), 2, sid),
    ]);
    assert.equal(w.status, nfsstat4.NFS4ERR_OPENMODE);
  } finally {
    await h.close();
  }
});

Deno.test("io: an open denying writes makes an anonymous WRITE LOCKED; READ still works", async () => {
  const h = await start();
  try {
    const a = await file(h, "a", "aaaa");
    open40(h, a, ShareAccess.READ, ShareDeny.WRITE);
    const w = await h.compound([...walk("a"), write(0, enc.encode("x"))]);
    assert.equal(w.status, nfsstat4.NFS4ERR_LOCKED);
    readOk(await h.compound([...walk("a"), read(0, 4)]));
    assert.equal(
      (await h.fs.read(ROOT, a, 0, 4)).data[0],
      "a".charCodeAt(0),
      "nothing was written",
    );
  } finally {
    await h.close();
  }
});

Deno.test("io: READ, WRITE and COMMIT of a directory are ISDIR", async () => {
  const h = await start();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    for (const op of [read(0, 10), write(0, enc.encode("x")), commit]) {
      const r = await h.compound([...walk("d"), op]);
      assert.equal(r.status, nfsstat4.NFS4ERR_ISDIR, `op ${op.argop}`);
    }
  } finally {
    await h.close();
  }
});

Deno.test("io: in 4.0 a symlink or a FIFO is INVAL for READ, WRITE and COMMIT", async () => {
  const h = await start();
  try {
    await h.fs.symlink(ROOT, h.fs.root, "link", "target");
    await h.fs.mknod(ROOT, h.fs.root, "fifo", { type: FileType.Fifo });
    for (const name of ["link", "fifo"]) {
      for (const op of [read(0, 10), write(0, enc.encode("x")), commit]) {
        const r = await h.compound([...walk(name), op]);
        assert.equal(
          r.status,
          nfsstat4.NFS4ERR_INVAL,
          `${name} op ${op.argop}`,
        );
      }
    }
  } finally {
    await h.close();
  }
});

Deno.test("io: a pseudo directory is ISDIR for READ and COMMIT, ROFS for WRITE", async () => {
  const fs = new MemFs();
  const h = await start({ exports: [{ path: "/data", fs }] });
  try {
    const root = [{ argop: OP.OP_PUTROOTFH } as nfs_argop4];
    assert.equal(
      (await h.compound([...root, read(0, 1)])).status,
      nfsstat4.NFS4ERR_ISDIR,
    );
    assert.equal(
      (await h.compound([...root, commit])).status,
      nfsstat4.NFS4ERR_ISDIR,
    );
    assert.equal(
      (await h.compound([...root, write(0, enc.encode("x"))])).status,
      nfsstat4.NFS4ERR_ROFS,
    );
  } finally {
    await h.close();
  }
});

Deno.test("io: READ, WRITE and COMMIT without a filehandle are NOFILEHANDLE", async () => {
  const h = await start();
  try {
    for (const op of [read(0, 1), write(0, enc.encode("x")), commit]) {
      const r = await h.compound([op]);
      assert.equal(r.status, nfsstat4.NFS4ERR_NOFILEHANDLE, `op ${op.argop}`);
    }
  } finally {
    await h.close();
  }
});

Deno.test("io: WRITE writes, says how much, and carries the write verifier", async () => {
  const h = await start();
  try {
    const id = await file(h, "f", "0123456789");
    const w = writeOk(
      await h.compound([...walk("f"), write(2, enc.encode("abc"))]),
    );
    assert.equal(w.count, 3);
    assert.equal(w.committed, stable_how4.FILE_SYNC4);
    assert.deepEqual(w.writeverf, VERF);
    const back = await h.fs.read(ROOT, id, 0, 100);
    assert.equal(new TextDecoder().decode(back.data), "01abc56789");
    // Past the end: the file grows with a hole.
    writeOk(await h.compound([...walk("f"), write(20, enc.encode("z"))]));
    assert.equal((await h.fs.getattr(ROOT, id)).size, 21);
    // An empty WRITE succeeds with count 0.
    const empty = writeOk(
      await h.compound([...walk("f"), write(0, new Uint8Array())]),
    );
    assert.equal(empty.count, 0);
  } finally {
    await h.close();
  }
});

Deno.test("io: WRITE passes stable_how to the file system and answers what it did", async () => {
  const h = await start();
  try {
    await file(h, "f");
    const cases: [stable_how4, Stability, Stability, stable_how4][] = [
      [stable_how4.UNSTABLE4, "unstable", "unstable", stable_how4.UNSTABLE4],
      [stable_how4.DATA_SYNC4, "data", "data", stable_how4.DATA_SYNC4],
      [stable_how4.FILE_SYNC4, "file", "file", stable_how4.FILE_SYNC4],
      // A file system may do better than asked; the reply says so.
      [stable_how4.UNSTABLE4, "unstable", "file", stable_how4.FILE_SYNC4],
    ];
    for (const [how, asked, answer, committed] of cases) {
      h.fs.asked = [];
      h.fs.answer = answer;
      const w = writeOk(
        await h.compound([...walk("f"), write(0, enc.encode("x"), how)]),
      );
      assert.deepEqual(h.fs.asked, [asked]);
      assert.equal(w.committed, committed);
    }
  } finally {
    await h.close();
  }
});

Deno.test("io: WRITE of more than maxIo writes maxIo bytes and says so", async () => {
  const h = await start({ nfs4: { maxIo: 4096 } });
  try {
    const id = await file(h, "f");
    const w = writeOk(
      await h.compound([...walk("f"), write(0, new Uint8Array(5000).fill(1))]),
    );
    assert.equal(w.count, 4096);
    assert.equal((await h.fs.getattr(ROOT, id)).size, 4096);
  } finally {
    await h.close();
  }
});

Deno.test("io: WRITE to a read-only export is ROFS and changes nothing", async () => {
  const h = await start({ exports: [{ readOnly: true }] });
  try {
    const id = await file(h, "f", "abc");
    const r = await h.compound([...walk("f"), write(0, enc.encode("x"))]);
    assert.equal(r.status, nfsstat4.NFS4ERR_ROFS);
    assert.equal(
      new TextDecoder().decode((await h.fs.read(ROOT, id, 0, 3)).data),
      "abc",
    );
    // Reading and committing a read-only export still work.
    readOk(await h.compound([...walk("f"), read(0, 3)]));
    assert.equal(
      (await h.compound([...walk("f"), commit])).status,
      nfsstat4.NFS4_OK,
    );
  } finally {
    await h.close();
  }
});

Deno.test("io: READ and WRITE without permission are ACCESS", async () => {
  const h = await start();
  try {
    await file(h, "secret", "hidden", 0o600);
    const r = await h.compound([...walk("secret"), read(0, 6)], 1000);
    assert.equal(r.status, nfsstat4.NFS4ERR_ACCESS);
    await file(h, "readonly", "text", 0o644);
    const w = await h.compound(
      [...walk("readonly"), write(0, enc.encode("x"))],
      1000,
    );
    assert.equal(w.status, nfsstat4.NFS4ERR_ACCESS);
  } finally {
    await h.close();
  }
});

Deno.test("io: WRITE past the largest file size is FBIG", async () => {
  const h = await start();
  try {
    await file(h, "f");
    const r = await h.compound([
      ...walk("f"),
      write(Number.MAX_SAFE_INTEGER, enc.encode("x")),
    ]);
    assert.equal(r.status, nfsstat4.NFS4ERR_FBIG);
  } finally {
    await h.close();
  }
});

Deno.test("io: COMMIT flushes the file and answers the write verifier", async () => {
  const h = await start();
  try {
    await file(h, "f", "data");
    for (const range of [{ offset: 0, count: 0 }, { offset: 2, count: 1 }]) {
      const before = h.fs.commits;
      const res = await h.compound([
        ...walk("f"),
        { argop: OP.OP_COMMIT, opcommit: range },
      ]);
      const c = resultOf(res, OP.OP_COMMIT).opcommit;
      assert.equal(c.status, nfsstat4.NFS4_OK);
      assert.deepEqual(c.status === 0 && c.resok4.writeverf, VERF);
      assert.equal(h.fs.commits, before + 1, "the file system committed");
    }
  } finally {
    await h.close();
  }
});

Deno.test("io: over LocalFs, WRITE then READ round-trips and a directory is ISDIR", async () => {
  const dir = await Deno.makeTempDir();
  const fs = await LocalFs.open(dir);
  const h = await start({ exports: [{ fs }] });
  try {
    await Deno.writeTextFile(`${dir}/f`, "");
    await Deno.mkdir(`${dir}/d`);
    for (const how of [stable_how4.UNSTABLE4, stable_how4.FILE_SYNC4]) {
      const w = writeOk(
        await h.compound([
          ...walk("f"),
          write(0, enc.encode(`data ${how}`), how),
        ]),
      );
      assert.equal(w.count, 6);
      assert.equal(await Deno.readTextFile(`${dir}/f`), `data ${how}`);
      const r = readOk(await h.compound([...walk("f"), read(0, 100)]));
      assert.equal(new TextDecoder().decode(r.data), `data ${how}`);
    }
    for (const op of [read(0, 1), write(0, enc.encode("x")), commit]) {
      const r = await h.compound([...walk("d"), op]);
      assert.equal(r.status, nfsstat4.NFS4ERR_ISDIR, `op ${op.argop}`);
    }
  } finally {
    await h.close();
    await fs.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("io: the write verifier differs between server instances", () => {
  const exports = new ExportTable([{ path: "/", fs: new MemFs() }]);
  const a = new Nfs4Server({ exports });
  const b = new Nfs4Server({ exports });
  assert.equal(a.writeVerf.byteLength, 8);
  assert.notDeepEqual(a.writeVerf, b.writeVerf);
});
