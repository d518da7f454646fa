// NFSv3 over MemFs: the procedures that make, link, rename and remove
// names, and the names every one of them refuses.
import assert from "node:assert/strict";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc, Nfs3Status as S } from "../../proto/nfs3.ts";
import { start } from "./_harness.ts";
import { create, lookup, mkdir, NOVERF } from "./_nfs3.ts";

Deno.test("nfs3: MKDIR, SYMLINK, READLINK, MKNOD, LINK, RENAME, REMOVE, RMDIR", async () => {
  const h = await start();
  try {
    const d = await mkdir(h, h.root, "d");
    const dup = await h.nfs(
      Proc.MKDIR,
      (w) => P.encodeMkdirArgs(w, { dir: h.root, name: "d", attrs: {} }),
      P.decodeCreateRes,
    );
    assert.equal(dup.status, S.EXIST);
    const s = await h.nfs(
      Proc.SYMLINK,
      (w) =>
        P.encodeSymlinkArgs(w, {
          dir: d,
          name: "ln",
          attrs: {},
          target: "../t",
        }),
      P.decodeCreateRes,
    );
    assert.equal(s.status, 0);
    assert.equal(s.attrs!.type, P.Ftype3.LNK);
    const rl = await h.nfs(
      Proc.READLINK,
      (w) => P.encodeFhArgs(w, { object: s.object! }),
      P.decodeReadlinkRes,
    );
    assert.equal(rl.target, "../t");
    const notLink = await h.nfs(
      Proc.READLINK,
      (w) => P.encodeFhArgs(w, { object: d }),
      P.decodeReadlinkRes,
    );
    assert.equal(notLink.status, S.INVAL);
    assert.ok(notLink.attrs);
    const fifo = await h.nfs(
      Proc.MKNOD,
      (w) =>
        P.encodeMknodArgs(w, {
          dir: d,
          name: "p",
          type: P.Ftype3.FIFO,
          attrs: {},
        }),
      P.decodeCreateRes,
    );
    assert.equal(fifo.status, 0);
    assert.equal(fifo.attrs!.type, P.Ftype3.FIFO);
    const chr = await h.nfs(
      Proc.MKNOD,
      (w) =>
        P.encodeMknodArgs(w, {
          dir: d,
          name: "c",
          type: P.Ftype3.CHR,
          attrs: {},
          spec: { major: 1, minor: 3 },
        }),
      P.decodeCreateRes,
    );
    assert.equal(chr.status, 0);
    assert.deepEqual(chr.attrs!.rdev, { major: 1, minor: 3 });
    const reg = await h.nfs(
      Proc.MKNOD,
      (w) => P.encodeMknodArgs(w, { dir: d, name: "r", type: P.Ftype3.REG }),
      P.decodeCreateRes,
    );
    assert.equal(reg.status, S.BADTYPE);
    const f = await create(h, d, "f");
    const ln = await h.nfs(
      Proc.LINK,
      (w) =>
        P.encodeLinkArgs(w, { file: f.object!, dir: h.root, name: "hard" }),
      P.decodeLinkRes,
    );
    assert.equal(ln.status, 0);
    assert.equal(ln.attrs!.nlink, 2);
    assert.ok(ln.dirWcc?.before && ln.dirWcc.after);
    const lnExists = await h.nfs(
      Proc.LINK,
      (w) => P.encodeLinkArgs(w, { file: f.object!, dir: h.root, name: "d" }),
      P.decodeLinkRes,
    );
    assert.equal(lnExists.status, S.EXIST);
    const rn = await h.nfs(
      Proc.RENAME,
      (w) =>
        P.encodeRenameArgs(w, {
          fromDir: d,
          fromName: "f",
          toDir: h.root,
          toName: "moved",
        }),
      P.decodeRenameRes,
    );
    assert.equal(rn.status, 0);
    assert.ok(rn.fromWcc?.before && rn.fromWcc.after && rn.toWcc?.after);
    assert.equal((await lookup(h, h.root, "moved")).status, 0);
    assert.equal((await lookup(h, d, "f")).status, S.NOENT);
    const rnMissing = await h.nfs(
      Proc.RENAME,
      (w) =>
        P.encodeRenameArgs(w, {
          fromDir: d,
          fromName: "none",
          toDir: h.root,
          toName: "x",
        }),
      P.decodeRenameRes,
    );
    assert.equal(rnMissing.status, S.NOENT);
    const rmdir = async (name: string) =>
      (await h.nfs(
        Proc.RMDIR,
        (w) => P.encodeDirOpArgs(w, { dir: h.root, name }),
        P.decodeWccRes,
      )).status;
    assert.equal(await rmdir("d"), S.NOTEMPTY);
    assert.equal(await rmdir("moved"), S.NOTDIR);
    const remove = async (dir: Uint8Array, name: string) =>
      await h.nfs(
        Proc.REMOVE,
        (w) => P.encodeDirOpArgs(w, { dir, name }),
        P.decodeWccRes,
      );
    assert.equal((await remove(h.root, "d")).status, S.ISDIR);
    const missing = await remove(h.root, "nothing");
    assert.equal(missing.status, S.NOENT);
    assert.ok(missing.wcc?.after);
    for (const n of ["ln", "p", "c"]) {
      const r = await remove(d, n);
      assert.equal(r.status, 0);
      assert.ok(r.wcc?.before, "pre-op directory attributes on REMOVE");
      assert.equal(r.wcc?.after?.type, 2, "post-op directory attributes");
    }
    assert.equal(await rmdir("d"), 0);
  } finally {
    await h.close();
  }
});

