// The libc bindings of the native LocalFs engine against the kernel itself:
// each call does what its man page says, and errno maps to the VfsError
// code of the same name. Run with --allow-ffi (the tests fail without it on
// Linux, rather than pass without testing anything).
import assert from "node:assert/strict";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  EEXIST,
  ELOOP,
  ENODATA,
  ENOENT,
  errnoError,
  EXDEV,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  type Libc,
  makedev,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_RDONLY,
  O_RDWR,
  openLibc,
  RENAME_NOREPLACE,
  RESOLVE_CONFINED,
  S_IFCHR,
  S_IFIFO,
  SEEK_DATA,
  SEEK_HOLE,
  XATTR_CREATE,
  XATTR_REPLACE,
} from "../../vfs/localfs/_libc.ts";
import { privateTmpfs } from "./_tmpfs.ts";

const linux = Deno.build.os === "linux";

/** The bindings; fails (not skips) when --allow-ffi is missing on Linux. */
function lib(): Libc {
  const l = openLibc();
  assert.ok(typeof l !== "string", `native bindings unavailable: ${l}`);
  return l;
}

/** A scratch directory (on the disk by default) open as a directory descriptor. */
async function withDir(
  fn: (l: Libc, fd: number, path: string) => Promise<void> | void,
  base?: string,
): Promise<void> {
  const l = lib();
  const path = await Deno.makeTempDir({ dir: base, prefix: "netfs-libc-" });
  const fd = l.openat2(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0, 0);
  assert.ok(fd >= 0, `open ${path}: ${fd}`);
  try {
    await fn(l, fd, path);
  } finally {
    l.close(fd);
    l.release();
    await Deno.remove(path, { recursive: true });
  }
}

function size(l: Libc, fd: number): number {
  const st = l.fstat(fd);
  assert.ok(typeof st !== "number", "fstat");
  return st.size;
}

function ok(r: number, what: string): number {
  assert.ok(r >= 0, `${what}: ${errnoError(r, what).message}`);
  return r;
}

Deno.test({
  name: "libc: errno maps to the VfsError code of the same name",
  ignore: !linux,
  fn() {
    assert.equal(errnoError(-ENOENT, "a").code, "ENOENT");
    assert.equal(
      errnoError(-ENOENT, "a").message,
      "No such file or directory: a",
    );
    assert.equal(errnoError(95, "x").code, "ENOTSUP", "EOPNOTSUPP is ENOTSUP");
    assert.equal(errnoError(61, "x").code, "ENODATA");
    assert.equal(errnoError(116, "x").code, "ESTALE");
    assert.equal(
      errnoError(-24, "x").code,
      "EIO",
      "EMFILE has no code of its own",
    );
    assert.match(errnoError(-24, "x").message, /errno 24/);
  },
});

Deno.test({
  name: "libc: statx agrees with Deno.lstat, birth time to the millisecond",
  ignore: !linux,
  async fn() {
    await withDir((l, fd, path) => {
      Deno.writeTextFileSync(`${path}/f`, "hello");
      for (const p of [`${path}/f`, path]) {
        const a = l.statx(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW);
        assert.ok(typeof a !== "number", `statx ${p}`);
        const b = Deno.lstatSync(p);
        for (
          const k of ["ino", "dev", "size", "mode", "nlink", "uid"] as const
        ) {
          assert.equal(a[k], b[k], k);
        }
        assert.equal(a.isDirectory, b.isDirectory);
        assert.equal(a.birthtime?.getTime(), b.birthtime?.getTime());
        assert.equal(a.mtime?.getTime(), b.mtime?.getTime());
      }
      const self = l.fstat(fd);
      assert.ok(typeof self !== "number" && self.isDirectory);
      assert.equal(l.statx(fd, "nothing", AT_SYMLINK_NOFOLLOW), -ENOENT);
    });
  },
});

Deno.test({
  name:
    "libc: openat2 refuses .., symlinks and absolute paths beneath a directory",
  ignore: !linux,
  async fn() {
    await withDir((l, fd, path) => {
      Deno.mkdirSync(`${path}/d`);
      Deno.symlinkSync("/", `${path}/ln`);
      Deno.symlinkSync("d", `${path}/rel`);
      const flags = O_RDONLY | O_NOFOLLOW;
      const open = (name: string) =>
        l.openat2(fd, name, flags, 0, RESOLVE_CONFINED);
      const d = ok(open("d"), "open d");
      assert.equal(l.openat2(d, "..", flags, 0, RESOLVE_CONFINED), -EXDEV);
      l.close(d);
      assert.equal(open("ln"), -ELOOP);
      assert.equal(open("ln/etc"), -ELOOP);
      assert.equal(open("rel"), -ELOOP);
      assert.equal(open("/etc"), -EXDEV);
    });
  },
});

