// One conformance suite for every FileSystem backend and wrapper. Each
// *_test.ts calls `conformance(name, factory, features)`; the same
// expectations hold for all of them, minus the features a backend declares
// it lacks.
import assert from "node:assert/strict";
import {
  Access,
  type Attributes,
  type Credentials,
  type FileId,
  type FileSystem,
  FileType,
  isVfsError,
  ROOT,
  ShareAccess,
  ShareDeny,
  type VfsErrorCode,
} from "../../vfs/mod.ts";
import { lentDataCases } from "./_lent_data.ts";
import { openHookCases } from "./_open_hooks.ts";

/** A backend under test. */
export interface Subject {
  /** The file system to test. */
  fs: FileSystem;
  /** For read-only wrappers: the writable file system underneath, to build the tree. */
  setup?: FileSystem;
  /** Releases everything (temp dirs, timers). */
  close(): Promise<void>;
}

/** What a backend can do; absent means yes unless said otherwise. */
export interface Features {
  /** Every change fails with EROFS. */
  readOnly?: boolean;
  /** New objects belong to the caller and chown works (false: host user owns all). */
  ownership?: boolean;
  /** mknod works for fifos and sockets. */
  mknod?: boolean;
  /** mknod works for block and char devices (as root). */
  devices?: boolean;
  /** Hard links share one FileId (false: skip the hard-link tests). */
  hardLinks?: boolean;
  /** Sparse files use less than their size. */
  sparse?: boolean;
  /** A factory for a file system with a small capacity in bytes: test ENOSPC. */
  capacity?: { bytes: number; factory: () => Promise<Subject> };
  /** Directories count subdirectories in nlink. */
  dirNlink?: boolean;
  /** The file system has the open/release hooks (absent means no). */
  openHooks?: boolean;
}

const USER: Credentials = { uid: 1000, gid: 1000, groups: [] };
const OTHER: Credentials = { uid: 1001, gid: 1001, groups: [] };
const enc = new TextEncoder();
const dec = new TextDecoder();

async function rejects(
  p: Promise<unknown>,
  code: VfsErrorCode | VfsErrorCode[],
): Promise<void> {
  const codes = Array.isArray(code) ? code : [code];
  try {
    await p;
  } catch (e) {
    if (isVfsError(e) && codes.includes(e.code)) return;
    throw new assert.AssertionError({
      message: `Expected ${codes.join("|")}, got: ${
        isVfsError(e) ? e.code : String(e)
      } (${(e as Error).message})`,
    });
  }
  throw new assert.AssertionError({
    message: `Expected ${codes.join("|")}, but it succeeded`,
  });
}

async function text(fs: FileSystem, id: FileId): Promise<string> {
  return dec.decode((await fs.read(ROOT, id, 0, 1 << 20)).data);
}

async function put(
  fs: FileSystem,
  dir: FileId,
  name: string,
  body: string,
): Promise<Attributes> {
  const a = await fs.create(ROOT, dir, name);
  if (body) await fs.write(ROOT, a.fileid, 0, enc.encode(body), "file");
  return await fs.getattr(ROOT, a.fileid);
}

async function names(fs: FileSystem, dir: FileId): Promise<string[]> {
  const out: string[] = [];
  let cookie = 0n;
  for (;;) {
    const page = await fs.readdir(ROOT, dir, { cookie, limit: 7 });
    for (const e of page.entries) out.push(e.name);
    if (page.eof) break;
    assert.ok(page.entries.length > 0, "non-eof page must not be empty");
    cookie = page.entries[page.entries.length - 1].cookie;
  }
  return out.sort();
}

function after(a: { sec: number; nsec: number }, b: typeof a): boolean {
  return a.sec > b.sec || (a.sec === b.sec && a.nsec > b.nsec);
}

