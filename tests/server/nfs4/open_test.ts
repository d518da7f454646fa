import assert from "node:assert/strict";
import {
  bitmapHas,
  type createhow4,
  FATTR4_MODE,
  FATTR4_TIME_ACCESS,
  FATTR4_TIME_MODIFY,
  type nfs_argop4,
  OPEN4_RESULT_CONFIRM,
  OPEN4_RESULT_LOCKTYPE_POSIX,
  type open_claim4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import { ROOT } from "../../../vfs/types.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { MemoryStableStorage } from "../../../server/nfs4/state/leases.ts";
import {
  b,
  client40,
  createHow,
  createmode4,
  fhOf,
  nfsstat4,
  ok,
  OP,
  open40,
  openArgs,
  openStateid,
  resultOf,
  session41,
  startState,
  sys,
} from "./_clients.ts";
import type { Nfs4Harness } from "./_harness.ts";

const root: nfs_argop4 = { argop: OP.OP_PUTROOTFH };

function openOk(res: Parameters<typeof resultOf>[0]) {
  const r = resultOf(res, OP.OP_OPEN).opopen;
  assert.ok(r.status === nfsstat4.NFS4_OK, `OPEN: status ${r.status}`);
  return r.resok4;
}

async function fileAttrs(h: Nfs4Harness, name: string) {
  return await h.fs.lookup(ROOT, h.fs.root, name);
}

async function writeFile(h: Nfs4Harness, name: string, text: string) {
  const a = await h.fs.create(ROOT, h.fs.root, name);
  await h.fs.write(ROOT, a.fileid, 0, b(text));
  return a;
}

const exclusive = (verf: number): ReturnType<typeof createHow> => ({
  mode: createmode4.EXCLUSIVE4,
  createverf: new Uint8Array(8).fill(verf),
});

function close40(fh: Uint8Array, stateid: stateid4, seqid: number) {
  return [
    { argop: OP.OP_PUTFH, opputfh: { object: fh } },
    { argop: OP.OP_CLOSE, opclose: { seqid, open_stateid: stateid } },
  ] as nfs_argop4[];
}

Deno.test("OPEN 4.0: a new owner must confirm; rflags, cinfo and attrset", async () => {
  const h = await startState();
  try {
    const c = await client40(h, "a");
    const res = ok(
      await h.compound([
        root,
        openArgs("f", {
          clientid: c,
          seqid: 1,
          access: 3,
          how: createHow(0o640),
        }),
        { argop: OP.OP_GETFH },
      ]),
    );
    const r = openOk(res);
    assert.equal(r.rflags, OPEN4_RESULT_CONFIRM | OPEN4_RESULT_LOCKTYPE_POSIX);
    assert.ok(r.cinfo.after > r.cinfo.before, "the directory changed");
    assert.ok(bitmapHas(r.attrset, FATTR4_MODE));
    assert.equal(r.delegation.delegation_type, 0);
    assert.equal((await fileAttrs(h, "f")).mode, 0o640);
    // Unconfirmed, the stateid is good for nothing but OPEN_CONFIRM.
    const early = await h.compound(close40(fhOf(res), r.stateid, 2));
    assert.equal(early.status, nfsstat4.NFS4ERR_BAD_STATEID);
    ok(
      await h.compound([
        { argop: OP.OP_PUTFH, opputfh: { object: fhOf(res) } },
        {
          argop: OP.OP_OPEN_CONFIRM,
          opopen_confirm: { open_stateid: r.stateid, seqid: 2 },
        },
      ]),
    );
    const next = ok(
      await h.compound([root, openArgs("f", { clientid: c, seqid: 3 })]),
    );
    assert.equal(openOk(next).rflags, OPEN4_RESULT_LOCKTYPE_POSIX);
  } finally {
    await h.close();
  }
});

Deno.test("OPEN 4.0: a retransmission gets the kept reply and its filehandle", async () => {
  const h = await startState();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    const c = await client40(h, "a");
    const guarded: createhow4 = {
      mode: createmode4.GUARDED4,
      createattrs: { attrmask: [], attr_vals: new Uint8Array() },
    };
    const open = (seqid: number) =>
      openArgs("g", { clientid: c, seqid, how: guarded });
    const first = ok(
      await h.compound([root, open(1), { argop: OP.OP_GETFH }]),
    );
    // Retransmitted after a LOOKUP elsewhere: OPEN still leaves the file current.
    const again = ok(
      await h.compound([
        root,
        { argop: OP.OP_LOOKUP, oplookup: { objname: b("d") } },
        open(1),
        { argop: OP.OP_GETFH },
      ]),
    );
    assert.deepEqual(openOk(again), openOk(first));
    assert.deepEqual(fhOf(again), fhOf(first));
    // A new request by the owner is not a replay: the file exists now.
    const third = await h.compound([root, open(2)]);
    assert.equal(third.status, nfsstat4.NFS4ERR_EXIST);
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: GUARDED4 on an existing file is EXIST; NOCREATE of a missing one NOENT", async () => {
  const h = await startState();
  try {
    await writeFile(h, "there", "x");
    const s = await session41(h, "a");
    const guarded = await s.call([
      root,
      openArgs("there", {
        how: {
          mode: createmode4.GUARDED4,
          createattrs: { attrmask: [], attr_vals: new Uint8Array() },
        },
      }),
    ]);
    assert.equal(guarded.status, nfsstat4.NFS4ERR_EXIST);
    const missing = await s.call([root, openArgs("nothere")]);
    assert.equal(missing.status, nfsstat4.NFS4ERR_NOENT);
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: UNCHECKED4 with a size of 0 truncates an existing file", async () => {
  const h = await startState();
  try {
    await writeFile(h, "t", "some data");
    const s = await session41(h, "a");
    const size0 = new Uint8Array(8);
    const res = ok(
      await s.call([
        root,
        openArgs("t", {
          access: 2,
          how: {
            mode: createmode4.UNCHECKED4,
            createattrs: { attrmask: [1 << 4], attr_vals: size0 },
          },
        }),
      ]),
    );
    assert.deepEqual(openOk(res).attrset, [], "an existing file: nothing set");
    assert.equal((await fileAttrs(h, "t")).size, 0);
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: EXCLUSIVE4 keeps its verifier in the file's times, across a restart too", async () => {
  const fs = new MemFs();
  let h = await startState({ fs });
  try {
    const s = await session41(h, "a");
    const res = ok(await s.call([root, openArgs("x", { how: exclusive(7) })]));
    const r = openOk(res);
    assert.ok(bitmapHas(r.attrset, FATTR4_TIME_ACCESS));
    assert.ok(bitmapHas(r.attrset, FATTR4_TIME_MODIFY));
    const a = await fileAttrs(h, "x");
    assert.equal(a.mtime.sec, 0x07070707);
    assert.equal(a.atime.sec, 0x07070707);
    const retry = ok(
      await s.call([root, openArgs("x", { how: exclusive(7) })]),
    );
    assert.deepEqual(openOk(retry).attrset, r.attrset, "answered as created");
    const other = await s.call([root, openArgs("x", { how: exclusive(8) })]);
    assert.equal(other.status, nfsstat4.NFS4ERR_EXIST);
    await h.close();
    h = await startState({ fs });
    const s2 = await session41(h, "a");
    ok(
      await s2.call([root, openArgs("x", { how: exclusive(7) })]),
      "the same verifier after a restart",
    );
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: EXCLUSIVE4_1 sets its attributes with the verifier; 4.0 does not know it", async () => {
  const h = await startState();
  try {
    const mode = new Uint8Array([0, 0, 1, 0x80]);
    const how: createhow4 = {
      mode: createmode4.EXCLUSIVE4_1,
      ch_createboth: {
        cva_verf: new Uint8Array(8).fill(3),
        cva_attrs: { attrmask: [0, 1 << 1], attr_vals: mode },
      },
    };
    const s = await session41(h, "a");
    const r = openOk(ok(await s.call([root, openArgs("e", { how })])));
    assert.ok(bitmapHas(r.attrset, FATTR4_MODE));
    assert.ok(bitmapHas(r.attrset, FATTR4_TIME_MODIFY));
    assert.equal((await fileAttrs(h, "e")).mode, 0o600);
    const sized = (size: number): createhow4 => {
      const v = new Uint8Array(8);
      new DataView(v.buffer).setUint32(4, size);
      return {
        mode: createmode4.EXCLUSIVE4_1,
        ch_createboth: {
          cva_verf: new Uint8Array(8).fill(4),
          cva_attrs: { attrmask: [1 << 4], attr_vals: v },
        },
      };
    };
    ok(await s.call([root, openArgs("e0", { how: sized(0) })]), "size 0");
    assert.equal(
      (await s.call([root, openArgs("e5", { how: sized(5) })])).status,
      nfsstat4.NFS4ERR_INVAL,
    );
    const c = await client40(h, "b");
    const v40 = await h.compound([
      root,
      openArgs("e40", { clientid: c, seqid: 1, how }),
    ]);
    assert.equal(v40.status, nfsstat4.NFS4ERR_BADXDR);
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: share reservations between clients; a refused open truncates nothing", async () => {
  const h = await startState();
  try {
    await writeFile(h, "s", "keep me");
    const a = await client40(h, "a");
    await open40(h, a, "s", { access: 3, deny: 2, create: false });
    const s = await session41(h, "b");
    const trunc = await s.call([
      root,
      openArgs("s", {
        access: 2,
        how: {
          mode: createmode4.UNCHECKED4,
          createattrs: { attrmask: [1 << 4], attr_vals: new Uint8Array(8) },
        },
      }),
    ]);
    assert.equal(trunc.status, nfsstat4.NFS4ERR_SHARE_DENIED);
    assert.equal((await fileAttrs(h, "s")).size, 7, "the data stays");
    ok(await s.call([root, openArgs("s", { access: 1 })]), "reading is fine");
    const denyRead = await s.call([
      root,
      openArgs("s", {
        owner: "o2",
        access: 1,
        deny: 1,
      }),
    ]);
    assert.equal(
      denyRead.status,
      nfsstat4.NFS4ERR_SHARE_DENIED,
      "a reads what b would deny",
    );
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: another user's 0600 file is ACCESS; a creator may write its mode-0 file", async () => {
  const h = await startState();
  try {
    await h.fs.create(ROOT, h.fs.root, "secret", { attrs: { mode: 0o600 } });
    await h.fs.setattr(ROOT, h.fs.root, { mode: 0o777 });
    const user = sys(1000);
    const c = await client40(h, "u", user);
    const denied = await h.compound(
      [root, openArgs("secret", { clientid: c, seqid: 1 })],
      { auth: user },
    );
    assert.equal(denied.status, nfsstat4.NFS4ERR_ACCESS);
    const mine = await h.compound([
      root,
      openArgs("mine", { clientid: c, seqid: 2, access: 3, how: exclusive(1) }),
    ], { auth: user });
    ok(mine);
    assert.equal((await fileAttrs(h, "mine")).mode, 0);
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: write access or creation on a read-only export is ROFS", async () => {
  const h = await startState({ exports: [{ readOnly: true }] });
  try {
    await writeFile(h, "r", "x");
    const s = await session41(h, "a");
    const write = await s.call([root, openArgs("r", { access: 2 })]);
    assert.equal(write.status, nfsstat4.NFS4ERR_ROFS);
    const create = await s.call([root, openArgs("n", { how: createHow() })]);
    assert.equal(create.status, nfsstat4.NFS4ERR_ROFS);
    ok(await s.call([root, openArgs("r", { access: 1 })]));
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: a directory is ISDIR, a symbolic link SYMLINK", async () => {
  const h = await startState();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "dir");
    await h.fs.symlink(ROOT, h.fs.root, "link", "dir");
    const s = await session41(h, "a");
    const dir = await s.call([root, openArgs("dir")]);
    assert.equal(dir.status, nfsstat4.NFS4ERR_ISDIR);
    const link = await s.call([root, openArgs("link")]);
    assert.equal(link.status, nfsstat4.NFS4ERR_SYMLINK);
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: claims for delegations and reclaims, as a server without delegations answers", async () => {
  const h = await startState();
  try {
    await writeFile(h, "f", "x");
    const s = await session41(h, "a");
    const fh = fhOf(
      ok(
        await s.call([root, {
          argop: OP.OP_LOOKUP,
          oplookup: { objname: b("f") },
        }, {
          argop: OP.OP_GETFH,
        }]),
      ),
    );
    const onFile = (claim: open_claim4) =>
      s.call([
        { argop: OP.OP_PUTFH, opputfh: { object: fh } },
        openArgs("", { claim }),
      ]);
    const stateid = { seqid: 1, other: new Uint8Array(12).fill(5) };
    assert.equal(
      (await onFile({ claim: 1, delegate_type: 0 })).status,
      nfsstat4.NFS4ERR_NO_GRACE,
    );
    assert.equal(
      (await onFile({ claim: 5, oc_delegate_stateid: stateid })).status,
      nfsstat4.NFS4ERR_BAD_STATEID,
    );
    assert.equal(
      (await onFile({ claim: 6 })).status,
      nfsstat4.NFS4ERR_NOTSUPP,
    );
    const cur = await s.call([
      root,
      openArgs("", {
        claim: {
          claim: 2,
          delegate_cur_info: { delegate_stateid: stateid, file: b("f") },
        },
      }),
    ]);
    assert.equal(cur.status, nfsstat4.NFS4ERR_BAD_STATEID);
    const prev = await s.call([
      root,
      openArgs("", {
        claim: { claim: 3, file_delegate_prev: b("f") },
      }),
    ]);
    assert.equal(prev.status, nfsstat4.NFS4ERR_NOTSUPP);
    const createFh = await s.call([
      { argop: OP.OP_PUTFH, opputfh: { object: fh } },
      openArgs("", { claim: { claim: 4 }, how: createHow() }),
    ]);
    assert.equal(
      createFh.status,
      nfsstat4.NFS4ERR_INVAL,
      "creating is by name only",
    );
    const byFh = ok(
      await onFile({ claim: 4 }),
      "CLAIM_FH opens the current file",
    );
    openStateid(byFh);
    const c = await client40(h, "b");
    const v40 = await h.compound([
      { argop: OP.OP_PUTFH, opputfh: { object: fh } },
      openArgs("", { clientid: c, seqid: 1, claim: { claim: 4 } }),
    ]);
    assert.equal(v40.status, nfsstat4.NFS4ERR_BADXDR);
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: in the grace period a new open is GRACE and creates nothing", async () => {
  const h = await startState({
    nfs4: {
      graceTime: 60,
      stableStorage: new MemoryStableStorage([b("before")]),
    },
  });
  try {
    const c = await client40(h, "a");
    const res = await h.compound([
      root,
      openArgs("g", { clientid: c, seqid: 1, how: createHow() }),
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_GRACE);
    await assert.rejects(fileAttrs(h, "g"), /No such file|ENOENT|not found/i);
  } finally {
    await h.close();
  }
});

Deno.test("OPEN 4.1: a client wanting no delegation is told WND4_NOT_WANTED", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const r = openOk(
      ok(
        await s.call([
          root,
          openArgs("w", { access: 0x401, how: createHow() }),
        ]),
      ),
    );
    assert.deepEqual(r.delegation, {
      delegation_type: 3,
      od_whynone: { ond_why: 0 },
    });
    const bad = await s.call([root, openArgs("w", { access: 0x801 })]);
    assert.equal(bad.status, nfsstat4.NFS4ERR_INVAL);
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: in a pseudo directory, creating is ROFS and an export is ISDIR", async () => {
  const h = await startState({ exports: [{ path: "/exp" }] });
  try {
    const s = await session41(h, "a");
    const create = await s.call([root, openArgs("new", { how: createHow() })]);
    assert.equal(create.status, nfsstat4.NFS4ERR_ROFS);
    const exp = await s.call([root, openArgs("exp")]);
    assert.equal(exp.status, nfsstat4.NFS4ERR_ISDIR);
  } finally {
    await h.close();
  }
});

Deno.test("OPEN: CLAIM_PREVIOUS reclaims in the grace period; a delegation is RECLAIM_BAD", async () => {
  const fs = new MemFs();
  await fs.create(ROOT, fs.root, "held");
  const storage = new MemoryStableStorage([b("a")]);
  const h = await startState({
    fs,
    nfs4: { graceTime: 60, stableStorage: storage },
  });
  try {
    const s = await session41(h, "a", { reclaim: false });
    const look = [root, {
      argop: OP.OP_LOOKUP,
      oplookup: { objname: b("held") },
    }];
    const deleg = await s.call([
      ...look,
      openArgs("", { access: 3, claim: { claim: 1, delegate_type: 1 } }),
    ] as nfs_argop4[]);
    assert.equal(deleg.status, nfsstat4.NFS4ERR_RECLAIM_BAD);
    const res = ok(
      await s.call([
        ...look,
        openArgs("", { access: 3, claim: { claim: 1, delegate_type: 0 } }),
      ] as nfs_argop4[]),
    );
    openStateid(res);
    const fresh = await s.call([root, openArgs("new", { how: createHow() })]);
    assert.equal(fresh.status, nfsstat4.NFS4ERR_GRACE, "new opens wait");
  } finally {
    await h.close();
  }
});
