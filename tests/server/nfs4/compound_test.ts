import assert from "node:assert/strict";
import { XdrReader, XdrWriter } from "../../../rpc/xdr.ts";
import {
  decode_COMPOUND4res,
  decodeCompoundArgs,
  encode_SETATTR4res,
  nfs_opnum4 as OP,
} from "../../../proto/nfs4/mod.ts";
import type { CallContext } from "../../../rpc/program.ts";
import {
  encodeCompound,
  type Op,
  runCompound,
} from "../../../server/nfs4/compound.ts";
import { Nfs4Server } from "../../../server/nfs4/context.ts";
import { ExportTable } from "../../../server/exports.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { ROOT } from "../../../vfs/types.ts";
import { nfsstat4, resultOf, start4 } from "./_harness.ts";

const enc = new TextEncoder();

Deno.test("compound: the tag is echoed and an empty COMPOUND succeeds", async () => {
  const h = await start4();
  try {
    const res = await h.compound([], { tag: "hello" });
    assert.equal(res.status, nfsstat4.NFS4_OK);
    assert.equal(new TextDecoder().decode(res.tag), "hello");
    assert.equal(res.resarray.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("compound: an unserved minor version is MINOR_VERS_MISMATCH with no results", async () => {
  const h = await start4();
  try {
    const res = await h.compound([{ argop: OP.OP_PUTROOTFH }], {
      minor: 3,
      tag: "t",
    });
    assert.equal(res.status, nfsstat4.NFS4ERR_MINOR_VERS_MISMATCH);
    assert.equal(res.resarray.length, 0);
    assert.equal(new TextDecoder().decode(res.tag), "t");
  } finally {
    await h.close();
  }
});

Deno.test("compound: minor version 2 is served by default, and not when minorVersions leaves it out", async () => {
  const all = await start4();
  const older = await start4({ nfs4: { minorVersions: [0, 1] } });
  try {
    // PUTROOTFH alone: a 4.2 COMPOUND, like 4.1's, needs SEQUENCE first.
    const served = await all.compound([{ argop: OP.OP_PUTROOTFH }], {
      minor: 2,
    });
    assert.equal(served.status, nfsstat4.NFS4ERR_OP_NOT_IN_SESSION);
    assert.equal(served.resarray.length, 1);
    const refused = await older.compound([{ argop: OP.OP_PUTROOTFH }], {
      minor: 2,
    });
    assert.equal(refused.status, nfsstat4.NFS4ERR_MINOR_VERS_MISMATCH);
    assert.equal(refused.resarray.length, 0);
  } finally {
    await all.close();
    await older.close();
  }
});

Deno.test("compound: PUTROOTFH, LOOKUP, GETFH walk into the export", async () => {
  const h = await start4();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "dir");
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_LOOKUP, oplookup: { objname: enc.encode("dir") } },
      { argop: OP.OP_GETFH },
    ]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    const fh = resultOf(res, OP.OP_GETFH).opgetfh;
    assert.equal(fh.status, nfsstat4.NFS4_OK);
    // The handle works in a later COMPOUND, and LOOKUPP goes back up.
    const again = await h.compound([
      {
        argop: OP.OP_PUTFH,
        opputfh: {
          object: fh.status === 0 ? fh.resok4.object : new Uint8Array(),
        },
      },
      { argop: OP.OP_LOOKUPP },
      { argop: OP.OP_GETFH },
    ]);
    assert.equal(again.status, nfsstat4.NFS4_OK);
  } finally {
    await h.close();
  }
});

Deno.test("compound: evaluation stops at the first error", async () => {
  const h = await start4();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_LOOKUP, oplookup: { objname: enc.encode("missing") } },
      { argop: OP.OP_GETFH },
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_NOENT);
    assert.equal(
      res.resarray.length,
      2,
      "GETFH after the failed LOOKUP does not run",
    );
  } finally {
    await h.close();
  }
});

Deno.test("compound: operations without a current filehandle are NOFILEHANDLE", async () => {
  const h = await start4();
  try {
    const res = await h.compound([{ argop: OP.OP_GETFH }]);
    assert.equal(res.status, nfsstat4.NFS4ERR_NOFILEHANDLE);
  } finally {
    await h.close();
  }
});

