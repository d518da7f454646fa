// Conformance cases of files and their attributes: the root, create and
// lookup, names, reads and writes, sparse files, setattr, times.
import assert from "node:assert/strict";
import { FileType, ROOT } from "../../vfs/mod.ts";
import {
  after,
  dec,
  enc,
  type Features,
  put,
  rejects,
  type Test,
  text,
} from "./_conformance_shared.ts";

/** Registers the cases with `test`, for a back end with features `f`. */
export function fileCases(test: Test, f: Features): void {
  test("root is a directory with nlink >= 1", async (fs) => {
    const a = await fs.getattr(ROOT, fs.root);
    assert.equal(a.type, FileType.Directory);
    assert.ok(a.nlink >= 1);
    assert.equal(a.fileid, fs.root);
    const dot = await fs.lookup(ROOT, fs.root, ".");
    assert.equal(dot.fileid, fs.root);
    const dotdot = await fs.lookup(ROOT, fs.root, "..");
    assert.equal(dotdot.fileid, fs.root, ".. of the root is the root");
    assert.ok(fs.limits.maxNameLength >= 255);
  });

  test("create, lookup, getattr, exclusive and unchecked create", async (fs) => {
    const a = await fs.create(ROOT, fs.root, "a.txt", {
      attrs: { mode: 0o640 },
    });
    assert.equal(a.type, FileType.Regular);
    assert.equal(a.mode & 0o777, 0o640);
    assert.equal(a.size, 0);
    assert.equal(a.nlink, 1);
    const l = await fs.lookup(ROOT, fs.root, "a.txt");
    assert.equal(l.fileid, a.fileid);
    await rejects(
      fs.create(ROOT, fs.root, "a.txt", { exclusive: true }),
      "EEXIST",
    );
    await fs.write(ROOT, a.fileid, 0, enc.encode("hello"));
    const again = await fs.create(ROOT, fs.root, "a.txt");
    assert.equal(again.fileid, a.fileid);
    assert.equal(again.size, 5, "unchecked create keeps data");
    const trunc = await fs.create(ROOT, fs.root, "a.txt", {
      attrs: { size: 0 },
    });
    assert.equal(trunc.size, 0, "size 0 truncates");
    await rejects(fs.lookup(ROOT, fs.root, "nope"), "ENOENT");
    await rejects(fs.lookup(ROOT, a.fileid, "x"), "ENOTDIR");
    await rejects(fs.create(ROOT, a.fileid, "x"), "ENOTDIR");
    const d = await fs.mkdir(ROOT, fs.root, "d");
    await rejects(fs.create(ROOT, fs.root, "d"), ["EISDIR", "EEXIST"]);
    await rejects(
      fs.create(ROOT, fs.root, "d", { exclusive: true }),
      "EEXIST",
    );
    const sub = await fs.lookup(ROOT, d.fileid, "..");
    assert.equal(sub.fileid, fs.root);
  });

  test("names: '/', NUL, '.', '..', empty and > 255 bytes", async (fs) => {
    for (const bad of ["a/b", "a\0b", ".", "..", ""]) {
      await rejects(fs.create(ROOT, fs.root, bad), "EINVAL");
      await rejects(fs.mkdir(ROOT, fs.root, bad), "EINVAL");
    }
    await rejects(fs.lookup(ROOT, fs.root, "a/b"), "EINVAL");
    await rejects(fs.lookup(ROOT, fs.root, "a\0b"), "EINVAL");
    await rejects(fs.remove(ROOT, fs.root, ".."), "EINVAL");
    await rejects(fs.rmdir(ROOT, fs.root, "."), "EINVAL");
    await rejects(fs.rename(ROOT, fs.root, "..", fs.root, "x"), "EINVAL");
    await rejects(fs.create(ROOT, fs.root, "x".repeat(256)), "ENAMETOOLONG");
    await rejects(fs.create(ROOT, fs.root, "é".repeat(128)), "ENAMETOOLONG");
    await rejects(fs.lookup(ROOT, fs.root, "x".repeat(256)), "ENAMETOOLONG");
    const ok = await fs.create(ROOT, fs.root, "y".repeat(255));
    assert.equal(
      (await fs.lookup(ROOT, fs.root, "y".repeat(255))).fileid,
      ok.fileid,
    );
    const uni = await fs.create(ROOT, fs.root, "ünï ☃ 名前");
    assert.equal(
      (await fs.lookup(ROOT, fs.root, "ünï ☃ 名前")).fileid,
      uni.fileid,
    );
  });

  test("read and write: extend, overwrite, EOF, holes read as zeros", async (fs) => {
    const a = await fs.create(ROOT, fs.root, "f");
    const w = await fs.write(ROOT, a.fileid, 0, enc.encode("abcdef"));
    assert.equal(w.count, 6);
    assert.equal(w.attrs.size, 6);
    assert.ok(["unstable", "data", "file"].includes(w.committed));
    await fs.write(ROOT, a.fileid, 2, enc.encode("XY"), "file");
    assert.equal(await text(fs, a.fileid), "abXYef");
    let r = await fs.read(ROOT, a.fileid, 4, 100);
    assert.equal(dec.decode(r.data), "ef");
    assert.equal(r.eof, true);
    r = await fs.read(ROOT, a.fileid, 0, 2);
    assert.equal(r.eof, false);
    r = await fs.read(ROOT, a.fileid, 100, 10);
    assert.equal(r.data.length, 0);
    assert.equal(r.eof, true);
    // A write past the end leaves a hole of zeros.
    await fs.write(ROOT, a.fileid, 10, enc.encode("Z"));
    r = await fs.read(ROOT, a.fileid, 0, 64);
    assert.deepEqual(
      [...r.data],
      [...enc.encode("abXYef"), 0, 0, 0, 0, ...enc.encode("Z")],
    );
    // Data across chunk-sized boundaries.
    const big = new Uint8Array(3 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
    const b = await fs.create(ROOT, fs.root, "big");
    await fs.write(ROOT, b.fileid, 1000, big);
    const back = new Uint8Array(big.length);
    for (let off = 0; off < big.length; off += 65536 + 17) {
      const part = await fs.read(
        ROOT,
        b.fileid,
        1000 + off,
        Math.min(65536 + 17, big.length - off),
      );
      back.set(part.data, off);
    }
    assert.deepEqual(back, big);
    const head = await fs.read(ROOT, b.fileid, 0, 1000);
    assert.ok(head.data.every((x) => x === 0));
    const d = await fs.mkdir(ROOT, fs.root, "dir");
    await rejects(fs.read(ROOT, d.fileid, 0, 1), "EISDIR");
    await rejects(fs.write(ROOT, d.fileid, 0, enc.encode("x")), "EISDIR");
  });

  test("sparse file: 1 TiB hole reads zeros", async (fs) => {
    const a = await fs.create(ROOT, fs.root, "sparse");
    const end = f.sparse ? 2 ** 40 : 2 ** 24;
    await fs.write(ROOT, a.fileid, end - 4, enc.encode("tail"));
    const attrs = await fs.getattr(ROOT, a.fileid);
    assert.equal(attrs.size, end);
    if (f.sparse) assert.ok(attrs.used < 1 << 24, `used ${attrs.used}`);
    const mid = await fs.read(ROOT, a.fileid, end / 2, 1 << 20);
    assert.equal(mid.data.length, 1 << 20);
    assert.ok(mid.data.every((x) => x === 0));
    assert.equal(
      dec.decode((await fs.read(ROOT, a.fileid, end - 4, 8)).data),
      "tail",
    );
  });

  test("setattr: truncate, extend with zeros, chmod, times", async (fs) => {
    const a = await put(fs, fs.root, "t", "0123456789");
    let s = await fs.setattr(ROOT, a.fileid, { size: 4 });
    assert.equal(s.size, 4);
    s = await fs.setattr(ROOT, a.fileid, { size: 8 });
    const r = await fs.read(ROOT, a.fileid, 0, 100);
    assert.deepEqual([...r.data], [...enc.encode("0123"), 0, 0, 0, 0]);
    s = await fs.setattr(ROOT, a.fileid, { mode: 0o600 });
    assert.equal(s.mode & 0o7777, 0o600);
    const t = { sec: 1_000_000_000, nsec: 5000 };
    s = await fs.setattr(ROOT, a.fileid, { atime: t, mtime: t });
    assert.equal(s.mtime.sec, t.sec);
    assert.equal(s.atime.sec, t.sec);
    s = await fs.setattr(ROOT, a.fileid, { mtime: "server" });
    assert.ok(s.mtime.sec > t.sec);
    const d = await fs.mkdir(ROOT, fs.root, "d");
    await rejects(fs.setattr(ROOT, d.fileid, { size: 0 }), "EISDIR");
  });

  test("times and change counter follow POSIX", async (fs) => {
    const dir0 = await fs.getattr(ROOT, fs.root);
    const a = await fs.create(ROOT, fs.root, "t");
    const dir1 = await fs.getattr(ROOT, fs.root);
    assert.ok(dir1.change > dir0.change, "create changes the parent");
    assert.ok(!after(dir0.mtime, dir1.mtime));
    const w = await fs.write(ROOT, a.fileid, 0, enc.encode("x"));
    assert.ok(w.attrs.change > a.change);
    assert.ok(!after(a.mtime, w.attrs.mtime));
    const c = await fs.setattr(ROOT, a.fileid, { mode: 0o600 });
    assert.ok(c.change > w.attrs.change, "chmod changes the change counter");
    assert.ok(!after(w.attrs.ctime, c.ctime));
    assert.deepEqual(c.mtime, w.attrs.mtime, "chmod keeps mtime");
    const l = await fs.getattr(ROOT, a.fileid);
    await fs.rename(ROOT, fs.root, "t", fs.root, "u");
    const dir2 = await fs.getattr(ROOT, fs.root);
    assert.ok(dir2.change > dir1.change, "rename changes the parent");
    const moved = await fs.getattr(ROOT, a.fileid);
    assert.ok(moved.change >= l.change);
  });
}
