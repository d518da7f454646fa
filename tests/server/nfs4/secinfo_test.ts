import assert from "node:assert/strict";
import {
  AUTH_SYS,
  type nfs_argop4,
  nfs_opnum4 as OP,
  secinfo_style4,
} from "../../../proto/nfs4/mod.ts";
import { ROOT } from "../../../vfs/types.ts";
import { nfsstat4, resultOf, start4 } from "./_harness.ts";
import { enc, start41, walk } from "./_fsops.ts";

function secinfo(name: string): nfs_argop4 {
  return { argop: OP.OP_SECINFO, opsecinfo: { name: enc.encode(name) } };
}

function noName(style: secinfo_style4): nfs_argop4 {
  return { argop: OP.OP_SECINFO_NO_NAME, opsecinfo_no_name: style };
}

Deno.test("SECINFO: AUTH_SYS for a name; 4.0 keeps the current filehandle", async () => {
  const h = await start4();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      secinfo("d"),
      { argop: OP.OP_GETFH },
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    const r = resultOf(res, OP.OP_SECINFO).opsecinfo;
    assert.deepEqual(r.status === 0 && r.resok4, [{ flavor: AUTH_SYS }]);
    const root = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_GETFH },
    ]);
    assert.deepEqual(
      resultOf(res, OP.OP_GETFH).opgetfh,
      resultOf(root, OP.OP_GETFH).opgetfh,
      "still the root, not d",
    );
  } finally {
    await h.close();
  }
});

Deno.test("SECINFO: a missing or hidden name is NOENT", async () => {
  const h = await start4({
    exports: [{ path: "/open" }, { path: "/hidden", clients: ["192.0.2.1"] }],
  });
  try {
    for (const name of ["missing", "hidden"]) {
      const res = await h.compound([{ argop: OP.OP_PUTROOTFH }, secinfo(name)]);
      assert.equal(res.status, nfsstat4.NFS4ERR_NOENT, name);
    }
    const open = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      secinfo("open"),
    ]);
    assert.equal(open.status, nfsstat4.NFS4_OK);
  } finally {
    await h.close();
  }
});

Deno.test("SECINFO: without a current filehandle is NOFILEHANDLE", async () => {
  const h = await start4();
  try {
    const res = await h.compound([secinfo("d")]);
    assert.equal(res.status, nfsstat4.NFS4ERR_NOFILEHANDLE);
  } finally {
    await h.close();
  }
});

Deno.test("SECINFO: 4.1 consumes the current filehandle", async () => {
  const h = await start41();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      secinfo("d"),
      { argop: OP.OP_GETFH },
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_NOFILEHANDLE);
    assert.equal(
      resultOf(res, OP.OP_SECINFO).opsecinfo.status,
      nfsstat4.NFS4_OK,
    );
  } finally {
    await h.close();
  }
});

Deno.test("SECINFO_NO_NAME: the current object or its parent, then no filehandle", async () => {
  const h = await start41();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    for (const style of [0, 1] as const) {
      const res = await h.compound([
        ...walk("d"),
        noName(style),
        { argop: OP.OP_GETFH },
      ]);
      const r = resultOf(res, OP.OP_SECINFO_NO_NAME).opsecinfo_no_name;
      assert.deepEqual(r.status === 0 && r.resok4, [{ flavor: AUTH_SYS }]);
      assert.equal(res.status, nfsstat4.NFS4ERR_NOFILEHANDLE, `style ${style}`);
    }
  } finally {
    await h.close();
  }
});

Deno.test("SECINFO_NO_NAME: the parent of the root is NOENT", async () => {
  const h = await start41();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      noName(secinfo_style4.SECINFO_STYLE4_PARENT),
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_NOENT);
  } finally {
    await h.close();
  }
});

Deno.test("SECINFO_NO_NAME: not in NFSv4.0", async () => {
  const h = await start4();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      noName(secinfo_style4.SECINFO_STYLE4_CURRENT_FH),
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_OP_ILLEGAL);
  } finally {
    await h.close();
  }
});

Deno.test("OPENATTR: named attributes are NOTSUPP", async () => {
  const h = await start4();
  try {
    const op: nfs_argop4 = {
      argop: OP.OP_OPENATTR,
      opopenattr: { createdir: false },
    };
    const res = await h.compound([{ argop: OP.OP_PUTROOTFH }, op]);
    assert.equal(res.status, nfsstat4.NFS4ERR_NOTSUPP);
    const none = await h.compound([op]);
    assert.equal(none.status, nfsstat4.NFS4ERR_NOFILEHANDLE);
  } finally {
    await h.close();
  }
});
