import assert from "node:assert/strict";
import type { COMPOUND4res } from "../../../proto/nfs4/mod.ts";
import { nfs_opnum4 as OP } from "../../../proto/nfs4/mod.ts";
import { encodeHandle } from "../../../server/handles.ts";
import { ROOT } from "../../../vfs/types.ts";
import { nfsstat4, resultOf, start4 } from "./_harness.ts";

const enc = new TextEncoder();

function fhAt(res: COMPOUND4res, index: number): Uint8Array {
  const r = resultOf(res, OP.OP_GETFH, index).opgetfh;
  assert.ok(r.status === nfsstat4.NFS4_OK);
  return r.resok4.object;
}

Deno.test("fh: PUTPUBFH is the root, as PUTROOTFH", async () => {
  const h = await start4();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTPUBFH },
      { argop: OP.OP_GETFH },
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_GETFH },
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    assert.deepEqual(fhAt(res, 1), fhAt(res, 3));
  } finally {
    await h.close();
  }
});

Deno.test("fh: RESTOREFH brings back what SAVEFH saved", async () => {
  const h = await start4();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "d");
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_GETFH },
      { argop: OP.OP_SAVEFH },
      { argop: OP.OP_LOOKUP, oplookup: { objname: enc.encode("d") } },
      { argop: OP.OP_RESTOREFH },
      { argop: OP.OP_GETFH },
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    assert.deepEqual(fhAt(res, 5), fhAt(res, 1));
  } finally {
    await h.close();
  }
});

Deno.test("fh: RESTOREFH without a saved filehandle is RESTOREFH in 4.0", async () => {
  const h = await start4();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_RESTOREFH },
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_RESTOREFH);
  } finally {
    await h.close();
  }
});

Deno.test("fh: LOOKUPP at the root is NOENT; at a file NOTDIR", async () => {
  const h = await start4();
  try {
    await h.fs.create(ROOT, h.fs.root, "f");
    const top = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_LOOKUPP },
    ]);
    assert.equal(top.status, nfsstat4.NFS4ERR_NOENT);
    const file = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_LOOKUP, oplookup: { objname: enc.encode("f") } },
      { argop: OP.OP_LOOKUPP },
    ]);
    assert.equal(file.status, nfsstat4.NFS4ERR_NOTDIR);
  } finally {
    await h.close();
  }
});

Deno.test("fh: garbage is BADHANDLE, another instance's handle STALE", async () => {
  const h = await start4();
  try {
    const put = (object: Uint8Array) =>
      h.compound([{ argop: OP.OP_PUTFH, opputfh: { object } }]);
    assert.equal(
      (await put(new Uint8Array())).status,
      nfsstat4.NFS4ERR_BADHANDLE,
    );
    assert.equal(
      (await put(new Uint8Array(20).fill(7))).status,
      nfsstat4.NFS4ERR_BADHANDLE,
    );
    const other = encodeHandle({
      exportId: 0,
      verifier: new Uint8Array(8).fill(9),
      fileid: h.fs.root,
    });
    assert.equal((await put(other)).status, nfsstat4.NFS4ERR_STALE);
  } finally {
    await h.close();
  }
});
