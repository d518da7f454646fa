import assert from "node:assert/strict";
import {
  bitmapOf,
  type nfs_argop4,
  nfs_opnum4 as OP,
  type stateid4,
  time_how4,
} from "../../../proto/nfs4/mod.ts";
import { stateFile } from "../../../server/nfs4/ops/_util.ts";
import { ShareAccess, ShareDeny } from "../../../server/nfs4/state/opens.ts";
import { ROOT } from "../../../vfs/types.ts";
import { nfsstat4, resultOf, start4, sys } from "./_harness.ts";
import { client40, must } from "./state/_helpers.ts";
import {
  attrsIn,
  bits,
  fattr,
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