/**
 * Registers the suite for one backend.
 *
 * @param name Shown in test names.
 * @param factory Makes a fresh, empty backend (root mode 0o777 is not assumed).
 * @param features What the backend supports.
 * @param register Registers one case (default: a Deno.test of its own); a
 *   caller with a setup to share (a mounted file system) collects the cases
 *   and runs them as steps.
 */
export function conformance(
  name: string,
  factory: () => Promise<Subject>,
  features: Features = {},
  register: (label: string, fn: () => Promise<void>) => void = Deno.test,
): void {
  const f = {
    ownership: true,
    mknod: true,
    devices: true,
    hardLinks: true,
    sparse: true,
    dirNlink: true,
    ...features,
  };
  const test = (label: string, fn: (fs: FileSystem) => Promise<void>) =>
    register(`${name}: ${label}`, async () => {
      const s = await factory();
      try {
        await fn(s.fs);
      } finally {
        await s.close();
      }
    });

  if (f.readOnly) {
    readOnlySuite(name, factory, f.openHooks ?? false);
    return;
  }
  openHookCases(test, f.openHooks ?? false);
  lentDataCases(test);

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

  test("permissions: a non-root uid is denied by mode bits", async (fs) => {
    const priv = await fs.mkdir(ROOT, fs.root, "priv", { mode: 0o700 });
    await put(fs, priv.fileid, "inside", "x");
    const pub = await fs.mkdir(ROOT, fs.root, "pub", { mode: 0o755 });
    const secret = await put(fs, pub.fileid, "secret", "s");
    await fs.setattr(ROOT, secret.fileid, { mode: 0o600 });
    const open = await put(fs, pub.fileid, "open", "o");
    await fs.setattr(ROOT, open.fileid, { mode: 0o644 });

    await rejects(fs.lookup(USER, priv.fileid, "inside"), "EACCES");
    await rejects(fs.readdir(USER, priv.fileid), "EACCES");
    await rejects(fs.create(USER, pub.fileid, "new"), "EACCES");
    await rejects(fs.mkdir(USER, pub.fileid, "new"), "EACCES");
    await rejects(fs.remove(USER, pub.fileid, "open"), "EACCES");
    await rejects(
      fs.rename(USER, pub.fileid, "open", pub.fileid, "o2"),
      "EACCES",
    );
    await rejects(fs.read(USER, secret.fileid, 0, 1), "EACCES");
    await rejects(fs.write(USER, open.fileid, 0, enc.encode("w")), "EACCES");
    await rejects(fs.setattr(USER, open.fileid, { size: 0 }), "EACCES");
    await rejects(fs.setattr(USER, open.fileid, { mode: 0o777 }), "EPERM");
    await rejects(fs.setattr(USER, open.fileid, { uid: USER.uid }), "EPERM");
    assert.equal(
      dec.decode((await fs.read(USER, open.fileid, 0, 10)).data),
      "o",
    );
    assert.equal(
      await fs.access(USER, open.fileid, 0x3f),
      Access.READ,
    );
    assert.equal(
      await fs.access(USER, pub.fileid, 0x3f),
      Access.READ | Access.LOOKUP | Access.EXECUTE,
    );
    assert.equal(await fs.access(USER, priv.fileid, 0x3f), 0);
    // Root reads and writes anything but executes only with some x bit.
    assert.equal(
      await fs.access(ROOT, secret.fileid, 0x3f),
      Access.READ | Access.MODIFY | Access.EXTEND,
    );
    await fs.setattr(ROOT, secret.fileid, { mode: 0o700 });
    assert.ok((await fs.access(ROOT, secret.fileid, Access.EXECUTE)) !== 0);
  });

  test("permissions: ownership, chown, sticky directories", async (fs) => {
    if (!f.ownership) return;
    const tmp = await fs.mkdir(ROOT, fs.root, "tmp", { mode: 0o1777 });
    const mine = await fs.create(USER, tmp.fileid, "mine");
    assert.equal(mine.uid, USER.uid);
    assert.equal(mine.gid, USER.gid);
    await fs.write(USER, mine.fileid, 0, enc.encode("m"));
    await fs.setattr(USER, mine.fileid, { mode: 0o666 });
    // Others may write the file but not remove or rename it in a sticky dir.
    await fs.write(OTHER, mine.fileid, 0, enc.encode("o"));
    await rejects(fs.remove(OTHER, tmp.fileid, "mine"), ["EPERM", "EACCES"]);
    await rejects(
      fs.rename(OTHER, tmp.fileid, "mine", tmp.fileid, "stolen"),
      ["EPERM", "EACCES"],
    );
    await rejects(fs.setattr(USER, mine.fileid, { uid: OTHER.uid }), "EPERM");
    await rejects(fs.setattr(USER, mine.fileid, { gid: OTHER.gid }), "EPERM");
    const member = { uid: USER.uid, gid: USER.gid, groups: [4242] };
    const g = await fs.setattr(member, mine.fileid, { gid: 4242 });
    assert.equal(g.gid, 4242, "owner may chgrp to a group it is in");
    const c = await fs.setattr(ROOT, mine.fileid, { uid: OTHER.uid });
    assert.equal(c.uid, OTHER.uid);
    await fs.remove(OTHER, tmp.fileid, "mine");
    // Set-id bits drop when a non-owner writes.
    const s = await fs.create(USER, tmp.fileid, "suid", {
      attrs: { mode: 0o4777 },
    });
    await fs.setattr(USER, s.fileid, { mode: 0o4777 });
    assert.equal((await fs.getattr(ROOT, s.fileid)).mode & 0o4000, 0o4000);
    await fs.write(OTHER, s.fileid, 0, enc.encode("x"));
    assert.equal((await fs.getattr(ROOT, s.fileid)).mode & 0o4000, 0);
  });

  test("permissions: the owner writes a file it created with mode 0", async (fs) => {
    if (!f.ownership) return;
    const tmp = await fs.mkdir(ROOT, fs.root, "tmp", { mode: 0o777 });
    // What an NFS client's open(O_CREAT|O_EXCL, 0) does: create, then write.
    const made = await fs.create(USER, tmp.fileid, "locked", {
      exclusive: true,
      attrs: { mode: 0 },
    });
    assert.equal(made.mode & 0o777, 0);
    await fs.write(USER, made.fileid, 0, enc.encode("mine"));
    assert.equal(
      dec.decode((await fs.read(USER, made.fileid, 0, 10)).data),
      "mine",
      "the owner reads and writes whatever the mode (knfsd's owner override)",
    );
    await fs.setattr(USER, made.fileid, { size: 2 });
    assert.equal(
      await fs.access(USER, made.fileid, 0x3f),
      0,
      "ACCESS shows the mode",
    );
    await rejects(fs.read(OTHER, made.fileid, 0, 1), "EACCES");
    await rejects(fs.write(OTHER, made.fileid, 0, enc.encode("o")), "EACCES");
  });

  test("permissions: a supplementary group gets the group bits", async (fs) => {
    if (!f.ownership) return;
    const shared = await put(fs, fs.root, "shared", "s");
    await fs.setattr(ROOT, shared.fileid, { gid: 4242, mode: 0o660 });
    const member = { uid: 1002, gid: 1002, groups: [17, 4242] };
    await fs.write(member, shared.fileid, 0, enc.encode("m"));
    assert.equal(
      await fs.access(member, shared.fileid, 0x3f),
      Access.READ | Access.MODIFY | Access.EXTEND,
    );
    await rejects(fs.read(OTHER, shared.fileid, 0, 1), "EACCES");
  });

  test("xattrs, when supported", async (fs) => {
    const x = fs.xattrs;
    if (x === undefined) return;
    const a = await put(fs, fs.root, "x", "x");
    await rejects(x.getxattr(ROOT, a.fileid, "user.k"), "ENODATA");
    await x.setxattr(ROOT, a.fileid, "user.k", enc.encode("v1"));
    assert.equal(dec.decode(await x.getxattr(ROOT, a.fileid, "user.k")), "v1");
    await rejects(
      x.setxattr(ROOT, a.fileid, "user.k", enc.encode("v2"), "create"),
      "EEXIST",
    );
    await rejects(
      x.setxattr(ROOT, a.fileid, "user.n", enc.encode("v2"), "replace"),
      "ENODATA",
    );
    await x.setxattr(ROOT, a.fileid, "user.k", enc.encode("v3"), "replace");
    assert.deepEqual(await x.listxattrs(ROOT, a.fileid), ["user.k"]);
    await x.removexattr(ROOT, a.fileid, "user.k");
    await rejects(x.removexattr(ROOT, a.fileid, "user.k"), "ENODATA");
    assert.deepEqual(await x.listxattrs(ROOT, a.fileid), []);
  });

  test("allocate, deallocate, seek, copy, when supported", async (fs) => {
    const a = await put(fs, fs.root, "a", "");
    if (fs.allocate) {
      await fs.allocate(ROOT, a.fileid, 0, 8192);
      assert.ok((await fs.getattr(ROOT, a.fileid)).size >= 8192);
    }
    const block = new Uint8Array(1 << 20).fill(7);
    await fs.write(ROOT, a.fileid, 0, block);
    await fs.write(ROOT, a.fileid, 4 << 20, block);
    if (fs.deallocate) {
      await fs.deallocate(ROOT, a.fileid, 0, 1 << 20);
      const r = await fs.read(ROOT, a.fileid, 0, 1 << 20);
      assert.ok(r.data.every((x) => x === 0), "punched range reads zeros");
      assert.equal((await fs.getattr(ROOT, a.fileid)).size, 5 << 20);
    }
    if (fs.seek) {
      const d = await fs.seek(ROOT, a.fileid, 0, "data");
      assert.ok(d.offset <= 4 << 20);
      const d2 = await fs.seek(ROOT, a.fileid, (4 << 20) + 10, "data");
      assert.equal(d2.offset, (4 << 20) + 10);
      const h = await fs.seek(ROOT, a.fileid, 4 << 20, "hole");
      assert.equal(h.offset, 5 << 20);
      await rejects(fs.seek(ROOT, a.fileid, 6 << 20, "data"), "ENXIO");
    }
    if (fs.copy) {
      const b = await fs.create(ROOT, fs.root, "b");
      const n = await fs.copy(ROOT, a.fileid, b.fileid, {
        srcOffset: 4 << 20,
        dstOffset: 10,
        length: 100,
      });
      assert.equal(n, 100);
      const r = await fs.read(ROOT, b.fileid, 0, 1000);
      assert.equal(r.data.length, 110);
      assert.ok(r.data.subarray(0, 10).every((x) => x === 0));
      assert.ok(r.data.subarray(10).every((x) => x === 7));
    }
  });

  if (f.capacity !== undefined) {
    const cap = f.capacity.bytes;
    const small = f.capacity.factory;
    Deno.test(`${name}: ENOSPC when the capacity is used up`, async () => {
      const s = await small();
      const fs = s.fs;
      const a = await fs.create(ROOT, fs.root, "fill");
      await rejects(
        fs.write(ROOT, a.fileid, 0, new Uint8Array(cap + 1)),
        "ENOSPC",
      );
      const st0 = await fs.statfs(ROOT, fs.root);
      assert.equal(st0.totalBytes, cap);
      await fs.write(ROOT, a.fileid, 0, new Uint8Array(cap / 2));
      const st = await fs.statfs(ROOT, fs.root);
      assert.ok(st.freeBytes <= cap / 2);
      const b = await fs.create(ROOT, fs.root, "more");
      await rejects(
        fs.write(ROOT, b.fileid, 0, new Uint8Array(cap / 2 + 1)),
        "ENOSPC",
      );
      await fs.remove(ROOT, fs.root, "fill");
      await fs.write(ROOT, b.fileid, 0, new Uint8Array(cap / 2 + 1));
      await s.close();
    });
  }
}

