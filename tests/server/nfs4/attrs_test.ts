import assert from "node:assert/strict";
import {
  ACCESS4_DELETE,
  ACCESS4_EXECUTE,
  ACCESS4_EXTEND,
  ACCESS4_LOOKUP,
  ACCESS4_MODIFY,
  ACCESS4_READ,
  bitmapBits,
  bitmapOf,
  FATTR4,
  type nfs_argop4,
  nfs_opnum4 as OP,
  time_how4,
} from "../../../proto/nfs4/mod.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { FileType, ROOT } from "../../../vfs/types.ts";
import { nfsstat4, resultOf, start4, sys } from "./_harness.ts";
import {
  attrsIn,
  bits,
  dec,
  fattr,
  fhIn,
  getattr,
  start41,
  walk,
} from "./_fsops.ts";

function access(mask: number): nfs_argop4 {
  return { argop: OP.OP_ACCESS, opaccess: { access: mask } };
}

const ALL = ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_MODIFY | ACCESS4_EXTEND |
  ACCESS4_DELETE | ACCESS4_EXECUTE;

/** Every attribute this server answers in 4.0, by number. */
const SUPPORTED_40 = [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  15,
  16,
  17,
  18,
  19,
  20,
  21,
  22,
  23,
  26,
  27,
  28,
  29,
  30,
  31,
  33,
  34,
  35,
  36,
  37,
  41,
  42,
  43,
  44,
  45,
  47,
  48,
  51,
  52,
  53,
  54,
  55,
];

Deno.test("GETATTR: the root's REQUIRED attributes", async () => {
  const h = await start4();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_GETFH },
      getattr(
        "supported_attrs",
        "type",
        "fh_expire_type",
        "change",
        "size",
        "link_support",
        "symlink_support",
        "named_attr",
        "fsid",
        "unique_handles",
        "lease_time",
        "rdattr_error",
        "filehandle",
      ),
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    const a = attrsIn(res);
    assert.deepEqual(bitmapBits(a.supported_attrs!), SUPPORTED_40);
    assert.equal(a.type, FileType.Directory);
    assert.equal(a.fh_expire_type, 0, "FH4_PERSISTENT");
    assert.equal(typeof a.change, "bigint");
    assert.equal(a.link_support, true);
    assert.equal(a.symlink_support, true);
    assert.equal(a.named_attr, false);
    assert.deepEqual(a.fsid, { major: 1n, minor: 1n }, "export 0 over fsid 1");
    assert.equal(a.unique_handles, true);
    assert.equal(a.lease_time, 90);
    assert.equal(a.rdattr_error, nfsstat4.NFS4_OK);
    assert.deepEqual(a.filehandle, fhIn(res));
  } finally {
    await h.close();
  }
});

Deno.test("GETATTR: recommended attributes from the VFS", async () => {
  const h = await start4();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f", {
      attrs: { mode: 0o640, uid: 1000, gid: 100 },
    });
    await h.fs.write(ROOT, f.fileid, 0, new Uint8Array(5));
    const res = await h.compound([
      ...walk("f"),
      getattr(
        "mode",
        "numlinks",
        "owner",
        "owner_group",
        "size",
        "space_used",
        "fileid",
        "mounted_on_fileid",
        "time_modify",
        "time_metadata",
        "time_access",
        "time_delta",
        "maxread",
        "maxwrite",
        "maxname",
        "maxfilesize",
        "rawdev",
        "case_insensitive",
        "case_preserving",
        "no_trunc",
        "chown_restricted",
        "homogeneous",
        "cansettime",
      ),
    ]);
    const a = attrsIn(res);
    const now = await h.fs.getattr(ROOT, f.fileid);
    assert.equal(a.mode, 0o640);
    assert.equal(a.numlinks, 1);
    assert.equal(dec.decode(a.owner), "1000");
    assert.equal(dec.decode(a.owner_group), "100");
    assert.equal(a.size, 5);
    assert.equal(a.fileid, f.fileid);
    assert.equal(a.mounted_on_fileid, f.fileid, "not a junction");
    assert.deepEqual(a.time_modify, {
      seconds: now.mtime.sec,
      nseconds: now.mtime.nsec,
    });
    assert.equal(a.maxread, 1 << 20);
    assert.equal(a.maxwrite, 1 << 20);
    assert.equal(a.maxname, 255);
    assert.deepEqual(a.rawdev, { specdata1: 0, specdata2: 0 });
    assert.equal(a.case_insensitive, false);
    assert.equal(a.case_preserving, true);
    assert.equal(a.no_trunc, true);
    assert.ok(a.time_delta !== undefined);
  } finally {
    await h.close();
  }
});

