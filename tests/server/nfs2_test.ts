// NFSv2 (RFC 1094) through our RpcClient: NULL, ROOT, WRITECACHE, handles,
// attributes, LOOKUP, READLINK, READ, WRITE and STATFS with their error paths.
// The procedures that make and remove names are in nfs2_names_test.ts,
// directory listings in nfs2_readdir_test.ts.
import assert from "node:assert/strict";
import { RpcAcceptError } from "../../rpc/client.ts";
import * as P from "../../proto/nfs2/mod.ts";
import { ftype, nfsstat as S } from "../../proto/nfs2/mod.ts";
import { encodeHandle, padHandle } from "../../server/handles.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT, type Stability } from "../../vfs/types.ts";
import {
  attrsOf,
  file,
  getattr,
  lookup,
  mkdir,
  read,
  sattr,
  setattr,
  start2,
  status,
  sys,
  UNSET,
  write,
} from "./_harness2.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("nfs2: NULL, ROOT and WRITECACHE answer an empty success", async () => {
  const h = await start2();
  try {
    for (const proc of [P.NFSPROC_NULL, P.NFSPROC_ROOT, P.NFSPROC_WRITECACHE]) {
      // ROOT and WRITECACHE are obsolete: whatever they carry is ignored.
      const r = await h.client.call(
        P.NFS_PROGRAM,
        2,
        proc,
        (w) => void w.u32(7),
      );
      assert.equal(r.remaining, 0, `procedure ${proc} answers nothing`);
    }
    await assert.rejects(
      h.client.call(P.NFS_PROGRAM, 2, 18, () => {}),
      (e) => e instanceof RpcAcceptError && e.statusName === "PROC_UNAVAIL",
      "there are 18 procedures, 0 to 17",
    );
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: GETATTR of the root is a directory with type bits in mode", async () => {
  const h = await start2();
  try {
    const a = attrsOf(await getattr(h, h.root));
    assert.equal(a.type, ftype.NFDIR);
    assert.equal(a.mode, 0o040755);
    assert.ok(a.nlink >= 1);
    assert.equal(a.fileid, h.exports.exports[0].root);
    assert.equal(a.blocksize, 512);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: handles it did not make, or of gone objects, are NFSERR_STALE", async () => {
  const h = await start2();
  try {
    const padding = h.root.slice();
    padding[31] = 1;
    const flipped = h.root.slice();
    flipped[15] ^= 1;
    const otherServer = padHandle(
      encodeHandle({
        exportId: 0,
        verifier: new Uint8Array(8).fill(9),
        fileid: h.exports.exports[0].root,
      }),
    );
    for (const fh of [new Uint8Array(32), padding, flipped, otherServer]) {
      assert.equal((await getattr(h, fh)).status, S.NFSERR_STALE);
    }
    const gone = await file(h, h.root, "gone");
    assert.equal(
      await status(
        h,
        P.NFSPROC_REMOVE,
        (w) => P.encode_diropargs(w, { dir: h.root, name: "gone" }),
      ),
      S.NFS_OK,
    );
    assert.equal((await getattr(h, gone)).status, S.NFSERR_STALE);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: a handle shorter than 32 bytes is GARBAGE_ARGS", async () => {
  const h = await start2();
  try {
    await assert.rejects(
      h.client.call(
        P.NFS_PROGRAM,
        2,
        P.NFSPROC_GETATTR,
        (w) => void w.fixedOpaque(new Uint8Array(20)),
      ),
      (e) => e instanceof RpcAcceptError && e.statusName === "GARBAGE_ARGS",
    );
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: export access: other clients ACCES, unprivileged ports PERM", async () => {
  const h = await start2({
    exports: [{}, { path: "/far", clients: ["192.0.2.0/24"] }, {
      path: "/sec",
      secure: true,
    }],
  });
  try {
    assert.equal((await getattr(h, h.roots[1])).status, S.NFSERR_ACCES);
    assert.equal((await getattr(h, h.roots[2])).status, S.NFSERR_PERM);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: SETATTR sets what is not all ones and answers the new attributes", async () => {
  const h = await start2();
  try {
    const fh = await file(h, h.root, "f");
    await write(h, fh, 0, enc.encode("hello world"));
    const before = attrsOf(await getattr(h, fh));
    // Type bits in the mode are ignored; uid, gid and times stay.
    const a = attrsOf(await setattr(h, fh, { mode: 0o100600, size: 5 }));
    assert.equal(a.mode, 0o100600);
    assert.equal(a.size, 5);
    assert.equal(a.uid, before.uid);
    assert.equal(a.gid, before.gid);
    const b = attrsOf(
      await setattr(h, fh, {
        uid: 1000,
        gid: 100,
        atime: { seconds: 1000, useconds: 5 },
        mtime: { seconds: 2000, useconds: 999_999 },
      }),
    );
    assert.deepEqual([b.uid, b.gid], [1000, 100]);
    assert.deepEqual(b.atime, { seconds: 1000, useconds: 5 });
    assert.deepEqual(b.mtime, { seconds: 2000, useconds: 999_999 });
    assert.equal(b.mode, 0o100600, "mode all ones: unchanged");
    assert.equal(b.size, 5, "size all ones: unchanged");
    // A time with one word all ones is unchanged too.
    const c = attrsOf(
      await setattr(h, fh, { mtime: { seconds: 5, useconds: UNSET } }),
    );
    assert.deepEqual(c.mtime, b.mtime);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: SETATTR with 1,000,000 microseconds sets the server's time", async () => {
  const h = await start2();
  try {
    const fh = await file(h, h.root, "f");
    await setattr(h, fh, {
      atime: { seconds: 1, useconds: 0 },
      mtime: { seconds: 1, useconds: 0 },
    });
    const now = Math.floor(Date.now() / 1000);
    const a = attrsOf(
      await setattr(h, fh, {
        atime: { seconds: 1, useconds: 1_000_000 },
        mtime: { seconds: 1, useconds: 1_000_000 },
      }),
    );
    assert.ok(Math.abs(a.mtime.seconds - now) <= 2, `mtime ${a.mtime.seconds}`);
    assert.ok(Math.abs(a.atime.seconds - now) <= 2, `atime ${a.atime.seconds}`);
    assert.equal(
      (await setattr(h, fh, { mtime: { seconds: 1, useconds: 1_000_001 } }))
        .status,
      S.NFSERR_INVAL,
      "more microseconds than a second has",
    );
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: SETATTR errors: ROFS, PERM for a stranger's chown, ACCES", async () => {
  const h = await start2({ exports: [{}, { path: "/ro", readOnly: true }] });
  try {
    const fh = await file(h, h.root, "f");
    assert.equal(
      (await setattr(h, h.roots[1], { mode: 0o700 })).status,
      S.NFSERR_ROFS,
    );
    const asUser = await h.nfs(
      P.NFSPROC_SETATTR,
      (w) =>
        P.encode_sattrargs(w, { file: fh, attributes: sattr({ uid: 1000 }) }),
      P.decode_attrstat,
      sys(1000),
    );
    assert.equal(asUser.status, S.NFSERR_PERM);
    const truncate = await h.nfs(
      P.NFSPROC_SETATTR,
      (w) =>
        P.encode_sattrargs(w, { file: fh, attributes: sattr({ size: 0 }) }),
      P.decode_attrstat,
      sys(1000),
    );
    assert.equal(truncate.status, S.NFSERR_ACCES, "0644 of root: no writing");
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: LOOKUP finds names, .. of the root is the root, misses are NOENT", async () => {
  const h = await start2();
  try {
    const d = await mkdir(h, h.root, "d");
    const f = await file(h, d, "f");
    const found = await lookup(h, d, "f");
    assert.ok(found.status === S.NFS_OK);
    assert.deepEqual(found.diropres.file, f);
    assert.equal(found.diropres.attributes.type, ftype.NFREG);
    const up = await lookup(h, h.root, "..");
    assert.ok(up.status === S.NFS_OK);
    assert.deepEqual(up.diropres.file, h.root);
    const parent = await lookup(h, d, "..");
    assert.ok(parent.status === S.NFS_OK);
    assert.deepEqual(parent.diropres.file, h.root);
    assert.equal((await lookup(h, d, "missing")).status, S.NFSERR_NOENT);
    assert.equal((await lookup(h, f, "x")).status, S.NFSERR_NOTDIR);
    const noSearch = await h.nfs(
      P.NFSPROC_SETATTR,
      (w) =>
        P.encode_sattrargs(w, { file: d, attributes: sattr({ mode: 0o700 }) }),
      P.decode_attrstat,
    );
    assert.equal(noSearch.status, S.NFS_OK);
    const denied = await h.nfs(
      P.NFSPROC_LOOKUP,
      (w) => P.encode_diropargs(w, { dir: d, name: "f" }),
      P.decode_diropres,
      sys(1000),
    );
    assert.equal(denied.status, S.NFSERR_ACCES);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: READLINK of a target longer than 1024 bytes is NAMETOOLONG", async () => {
  const fs = new MemFs();
  await fs.symlink(ROOT, fs.root, "long", "x/".repeat(600));
  const h = await start2({ fs });
  try {
    const l = await lookup(h, h.root, "long");
    assert.ok(l.status === S.NFS_OK);
    const r = await h.nfs(
      P.NFSPROC_READLINK,
      (w) => P.encode_fhandle(w, l.diropres.file),
      P.decode_readlinkres,
    );
    assert.equal(r.status, S.NFSERR_NAMETOOLONG);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: READ answers the data and attributes, at most 8192 bytes", async () => {
  const h = await start2();
  try {
    const fh = await file(h, h.root, "f");
    const data = Uint8Array.from({ length: 20_000 }, (_, i) => i % 251);
    for (let at = 0; at < data.length; at += 8192) {
      const w = await write(h, fh, at, data.subarray(at, at + 8192));
      assert.equal(w.status, S.NFS_OK);
    }
    const r = await read(h, fh, 0, 65536);
    assert.ok(r.status === S.NFS_OK);
    assert.equal(r.reply.data.length, 8192, "capped at NFS_MAXDATA");
    assert.deepEqual(r.reply.data, data.subarray(0, 8192));
    assert.equal(r.reply.attributes.size, 20_000);
    const tail = await read(h, fh, 16384, 8192);
    assert.ok(tail.status === S.NFS_OK);
    assert.deepEqual(tail.reply.data, data.subarray(16384));
    const past = await read(h, fh, 30_000, 100);
    assert.ok(past.status === S.NFS_OK);
    assert.equal(past.reply.data.length, 0);
    assert.equal((await read(h, h.root, 0, 10)).status, S.NFSERR_ISDIR);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: READ of a file the caller may not read is ACCES", async () => {
  const h = await start2();
  try {
    const fh = await file(h, h.root, "secret");
    await setattr(h, fh, { mode: 0o600 });
    const r = await h.nfs(
      P.NFSPROC_READ,
      (w) =>
        P.encode_readargs(w, { file: fh, offset: 0, count: 10, totalcount: 0 }),
      P.decode_readres,
      sys(1000),
    );
    assert.equal(r.status, S.NFSERR_ACCES);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: WRITE is synchronous and answers the attributes after it", async () => {
  const stabilities: Stability[] = [];
  class Recording extends MemFs {
    override write(
      ...args: Parameters<MemFs["write"]>
    ): ReturnType<MemFs["write"]> {
      stabilities.push(args[4] ?? "unstable");
      return super.write(...args);
    }
  }
  const h = await start2({ fs: new Recording() });
  try {
    const fh = await file(h, h.root, "f");
    const a = attrsOf(await write(h, fh, 100, enc.encode("abc")));
    assert.equal(a.size, 103);
    const r = await read(h, fh, 98, 10);
    assert.ok(r.status === S.NFS_OK);
    assert.deepEqual(r.reply.data, Uint8Array.of(0, 0, 97, 98, 99));
    assert.deepEqual(stabilities, ["file"], "v2 has no COMMIT: file sync");
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: WRITE beyond 2^32 - 1 bytes is FBIG, read-only is ROFS, nothing written", async () => {
  const fs = new MemFs();
  const h = await start2({
    fs,
    exports: [{}, { path: "/ro", readOnly: true }],
  });
  try {
    const fh = await file(h, h.root, "f");
    const w = await write(h, fh, 0xffffffff - 3, new Uint8Array(4));
    assert.equal(w.status, S.NFSERR_FBIG);
    const ok = await write(h, fh, 0xffffffff - 4, new Uint8Array(4));
    assert.equal(ok.status, S.NFS_OK, "ending at 2^32 - 1 fits");
    const roFile = await lookup(h, h.roots[1], "f");
    assert.ok(roFile.status === S.NFS_OK);
    const ro = await write(h, roFile.diropres.file, 0, new Uint8Array(4));
    assert.equal(ro.status, S.NFSERR_ROFS);
    assert.equal(attrsOf(await getattr(h, fh)).size, 0xffffffff);
    assert.equal(
      (await write(h, h.root, 0, new Uint8Array(4))).status,
      S.NFSERR_ISDIR,
    );
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: WRITE of more than 8192 bytes is GARBAGE_ARGS", async () => {
  const h = await start2();
  try {
    const fh = await file(h, h.root, "f");
    await assert.rejects(
      h.client.call(P.NFS_PROGRAM, 2, P.NFSPROC_WRITE, (w) => {
        w.fixedOpaque(fh).u32(0).u32(0).u32(0).opaque(new Uint8Array(8196));
      }),
      (e) => e instanceof RpcAcceptError && e.statusName === "GARBAGE_ARGS",
    );
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: a file over 4 GiB reports 2^32 - 1 bytes", async () => {
  const fs = new MemFs();
  const f = await fs.create(ROOT, fs.root, "big");
  await fs.setattr(ROOT, f.fileid, { size: 5 * 2 ** 30 });
  const h = await start2({ fs });
  try {
    const l = await lookup(h, h.root, "big");
    assert.ok(l.status === S.NFS_OK);
    assert.equal(l.diropres.attributes.size, 0xffffffff);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: STATFS answers 8192 and the space in blocks", async () => {
  const fs = new MemFs();
  const h = await start2({ fs });
  try {
    const r = await h.nfs(
      P.NFSPROC_STATFS,
      (w) => P.encode_fhandle(w, h.root),
      P.decode_statfsres,
    );
    assert.ok(r.status === S.NFS_OK);
    const s = await fs.statfs(ROOT, fs.root);
    assert.equal(r.info.tsize, 8192);
    assert.ok(s.totalBytes / r.info.bsize <= 0xffffffff);
    assert.equal(r.info.blocks, Math.floor(s.totalBytes / r.info.bsize));
    assert.equal(r.info.bfree, Math.floor(s.freeBytes / r.info.bsize));
    assert.equal(r.info.bavail, Math.floor(s.availBytes / r.info.bsize));
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: a file system's unexpected failure is NFSERR_IO, and logged", async () => {
  const logged: string[] = [];
  class Broken extends MemFs {
    override statfs(): ReturnType<MemFs["statfs"]> {
      return Promise.reject(new TypeError("A bug"));
    }
  }
  const h = await start2({ fs: new Broken(), log: (m) => logged.push(m) });
  try {
    const r = await h.nfs(
      P.NFSPROC_STATFS,
      (w) => P.encode_fhandle(w, h.root),
      P.decode_statfsres,
    );
    assert.equal(r.status, S.NFSERR_IO);
    assert.equal(logged.length, 1);
    assert.match(
      logged[0],
      /^NFS2 STATFS failed, answering NFSERR_IO: TypeError: A bug/,
    );
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: data written through v2 reads back through the file system", async () => {
  const fs = new MemFs();
  const h = await start2({ fs });
  try {
    const fh = await file(h, h.root, "f");
    await write(h, fh, 0, enc.encode("written over v2"));
    const f = await fs.lookup(ROOT, fs.root, "f");
    assert.equal(
      dec.decode((await fs.read(ROOT, f.fileid, 0, 100)).data),
      "written over v2",
    );
  } finally {
    await h.close();
  }
});