Deno.test("compound: bad names are BADNAME, INVAL or NAMETOOLONG", async () => {
  const h = await start4();
  try {
    const cases: [Uint8Array, number][] = [
      [enc.encode("."), nfsstat4.NFS4ERR_BADNAME],
      [enc.encode(".."), nfsstat4.NFS4ERR_BADNAME],
      [enc.encode("a/b"), nfsstat4.NFS4ERR_BADNAME],
      [new Uint8Array(0), nfsstat4.NFS4ERR_INVAL],
      [new Uint8Array([0xff, 0xfe]), nfsstat4.NFS4ERR_INVAL],
      [enc.encode("x".repeat(256)), nfsstat4.NFS4ERR_NAMETOOLONG],
    ];
    for (const [name, want] of cases) {
      const res = await h.compound([
        { argop: OP.OP_PUTROOTFH },
        { argop: OP.OP_LOOKUP, oplookup: { objname: name } },
      ]);
      assert.equal(
        res.status,
        want,
        `name ${JSON.stringify(new TextDecoder().decode(name))}`,
      );
    }
  } finally {
    await h.close();
  }
});

Deno.test("compound: an unknown operation is OP_ILLEGAL, a garbled one BADXDR", async () => {
  const h = await start4();
  try {
    const raw = async (
      body: (w: XdrWriter) => void,
    ) => (await h.client.call(100003, 4, 1, body));
    const r1 = await raw((w) =>
      void w.opaque(new Uint8Array()).u32(0).u32(2).u32(OP.OP_PUTROOTFH).u32(
        9999,
      )
    );
    assert.equal(r1.u32(), nfsstat4.NFS4ERR_OP_ILLEGAL);
    r1.opaque(1024);
    assert.equal(r1.u32(), 2);
    assert.deepEqual([r1.u32(), r1.u32(), r1.u32(), r1.u32()], [
      OP.OP_PUTROOTFH,
      0,
      OP.OP_ILLEGAL,
      nfsstat4.NFS4ERR_OP_ILLEGAL,
    ]);
    // LOOKUP whose name length runs past the end.
    const r2 = await raw((w) =>
      void w.opaque(new Uint8Array()).u32(0).u32(2).u32(OP.OP_PUTROOTFH).u32(
        OP.OP_LOOKUP,
      ).u32(1000)
    );
    assert.equal(r2.u32(), nfsstat4.NFS4ERR_BADXDR);
    // 4.0 does not know 4.1's operations.
    const r3 = await h.compound([{
      argop: OP.OP_RECLAIM_COMPLETE,
      opreclaim_complete: { rca_one_fs: false },
    }]);
    assert.equal(r3.status, nfsstat4.NFS4ERR_OP_ILLEGAL);
  } finally {
    await h.close();
  }
});

Deno.test("compound: 4.1 needs SEQUENCE first", async () => {
  const h = await start4();
  try {
    const res = await h.compound([{ argop: OP.OP_PUTROOTFH }], { minor: 1 });
    assert.equal(res.status, nfsstat4.NFS4ERR_OP_NOT_IN_SESSION);
  } finally {
    await h.close();
  }
});

Deno.test("compound: garbled arguments of an operation the minor version lacks are OP_ILLEGAL", async () => {
  const h = await start4();
  try {
    // EXCHANGE_ID (4.1 only) in a 4.0 COMPOUND, its arguments cut short.
    const r = await h.client.call(
      100003,
      4,
      1,
      (w) =>
        void w.opaque(new Uint8Array()).u32(0).u32(2).u32(OP.OP_PUTROOTFH).u32(
          OP.OP_EXCHANGE_ID,
        ).u32(1),
    );
    const res = decode_COMPOUND4res(r);
    assert.equal(res.status, nfsstat4.NFS4ERR_OP_ILLEGAL);
    assert.deepEqual(res.resarray.map((x) => x.resop), [
      OP.OP_PUTROOTFH,
      OP.OP_ILLEGAL,
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("compound: garbled arguments encode the operation's own failure result", async () => {
  const nfs = new Nfs4Server({
    exports: new ExportTable([{ path: "/", fs: new MemFs() }]),
    log: assert.fail,
  });
  const setattr: Op = {
    name: "SETATTR",
    encode: encode_SETATTR4res,
    run: () => assert.fail("not run"),
    failure: (status) => ({ status, attrsset: [] }),
  };
  const w = new XdrWriter();
  w.opaque(new Uint8Array()).u32(0).u32(1).u32(OP.OP_SETATTR).u32(1);
  const args = decodeCompoundArgs(new XdrReader(w.bytes()));
  const call = {
    remote: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
  } as unknown as CallContext;
  const out = new XdrWriter();
  encodeCompound(
    out,
    await runCompound(args, call, nfs, new Map([[OP.OP_SETATTR, setattr]])),
  );
  const res = decode_COMPOUND4res(new XdrReader(out.bytes()));
  assert.equal(res.status, nfsstat4.NFS4ERR_BADXDR);
  const r = resultOf(res, OP.OP_SETATTR).opsetattr;
  assert.deepEqual(r, { status: nfsstat4.NFS4ERR_BADXDR, attrsset: [] });
});
