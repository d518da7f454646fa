// Extended attributes over NFSv4.2 (RFC 8276) on the wire, on MemFs and on
// LocalFs's native engine: GETXATTR, SETXATTR, LISTXATTRS, REMOVEXATTR,
// xattr_support and ACCESS's xattr bits.
import assert from "node:assert/strict";
import {
  ACCESS4_XALIST,
  ACCESS4_XAREAD,
  ACCESS4_XAWRITE,
  type COMPOUND4res,
  type LISTXATTRS4resok,
  type nfs_argop4,
  setxattr_option4,
} from "../../../proto/nfs4/mod.ts";
import {
  MAX_XATTR_NAME,
  MAX_XATTR_VALUE,
} from "../../../server/nfs4/ops/xattrs.ts";
import { ROOT } from "../../../vfs/types.ts";
import { session41 } from "./_clients.ts";
import { resultOf, sys } from "./_harness.ts";
import { attrsIn, getattr } from "./_fsops.ts";
import {
  at,
  enc,
  expectStatus,
  filled,
  makeFile,
  nfsstat4,
  OP,
  plain,
  test42,
  type V42,
} from "./_v42.ts";

const dec = new TextDecoder();
const { SETXATTR4_EITHER: EITHER, SETXATTR4_CREATE: CREATE } = setxattr_option4;
const REPLACE = setxattr_option4.SETXATTR4_REPLACE;

function setOp(
  name: string | Uint8Array,
  value: Uint8Array,
  option: setxattr_option4 = EITHER,
): nfs_argop4 {
  return {
    argop: OP.OP_SETXATTR,
    opsetxattr: {
      sxa_option: option,
      sxa_key: typeof name === "string" ? enc.encode(name) : name,
      sxa_value: value,
    },
  };
}

function getOp(name: string | Uint8Array): nfs_argop4 {
  return {
    argop: OP.OP_GETXATTR,
    opgetxattr: {
      gxa_name: typeof name === "string" ? enc.encode(name) : name,
    },
  };
}

function removeOp(name: string): nfs_argop4 {
  return {
    argop: OP.OP_REMOVEXATTR,
    opremovexattr: { rxa_name: enc.encode(name) },
  };
}

function listOp(cookie: bigint, maxcount: number): nfs_argop4 {
  return {
    argop: OP.OP_LISTXATTRS,
    oplistxattrs: { lxa_cookie: cookie, lxa_maxcount: maxcount },
  };
}

function valueOf(res: COMPOUND4res): Uint8Array {
  const r = resultOf(res, OP.OP_GETXATTR).opgetxattr;
  assert.ok(r.gxr_status === nfsstat4.NFS4_OK, `GETXATTR: ${r.gxr_status}`);
  return r.gxr_value;
}

function listed(res: COMPOUND4res): LISTXATTRS4resok {
  const r = resultOf(res, OP.OP_LISTXATTRS).oplistxattrs;
  assert.ok(r.lxr_status === nfsstat4.NFS4_OK, `LISTXATTRS: ${r.lxr_status}`);
  return r.lxr_value;
}

async function idOf(v: V42, name: string): Promise<number> {
  return (await v.fs.lookup(ROOT, v.fs.root, name)).fileid;
}

test42(
  "SETXATTR and GETXATTR: a value round-trips, stored as a user. xattr",
  async (v) => {
    await makeFile(v.fs, "f");
    const value = enc.encode("blue");
    expectStatus(
      await v.call([...at("f"), setOp("colour", value)]),
      nfsstat4.NFS4_OK,
      "SETXATTR",
    );
    assert.deepEqual(
      valueOf(await v.call([...at("f"), getOp("colour")])),
      value,
    );
    const id = await idOf(v, "f");
    assert.deepEqual(
      await v.fs.xattrs!.getxattr(ROOT, id, "user.colour"),
      value,
      "the file system holds it in the user. namespace",
    );
    // Empty values are values too.
    expectStatus(
      await v.call([...at("f"), setOp("empty", new Uint8Array())]),
      nfsstat4.NFS4_OK,
      "empty value",
    );
    assert.deepEqual(
      valueOf(await v.call([...at("f"), getOp("empty")])),
      new Uint8Array(),
    );
  },
);

test42(
  "SETXATTR: change_info brackets the file's change attribute",
  async (v) => {
    await makeFile(v.fs, "f");
    const res = await v.call([...at("f"), setOp("k", filled(3, 1))]);
    const r = resultOf(res, OP.OP_SETXATTR).opsetxattr;
    assert.ok(r.sxr_status === nfsstat4.NFS4_OK);
    assert.equal(r.sxr_info.atomic, false);
    assert.ok(
      r.sxr_info.after > r.sxr_info.before,
      "the change attribute moved",
    );
    const now = attrsIn(await v.call([...at("f"), getattr("change")]));
    assert.equal(now.change, r.sxr_info.after);
  },
);