Deno.test({
  name: "libc: the *at calls make, link, rename and remove by name",
  ignore: !linux,
  async fn() {
    await withDir((l, fd, path) => {
      ok(l.mkdirat(fd, "d", 0o750), "mkdirat");
      assert.equal(l.mkdirat(fd, "d", 0o750), -EEXIST);
      const f = ok(
        l.openat2(fd, "f", O_RDWR | O_CREAT | O_EXCL, 0o600, RESOLVE_CONFINED),
        "create",
      );
      assert.equal(
        l.openat2(fd, "f", O_RDWR | O_CREAT | O_EXCL, 0o600, RESOLVE_CONFINED),
        -EEXIST,
      );
      assert.equal(ok(l.pwrite(f, new TextEncoder().encode("abc"), 2), "w"), 3);
      const buf = new Uint8Array(10);
      assert.equal(l.pread(f, buf, 0), 5);
      assert.deepEqual([...buf.subarray(0, 5)], [0, 0, 97, 98, 99]);
      ok(l.ftruncate(f, 1), "ftruncate");
      assert.equal(Deno.statSync(`${path}/f`).size, 1);
      l.close(f);
      ok(l.symlinkat("../x", fd, "ln"), "symlinkat");
      assert.equal(l.readlinkat(fd, "ln"), "../x");
      ok(l.linkat(fd, "f", fd, "d/hard"), "linkat");
      assert.equal(Deno.lstatSync(`${path}/f`).nlink, 2);
      ok(l.mknodat(fd, "p", S_IFIFO | 0o640, 0), "mknodat fifo");
      assert.ok(Deno.lstatSync(`${path}/p`).isFifo);
      ok(l.mknodat(fd, "c", S_IFCHR | 0o600, makedev(1, 3)), "mknodat char");
      const c = l.statx(fd, "c", AT_SYMLINK_NOFOLLOW);
      assert.ok(typeof c !== "number" && c.isCharDevice);
      assert.equal(c.rdev, Deno.lstatSync(`${path}/c`).rdev);
      assert.equal(
        l.renameat2(fd, "p", fd, "f", RENAME_NOREPLACE),
        -EEXIST,
        "RENAME_NOREPLACE keeps an existing target",
      );
      ok(l.renameat2(fd, "p", fd, "q", RENAME_NOREPLACE), "renameat2");
      ok(l.fchownat(fd, "ln", 4321, -1, AT_SYMLINK_NOFOLLOW), "lchown");
      assert.equal(Deno.lstatSync(`${path}/ln`).uid, 4321);
      ok(l.fchmodat(fd, "q", 0o604, AT_SYMLINK_NOFOLLOW), "fchmodat");
      assert.equal(Deno.lstatSync(`${path}/q`).mode! & 0o777, 0o604);
      assert.ok(l.fchmodat(fd, "ln", 0o777, AT_SYMLINK_NOFOLLOW) < 0);
      ok(
        l.utimensat(fd, "ln", { sec: 5, nsec: 7 }, "omit", AT_SYMLINK_NOFOLLOW),
        "utimensat",
      );
      assert.equal(Deno.lstatSync(`${path}/ln`).atime?.getTime(), 5000);
      const names = l.readdir(fd);
      assert.ok(typeof names !== "number");
      assert.deepEqual(names.sort(), ["c", "d", "f", "ln", "q"]);
      assert.equal(l.unlinkat(fd, "d", 0), -21, "EISDIR without AT_REMOVEDIR");
      assert.equal(l.unlinkat(fd, "d", AT_REMOVEDIR), -39, "ENOTEMPTY");
      ok(l.unlinkat(fd, "d/hard", 0), "unlinkat");
      ok(l.unlinkat(fd, "d", AT_REMOVEDIR), "rmdir");
      const st = l.statx(fd, "", AT_EMPTY_PATH);
      assert.ok(typeof st !== "number" && st.nlink === 2);
    });
  },
});