Deno.test("GETATTR: space and file counts come from statfs", async () => {
  const h = await start4({ fs: new MemFs({ capacityBytes: 1 << 30 }) });
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      getattr("space_total", "space_free", "space_avail", "files_total"),
    ]);
    const a = attrsIn(res);
    const s = await h.fs.statfs(ROOT, h.fs.root);
    assert.equal(a.space_total, 1 << 30);
    assert.equal(a.space_free, s.freeBytes);
    assert.equal(a.space_avail, s.availBytes);
    assert.equal(a.files_total, s.totalFiles);
  } finally {
    await h.close();
  }
});

Deno.test("GETATTR: unsupported and unknown attributes are left out", async () => {
  const h = await start4();
  try {
    const request = bitmapOf([FATTR4.type.bit, FATTR4.acl.bit, 75, 100]);
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_GETATTR, opgetattr: { attr_request: request } },
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    assert.deepEqual(
      attrsIn(res).mask,
      bits("type"),
      "acl, 4.1's suppattr_exclcreat and bit 100 are not answered in 4.0",
    );
  } finally {
    await h.close();
  }
});

Deno.test("GETATTR: a write-only attribute is INVAL", async () => {
  const h = await start4();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      getattr("type", "time_modify_set"),
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_INVAL);
  } finally {
    await h.close();
  }
});

Deno.test("GETATTR: without a current filehandle is NOFILEHANDLE", async () => {
  const h = await start4();
  try {
    const res = await h.compound([getattr("type")]);
    assert.equal(res.status, nfsstat4.NFS4ERR_NOFILEHANDLE);
  } finally {
    await h.close();
  }
});

Deno.test("GETATTR: change grows when a directory changes", async () => {
  const h = await start4();
  try {
    const ask = [{ argop: OP.OP_PUTROOTFH }, getattr("change")];
    const before = attrsIn(await h.compound(ask)).change!;
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    const after = attrsIn(await h.compound(ask)).change!;
    assert.ok(after > before, `${after} > ${before}`);
  } finally {
    await h.close();
  }
});

Deno.test("GETATTR: 4.1 adds suppattr_exclcreat", async () => {
  const h = await start41();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      getattr("supported_attrs", "suppattr_exclcreat"),
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    const a = attrsIn(res);
    assert.deepEqual(bitmapBits(a.supported_attrs!), [...SUPPORTED_40, 75]);
    assert.deepEqual(
      a.suppattr_exclcreat,
      bits("size", "mode", "owner", "owner_group"),
    );
  } finally {
    await h.close();
  }
});

Deno.test("GETATTR: owners as user@domain with an id mapping", async () => {
  const h = await start4({
    nfs4: {
      idMapping: {
        domain: "example.com",
        user: (uid) => uid === 1000 ? "alice" : undefined,
        group: (gid) => gid === 100 ? "users" : undefined,
      },
    },
  });
  try {
    await h.fs.create(ROOT, h.fs.root, "a", { attrs: { uid: 1000, gid: 7 } });
    await h.fs.create(ROOT, h.fs.root, "b", { attrs: { uid: 5, gid: 100 } });
    const ask = (name: string) =>
      h.compound([...walk(name), getattr("owner", "owner_group")]);
    const a = attrsIn(await ask("a"));
    const b = attrsIn(await ask("b"));
    assert.equal(dec.decode(a.owner), "alice@example.com");
    assert.equal(dec.decode(a.owner_group), "7", "unmapped ids go out numeric");
    assert.equal(dec.decode(b.owner), "5");
    assert.equal(dec.decode(b.owner_group), "users@example.com");
  } finally {
    await h.close();
  }
});

Deno.test("VERIFY and NVERIFY: equal and different attributes", async () => {
  const h = await start4();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f", {
      attrs: { mode: 0o644 },
    });
    const verify = (values: Parameters<typeof fattr>[0], n = false) =>
      h.compound([
        ...walk("f"),
        n
          ? {
            argop: OP.OP_NVERIFY,
            opnverify: { obj_attributes: fattr(values) },
          }
          : {
            argop: OP.OP_VERIFY,
            opverify: { obj_attributes: fattr(values) },
          },
      ]);
    const same = { mode: 0o644, fileid: f.fileid, type: FileType.Regular };
    assert.equal((await verify(same)).status, nfsstat4.NFS4_OK);
    assert.equal(
      (await verify({ mode: 0o600 })).status,
      nfsstat4.NFS4ERR_NOT_SAME,
    );
    assert.equal((await verify(same, true)).status, nfsstat4.NFS4ERR_SAME);
    assert.equal((await verify({ size: 3 }, true)).status, nfsstat4.NFS4_OK);
  } finally {
    await h.close();
  }
});