test42(
  "SETXATTR: CREATE of a set name is EXIST, REPLACE of an unset one NOXATTR",
  async (v) => {
    await makeFile(v.fs, "f");
    expectStatus(
      await v.call([...at("f"), setOp("k", filled(1, 1), REPLACE)]),
      nfsstat4.NFS4ERR_NOXATTR,
      "REPLACE of an unset name",
    );
    expectStatus(
      await v.call([...at("f"), setOp("k", filled(1, 1), CREATE)]),
      nfsstat4.NFS4_OK,
      "CREATE",
    );
    expectStatus(
      await v.call([...at("f"), setOp("k", filled(1, 2), CREATE)]),
      nfsstat4.NFS4ERR_EXIST,
      "CREATE of a set name",
    );
    assert.deepEqual(
      valueOf(await v.call([...at("f"), getOp("k")])),
      filled(1, 1),
    );
    expectStatus(
      await v.call([...at("f"), setOp("k", filled(1, 3), REPLACE)]),
      nfsstat4.NFS4_OK,
      "REPLACE",
    );
    expectStatus(
      await v.call([...at("f"), setOp("k", filled(1, 4), EITHER)]),
      nfsstat4.NFS4_OK,
      "EITHER",
    );
    assert.deepEqual(
      valueOf(await v.call([...at("f"), getOp("k")])),
      filled(1, 4),
    );
  },
);

test42(
  "GETXATTR and REMOVEXATTR of an unset name are NOXATTR; a removed name is gone",
  async (v) => {
    await makeFile(v.fs, "f");
    expectStatus(
      await v.call([...at("f"), getOp("nope")]),
      nfsstat4.NFS4ERR_NOXATTR,
      "GETXATTR",
    );
    expectStatus(
      await v.call([...at("f"), removeOp("nope")]),
      nfsstat4.NFS4ERR_NOXATTR,
      "REMOVEXATTR",
    );
    await v.call([...at("f"), setOp("k", filled(2, 1))]);
    const res = await v.call([...at("f"), removeOp("k")]);
    const r = resultOf(res, OP.OP_REMOVEXATTR).opremovexattr;
    assert.ok(r.rxr_status === nfsstat4.NFS4_OK);
    assert.ok(r.rxr_info.after > r.rxr_info.before);
    expectStatus(
      await v.call([...at("f"), getOp("k")]),
      nfsstat4.NFS4ERR_NOXATTR,
      "after REMOVEXATTR",
    );
  },
);

test42(
  "xattr names: 250 bytes are fine, 251 NAMETOOLONG; empty, NUL or not UTF-8 INVAL",
  async (v) => {
    await makeFile(v.fs, "f");
    assert.equal(MAX_XATTR_NAME, 250, "255 bytes with the user. prefix");
    const longest = "n".repeat(MAX_XATTR_NAME);
    expectStatus(
      await v.call([...at("f"), setOp(longest, filled(1, 1))]),
      nfsstat4.NFS4_OK,
      "250 bytes",
    );
    assert.deepEqual(
      valueOf(await v.call([...at("f"), getOp(longest)])),
      filled(1, 1),
    );
    for (const op of [setOp, (n: string) => getOp(n), removeOp]) {
      const res = await v.call([...at("f"), op(longest + "n", filled(1, 1))]);
      expectStatus(res, nfsstat4.NFS4ERR_NAMETOOLONG, "251 bytes");
    }
    // 125 two-byte characters: 250 bytes; one more is 252.
    expectStatus(
      await v.call([...at("f"), setOp("é".repeat(126), filled(1, 1))]),
      nfsstat4.NFS4ERR_NAMETOOLONG,
      "counted in bytes",
    );
    for (
      const bad of [
        new Uint8Array(),
        enc.encode("a\0b"),
        new Uint8Array([0xff]),
      ]
    ) {
      expectStatus(
        await v.call([...at("f"), setOp(bad, filled(1, 1))]),
        nfsstat4.NFS4ERR_INVAL,
        `name ${bad}`,
      );
      expectStatus(
        await v.call([...at("f"), getOp(bad)]),
        nfsstat4.NFS4ERR_INVAL,
        `name ${bad}`,
      );
    }
  },
);

