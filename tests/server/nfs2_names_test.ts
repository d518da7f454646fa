// NFSv2 (RFC 1094) through our RpcClient: the procedures that make and remove
// names (CREATE, MKDIR, SYMLINK, REMOVE, RMDIR, RENAME, LINK) and their errors.
import assert from "node:assert/strict";
import * as P from "../../proto/nfs2/mod.ts";
import { ftype, nfsstat as S } from "../../proto/nfs2/mod.ts";
import { padHandle } from "../../server/handles.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { FileType, ROOT } from "../../vfs/types.ts";
import {
  attrsOf,
  create,
  file,
  getattr,
  lookup,
  mkdir,
  sattr,
  start2,
  status,
  sys,
  UNSET,
  write,
} from "./_harness2.ts";

const enc = new TextEncoder();

Deno.test("nfs2: SYMLINK answers its status; READLINK the target; INVAL for a file", async () => {
  const h = await start2({ exports: [{}, { path: "/ro", readOnly: true }] });
  try {
    const symlink = (dir: Uint8Array, name: string, to: string) =>
      status(
        h,
        P.NFSPROC_SYMLINK,
        (w) =>
          P.encode_symlinkargs(w, {
            from: { dir, name },
            to,
            attributes: sattr({ mode: 0o777 }),
          }),
      );
    assert.equal(await symlink(h.root, "l", "../some/where"), S.NFS_OK);
    assert.equal(await symlink(h.root, "l", "x"), S.NFSERR_EXIST);
    assert.equal(await symlink(h.roots[1], "l2", "x"), S.NFSERR_ROFS);
    const l = await lookup(h, h.root, "l");
    assert.ok(l.status === S.NFS_OK);
    assert.equal(l.diropres.attributes.type, ftype.NFLNK);
    assert.equal(l.diropres.attributes.mode & 0o170000, 0o120000);
    const readlink = (fh: Uint8Array) =>
      h.nfs(
        P.NFSPROC_READLINK,
        (w) => P.encode_fhandle(w, fh),
        P.decode_readlinkres,
      );
    const r = await readlink(l.diropres.file);
    assert.ok(r.status === S.NFS_OK);
    assert.equal(r.data, "../some/where");
    assert.equal((await readlink(h.root)).status, S.NFSERR_INVAL);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: CREATE makes a file with the mode asked, and opens an existing one", async () => {
  const h = await start2();
  try {
    const c = await create(h, h.root, "f", { mode: 0o100640 });
    assert.ok(c.status === S.NFS_OK);
    assert.equal(c.diropres.attributes.mode, 0o100640);
    assert.equal(c.diropres.attributes.type, ftype.NFREG);
    await write(h, c.diropres.file, 0, enc.encode("data"));
    // Again, as creat() does: the same file; only a size is applied.
    const again = await create(h, h.root, "f", { mode: 0o100600 });
    assert.ok(again.status === S.NFS_OK);
    assert.deepEqual(again.diropres.file, c.diropres.file);
    assert.equal(again.diropres.attributes.mode, 0o100640);
    assert.equal(again.diropres.attributes.size, 4);
    const truncated = await create(h, h.root, "f", { mode: 0o100600, size: 0 });
    assert.ok(truncated.status === S.NFS_OK);
    assert.equal(truncated.diropres.attributes.size, 0);
    // No mode at all: a regular file.
    const plain = await create(h, h.root, "g", {});
    assert.ok(plain.status === S.NFS_OK);
    assert.equal(plain.diropres.attributes.type, ftype.NFREG);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: CREATE errors: EXIST over a directory, ROFS, ACCES, NOTDIR", async () => {
  const h = await start2({ exports: [{}, { path: "/ro", readOnly: true }] });
  try {
    const d = await mkdir(h, h.root, "d");
    const f = await file(h, h.root, "f");
    assert.equal((await create(h, h.root, "d")).status, S.NFSERR_EXIST);
    assert.equal((await create(h, h.roots[1], "x")).status, S.NFSERR_ROFS);
    assert.equal((await create(h, f, "x")).status, S.NFSERR_NOTDIR);
    const asUser = await h.nfs(
      P.NFSPROC_CREATE,
      (w) =>
        P.encode_createargs(w, {
          where: { dir: d, name: "x" },
          attributes: sattr({ mode: 0o100644 }),
        }),
      P.decode_diropres,
      sys(1000),
    );
    assert.equal(asUser.status, S.NFSERR_ACCES);
    const long = await create(h, h.root, "n".repeat(255));
    assert.equal(long.status, S.NFS_OK);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: CREATE makes devices, FIFOs and sockets from the mode's type bits", async () => {
  const fs = new MemFs();
  const h = await start2({ fs });
  try {
    const make = async (name: string, mode: number, size = UNSET) => {
      const r = await create(h, h.root, name, { mode, size });
      assert.ok(r.status === S.NFS_OK, `${name}: ${r.status}`);
      return [
        r.diropres.attributes,
        await fs.lookup(ROOT, fs.root, name),
      ] as const;
    };
    // Linux packs major 8, minor 1 as 0x801.
    const [chr, chrFs] = await make("tty", 0o020620, 0x801);
    assert.equal(chr.type, ftype.NFCHR);
    assert.equal(chr.rdev, 0x801);
    assert.equal(chrFs.type, FileType.Char);
    assert.deepEqual(chrFs.rdev, { major: 8, minor: 1 });
    assert.equal(chrFs.mode, 0o620);
    const [blk, blkFs] = await make("sda", 0o060600, 0x800);
    assert.equal(blk.type, ftype.NFBLK);
    assert.deepEqual(blkFs.rdev, { major: 8, minor: 0 });
    // A character device without a size: Sun's way of asking for a FIFO.
    const [fifo, fifoFs] = await make("pipe", 0o020644);
    assert.equal(fifoFs.type, FileType.Fifo);
    assert.equal(fifo.type, ftype.NFCHR, "sent as NFCHR ...");
    assert.equal(fifo.rdev, 0xffffffff, "... with rdev all ones");
    assert.equal(fifo.mode, 0o010644);
    const [, fifo2] = await make("pipe2", 0o010600);
    assert.equal(fifo2.type, FileType.Fifo);
    const [sock, sockFs] = await make("sock", 0o140755);
    assert.equal(sock.type, ftype.NFSOCK);
    assert.equal(sockFs.type, FileType.Socket);
    assert.equal(
      (await create(h, h.root, "dir", { mode: 0o040755 })).status,
      S.NFSERR_INVAL,
      "MKDIR makes directories",
    );
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: MKDIR makes a directory; EXIST, ROFS", async () => {
  const h = await start2({ exports: [{}, { path: "/ro", readOnly: true }] });
  try {
    const d = await create(h, h.root, "d", { mode: 0o750 }, P.NFSPROC_MKDIR);
    assert.ok(d.status === S.NFS_OK);
    assert.equal(d.diropres.attributes.type, ftype.NFDIR);
    assert.equal(d.diropres.attributes.mode, 0o040750);
    assert.equal(
      (await create(h, h.root, "d", {}, P.NFSPROC_MKDIR)).status,
      S.NFSERR_EXIST,
    );
    assert.equal(
      (await create(h, h.roots[1], "e", {}, P.NFSPROC_MKDIR)).status,
      S.NFSERR_ROFS,
    );
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: REMOVE and RMDIR: status alone, NOENT, NOTEMPTY, ISDIR, NOTDIR", async () => {
  const h = await start2({ exports: [{}, { path: "/ro", readOnly: true }] });
  try {
    const d = await mkdir(h, h.root, "d");
    await file(h, d, "f");
    await file(h, h.root, "g");
    const op = (proc: number, dir: Uint8Array, name: string) =>
      status(h, proc, (w) => P.encode_diropargs(w, { dir, name }));
    assert.equal(await op(P.NFSPROC_RMDIR, h.root, "d"), S.NFSERR_NOTEMPTY);
    assert.equal(await op(P.NFSPROC_REMOVE, h.root, "d"), S.NFSERR_ISDIR);
    assert.equal(await op(P.NFSPROC_RMDIR, h.root, "g"), S.NFSERR_NOTDIR);
    assert.equal(await op(P.NFSPROC_REMOVE, h.roots[1], "g"), S.NFSERR_ROFS);
    assert.equal(await op(P.NFSPROC_REMOVE, d, "f"), S.NFS_OK);
    assert.equal(await op(P.NFSPROC_REMOVE, d, "f"), S.NFSERR_NOENT);
    assert.equal(await op(P.NFSPROC_RMDIR, h.root, "d"), S.NFS_OK);
    assert.equal((await lookup(h, h.root, "d")).status, S.NFSERR_NOENT);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: RENAME moves names; XDEV across exports, ROFS, NOENT", async () => {
  const fs = new MemFs();
  const h = await start2({
    fs,
    exports: [{}, { path: "/other" }, { path: "/ro", readOnly: true }],
  });
  try {
    const d = await mkdir(h, h.root, "d");
    const f = await file(h, h.root, "f");
    const rename = (
      fromDir: Uint8Array,
      from: string,
      toDir: Uint8Array,
      to: string,
    ) =>
      status(
        h,
        P.NFSPROC_RENAME,
        (w) =>
          P.encode_renameargs(w, {
            from: { dir: fromDir, name: from },
            to: { dir: toDir, name: to },
          }),
      );
    assert.equal(await rename(h.root, "f", d, "g"), S.NFS_OK);
    const moved = await lookup(h, d, "g");
    assert.ok(moved.status === S.NFS_OK);
    assert.deepEqual(moved.diropres.file, f, "the same object");
    assert.equal(await rename(h.root, "f", d, "h"), S.NFSERR_NOENT);
    assert.equal(await rename(d, "g", h.roots[1], "g"), S.NFSERR_XDEV);
    assert.equal(await rename(h.roots[2], "d", h.roots[2], "e"), S.NFSERR_ROFS);
    assert.equal(await rename(h.root, "d", d, "sub"), S.NFSERR_INVAL);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2: LINK adds a name; XDEV across exports, EXIST, ROFS", async () => {
  const h = await start2({
    exports: [{}, { path: "/other" }, { path: "/ro", readOnly: true }],
  });
  try {
    const f = await file(h, h.root, "f");
    const link = (from: Uint8Array, dir: Uint8Array, name: string) =>
      status(
        h,
        P.NFSPROC_LINK,
        (w) => P.encode_linkargs(w, { from, to: { dir, name } }),
      );
    assert.equal(await link(f, h.root, "g"), S.NFS_OK);
    assert.equal(attrsOf(await getattr(h, f)).nlink, 2);
    assert.equal(await link(f, h.root, "g"), S.NFSERR_EXIST);
    assert.equal(await link(f, h.roots[1], "x"), S.NFSERR_XDEV);
    assert.equal(await link(f, h.roots[2], "x"), S.NFSERR_XDEV);
    const roFile = await lookup(h, h.roots[2], "f");
    assert.ok(roFile.status === S.NFS_OK);
    assert.equal(
      await link(roFile.diropres.file, h.roots[2], "x"),
      S.NFSERR_ROFS,
    );
    const stale = padHandle(new Uint8Array(20));
    assert.equal(await link(f, stale, "x"), S.NFSERR_STALE);
  } finally {
    await h.close();
  }
});
