import assert from "node:assert/strict";
import {
  type change_info4,
  type COMPOUND4res,
  type createtype4,
  type Fattr4Values,
  type nfs_argop4,
  nfs_ftype4,
  nfs_opnum4 as OP,
} from "../../../proto/nfs4/mod.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { FileType, ROOT } from "../../../vfs/types.ts";
import { nfsstat4, resultOf, start4, sys } from "./_harness.ts";
import {
  attrsIn,
  bits,
  dec,
  enc,
  fattr,
  fhIn,
  getattr,
  walk,
} from "./_fsops.ts";

function create(
  objtype: createtype4,
  name: string,
  attrs: Fattr4Values = {},
): nfs_argop4 {
  return {
    argop: OP.OP_CREATE,
    opcreate: { objtype, objname: enc.encode(name), createattrs: fattr(attrs) },
  };
}

const DIR: createtype4 = { type: nfs_ftype4.NF4DIR };
const SAVE: nfs_argop4 = { argop: OP.OP_SAVEFH };

function cinfoOf(res: COMPOUND4res, op: number): change_info4[] {
  const r = resultOf(res, op as never) as unknown as Record<
    string,
    { status: number; resok4: Record<string, change_info4> }
  >;
  for (const k in r) {
    if (k === "resop") continue;
    const ok = r[k].resok4;
    return "cinfo" in ok ? [ok.cinfo] : [ok.source_cinfo, ok.target_cinfo];
  }
  return [];
}

function grew(c: change_info4): boolean {
  return c.after > c.before;
}

Deno.test("CREATE: a directory becomes the current filehandle", async () => {
  const h = await start4();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      create(DIR, "d", { mode: 0o700 }),
      getattr("type", "mode"),
      { argop: OP.OP_GETFH },
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    const r = resultOf(res, OP.OP_CREATE).opcreate;
    assert.ok(r.status === 0);
    assert.deepEqual(r.resok4.attrset, bits("mode"));
    assert.ok(grew(r.resok4.cinfo), "the root changed");
    assert.equal(r.resok4.cinfo.atomic, false);
    const a = attrsIn(res);
    assert.deepEqual([a.type, a.mode], [FileType.Directory, 0o700]);
    const found = await h.fs.lookup(ROOT, h.fs.root, "d");
    const again = attrsIn(
      await h.compound([
        { argop: OP.OP_PUTFH, opputfh: { object: fhIn(res) } },
        getattr("fileid"),
      ]),
    );
    assert.equal(again.fileid, found.fileid);
  } finally {
    await h.close();
  }
});

Deno.test("CREATE: a symlink, and READLINK reads it back", async () => {
  const h = await start4();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      create({ type: nfs_ftype4.NF4LNK, linkdata: enc.encode("../t") }, "l"),
      { argop: OP.OP_READLINK },
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    const r = resultOf(res, OP.OP_READLINK).opreadlink;
    assert.equal(r.status === 0 && dec.decode(r.resok4.link), "../t");
  } finally {
    await h.close();
  }
});

Deno.test("CREATE: devices, fifos and sockets", async () => {
  const h = await start4();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      create({
        type: nfs_ftype4.NF4CHR,
        devdata: { specdata1: 1, specdata2: 3 },
      }, "null"),
      getattr("type", "rawdev"),
      { argop: OP.OP_PUTROOTFH },
      create({ type: nfs_ftype4.NF4FIFO }, "fifo"),
      getattr("type"),
      { argop: OP.OP_PUTROOTFH },
      create({ type: nfs_ftype4.NF4SOCK }, "sock"),
      getattr("type"),
      { argop: OP.OP_PUTROOTFH },
      create({
        type: nfs_ftype4.NF4BLK,
        devdata: { specdata1: 8, specdata2: 0 },
      }, "blk"),
      getattr("type"),
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    const dev = attrsIn(res, 2);
    assert.equal(dev.type, FileType.Char);
    assert.deepEqual(dev.rawdev, { specdata1: 1, specdata2: 3 });
    assert.equal(attrsIn(res, 5).type, FileType.Fifo);
    assert.equal(attrsIn(res, 8).type, FileType.Socket);
    assert.equal(attrsIn(res, 11).type, FileType.Block);
  } finally {
    await h.close();
  }
});