test42("SETXATTR: a value over 64 KiB is XATTR2BIG", async (v) => {
  await makeFile(v.fs, "f");
  const res = await v.call([
    ...at("f"),
    setOp("big", new Uint8Array(MAX_XATTR_VALUE + 1)),
  ]);
  expectStatus(res, nfsstat4.NFS4ERR_XATTR2BIG, "64 KiB + 1");
  expectStatus(
    await v.call([...at("f"), getOp("big")]),
    nfsstat4.NFS4ERR_NOXATTR,
    "nothing was set",
  );
});

test42(
  "LISTXATTRS: names without the prefix, user. ones only; paging with a tiny maxcount",
  async (v) => {
    const id = await makeFile(v.fs, "f");
    const names = ["alpha", "bb", "c", "delta-long-name"];
    for (const n of names) {
      expectStatus(
        await v.call([...at("f"), setOp(n, enc.encode(n))]),
        nfsstat4.NFS4_OK,
        `SETXATTR ${n}`,
      );
    }
    if (v.backend === "memfs") {
      // Not in the user. namespace: not listed.
      await v.fs.xattrs!.setxattr(ROOT, id, "trusted.hidden", filled(1, 1));
    }
    const all = listed(await v.call([...at("f"), listOp(0n, 4096)]));
    assert.deepEqual(all.lxr_names.map((n) => dec.decode(n)), names);
    assert.equal(all.lxr_eof, true);
    assert.equal(all.lxr_cookie, BigInt(names.length));
    // 16 bytes of result plus one name of up to 8 bytes: one name a page.
    const pages: string[][] = [];
    const cookies: bigint[] = [];
    let cookie = 0n;
    for (let i = 0; i < 3; i++) {
      const page = listed(
        await v.call([...at("f"), listOp(cookie, 16 + 4 + 8)]),
      );
      pages.push(page.lxr_names.map((n) => dec.decode(n)));
      assert.equal(page.lxr_eof, false);
      cookie = page.lxr_cookie;
      cookies.push(cookie);
    }
    assert.deepEqual(pages, [["alpha"], ["bb"], ["c"]], "the long one is next");
    assert.deepEqual(cookies, [1n, 2n, 3n]);
    expectStatus(
      await v.call([...at("f"), listOp(cookie, 16 + 4 + 8)]),
      nfsstat4.NFS4ERR_TOOSMALL,
      "delta-long-name needs 20 bytes",
    );
    const rest = listed(await v.call([...at("f"), listOp(cookie, 16 + 20)]));
    assert.deepEqual(rest.lxr_names.map((n) => dec.decode(n)), [
      "delta-long-name",
    ]);
    assert.equal(rest.lxr_eof, true);
    expectStatus(
      await v.call([...at("f"), listOp(0n, 15)]),
      nfsstat4.NFS4ERR_TOOSMALL,
      "under 16 bytes",
    );
    expectStatus(
      await v.call([...at("f"), listOp(5n, 4096)]),
      nfsstat4.NFS4ERR_BAD_COOKIE,
      "a cookie past the last name",
    );
    const end = listed(await v.call([...at("f"), listOp(4n, 16)]));
    assert.deepEqual(end, { lxr_cookie: 4n, lxr_names: [], lxr_eof: true });
  },
);

test42(
  "LISTXATTRS: a file without xattrs lists nothing, in 16 bytes",
  async (v) => {
    await makeFile(v.fs, "f");
    const r = listed(await v.call([...at("f"), listOp(0n, 16)]));
    assert.deepEqual(r, { lxr_cookie: 0n, lxr_names: [], lxr_eof: true });
  },
);

test42("xattrs on a directory", async (v) => {
  await v.fs.mkdir(ROOT, v.fs.root, "d");
  expectStatus(
    await v.call([...at("d"), setOp("k", filled(2, 5))]),
    nfsstat4.NFS4_OK,
    "SETXATTR",
  );
  assert.deepEqual(
    valueOf(await v.call([...at("d"), getOp("k")])),
    filled(2, 5),
  );
});

test42(
  "xattrs: the file system's permissions hold; a read-only export is ROFS",
  async (v) => {
    await makeFile(v.fs, "f");
    await v.call([...at("f"), setOp("k", filled(1, 1))]);
    const stranger = sys(4242);
    const as = (ops: nfs_argop4[]) => v.s.call(ops, { auth: stranger });
    expectStatus(
      await as([...at("f"), setOp("k", filled(1, 2))]),
      nfsstat4.NFS4ERR_ACCESS,
      "a stranger writing a 0644 file's xattr",
    );
    assert.deepEqual(valueOf(await as([...at("f"), getOp("k")])), filled(1, 1));
  },
);

