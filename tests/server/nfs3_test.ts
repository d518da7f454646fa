import assert from "node:assert/strict";
import { RpcAcceptError } from "../../rpc/client.ts";
import type { XdrWriter } from "../../rpc/xdr.ts";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc, Nfs3Status as S } from "../../proto/nfs3.ts";
import { encodeHandle } from "../../server/handles.ts";
import { start, sys } from "./_harness.ts";
import type { Harness } from "./_harness.ts";
import { MemFs } from "../../vfs/memfs.ts";

const NOVERF = new Uint8Array(8);

async function lookup(h: Harness, dir: Uint8Array, name: string) {
  return await h.nfs(
    Proc.LOOKUP,
    (w) => P.encodeDirOpArgs(w, { dir, name }),
    P.decodeLookupRes,
  );
}

async function create(
  h: Harness,
  dir: Uint8Array,
  name: string,
  args: Partial<P.CreateArgs> = {},
) {
  return await h.nfs(
    Proc.CREATE,
    (w) =>
      P.encodeCreateArgs(w, {
        dir,
        name,
        mode: P.CreateMode.UNCHECKED,
        attrs: { mode: 0o644 },
        ...args,
      }),
    P.decodeCreateRes,
  );
}

async function mkdir(h: Harness, dir: Uint8Array, name: string) {
  const r = await h.nfs(
    Proc.MKDIR,
    (w) => P.encodeMkdirArgs(w, { dir, name, attrs: { mode: 0o755 } }),
    P.decodeCreateRes,
  );
  assert.equal(r.status, 0);
  return r.object!;
}

async function write(
  h: Harness,
  file: Uint8Array,
  offset: number,
  data: Uint8Array,
  stable: number = P.StableHow.FILE_SYNC,
) {
  return await h.nfs(
    Proc.WRITE,
    (w) =>
      P.encodeWriteArgs(w, { file, offset, count: data.length, stable, data }),
    P.decodeWriteRes,
  );
}

async function read(
  h: Harness,
  file: Uint8Array,
  offset: number,
  count: number,
) {
  return await h.nfs(
    Proc.READ,
    (w) => P.encodeReadArgs(w, { file, offset, count }),
    P.decodeReadRes,
  );
}

async function getattr(h: Harness, object: Uint8Array) {
  return await h.nfs(
    Proc.GETATTR,
    (w) => P.encodeFhArgs(w, { object }),
    P.decodeGetattrRes,
  );
}

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

Deno.test("nfs3: SETATTR with and without the ctime guard", async () => {
  const h = await start();
  try {
    const c = await create(h, h.root, "f");
    const fh = c.object!;
    await write(h, fh, 0, new Uint8Array(100));
    const before = (await getattr(h, fh)).attrs!;
    const stale = await h.nfs(
      Proc.SETATTR,
      (w) =>
        P.encodeSetattrArgs(w, {
          object: fh,
          attrs: { mode: 0o600 },
          guard: { sec: before.ctime.sec - 1, nsec: before.ctime.nsec },
        }),
      P.decodeWccRes,
    );
    assert.equal(stale.status, S.NOT_SYNC);
    assert.ok(stale.wcc?.before && stale.wcc.after);
    const ok = await h.nfs(
      Proc.SETATTR,
      (w) =>
        P.encodeSetattrArgs(w, {
          object: fh,
          attrs: { mode: 0o600, size: 10, mtime: { sec: 1000, nsec: 5 } },
          guard: before.ctime,
        }),
      P.decodeWccRes,
    );
    assert.equal(ok.status, 0);
    assert.equal(ok.wcc!.before!.size, 100);
    assert.equal(ok.wcc!.after!.size, 10);
    assert.equal(ok.wcc!.after!.mode, 0o600);
    assert.deepEqual(ok.wcc!.after!.mtime, { sec: 1000, nsec: 5 });
    const srv = await h.nfs(
      Proc.SETATTR,
      (w) => P.encodeSetattrArgs(w, { object: fh, attrs: { atime: "server" } }),
      P.decodeWccRes,
    );
    assert.equal(srv.status, 0);
    // Another user may not chmod: PERM, with wcc data.
    const perm = await h.nfs(
      Proc.SETATTR,
      (w) => P.encodeSetattrArgs(w, { object: fh, attrs: { mode: 0o777 } }),
      P.decodeWccRes,
      sys(1000),
    );
    assert.equal(perm.status, S.PERM);
    assert.ok(perm.wcc?.after);
  } finally {
    await h.close();
  }
});