Deno.test("VERIFY: rdattr_error and write-only attributes are INVAL, unsupported ATTRNOTSUPP", async () => {
  const h = await start4();
  try {
    const v = (values: Parameters<typeof fattr>[0]) =>
      h.compound([
        { argop: OP.OP_PUTROOTFH },
        { argop: OP.OP_VERIFY, opverify: { obj_attributes: fattr(values) } },
      ]);
    assert.equal(
      (await v({ rdattr_error: nfsstat4.NFS4_OK })).status,
      nfsstat4.NFS4ERR_INVAL,
    );
    assert.equal(
      (await v({ time_access_set: { set_it: time_how4.SET_TO_SERVER_TIME4 } }))
        .status,
      nfsstat4.NFS4ERR_INVAL,
    );
    assert.equal(
      (await v({ archive: false })).status,
      nfsstat4.NFS4ERR_ATTRNOTSUPP,
    );
  } finally {
    await h.close();
  }
});

Deno.test("ACCESS: a directory supports every bit and grants by mode", async () => {
  const h = await start4();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "d", { mode: 0o755 });
    const root = await h.compound([...walk("d"), access(ALL)]);
    const r = resultOf(root, OP.OP_ACCESS).opaccess;
    assert.equal(r.status, nfsstat4.NFS4_OK);
    assert.deepEqual(r.status === 0 && r.resok4, {
      supported: ALL,
      access: ALL,
    });
    const other = await h.compound([...walk("d"), access(ALL)], {
      auth: sys(1000),
    });
    const o = resultOf(other, OP.OP_ACCESS).opaccess;
    assert.deepEqual(o.status === 0 && o.resok4, {
      supported: ALL,
      access: ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_EXECUTE,
    });
  } finally {
    await h.close();
  }
});

Deno.test("ACCESS: a file does not support LOOKUP or DELETE", async () => {
  const h = await start4();
  try {
    await h.fs.create(ROOT, h.fs.root, "f", { attrs: { mode: 0o600 } });
    const res = await h.compound([...walk("f"), access(ALL)], {
      auth: sys(1000),
    });
    const r = resultOf(res, OP.OP_ACCESS).opaccess;
    assert.deepEqual(r.status === 0 && r.resok4, {
      supported: ACCESS4_READ | ACCESS4_MODIFY | ACCESS4_EXTEND |
        ACCESS4_EXECUTE,
      access: 0,
    }, "mode 0600 of root gives uid 1000 nothing");
  } finally {
    await h.close();
  }
});

Deno.test("ACCESS: a read-only export grants no change bits", async () => {
  const h = await start4({ exports: [{ readOnly: true }] });
  try {
    const res = await h.compound([{ argop: OP.OP_PUTROOTFH }, access(ALL)]);
    const r = resultOf(res, OP.OP_ACCESS).opaccess;
    assert.deepEqual(r.status === 0 && r.resok4, {
      supported: ALL,
      access: ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_EXECUTE,
    });
  } finally {
    await h.close();
  }
});

Deno.test("ACCESS: a pseudo directory allows READ and LOOKUP", async () => {
  const h = await start4({ exports: [{ path: "/srv/a" }] });
  try {
    const res = await h.compound([{ argop: OP.OP_PUTROOTFH }, access(ALL)]);
    const r = resultOf(res, OP.OP_ACCESS).opaccess;
    assert.deepEqual(r.status === 0 && r.resok4, {
      supported: ALL,
      access: ACCESS4_READ | ACCESS4_LOOKUP,
    });
  } finally {
    await h.close();
  }
});

Deno.test("ACCESS: unknown bits are INVAL", async () => {
  const h = await start4();
  try {
    const res = await h.compound([{ argop: OP.OP_PUTROOTFH }, access(0x40)]);
    assert.equal(res.status, nfsstat4.NFS4ERR_INVAL);
  } finally {
    await h.close();
  }
});