Deno.test("nfs3: names with / or NUL and empty names get INVAL in every procedure", async () => {
  const h = await start();
  try {
    const f = await create(h, h.root, "file");
    assert.equal(f.status, 0);
    for (const name of ["", "a/b", "a\0b", "/", "\0"]) {
      const statuses: Record<string, number> = {
        LOOKUP: (await lookup(h, h.root, name)).status,
        CREATE: (await create(h, h.root, name)).status,
        MKDIR: (await h.nfs(
          Proc.MKDIR,
          (w) => P.encodeMkdirArgs(w, { dir: h.root, name, attrs: {} }),
          P.decodeCreateRes,
        )).status,
        SYMLINK: (await h.nfs(
          Proc.SYMLINK,
          (w) =>
            P.encodeSymlinkArgs(w, {
              dir: h.root,
              name,
              attrs: {},
              target: "x",
            }),
          P.decodeCreateRes,
        )).status,
        MKNOD: (await h.nfs(
          Proc.MKNOD,
          (w) =>
            P.encodeMknodArgs(w, {
              dir: h.root,
              name,
              type: P.Ftype3.FIFO,
              attrs: {},
            }),
          P.decodeCreateRes,
        )).status,
        REMOVE: (await h.nfs(
          Proc.REMOVE,
          (w) => P.encodeDirOpArgs(w, { dir: h.root, name }),
          P.decodeWccRes,
        )).status,
        RMDIR: (await h.nfs(
          Proc.RMDIR,
          (w) => P.encodeDirOpArgs(w, { dir: h.root, name }),
          P.decodeWccRes,
        )).status,
        "RENAME from": (await h.nfs(
          Proc.RENAME,
          (w) =>
            P.encodeRenameArgs(w, {
              fromDir: h.root,
              fromName: name,
              toDir: h.root,
              toName: "ok",
            }),
          P.decodeRenameRes,
        )).status,
        "RENAME to": (await h.nfs(
          Proc.RENAME,
          (w) =>
            P.encodeRenameArgs(w, {
              fromDir: h.root,
              fromName: "file",
              toDir: h.root,
              toName: name,
            }),
          P.decodeRenameRes,
        )).status,
        LINK: (await h.nfs(
          Proc.LINK,
          (w) => P.encodeLinkArgs(w, { file: f.object!, dir: h.root, name }),
          P.decodeLinkRes,
        )).status,
      };
      for (const [proc, status] of Object.entries(statuses)) {
        assert.equal(status, S.INVAL, `${proc} ${JSON.stringify(name)}`);
      }
    }
    // Nothing was created or lost, and the server goes on.
    const list = await h.nfs(
      Proc.READDIR,
      (w) =>
        P.encodeReaddirArgs(w, {
          dir: h.root,
          cookie: 0n,
          cookieverf: NOVERF,
          count: 4096,
        }),
      P.decodeReaddirRes,
    );
    assert.deepEqual(list.entries!.map((e) => e.name), [".", "..", "file"]);
    // Extreme counts elsewhere: COMMIT and ACCESS.
    for (const count of [0, 0xffffffff]) {
      const c = await h.nfs(
        Proc.COMMIT,
        (w) => P.encodeCommitArgs(w, { file: f.object!, offset: 0, count }),
        P.decodeCommitRes,
      );
      assert.equal(c.status, 0);
      const bigWrite = await h.nfs(
        Proc.WRITE,
        (w) =>
          P.encodeWriteArgs(w, {
            file: f.object!,
            offset: 0,
            count,
            stable: 0,
            data: new Uint8Array(count === 0 ? 0 : 8),
          }),
        P.decodeWriteRes,
      );
      assert.equal(bigWrite.status, count === 0 ? 0 : S.INVAL);
    }
    const a = await h.nfs(
      Proc.ACCESS,
      (w) => P.encodeAccessArgs(w, { object: h.root, access: 0xffffffff }),
      P.decodeAccessRes,
    );
    assert.equal(a.status, 0);
    assert.equal(a.access! & ~0x3f, 0);
  } finally {
    await h.close();
  }
});