Deno.test("CREATE: refusals", async () => {
  const h = await start4();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    const cases: [nfs_argop4, number, string][] = [
      [
        create({ type: nfs_ftype4.NF4REG }, "f"),
        nfsstat4.NFS4ERR_BADTYPE,
        "regular",
      ],
      [
        create({ type: nfs_ftype4.NF4ATTRDIR }, "f"),
        nfsstat4.NFS4ERR_BADTYPE,
        "attrdir",
      ],
      [
        create({ type: nfs_ftype4.NF4LNK, linkdata: new Uint8Array() }, "l"),
        nfsstat4.NFS4ERR_INVAL,
        "empty link",
      ],
      [create(DIR, "d"), nfsstat4.NFS4ERR_EXIST, "existing"],
      [create(DIR, ".."), nfsstat4.NFS4ERR_BADNAME, "dot-dot"],
      [create(DIR, "s", { size: 0 }), nfsstat4.NFS4ERR_INVAL, "size"],
      [
        create(DIR, "t", { time_modify: { seconds: 0, nseconds: 0 } }),
        nfsstat4.NFS4ERR_INVAL,
        "read-only attribute",
      ],
    ];
    for (const [op, want, what] of cases) {
      const res = await h.compound([{ argop: OP.OP_PUTROOTFH }, op]);
      assert.equal(res.status, want, what);
    }
    const other = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      create(DIR, "x"),
    ], {
      auth: sys(1000),
    });
    assert.equal(
      other.status,
      nfsstat4.NFS4ERR_ACCESS,
      "root's 0755 directory",
    );
    await h.fs.create(ROOT, h.fs.root, "file");
    const inFile = await h.compound([...walk("file"), create(DIR, "x")]);
    assert.equal(inFile.status, nfsstat4.NFS4ERR_NOTDIR);
  } finally {
    await h.close();
  }
});

Deno.test("LINK: a second name for a file", async () => {
  const h = await start4();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    const res = await h.compound([
      ...walk("f"),
      SAVE,
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_LOOKUP, oplookup: { objname: enc.encode("d") } },
      { argop: OP.OP_LINK, oplink: { newname: enc.encode("g") } },
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    assert.ok(grew(cinfoOf(res, OP.OP_LINK)[0]));
    const d = await h.fs.lookup(ROOT, h.fs.root, "d");
    assert.equal((await h.fs.lookup(ROOT, d.fileid, "g")).fileid, f.fileid);
    assert.equal((await h.fs.getattr(ROOT, f.fileid)).nlink, 2);
  } finally {
    await h.close();
  }
});

Deno.test("LINK: refusals (directory, across exports, no saved filehandle)", async () => {
  const other = new MemFs();
  const h = await start4({
    exports: [{ path: "/a" }, { path: "/b", fs: other }],
  });
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    await h.fs.create(ROOT, h.fs.root, "f");
    const link = (name: string): nfs_argop4 => ({
      argop: OP.OP_LINK,
      oplink: { newname: enc.encode(name) },
    });
    const dir = await h.compound([
      ...walk("/a/d"),
      SAVE,
      ...walk("/a"),
      link("x"),
    ]);
    assert.equal(dir.status, nfsstat4.NFS4ERR_ISDIR);
    const xdev = await h.compound([
      ...walk("/a/f"),
      SAVE,
      ...walk("/b"),
      link("x"),
    ]);
    assert.equal(xdev.status, nfsstat4.NFS4ERR_XDEV);
    const pseudo = await h.compound([
      ...walk("/a/f"),
      SAVE,
      ...walk("/"),
      link("x"),
    ]);
    assert.equal(pseudo.status, nfsstat4.NFS4ERR_ROFS);
    const unsaved = await h.compound([...walk("/a"), link("x")]);
    assert.equal(unsaved.status, nfsstat4.NFS4ERR_NOFILEHANDLE);
  } finally {
    await h.close();
  }
});

Deno.test("REMOVE: files and empty directories", async () => {
  const h = await start4();
  try {
    await h.fs.create(ROOT, h.fs.root, "f");
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    for (const name of ["f", "d"]) {
      const res = await h.compound([
        { argop: OP.OP_PUTROOTFH },
        { argop: OP.OP_REMOVE, opremove: { target: enc.encode(name) } },
      ]);
      assert.equal(res.status, nfsstat4.NFS4_OK, name);
      assert.ok(grew(cinfoOf(res, OP.OP_REMOVE)[0]));
    }
    const left = await h.fs.readdir(ROOT, h.fs.root);
    assert.deepEqual(left.entries, []);
  } finally {
    await h.close();
  }
});