test42(
  "xattrs: a read-only export refuses changes with ROFS and allows reading",
  async (v) => {
    const id = await makeFile(v.fs, "f");
    await v.fs.xattrs!.setxattr(ROOT, id, "user.k", filled(1, 1));
    expectStatus(
      await v.call([...at("f"), setOp("k", filled(1, 2))]),
      nfsstat4.NFS4ERR_ROFS,
      "SETXATTR",
    );
    expectStatus(
      await v.call([...at("f"), removeOp("k")]),
      nfsstat4.NFS4ERR_ROFS,
      "REMOVEXATTR",
    );
    assert.deepEqual(
      valueOf(await v.call([...at("f"), getOp("k")])),
      filled(1, 1),
    );
  },
  { exports: [{ readOnly: true }] },
);

test42(
  "xattr_support: true where the file system has xattrs, false on pseudo directories",
  async (v) => {
    await makeFile(v.fs, "f");
    const a = attrsIn(
      await v.call([...at("x/f"), getattr("xattr_support")]),
    );
    assert.equal(a.xattr_support, true);
    const root = attrsIn(
      await v.call([{ argop: OP.OP_PUTROOTFH }, getattr("xattr_support")]),
    );
    assert.equal(root.xattr_support, false, "the pseudo root");
    expectStatus(
      await v.call([{ argop: OP.OP_PUTROOTFH }, getOp("k")]),
      nfsstat4.NFS4ERR_NOTSUPP,
      "GETXATTR on a pseudo directory",
    );
  },
  { exports: [{ path: "/x" }] },
);

test42(
  "xattrs: a file system without them is NOTSUPP, and xattr_support false",
  async (v) => {
    await makeFile(v.fs, "f");
    const a = attrsIn(await v.call([...at("f"), getattr("xattr_support")]));
    assert.equal(a.xattr_support, false);
    for (
      const op of [
        setOp("k", filled(1, 1)),
        getOp("k"),
        removeOp("k"),
        listOp(0n, 4096),
      ]
    ) {
      expectStatus(
        await v.call([...at("f"), op]),
        nfsstat4.NFS4ERR_NOTSUPP,
        `op ${op.argop}`,
      );
    }
  },
  { wrap: plain },
);

const XA_ALL = ACCESS4_XAREAD | ACCESS4_XAWRITE | ACCESS4_XALIST;

function accessOp(mask: number): nfs_argop4 {
  return { argop: OP.OP_ACCESS, opaccess: { access: mask } };
}

function accessOf(res: COMPOUND4res) {
  const r = resultOf(res, OP.OP_ACCESS).opaccess;
  assert.ok(r.status === nfsstat4.NFS4_OK, `ACCESS: ${r.status}`);
  return r.resok4;
}

test42("ACCESS: the xattr bits follow read and write permission", async (v) => {
  await makeFile(v.fs, "f");
  const owner = accessOf(await v.call([...at("f"), accessOp(XA_ALL | 1)]));
  assert.deepEqual(owner, { supported: XA_ALL | 1, access: XA_ALL | 1 });
  const stranger = accessOf(
    await v.s.call([...at("f"), accessOp(XA_ALL)], { auth: sys(4242) }),
  );
  assert.deepEqual(stranger, {
    supported: XA_ALL,
    access: ACCESS4_XAREAD | ACCESS4_XALIST,
  });
  // A symlink has no user xattrs; the root pseudo directory none at all.
  await v.fs.symlink(ROOT, v.fs.root, "l", "f");
  const link = accessOf(await v.call([...at("l"), accessOp(XA_ALL)]));
  assert.deepEqual(link, { supported: 0, access: 0 });
});

test42(
  "ACCESS: the xattr bits are INVAL in 4.1, unsupported without xattrs",
  async (v) => {
    await makeFile(v.fs, "f");
    const none = accessOf(await v.call([...at("f"), accessOp(XA_ALL | 1)]));
    assert.deepEqual(none, { supported: 1, access: 1 });
    const s41 = await session41(v.h, "old");
    expectStatus(
      await s41.call([...at("f"), accessOp(ACCESS4_XAREAD)]),
      nfsstat4.NFS4ERR_INVAL,
      "4.1",
    );
  },
  { wrap: plain },
);

test42("ACCESS: a read-only export grants no XAWRITE", async (v) => {
  await makeFile(v.fs, "f");
  const r = accessOf(await v.call([...at("f"), accessOp(XA_ALL)]));
  assert.deepEqual(r, {
    supported: XA_ALL,
    access: ACCESS4_XAREAD | ACCESS4_XALIST,
  });
}, { exports: [{ readOnly: true }] });
