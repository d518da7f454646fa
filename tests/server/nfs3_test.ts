// NFSv3 over MemFs: handles, LOOKUP, file-system information and garbage
// arguments. The other areas are in nfs3_*_test.ts beside this file.
import assert from "node:assert/strict";
import { RpcAcceptError } from "../../rpc/client.ts";
import type { XdrWriter } from "../../rpc/xdr.ts";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc, Nfs3Status as S } from "../../proto/nfs3.ts";
import { encodeHandle } from "../../server/handles.ts";
import { start } from "./_harness.ts";
import { create, getattr, lookup, mkdir } from "./_nfs3.ts";

Deno.test("nfs3: NULL, GETATTR of the root, bad and stale handles", async () => {
  const h = await start();
  try {
    const r = await h.client.call(P.NFS_PROGRAM, 3, Proc.NULL, () => {});
    assert.equal(r.remaining, 0);
    const g = await getattr(h, h.root);
    assert.equal(g.status, 0);
    assert.equal(g.attrs!.type, P.Ftype3.DIR);
    assert.ok(g.attrs!.nlink >= 1);
    assert.equal(g.attrs!.fileid, h.fs.root);
    // Garbage of every short length, and a right-length handle with a bad check.
    for (
      const fh of [new Uint8Array(0), new Uint8Array(7), h.root.slice(0, 19)]
    ) {
      assert.equal((await getattr(h, fh)).status, S.BADHANDLE);
    }
    const flipped = h.root.slice();
    flipped[15] ^= 1;
    assert.equal((await getattr(h, flipped)).status, S.BADHANDLE);
    // Well formed, but another server instance's verifier: STALE.
    const other = encodeHandle({
      exportId: 0,
      verifier: new Uint8Array(8).fill(9),
      fileid: h.fs.root,
    });
    assert.equal((await getattr(h, other)).status, S.STALE);
    const noExport = encodeHandle({
      exportId: 7,
      verifier: h.root.slice(4, 12),
      fileid: 1,
    });
    assert.equal((await getattr(h, noExport)).status, S.STALE);
    // A removed object: STALE.
    const c = await create(h, h.root, "gone");
    assert.equal(c.status, 0);
    const rm = await h.nfs(
      Proc.REMOVE,
      (w) => P.encodeDirOpArgs(w, { dir: h.root, name: "gone" }),
      P.decodeWccRes,
    );
    assert.equal(rm.status, 0);
    assert.equal((await getattr(h, c.object!)).status, S.STALE);
    // The server goes on serving.
    assert.equal((await getattr(h, h.root)).status, 0);
  } finally {
    await h.close();
  }
});

Deno.test("nfs3: LOOKUP finds, misses with dir attributes, rejects bad names", async () => {
  const h = await start();
  try {
    const c = await create(h, h.root, "a.txt");
    assert.equal(c.status, 0);
    assert.ok(c.dirWcc?.before && c.dirWcc.after, "full wcc data on CREATE");
    const l = await lookup(h, h.root, "a.txt");
    assert.equal(l.status, 0);
    assert.deepEqual(l.object, c.object);
    assert.equal(l.objAttrs!.fileid, c.attrs!.fileid);
    assert.ok(l.dirAttrs);
    const miss = await lookup(h, h.root, "nope");
    assert.equal(miss.status, S.NOENT);
    assert.ok(miss.dirAttrs, "post-op dir attributes on failure");
    assert.equal((await lookup(h, c.object!, "x")).status, S.NOTDIR);
    for (const name of ["", "a/b", "a\0b"]) {
      assert.equal((await lookup(h, h.root, name)).status, S.INVAL, name);
    }
    assert.equal(
      (await lookup(h, h.root, "x".repeat(256))).status,
      S.NAMETOOLONG,
    );
    // ".." of the export root is the root; "." is the directory.
    const up = await lookup(h, h.root, "..");
    assert.equal(up.status, 0);
    assert.equal(up.objAttrs!.fileid, h.fs.root);
    const d = await mkdir(h, h.root, "d");
    const dd = await lookup(h, d, "..");
    assert.equal(dd.objAttrs!.fileid, h.fs.root);
    for (const name of ["", "a/b", "a\0b", "."]) {
      const r = await create(h, h.root, name);
      assert.ok(
        r.status === S.INVAL || r.status === S.EXIST,
        `${name}: ${r.status}`,
      );
      assert.ok(r.dirWcc?.after, "dir attributes on failure");
    }
  } finally {
    await h.close();
  }
});

