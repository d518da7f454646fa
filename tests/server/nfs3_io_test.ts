// NFSv3 over MemFs: READ, WRITE, COMMIT and CREATE, and the write verifier.
import assert from "node:assert/strict";
import { RpcAcceptError } from "../../rpc/client.ts";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc, Nfs3Status as S } from "../../proto/nfs3.ts";
import { start } from "./_harness.ts";
import { create, getattr, read, write } from "./_nfs3.ts";

Deno.test("nfs3: WRITE stabilities, COMMIT verifier, READ with eof and extreme counts", async () => {
  const h = await start();
  try {
    const c = await create(h, h.root, "data.bin");
    const fh = c.object!;
    const data = new Uint8Array(100_000).map((_, i) => (i * 7919) >>> 3);
    const w1 = await write(
      h,
      fh,
      0,
      data.subarray(0, 50_000),
      P.StableHow.UNSTABLE,
    );
    assert.equal(w1.status, 0);
    assert.equal(w1.count, 50_000);
    assert.ok(w1.wcc?.before && w1.wcc.after);
    assert.equal(w1.wcc.before.size, 0);
    assert.equal(w1.wcc.after.size, 50_000);
    const w2 = await write(h, fh, 50_000, data.subarray(50_000));
    assert.equal(w2.committed, P.StableHow.FILE_SYNC);
    assert.deepEqual(w2.verf, w1.verf);
    const cm = await h.nfs(
      Proc.COMMIT,
      (w) => P.encodeCommitArgs(w, { file: fh, offset: 0, count: 0 }),
      P.decodeCommitRes,
    );
    assert.equal(cm.status, 0);
    assert.deepEqual(cm.verf, w1.verf);
    const r = await read(h, fh, 0, 100_000);
    assert.equal(r.status, 0);
    assert.equal(r.eof, true);
    assert.deepEqual(r.data, data);
    const part = await read(h, fh, 10, 20);
    assert.equal(part.eof, false);
    assert.deepEqual(part.data, data.subarray(10, 30));
    const zero = await read(h, fh, 0, 0);
    assert.equal(zero.status, 0);
    assert.equal(zero.data!.length, 0);
    const huge = await read(h, fh, 99_000, 0xffffffff);
    assert.equal(huge.status, 0);
    assert.equal(huge.data!.length, 1000);
    assert.equal(huge.eof, true);
    const past = await read(h, fh, 2 ** 40, 10);
    assert.equal(past.data!.length, 0);
    assert.equal(past.eof, true);
    // count larger than the data sent: INVAL, with wcc data.
    const bad = await h.nfs(
      Proc.WRITE,
      (w) =>
        P.encodeWriteArgs(w, {
          file: fh,
          offset: 0,
          count: 10,
          stable: 2,
          data: new Uint8Array(4),
        }),
      P.decodeWriteRes,
    );
    assert.equal(bad.status, S.INVAL);
    assert.ok(bad.wcc?.after);
    // READ and WRITE of a directory.
    assert.equal((await read(h, h.root, 0, 10)).status, S.ISDIR);
    assert.equal(
      (await write(h, h.root, 0, new Uint8Array(1))).status,
      S.ISDIR,
    );
    const rr = await read(h, h.root, 0, 10);
    assert.ok(rr.attrs, "READ errors carry attributes");
  } finally {
    await h.close();
  }
});

Deno.test("nfs3: CREATE modes, EXCLUSIVE verifier retransmission", async () => {
  const h = await start();
  try {
    const u = await create(h, h.root, "f", { attrs: { mode: 0o600 } });
    assert.equal(u.status, 0);
    assert.equal(u.attrs!.mode, 0o600);
    await write(h, u.object!, 0, new Uint8Array(10));
    // UNCHECKED on an existing file with size 0 truncates it.
    const again = await create(h, h.root, "f", { attrs: { size: 0 } });
    assert.equal(again.status, 0);
    assert.equal(again.attrs!.size, 0);
    assert.deepEqual(again.object, u.object);
    const g = await create(h, h.root, "f", { mode: P.CreateMode.GUARDED });
    assert.equal(g.status, S.EXIST);
    assert.ok(g.dirWcc?.before && g.dirWcc.after);
    const verf = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const e1 = await create(h, h.root, "x", {
      mode: P.CreateMode.EXCLUSIVE,
      verf,
    });
    assert.equal(e1.status, 0);
    const e2 = await create(h, h.root, "x", {
      mode: P.CreateMode.EXCLUSIVE,
      verf,
    });
    assert.equal(e2.status, 0, "a retransmitted EXCLUSIVE create succeeds");
    assert.deepEqual(e2.object, e1.object);
    const e3 = await create(h, h.root, "x", {
      mode: P.CreateMode.EXCLUSIVE,
      verf: new Uint8Array(8).fill(7),
    });
    assert.equal(e3.status, S.EXIST);
    const e4 = await create(h, h.root, "f", {
      mode: P.CreateMode.EXCLUSIVE,
      verf,
    });
    assert.equal(e4.status, S.EXIST, "a file not made by EXCLUSIVE create");
    // The client's SETATTR completes the create: the same verifier again is
    // another create (Linux's verifier is jiffies and pid), so EXIST.
    const set = await h.nfs(
      Proc.SETATTR,
      (w) => P.encodeSetattrArgs(w, { object: e1.object!, attrs: { mode: 0 } }),
      P.decodeWccRes,
    );
    assert.equal(set.status, 0);
    const e5 = await create(h, h.root, "x", {
      mode: P.CreateMode.EXCLUSIVE,
      verf,
    });
    assert.equal(e5.status, S.EXIST, "an EXCLUSIVE create after its SETATTR");
    // A verifier of the wrong length (4 bytes, then nothing) is garbage.
    await assert.rejects(
      h.client.call(P.NFS_PROGRAM, 3, Proc.CREATE, (w) => {
        w.opaque(h.root).string("y").u32(2).u32(0x01020304);
      }),
      (e) => e instanceof RpcAcceptError && e.statusName === "GARBAGE_ARGS",
    );
    assert.equal((await getattr(h, h.root)).status, 0);
  } finally {
    await h.close();
  }
});

Deno.test("nfs3: the write verifier changes when the server restarts", async () => {
  const verfs: Uint8Array[] = [];
  for (let i = 0; i < 2; i++) {
    const h = await start();
    try {
      const c = await create(h, h.root, "f");
      const w = await write(h, c.object!, 0, new Uint8Array(4), 0);
      assert.equal(w.status, 0);
      verfs.push(w.verf!);
    } finally {
      await h.close();
    }
  }
  assert.notDeepEqual(verfs[0], verfs[1]);
});