Deno.test({
  name: "libc: user xattrs with create and replace flags",
  ignore: !linux,
  async fn() {
    await withDir((l, fd) => {
      const f = ok(
        l.openat2(fd, "x", O_RDWR | O_CREAT, 0o600, RESOLVE_CONFINED),
        "create",
      );
      try {
        const v = new TextEncoder().encode("v1");
        assert.equal(l.fgetxattr(f, "user.k"), -ENODATA);
        assert.equal(l.fsetxattr(f, "user.k", v, XATTR_REPLACE), -ENODATA);
        ok(l.fsetxattr(f, "user.k", v, XATTR_CREATE), "create");
        assert.equal(l.fsetxattr(f, "user.k", v, XATTR_CREATE), -EEXIST);
        const big = new Uint8Array(2000).fill(9);
        ok(l.fsetxattr(f, "user.big", big, 0), "big value");
        assert.deepEqual(l.fgetxattr(f, "user.big"), big, "grows the buffer");
        assert.deepEqual(l.flistxattr(f), ["user.k", "user.big"]);
        ok(l.fremovexattr(f, "user.k"), "remove");
        assert.equal(l.fremovexattr(f, "user.k"), -ENODATA);
      } finally {
        l.close(f);
      }
    });
  },
});

Deno.test({
  name:
    "libc: fallocate, hole punching, SEEK_DATA/SEEK_HOLE, copy_file_range, clones",
  ignore: !linux,
  async fn() {
    const tmpfs = await privateTmpfs();
    if (tmpfs === undefined) console.log("no tmpfs (needs root): disk only");
    for (const base of [tmpfs?.path, undefined]) {
      await withDir(async (l, fd) => {
        const f = ok(
          l.openat2(fd, "a", O_RDWR | O_CREAT, 0o600, RESOLVE_CONFINED),
          "create",
        );
        const g = ok(
          l.openat2(fd, "b", O_RDWR | O_CREAT, 0o600, RESOLVE_CONFINED),
          "create",
        );
        try {
          const mib = 1 << 20;
          ok(await l.fallocateAsync(f, 0, 0, 4 * mib), "allocate");
          assert.equal(size(l, f), 4 * mib);
          // Written data on both sides of the hole: tmpfs counts allocated,
          // never written pages as holes, ext4 as data.
          l.pwrite(f, new Uint8Array(mib).fill(7), 0);
          l.pwrite(f, new Uint8Array(mib).fill(7), 2 * mib);
          ok(
            l.fallocate(
              f,
              FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
              mib,
              mib,
            ),
            "punch",
          );
          assert.equal(size(l, f), 4 * mib, "KEEP_SIZE");
          assert.equal(
            l.seek(f, 0, SEEK_HOLE),
            mib,
            `hole on ${base ?? "disk"}`,
          );
          assert.equal(
            l.seek(f, mib, SEEK_DATA),
            2 * mib,
            `data on ${base ?? "disk"}`,
          );
          assert.equal(l.seek(f, 5 * mib, SEEK_DATA), -6, "ENXIO past EOF");
          assert.equal(await l.copyRange(f, 100, g, 10, 50), 50);
          const buf = new Uint8Array(60);
          assert.equal(l.pread(g, buf, 0), 60);
          assert.ok(buf.subarray(10).every((b) => b === 7));
          // Neither tmpfs nor ext4 can share extents: EOPNOTSUPP, ENOTSUP to callers.
          const c = await l.clone(f, 0, g, 0, 0);
          if (c < 0) assert.equal(errnoError(c, "b").code, "ENOTSUP");
          const cr = await l.clone(f, 0, g, 0, 4096);
          if (cr < 0) assert.equal(errnoError(cr, "b").code, "ENOTSUP");
          assert.equal(await l.copyRange(f, 0, 9999, 0, 10), -9, "EBADF");
        } finally {
          l.close(f);
          l.close(g);
        }
      }, base);
    }
    await tmpfs?.remove();
  },
});

Deno.test({
  name: "libc: realpath, geteuid and fstatfs",
  ignore: !linux,
  async fn() {
    await withDir((l, fd, path) => {
      assert.equal(l.realpath(`${path}/../${path.split("/").pop()}`), path);
      assert.equal(l.realpath(`${path}/none`), -ENOENT);
      assert.equal(l.geteuid(), Deno.uid());
      const s = l.fstatfs(fd);
      assert.ok(typeof s !== "number" && s.blocks > 0 && s.bsize > 0);
    });
  },
});
