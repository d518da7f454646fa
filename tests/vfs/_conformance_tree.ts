// Conformance cases of the directory tree: mkdir and rmdir, symlinks,
// device nodes, hard links, rename, readdir paging, statfs and FileIds.
import assert from "node:assert/strict";
import { FileType, ROOT } from "../../vfs/mod.ts";
import {
  enc,
  type Features,
  names,
  put,
  rejects,
  type Test,
  text,
  USER,
} from "./_conformance_shared.ts";

/** Registers the cases with `test`, for a back end with features `f`. */
export function treeCases(test: Test, f: Features): void {
  test("mkdir, rmdir and directory nlink", async (fs) => {
    const r0 = await fs.getattr(ROOT, fs.root);
    const d = await fs.mkdir(ROOT, fs.root, "d", { mode: 0o750 });
    assert.equal(d.type, FileType.Directory);
    assert.equal(d.mode & 0o777, 0o750);
    if (f.dirNlink) {
      assert.equal(d.nlink, 2);
      assert.equal((await fs.getattr(ROOT, fs.root)).nlink, r0.nlink + 1);
    }
    await rejects(fs.mkdir(ROOT, fs.root, "d"), "EEXIST");
    await put(fs, d.fileid, "f", "x");
    await rejects(fs.rmdir(ROOT, fs.root, "d"), ["ENOTEMPTY", "EEXIST"]);
    await rejects(fs.rmdir(ROOT, d.fileid, "f"), "ENOTDIR");
    await rejects(fs.remove(ROOT, fs.root, "d"), ["EISDIR", "EPERM"]);
    await rejects(fs.rmdir(ROOT, fs.root, "none"), "ENOENT");
    await rejects(fs.remove(ROOT, fs.root, "none"), "ENOENT");
    await fs.remove(ROOT, d.fileid, "f");
    await fs.rmdir(ROOT, fs.root, "d");
    await rejects(fs.getattr(ROOT, d.fileid), "ESTALE");
    await rejects(fs.lookup(ROOT, fs.root, "d"), "ENOENT");
    if (f.dirNlink) {
      assert.equal((await fs.getattr(ROOT, fs.root)).nlink, r0.nlink);
    }
  });

  test("symlink and readlink", async (fs) => {
    const s = await fs.symlink(ROOT, fs.root, "ln", "some/where/../x");
    assert.equal(s.type, FileType.Symlink);
    assert.equal(s.size, "some/where/../x".length);
    assert.equal(await fs.readlink(ROOT, s.fileid), "some/where/../x");
    const l = await fs.lookup(ROOT, fs.root, "ln");
    assert.equal(l.fileid, s.fileid);
    assert.equal(l.type, FileType.Symlink);
    await rejects(fs.symlink(ROOT, fs.root, "ln", "y"), "EEXIST");
    const a = await put(fs, fs.root, "file", "x");
    await rejects(fs.readlink(ROOT, a.fileid), "EINVAL");
    await rejects(fs.read(ROOT, s.fileid, 0, 10), "EINVAL");
    await fs.remove(ROOT, fs.root, "ln");
    await rejects(fs.lookup(ROOT, fs.root, "ln"), "ENOENT");
  });

  test("mknod: fifo, socket, devices", async (fs) => {
    if (!f.mknod) {
      await rejects(
        fs.mknod(ROOT, fs.root, "p", { type: FileType.Fifo }),
        "ENOTSUP",
      );
      return;
    }
    const p = await fs.mknod(ROOT, fs.root, "p", { type: FileType.Fifo });
    assert.equal(p.type, FileType.Fifo);
    const s = await fs.mknod(ROOT, fs.root, "s", { type: FileType.Socket });
    assert.equal(s.type, FileType.Socket);
    await rejects(
      fs.mknod(ROOT, fs.root, "p", { type: FileType.Fifo }),
      "EEXIST",
    );
    await rejects(
      fs.mknod(ROOT, fs.root, "r", { type: FileType.Regular }),
      "EINVAL",
    );
    if (f.devices) {
      const c = await fs.mknod(ROOT, fs.root, "c", {
        type: FileType.Char,
        rdev: { major: 1, minor: 3 },
      });
      assert.equal(c.type, FileType.Char);
      assert.deepEqual(c.rdev, { major: 1, minor: 3 });
      await rejects(
        fs.mknod(USER, fs.root, "b", { type: FileType.Block }),
        ["EPERM", "EACCES"],
      );
    }
    await rejects(fs.read(ROOT, p.fileid, 0, 1), "EINVAL");
  });

  test("hard links share the object and count nlink", async (fs) => {
    const a = await put(fs, fs.root, "a", "data");
    const d = await fs.mkdir(ROOT, fs.root, "d");
    // Without shared FileIds (path-based adapters) hard links are tested by
    // the backend's own tests.
    if (!f.hardLinks) return;
    const l = await fs.link(ROOT, a.fileid, d.fileid, "b");
    assert.equal(l.nlink, 2);
    assert.equal(l.fileid, a.fileid);
    assert.equal((await fs.lookup(ROOT, d.fileid, "b")).fileid, a.fileid);
    await rejects(fs.link(ROOT, a.fileid, d.fileid, "b"), "EEXIST");
    await rejects(fs.link(ROOT, d.fileid, fs.root, "dlink"), "EPERM");
    await fs.remove(ROOT, fs.root, "a");
    const left = await fs.getattr(ROOT, a.fileid);
    assert.equal(left.nlink, 1);
    assert.equal(await text(fs, a.fileid), "data");
    await fs.remove(ROOT, d.fileid, "b");
    await rejects(fs.getattr(ROOT, a.fileid), "ESTALE");
  });

  test("rename: move, replace, keep identity", async (fs) => {
    const a = await put(fs, fs.root, "a", "A");
    const b = await put(fs, fs.root, "b", "B");
    await fs.rename(ROOT, fs.root, "a", fs.root, "b");
    await rejects(fs.lookup(ROOT, fs.root, "a"), "ENOENT");
    const nb = await fs.lookup(ROOT, fs.root, "b");
    assert.equal(nb.fileid, a.fileid, "renamed object keeps its FileId");
    assert.equal(await text(fs, nb.fileid), "A");
    await rejects(fs.getattr(ROOT, b.fileid), "ESTALE");
    await rejects(fs.rename(ROOT, fs.root, "zz", fs.root, "yy"), "ENOENT");
    // Same name: nothing happens.
    await fs.rename(ROOT, fs.root, "b", fs.root, "b");
    assert.equal((await fs.lookup(ROOT, fs.root, "b")).fileid, a.fileid);
    // Cross-directory move of a directory updates both parents' nlink.
    const d1 = await fs.mkdir(ROOT, fs.root, "d1");
    const d2 = await fs.mkdir(ROOT, fs.root, "d2");
    const sub = await fs.mkdir(ROOT, d1.fileid, "sub");
    await fs.rename(ROOT, d1.fileid, "sub", d2.fileid, "moved");
    assert.equal(
      (await fs.lookup(ROOT, d2.fileid, "moved")).fileid,
      sub.fileid,
    );
    assert.equal((await fs.lookup(ROOT, sub.fileid, "..")).fileid, d2.fileid);
    if (f.dirNlink) {
      assert.equal((await fs.getattr(ROOT, d1.fileid)).nlink, 2);
      assert.equal((await fs.getattr(ROOT, d2.fileid)).nlink, 3);
    }
    await fs.rename(ROOT, fs.root, "b", d1.fileid, "b2");
    assert.equal((await fs.lookup(ROOT, d1.fileid, "b2")).fileid, a.fileid);
  });

  test("rename: directory edge cases", async (fs) => {
    const d = await fs.mkdir(ROOT, fs.root, "d");
    const empty = await fs.mkdir(ROOT, fs.root, "empty");
    const full = await fs.mkdir(ROOT, fs.root, "full");
    await put(fs, full.fileid, "x", "x");
    const file = await put(fs, fs.root, "file", "f");
    const inner = await fs.mkdir(ROOT, d.fileid, "inner");
    await rejects(
      fs.rename(ROOT, fs.root, "d", inner.fileid, "loop"),
      "EINVAL",
    );
    await rejects(fs.rename(ROOT, fs.root, "d", d.fileid, "self"), "EINVAL");
    await rejects(
      fs.rename(ROOT, fs.root, "d", fs.root, "full"),
      ["ENOTEMPTY", "EEXIST"],
    );
    await rejects(fs.rename(ROOT, fs.root, "d", fs.root, "file"), "ENOTDIR");
    await rejects(fs.rename(ROOT, fs.root, "file", fs.root, "d"), "EISDIR");
    // A directory replaces an empty directory atomically.
    await fs.rename(ROOT, fs.root, "d", fs.root, "empty");
    assert.equal((await fs.lookup(ROOT, fs.root, "empty")).fileid, d.fileid);
    await rejects(fs.getattr(ROOT, empty.fileid), "ESTALE");
    await rejects(fs.lookup(ROOT, fs.root, "d"), "ENOENT");
    assert.equal(
      (await fs.lookup(ROOT, inner.fileid, "..")).fileid,
      d.fileid,
    );
    assert.equal((await fs.getattr(ROOT, file.fileid)).nlink, 1);
  });

  test("rename onto a hard link of itself is a no-op", async (fs) => {
    if (!f.hardLinks) return;
    const a = await put(fs, fs.root, "a", "A");
    await fs.link(ROOT, a.fileid, fs.root, "a2");
    await fs.rename(ROOT, fs.root, "a", fs.root, "a2");
    assert.equal((await fs.lookup(ROOT, fs.root, "a")).fileid, a.fileid);
    assert.equal((await fs.lookup(ROOT, fs.root, "a2")).fileid, a.fileid);
    assert.equal((await fs.getattr(ROOT, a.fileid)).nlink, 2);
  });

  test("readdir: no dot entries, cookies >= 3, attributes", async (fs) => {
    const d = await fs.mkdir(ROOT, fs.root, "d");
    await rejects(
      fs.readdir(ROOT, (await put(fs, d.fileid, "f", "")).fileid),
      "ENOTDIR",
    );
    await fs.mkdir(ROOT, d.fileid, "sub");
    await fs.symlink(ROOT, d.fileid, "ln", "f");
    const page = await fs.readdir(ROOT, d.fileid, { withAttributes: true });
    assert.equal(page.eof, true);
    assert.deepEqual(page.entries.map((e) => e.name).sort(), [
      "f",
      "ln",
      "sub",
    ]);
    for (const e of page.entries) {
      assert.ok(e.cookie >= 3n);
      assert.ok(e.attrs !== undefined);
      assert.equal(e.attrs.fileid, e.fileid);
      assert.equal(
        (await fs.lookup(ROOT, d.fileid, e.name)).fileid,
        e.fileid,
      );
    }
    const empty = await fs.mkdir(ROOT, fs.root, "empty");
    const none = await fs.readdir(ROOT, empty.fileid);
    assert.deepEqual(none.entries, []);
    assert.equal(none.eof, true);
  });

  test("readdir: paging with cookies across unrelated changes", async (fs) => {
    const d = await fs.mkdir(ROOT, fs.root, "d");
    const initial = new Set<string>();
    for (let i = 0; i < 60; i++) {
      await fs.create(ROOT, d.fileid, `f${i}`);
      initial.add(`f${i}`);
    }
    const seen: string[] = [];
    let page = await fs.readdir(ROOT, d.fileid, { limit: 10 });
    assert.equal(page.entries.length, 10);
    assert.equal(page.eof, false);
    seen.push(...page.entries.map((e) => e.name));
    let cookie = page.entries[9].cookie;
    // Unrelated changes: add new names, remove one seen and some unseen.
    for (let i = 0; i < 5; i++) await fs.create(ROOT, d.fileid, `new${i}`);
    await fs.remove(ROOT, d.fileid, seen[3]);
    const unseen = [...initial].filter((n) => !seen.includes(n));
    const removed = unseen.slice(5, 8);
    for (const n of removed) await fs.remove(ROOT, d.fileid, n);
    // Removing the entry whose cookie we hold must not break the cookie.
    await fs.remove(ROOT, d.fileid, seen[9]);
    for (;;) {
      page = await fs.readdir(ROOT, d.fileid, { cookie, limit: 10 });
      assert.ok(page.entries.length <= 10);
      seen.push(...page.entries.map((e) => e.name));
      if (page.eof) break;
      cookie = page.entries[page.entries.length - 1].cookie;
    }
    assert.equal(new Set(seen).size, seen.length, "no entry twice");
    for (const n of initial) {
      if (removed.includes(n)) assert.ok(!seen.includes(n), `${n} removed`);
      else assert.ok(seen.includes(n), `${n} must be listed`);
    }
    // A limit of 1 pages one entry at a time to the end.
    const all = await names(fs, d.fileid);
    assert.equal(all.length, 60 - 3 - 2 + 5);
  });

  test("statfs, commit, ESTALE, FileIds never reused", async (fs) => {
    const st = await fs.statfs(ROOT, fs.root);
    assert.ok(st.totalBytes >= st.freeBytes && st.freeBytes >= 0);
    assert.ok(st.freeBytes >= st.availBytes);
    assert.ok(st.totalFiles >= st.freeFiles);
    const a = await put(fs, fs.root, "c", "x");
    await fs.commit(ROOT, a.fileid);
    await fs.write(ROOT, a.fileid, 0, enc.encode("yy"), "unstable");
    await fs.commit(ROOT, a.fileid);
    assert.equal(await text(fs, a.fileid), "yy");
    await rejects(fs.getattr(ROOT, 987654321), "ESTALE");
    await rejects(fs.lookup(ROOT, 987654321, "x"), "ESTALE");
    const ids = new Set<number>([fs.root]);
    for (let i = 0; i < 20; i++) {
      const x = await fs.create(ROOT, fs.root, "tmp");
      assert.ok(!ids.has(x.fileid), `FileId ${x.fileid} reused`);
      ids.add(x.fileid);
      await fs.remove(ROOT, fs.root, "tmp");
      await rejects(fs.getattr(ROOT, x.fileid), "ESTALE");
    }
  });
}