Deno.test("nfs3: ACCESS from attributes and credentials, attributes on errors", async () => {
  const h = await start();
  try {
    const c = await create(h, h.root, "private", { attrs: { mode: 0o600 } });
    const all = 0x3f;
    const acc = async (fh: Uint8Array, uid: number) =>
      await h.nfs(
        Proc.ACCESS,
        (w) => P.encodeAccessArgs(w, { object: fh, access: all }),
        P.decodeAccessRes,
        sys(uid),
      );
    const owner = await acc(c.object!, 0);
    assert.equal(owner.status, 0);
    assert.equal(
      owner.access! & (P.Access3.READ | P.Access3.MODIFY),
      P.Access3.READ | P.Access3.MODIFY,
    );
    assert.ok(owner.attrs);
    const other = await acc(c.object!, 1000);
    assert.equal(other.status, 0);
    assert.equal(other.access! & (P.Access3.READ | P.Access3.MODIFY), 0);
    assert.ok(other.attrs, "attributes with a denial");
    const dir = await acc(h.root, 1000);
    assert.equal(dir.access! & P.Access3.LOOKUP, P.Access3.LOOKUP);
    assert.equal(dir.access! & P.Access3.MODIFY, 0);
    // The denied read itself.
    const r = await h.nfs(
      Proc.READ,
      (w) => P.encodeReadArgs(w, { file: c.object!, offset: 0, count: 1 }),
      P.decodeReadRes,
      sys(1000),
    );
    assert.equal(r.status, S.ACCES);
    assert.ok(r.attrs);
  } finally {
    await h.close();
  }
});

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

async function listAll(
  h: Harness,
  dir: Uint8Array,
  plus: boolean,
  count: number,
): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let cookie = 0n;
  let verf: Uint8Array = NOVERF;
  let pages = 0;
  for (;;) {
    const r = await h.client.call(
      P.NFS_PROGRAM,
      3,
      plus ? Proc.READDIRPLUS : Proc.READDIR,
      (w) =>
        plus
          ? P.encodeReaddirplusArgs(w, {
            dir,
            cookie,
            cookieverf: verf,
            dircount: count >> 2,
            maxcount: count,
          })
          : P.encodeReaddirArgs(w, { dir, cookie, cookieverf: verf, count }),
    );
    // The resok (everything after the status word) stays within count.
    assert.ok(r.remaining - 4 <= count, `reply ${r.remaining - 4} > ${count}`);
    const res = plus ? P.decodeReaddirplusRes(r) : P.decodeReaddirRes(r);
    assert.equal(res.status, 0);
    pages++;
    for (const e of res.entries!) {
      names.push(e.name);
      if (plus && e.name !== "..") {
        assert.ok(e.handle && e.attrs, `handle and attributes for ${e.name}`);
        assert.equal(e.attrs.fileid, e.fileid);
      }
    }
    if (res.eof) break;
    assert.ok(res.entries!.length > 0);
    cookie = res.entries!.at(-1)!.cookie;
    verf = res.cookieverf!;
  }
  return { names, pages };
}