function readOnlySuite(
  name: string,
  factory: () => Promise<Subject>,
  openHooks: boolean,
): void {
  Deno.test(`${name}: reads work and every change fails with EROFS`, async () => {
    const s = await factory();
    try {
      const w = s.setup!;
      const d = await w.mkdir(ROOT, w.root, "d");
      const a = await w.create(ROOT, d.fileid, "a");
      await w.write(ROOT, a.fileid, 0, enc.encode("hello"));
      const ln = await w.symlink(ROOT, w.root, "ln", "d/a");
      const fs = s.fs;
      assert.equal(fs.root, w.root);
      const la = await fs.lookup(ROOT, d.fileid, "a");
      assert.equal(la.fileid, a.fileid);
      assert.equal(await text(fs, a.fileid), "hello");
      assert.equal(await fs.readlink(ROOT, ln.fileid), "d/a");
      assert.deepEqual(await names(fs, fs.root), ["d", "ln"]);
      await fs.statfs(ROOT, fs.root);
      await fs.getattr(ROOT, a.fileid);
      assert.equal(await fs.access(ROOT, a.fileid, 0x3f), Access.READ);
      await rejects(fs.lookup(ROOT, fs.root, "none"), "ENOENT");
      assert.equal("open" in fs, openHooks, "open is offered as declared");
      if (fs.open && fs.release) {
        const ctx = await fs.open(ROOT, a.fileid, {
          access: ShareAccess.Read,
          deny: ShareDeny.Write,
        });
        const r = await fs.read(ROOT, a.fileid, 0, 100, ctx);
        assert.equal(dec.decode(r.data), "hello", "a read open works");
        await fs.release(ROOT, a.fileid, ctx);
      }
      const changes: Promise<unknown>[] = [
        fs.setattr(ROOT, a.fileid, { mode: 0o600 }),
        fs.write(ROOT, a.fileid, 0, enc.encode("x")),
        fs.create(ROOT, fs.root, "new"),
        fs.create(ROOT, d.fileid, "a"),
        fs.mkdir(ROOT, fs.root, "nd"),
        fs.symlink(ROOT, fs.root, "nl", "x"),
        fs.mknod(ROOT, fs.root, "np", { type: FileType.Fifo }),
        fs.link(ROOT, a.fileid, fs.root, "hl"),
        fs.remove(ROOT, d.fileid, "a"),
        fs.rmdir(ROOT, fs.root, "d"),
        fs.rename(ROOT, d.fileid, "a", fs.root, "b"),
      ];
      if (fs.xattrs) {
        changes.push(
          fs.xattrs.setxattr(ROOT, a.fileid, "user.x", enc.encode("v")),
          fs.xattrs.removexattr(ROOT, a.fileid, "user.x"),
        );
      }
      if (fs.open) {
        for (const access of [ShareAccess.Write, ShareAccess.Both]) {
          changes.push(fs.open(ROOT, a.fileid, { access, deny: 0 }));
        }
      }
      if (fs.allocate) changes.push(fs.allocate(ROOT, a.fileid, 0, 10));
      if (fs.deallocate) changes.push(fs.deallocate(ROOT, a.fileid, 0, 1));
      if (fs.copy) {
        changes.push(
          fs.copy(ROOT, a.fileid, a.fileid, {
            srcOffset: 0,
            dstOffset: 10,
            length: 1,
          }),
        );
      }
      for (const p of changes) await rejects(p, "EROFS");
      assert.equal(await text(fs, a.fileid), "hello", "nothing changed");
    } finally {
      await s.close();
    }
  });
}