Deno.test("nfs3: FSSTAT, FSINFO, PATHCONF", async () => {
  const h = await start();
  try {
    const st = await h.nfs(
      Proc.FSSTAT,
      (w) => P.encodeFhArgs(w, { object: h.root }),
      P.decodeFsstatRes,
    );
    assert.equal(st.status, 0);
    assert.ok(st.tbytes! > 0 && st.tfiles! > 0);
    const fi = await h.nfs(
      Proc.FSINFO,
      (w) => P.encodeFhArgs(w, { object: h.root }),
      P.decodeFsinfoRes,
    );
    assert.equal(fi.status, 0);
    assert.equal(fi.rtmax, 1 << 20);
    assert.equal(fi.wtmax, 1 << 20);
    assert.equal(fi.rtpref, 1 << 20);
    assert.equal(fi.wtpref, 1 << 20);
    assert.ok(fi.dtpref! > 0);
    assert.equal(
      fi.properties,
      P.FsfProps.LINK | P.FsfProps.SYMLINK | P.FsfProps.HOMOGENEOUS |
        P.FsfProps.CANSETTIME,
    );
    assert.deepEqual(fi.timeDelta, { sec: 0, nsec: 1 });
    assert.ok(fi.maxfilesize! > 2 ** 40);
    const pc = await h.nfs(
      Proc.PATHCONF,
      (w) => P.encodeFhArgs(w, { object: h.root }),
      P.decodePathconfRes,
    );
    assert.equal(pc.status, 0);
    assert.equal(pc.nameMax, 255);
    assert.equal(pc.noTrunc, true);
    assert.equal(pc.casePreserving, true);
    const bad = await h.nfs(
      Proc.FSINFO,
      (w) => P.encodeFhArgs(w, { object: new Uint8Array(3) }),
      P.decodeFsinfoRes,
    );
    assert.equal(bad.status, S.BADHANDLE);
  } finally {
    await h.close();
  }
});

Deno.test("nfs3: garbage arguments get GARBAGE_ARGS and the server goes on", async () => {
  const h = await start();
  try {
    const garbage: [number, (w: XdrWriter) => void][] = [
      [Proc.GETATTR, (w) => w.u32(100)], // handle longer than 64 bytes
      [Proc.LOOKUP, (w) => w.opaque(h.root)], // name missing
      [
        Proc.LOOKUP,
        (w) => w.opaque(h.root).opaque(new Uint8Array([0xff, 0xfe])),
      ],
      [Proc.READ, (w) => w.opaque(h.root).u32(0)],
      [
        Proc.WRITE,
        (w) => w.opaque(h.root).u64(0).u32(4).u32(9).opaque(new Uint8Array(4)),
      ],
      [
        Proc.SETATTR,
        (w) => w.opaque(h.root).u32(0).u32(0).u32(0).u32(0).u32(7),
      ],
      [Proc.CREATE, (w) => w.opaque(h.root).string("a").u32(3)],
      [Proc.MKNOD, (w) => w.opaque(h.root).string("a").u32(99)],
      [Proc.READDIR, (w) => w.opaque(h.root).u64(0).u32(0)],
      [Proc.ACCESS, () => {}],
    ];
    for (const [proc, enc] of garbage) {
      await assert.rejects(
        h.client.call(P.NFS_PROGRAM, 3, proc, enc),
        (e) => e instanceof RpcAcceptError && e.statusName === "GARBAGE_ARGS",
        `procedure ${proc}`,
      );
    }
    await assert.rejects(
      h.client.call(P.NFS_PROGRAM, 3, 22, () => {}),
      (e) => e instanceof RpcAcceptError && e.statusName === "PROC_UNAVAIL",
    );
    assert.equal((await getattr(h, h.root)).status, 0);
  } finally {
    await h.close();
  }
});