Deno.test("nfs3: READDIR and READDIRPLUS page exactly by count", async () => {
  const h = await start();
  try {
    const d = await mkdir(h, h.root, "big");
    const want = new Set<string>([".", ".."]);
    for (let i = 0; i < 600; i++) {
      const name = `entry-${i}-${"x".repeat(i % 40)}`;
      want.add(name);
      assert.equal((await create(h, d, name)).status, 0);
    }
    for (const plus of [false, true]) {
      for (const count of [600, 4096, 65536, 0xffffffff]) {
        const { names, pages } = await listAll(h, d, plus, count);
        assert.equal(names.length, want.size, `plus ${plus} count ${count}`);
        assert.deepEqual(new Set(names), want);
        if (count === 600) assert.ok(pages > 20);
      }
    }
    // Too small for even one entry.
    for (const count of [0, 50, 110]) {
      const r = await h.nfs(
        Proc.READDIR,
        (w) =>
          P.encodeReaddirArgs(w, {
            dir: d,
            cookie: 0n,
            cookieverf: NOVERF,
            count,
          }),
        P.decodeReaddirRes,
      );
      assert.equal(r.status, S.TOOSMALL, `count ${count}`);
      const p = await h.nfs(
        Proc.READDIRPLUS,
        (w) =>
          P.encodeReaddirplusArgs(w, {
            dir: d,
            cookie: 0n,
            cookieverf: NOVERF,
            dircount: 0,
            maxcount: count,
          }),
        P.decodeReaddirplusRes,
      );
      assert.equal(p.status, S.TOOSMALL, `maxcount ${count}`);
    }
    // dircount 0 is a hint: one entry still comes back.
    const one = await h.nfs(
      Proc.READDIRPLUS,
      (w) =>
        P.encodeReaddirplusArgs(w, {
          dir: d,
          cookie: 0n,
          cookieverf: NOVERF,
          dircount: 0,
          maxcount: 8192,
        }),
      P.decodeReaddirplusRes,
    );
    assert.equal(one.status, 0);
    assert.equal(one.entries!.length, 1);
    // A cookie stays good after other entries go, whatever the verifier.
    const first = await h.nfs(
      Proc.READDIR,
      (w) =>
        P.encodeReaddirArgs(w, {
          dir: d,
          cookie: 0n,
          cookieverf: NOVERF,
          count: 1024,
        }),
      P.decodeReaddirRes,
    );
    const last = first.entries!.at(-1)!;
    for (const e of first.entries!.slice(2, -1)) {
      const rm = await h.nfs(
        Proc.REMOVE,
        (w) => P.encodeDirOpArgs(w, { dir: d, name: e.name }),
        P.decodeWccRes,
      );
      assert.equal(rm.status, 0);
    }
    const next = await h.nfs(
      Proc.READDIR,
      (w) =>
        P.encodeReaddirArgs(w, {
          dir: d,
          cookie: last.cookie,
          cookieverf: new Uint8Array(8).fill(0xee),
          count: 1024,
        }),
      P.decodeReaddirRes,
    );
    assert.equal(next.status, 0);
    assert.ok(!next.entries!.some((e) => e.name === last.name));
    assert.ok(next.entries!.length > 0);
    // Resuming after "." and "..".
    const afterDot = await h.nfs(
      Proc.READDIR,
      (w) =>
        P.encodeReaddirArgs(w, {
          dir: d,
          cookie: 1n,
          cookieverf: NOVERF,
          count: 200,
        }),
      P.decodeReaddirRes,
    );
    assert.equal(afterDot.entries![0].name, "..");
    const notDir = await create(h, h.root, "file");
    const nd = await h.nfs(
      Proc.READDIR,
      (w) =>
        P.encodeReaddirArgs(w, {
          dir: notDir.object!,
          cookie: 0n,
          cookieverf: NOVERF,
          count: 4096,
        }),
      P.decodeReaddirRes,
    );
    assert.equal(nd.status, S.NOTDIR);
    assert.ok(nd.dirAttrs);
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

Deno.test("nfs3: read-only export, root squash, all squash", async () => {
  const h = await start({
    exports: [
      { path: "/ro", readOnly: true, squash: "none" },
      { path: "/sq", squash: "root" },
      { path: "/all", squash: "all", anonUid: 4242, anonGid: 4243 },
    ],
  });
  try {
    const ro = h.root;
    const c = await create(h, ro, "x");
    assert.equal(c.status, S.ROFS);
    assert.ok(c.dirWcc?.before, "wcc data on ROFS");
    const acc = await h.nfs(
      Proc.ACCESS,
      (w) => P.encodeAccessArgs(w, { object: ro, access: 0x3f }),
      P.decodeAccessRes,
    );
    assert.equal(
      acc.access! & (P.Access3.MODIFY | P.Access3.EXTEND | P.Access3.DELETE),
      0,
    );
    assert.ok(acc.access! & P.Access3.LOOKUP);
    const mnt = async (path: string) => {
      const { decodeMntRes, encodeDirpath } = await import(
        "../../proto/mount.ts"
      );
      return decodeMntRes(
        await h.client.call(100005, 3, 1, (w) => encodeDirpath(w, path)),
      ).handle!;
    };
    // Root squashed to 65534 cannot create in a root-owned 0755 directory.
    const sq = await mnt("/sq");
    assert.equal((await create(h, sq, "x")).status, S.ACCES);
    // Everyone squashed to the configured anonymous ids.
    await h.fs.setattr({ uid: 0, gid: 0, groups: [] }, h.fs.root, {
      mode: 0o777,
    });
    const all = await mnt("/all");
    const made = await create(h, all, "y", {});
    assert.equal(made.status, 0);
    assert.equal(made.attrs!.uid, 4242);
    assert.equal(made.attrs!.gid, 4243);
    const byRoot = await create(h, sq, "z");
    assert.equal(byRoot.attrs!.uid, 65534);
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

Deno.test("nfs3: per-export client list (ACCES) and secure ports (PERM) on every call", async () => {
  const { handleVerifier } = await import("../../server/handles.ts");
  const h = await start({
    exports: [
      {},
      { path: "/far", clients: ["192.0.2.0/24"], stableHandles: "far" },
      { path: "/sec", secure: true, stableHandles: "sec" },
    ],
  });
  try {
    const far = encodeHandle({
      exportId: 1,
      verifier: handleVerifier("netfs:far"),
      fileid: h.fs.root,
    });
    const sec = encodeHandle({
      exportId: 2,
      verifier: handleVerifier("netfs:sec"),
      fileid: h.fs.root,
    });
    assert.equal((await getattr(h, far)).status, S.ACCES);
    assert.equal((await lookup(h, far, "x")).status, S.ACCES);
    assert.equal((await getattr(h, sec)).status, S.PERM);
    assert.equal((await create(h, sec, "x")).status, S.PERM);
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

Deno.test("nfs3: a per-credentials factory sees each caller's squashed identity", async () => {
  const fs = new MemFs();
  const seen: number[] = [];
  const h = await start({
    fs,
    exports: [{
      squash: "root",
      fs: (cred) => {
        seen.push(cred.uid);
        return fs;
      },
    }],
  });
  try {
    await getattr(h, h.root);
    await h.nfs(
      Proc.GETATTR,
      (w) => P.encodeFhArgs(w, { object: h.root }),
      P.decodeGetattrRes,
      sys(1234),
    );
    // 65534: the anonymous view made at start and root squashed.
    assert.ok(seen.includes(65534));
    assert.ok(seen.includes(1234));
    assert.ok(!seen.includes(0));
  } finally {
    await h.close();
  }
});