Deno.test("REMOVE: refusals", async () => {
  const h = await start4();
  try {
    const d = await h.fs.mkdir(ROOT, h.fs.root, "d");
    await h.fs.create(ROOT, d.fileid, "inside");
    const rm = (name: string, auth = sys(0)) =>
      h.compound([
        { argop: OP.OP_PUTROOTFH },
        { argop: OP.OP_REMOVE, opremove: { target: enc.encode(name) } },
      ], { auth });
    assert.equal((await rm("d")).status, nfsstat4.NFS4ERR_NOTEMPTY);
    assert.equal((await rm("missing")).status, nfsstat4.NFS4ERR_NOENT);
    assert.equal((await rm(".")).status, nfsstat4.NFS4ERR_BADNAME);
    assert.equal((await rm("d", sys(1000))).status, nfsstat4.NFS4ERR_ACCESS);
  } finally {
    await h.close();
  }
});

Deno.test("RENAME: within and across directories, with both cinfos", async () => {
  const h = await start4();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    const rename = (from: string, to: string): nfs_argop4 => ({
      argop: OP.OP_RENAME,
      oprename: { oldname: enc.encode(from), newname: enc.encode(to) },
    });
    const same = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      SAVE,
      rename("f", "g"),
    ]);
    assert.equal(same.status, nfsstat4.NFS4_OK);
    const [s1, t1] = cinfoOf(same, OP.OP_RENAME);
    assert.ok(grew(s1));
    assert.deepEqual(s1, t1, "one directory: one change");
    const across = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      SAVE,
      { argop: OP.OP_LOOKUP, oplookup: { objname: enc.encode("d") } },
      rename("g", "h"),
    ]);
    assert.equal(across.status, nfsstat4.NFS4_OK);
    const [s2, t2] = cinfoOf(across, OP.OP_RENAME);
    assert.ok(grew(s2) && grew(t2));
    assert.notDeepEqual(s2, t2);
    const d = await h.fs.lookup(ROOT, h.fs.root, "d");
    assert.equal((await h.fs.lookup(ROOT, d.fileid, "h")).fileid, f.fileid);
  } finally {
    await h.close();
  }
});

Deno.test("RENAME: refusals (missing, across exports, read-only)", async () => {
  const h = await start4({
    exports: [{ path: "/a" }, { path: "/b", fs: new MemFs() }, {
      path: "/ro",
      fs: new MemFs(),
      readOnly: true,
    }],
  });
  try {
    await h.fs.create(ROOT, h.fs.root, "f");
    const rename: nfs_argop4 = {
      argop: OP.OP_RENAME,
      oprename: { oldname: enc.encode("f"), newname: enc.encode("g") },
    };
    const missing = await h.compound([...walk("/b"), SAVE, {
      argop: OP.OP_RENAME,
      oprename: { oldname: enc.encode("nope"), newname: enc.encode("g") },
    }]);
    assert.equal(missing.status, nfsstat4.NFS4ERR_NOENT);
    const xdev = await h.compound([...walk("/a"), SAVE, ...walk("/b"), rename]);
    assert.equal(xdev.status, nfsstat4.NFS4ERR_XDEV);
    const ro = await h.compound([...walk("/ro"), SAVE, rename]);
    assert.equal(ro.status, nfsstat4.NFS4ERR_ROFS);
    const unsaved = await h.compound([...walk("/a"), rename]);
    assert.equal(unsaved.status, nfsstat4.NFS4ERR_NOFILEHANDLE);
  } finally {
    await h.close();
  }
});

Deno.test("READLINK: anything but a symlink is INVAL", async () => {
  const h = await start4({ exports: [{ path: "/x" }] });
  try {
    await h.fs.create(ROOT, h.fs.root, "f");
    for (const path of ["/x/f", "/x", "/"]) {
      const res = await h.compound([...walk(path), { argop: OP.OP_READLINK }]);
      assert.equal(res.status, nfsstat4.NFS4ERR_INVAL, path);
    }
  } finally {
    await h.close();
  }
});
