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
  type stateid4,
  time_how4,
} from "../../../proto/nfs4/mod.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { FileType, ROOT } from "../../../vfs/types.ts";
import { nfsstat4, resultOf, start4, sys } from "./_harness.ts";
import { client40, must } from "./state/_helpers.ts";
import { ShareAccess, ShareDeny } from "../../../server/nfs4/state/opens.ts";
import { stateFile } from "../../../server/nfs4/ops/_util.ts";
import {
  attrsIn,
  bits,
  dec,
  fattr,
  fhIn,
  getattr,
  start41,
  startState,
  type StateHarness,
  walk,
} from "./_fsops.ts";

const ANON: stateid4 = { seqid: 0, other: new Uint8Array(12) };

function setattr(values: Parameters<typeof fattr>[0], stateid = ANON) {
  return {
    argop: OP.OP_SETATTR,
    opsetattr: { stateid, obj_attributes: fattr(values) },
  } as nfs_argop4;
}

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

Deno.test("SETATTR: mode, and attrsset names what was set", async () => {
  const h = await start4();
  try {
    await h.fs.create(ROOT, h.fs.root, "f");
    const res = await h.compound([
      ...walk("f"),
      setattr({ mode: 0o600 }),
      getattr("mode"),
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    assert.deepEqual(
      resultOf(res, OP.OP_SETATTR).opsetattr.attrsset,
      bits("mode"),
    );
    assert.equal(attrsIn(res).mode, 0o600);
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: owners numeric or mapped; unknown names are BADOWNER", async () => {
  const h = await start4({
    nfs4: {
      idMapping: {
        domain: "Example.COM",
        uidOf: (n) => n === "alice" ? 1000 : undefined,
        gidOf: (n) => n === "users" ? 100 : undefined,
      },
    },
  });
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    const enc = new TextEncoder();
    const ok1 = await h.compound([
      ...walk("f"),
      setattr({
        owner: enc.encode("1234"),
        owner_group: enc.encode("users@example.com"),
      }),
    ]);
    assert.equal(ok1.status, nfsstat4.NFS4_OK);
    let a = await h.fs.getattr(ROOT, f.fileid);
    assert.deepEqual([a.uid, a.gid], [1234, 100]);
    const ok2 = await h.compound([
      ...walk("f"),
      setattr({ owner: enc.encode("alice@example.com") }),
    ]);
    assert.equal(ok2.status, nfsstat4.NFS4_OK);
    a = await h.fs.getattr(ROOT, f.fileid);
    assert.equal(a.uid, 1000);
    const zeros = await h.compound([
      ...walk("f"),
      setattr({ owner: enc.encode("0042@example.com") }),
    ]);
    assert.equal(
      zeros.status,
      nfsstat4.NFS4_OK,
      "numeric@domain, leading zeros",
    );
    assert.equal((await h.fs.getattr(ROOT, f.fileid)).uid, 42);
    for (
      const bad of [
        "bob@example.com",
        "alice@other.org",
        "-1",
        "12x",
        "",
        "4294967296",
      ]
    ) {
      const res = await h.compound([
        ...walk("f"),
        setattr({ owner: enc.encode(bad) }),
      ]);
      assert.equal(res.status, nfsstat4.NFS4ERR_BADOWNER, bad);
      assert.deepEqual(resultOf(res, OP.OP_SETATTR).opsetattr.attrsset, []);
    }
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: without a mapping, names are BADOWNER", async () => {
  const h = await start4();
  try {
    await h.fs.create(ROOT, h.fs.root, "f");
    const res = await h.compound([
      ...walk("f"),
      setattr({ owner: new TextEncoder().encode("root@localdomain") }),
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_BADOWNER);
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: read-only attributes are INVAL, unsupported ones ATTRNOTSUPP", async () => {
  const h = await start4();
  try {
    await h.fs.create(ROOT, h.fs.root, "f");
    const ro = await h.compound([
      ...walk("f"),
      setattr({ time_modify: { seconds: 1, nseconds: 0 } }),
    ]);
    assert.equal(ro.status, nfsstat4.NFS4ERR_INVAL);
    assert.deepEqual(resultOf(ro, OP.OP_SETATTR).opsetattr.attrsset, []);
    const unsupported = await h.compound([
      ...walk("f"),
      setattr({ hidden: true }),
    ]);
    assert.equal(unsupported.status, nfsstat4.NFS4ERR_ATTRNOTSUPP);
    const unknown = await h.compound([
      ...walk("f"),
      {
        argop: OP.OP_SETATTR,
        opsetattr: {
          stateid: ANON,
          obj_attributes: {
            attrmask: bitmapOf([100]),
            attr_vals: new Uint8Array(4),
          },
        },
      },
    ]);
    assert.equal(unknown.status, nfsstat4.NFS4ERR_ATTRNOTSUPP);
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: bad values are INVAL, garbled ones BADXDR", async () => {
  const h = await start4();
  try {
    await h.fs.create(ROOT, h.fs.root, "f");
    const mode = await h.compound([...walk("f"), setattr({ mode: 0o10000 })]);
    assert.equal(mode.status, nfsstat4.NFS4ERR_INVAL);
    const nsec = await h.compound([
      ...walk("f"),
      setattr({
        time_modify_set: {
          set_it: time_how4.SET_TO_CLIENT_TIME4,
          time: { seconds: 1, nseconds: 1e9 },
        },
      }),
    ]);
    assert.equal(nsec.status, nfsstat4.NFS4ERR_INVAL);
    const short = await h.compound([
      ...walk("f"),
      {
        argop: OP.OP_SETATTR,
        opsetattr: {
          stateid: ANON,
          obj_attributes: {
            attrmask: bits("size"),
            attr_vals: new Uint8Array(4),
          },
        },
      },
    ]);
    assert.equal(short.status, nfsstat4.NFS4ERR_BADXDR);
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: times to a client time and to the server's", async () => {
  const h = await start4();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    const res = await h.compound([
      ...walk("f"),
      setattr({
        time_access_set: { set_it: time_how4.SET_TO_SERVER_TIME4 },
        time_modify_set: {
          set_it: time_how4.SET_TO_CLIENT_TIME4,
          time: { seconds: 1000, nseconds: 5 },
        },
      }),
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    assert.deepEqual(
      resultOf(res, OP.OP_SETATTR).opsetattr.attrsset,
      bits("time_access_set", "time_modify_set"),
    );
    const a = await h.fs.getattr(ROOT, f.fileid);
    assert.deepEqual(a.mtime, { sec: 1000, nsec: 5 });
    assert.ok(a.atime.sec >= f.atime.sec && a.atime.sec > 1000);
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: size with the anonymous stateid truncates", async () => {
  const h = await start4();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    await h.fs.write(ROOT, f.fileid, 0, new Uint8Array(100));
    const res = await h.compound([
      ...walk("f"),
      setattr({ size: 10 }),
      getattr("size"),
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    assert.equal(attrsIn(res).size, 10);
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: size with a stateid the server never gave is refused", async () => {
  const h = await start4();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    await h.fs.write(ROOT, f.fileid, 0, new Uint8Array(100));
    const other = new Uint8Array(12).fill(7);
    const res = await h.compound([
      ...walk("f"),
      setattr({ size: 0 }, { seqid: 1, other }),
    ]);
    assert.equal(
      res.status,
      nfsstat4.NFS4ERR_STALE_STATEID,
      "4.0: an other of another boot is stale",
    );
    assert.equal((await h.fs.getattr(ROOT, f.fileid)).size, 100);
    // Without a size, the stateid is not looked at.
    const mode = await h.compound([
      ...walk("f"),
      setattr({ mode: 0o600 }, { seqid: 1, other }),
    ]);
    assert.equal(mode.status, nfsstat4.NFS4_OK);
  } finally {
    await h.close();
  }
});

/** A confirmed 4.0 open of `fileid` with `access`, as OPEN would leave it. */
function open40(h: StateHarness, fileid: number, access: number): stateid4 {
  const st = h.nfs.state;
  const now = h.nfs.now();
  const clientid = client40(st, `c${access}`, now);
  const o = must(st.open({
    minor: 0,
    clientid,
    owner: new TextEncoder().encode("owner"),
    seqid: 1,
    file: stateFile(h.exports.exports[0], fileid),
    access,
    deny: ShareDeny.NONE,
  }, now));
  o.seq!.finish(0, new Uint8Array(1));
  return must(st.openConfirm({
    minor: 0,
    stateid: o.stateid,
    seqid: 2,
    file: stateFile(h.exports.exports[0], fileid),
  }, now)).stateid;
}

Deno.test("SETATTR: size with an open stateid needs write access", async () => {
  const h = await startState();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    await h.fs.write(ROOT, f.fileid, 0, new Uint8Array(100));
    const reading = open40(h, f.fileid, ShareAccess.READ);
    const ro = await h.compound([...walk("f"), setattr({ size: 1 }, reading)]);
    assert.equal(ro.status, nfsstat4.NFS4ERR_OPENMODE);
    assert.equal((await h.fs.getattr(ROOT, f.fileid)).size, 100);
    const writing = open40(h, f.fileid, ShareAccess.BOTH);
    const rw = await h.compound([...walk("f"), setattr({ size: 1 }, writing)]);
    assert.equal(rw.status, nfsstat4.NFS4_OK);
    assert.equal((await h.fs.getattr(ROOT, f.fileid)).size, 1);
    const g = await h.fs.create(ROOT, h.fs.root, "g");
    const elsewhere = await h.compound([
      ...walk("g"),
      setattr({ size: 0 }, writing),
    ]);
    assert.equal(
      elsewhere.status,
      nfsstat4.NFS4ERR_BAD_STATEID,
      "a stateid of another file",
    );
    assert.ok(g.fileid !== f.fileid);
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: the anonymous stateid is refused while an open denies writes", async () => {
  const h = await startState();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    const st = h.nfs.state;
    const now = h.nfs.now();
    const o = must(st.open({
      minor: 0,
      clientid: client40(st, "denier", now),
      owner: new TextEncoder().encode("o"),
      seqid: 1,
      file: stateFile(h.exports.exports[0], f.fileid),
      access: ShareAccess.READ,
      deny: ShareDeny.WRITE,
    }, now));
    o.seq!.finish(0, new Uint8Array(1));
    const res = await h.compound([...walk("f"), setattr({ size: 0 })]);
    assert.equal(res.status, nfsstat4.NFS4ERR_LOCKED);
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: 4.1's current stateid without one is BAD_STATEID", async () => {
  const h = await start41();
  try {
    await h.fs.create(ROOT, h.fs.root, "f");
    const res = await h.compound([
      ...walk("f"),
      setattr({ size: 0 }, { seqid: 1, other: new Uint8Array(12) }),
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_BAD_STATEID);
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: size of a directory is ISDIR, of a symlink INVAL", async () => {
  const h = await start4();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    await h.fs.symlink(ROOT, h.fs.root, "l", "d");
    const d = await h.compound([...walk("d"), setattr({ size: 0 })]);
    assert.equal(d.status, nfsstat4.NFS4ERR_ISDIR);
    const l = await h.compound([...walk("l"), setattr({ size: 0 })]);
    assert.equal(l.status, nfsstat4.NFS4ERR_INVAL);
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: a pseudo directory or a read-only export is ROFS", async () => {
  const h = await start4({
    exports: [{ path: "/ro", readOnly: true }],
  });
  try {
    const pseudo = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      setattr({ mode: 0o700 }),
    ]);
    assert.equal(pseudo.status, nfsstat4.NFS4ERR_ROFS);
    const ro = await h.compound([...walk("ro"), setattr({ mode: 0o700 })]);
    assert.equal(ro.status, nfsstat4.NFS4ERR_ROFS);
    assert.deepEqual(resultOf(ro, OP.OP_SETATTR).opsetattr.attrsset, []);
  } finally {
    await h.close();
  }
});

Deno.test("SETATTR: another user's file is PERM", async () => {
  const h = await start4();
  try {
    await h.fs.create(ROOT, h.fs.root, "f");
    const res = await h.compound([...walk("f"), setattr({ mode: 0o777 })], {
      auth: sys(1000),
    });
    assert.equal(res.status, nfsstat4.NFS4ERR_PERM);
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
