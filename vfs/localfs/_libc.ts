// The libc calls of the native LocalFs engine, through Deno.dlopen of
// libc.so.6 (glibc 2.33 or later; Linux on x86_64 or aarch64), and nothing
// else: one private module, so that what the engine asks of the kernel is
// read in one place.
//
// What it promises:
// - Every call returns its result, or minus the errno when it failed (no
//   exception on the hot path: a lookup of an absent name is an answer).
//   `errnoError` turns an errno into the VfsError code of the same name
//   (EOPNOTSUPP/ENOTSUP is ENOTSUP, EWOULDBLOCK is EAGAIN); an errno with no
//   VfsError code of its own is EIO, its number in the message.
// - errno is read from the calling thread's errno right after a synchronous
//   call. A call made with `nonblocking: true` runs on another thread whose
//   errno cannot be read here: those report only failure (-1), and the
//   caller repeats the failed step synchronously to learn its errno (copies,
//   clones and fallocate, whose errors are deterministic). fsync and large
//   reads and writes go through node:fs on the thread pool instead, which
//   reports the real error.
// - The library is opened once, when this module is first evaluated and
//   only if `--allow-ffi` is granted on Linux (so that no test or server
//   opens it in the middle of its work); `libc()` is undefined otherwise.
//   Opening it needs every symbol: a libc without one (glibc before 2.33)
//   leaves the native engine unavailable, never half there.
import { VfsError, type VfsErrorCode } from "../errors.ts";
import type { Time } from "../types.ts";

/** Open flags, which differ between architectures. */
const ARCH_FLAGS = {
  x86_64: { O_DIRECTORY: 0o200000, O_NOFOLLOW: 0o400000 },
  aarch64: { O_DIRECTORY: 0o40000, O_NOFOLLOW: 0o100000 },
} as const;

const arch = Deno.build.arch as string;
const archFlags = arch === "x86_64" || arch === "aarch64"
  ? ARCH_FLAGS[arch]
  : ARCH_FLAGS.x86_64;

export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_DIRECTORY: number = archFlags.O_DIRECTORY;
export const O_NOFOLLOW: number = archFlags.O_NOFOLLOW;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

/** openat2 resolve flags: no mount crossing, no /proc magic links, no symlinks, nothing above the directory. */
export const RESOLVE_CONFINED = 0x01 | 0x02 | 0x04 | 0x08;
export const RENAME_NOREPLACE = 1;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
export const FALLOC_FL_KEEP_SIZE = 1;
export const FALLOC_FL_PUNCH_HOLE = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;
export const S_IFMT = 0o170000;
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFDIR = 0o040000;
export const S_IFBLK = 0o060000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFSOCK = 0o140000;

const SYS_OPENAT2 = 437;
const FICLONE = 0x40049409;
const FICLONERANGE = 0x4020940d;
const STATX_ALL = 0xfff;
const STATX_BTIME = 0x800;

export const ENOENT = 2;
export const EINTR = 4;
export const EACCES = 13;
export const EEXIST = 17;
export const EXDEV = 18;
export const ENOTDIR = 20;
export const EINVAL = 22;
export const ENOTTY = 25;
export const ERANGE = 34;
export const ELOOP = 40;
export const ENODATA = 61;
export const EOPNOTSUPP = 95;
const ENXIO = 6;

/** errno values (the same on x86_64 and aarch64) with a VfsError code of their own, and their text. */
const ERRNOS: Record<number, [VfsErrorCode, string]> = {
  1: ["EPERM", "Operation not permitted"],
  2: ["ENOENT", "No such file or directory"],
  5: ["EIO", "Input/output error"],
  6: ["ENXIO", "No such device or address"],
  7: ["E2BIG", "Argument list too long"],
  9: ["EBADF", "Bad file descriptor"],
  11: ["EAGAIN", "Resource temporarily unavailable"],
  13: ["EACCES", "Permission denied"],
  16: ["EBUSY", "Device or resource busy"],
  17: ["EEXIST", "File exists"],
  18: ["EXDEV", "Crosses a mount point"],
  19: ["ENODEV", "No such device"],
  20: ["ENOTDIR", "Not a directory"],
  21: ["EISDIR", "Is a directory"],
  22: ["EINVAL", "Invalid argument"],
  26: ["ETXTBSY", "Text file busy"],
  27: ["EFBIG", "File too large"],
  28: ["ENOSPC", "No space left on device"],
  30: ["EROFS", "Read-only file system"],
  31: ["EMLINK", "Too many links"],
  34: ["ERANGE", "Result out of range"],
  36: ["ENAMETOOLONG", "File name too long"],
  38: ["ENOSYS", "Function not implemented"],
  39: ["ENOTEMPTY", "Directory not empty"],
  40: ["ELOOP", "Too many levels of symbolic links"],
  61: ["ENODATA", "No such attribute"],
  95: ["ENOTSUP", "Operation not supported"],
  116: ["ESTALE", "Stale file handle"],
  122: ["EDQUOT", "Disk quota exceeded"],
};

/** The VfsError for `errno` (positive or negated), naming `what`. */
export function errnoError(errno: number, what: string): VfsError {
  const e = Math.abs(errno);
  const known = ERRNOS[e];
  if (known !== undefined) {
    return new VfsError(known[0], `${known[1]}: ${what}`);
  }
  return new VfsError("EIO", `I/O error (errno ${e}): ${what}`);
}

/** A stat result in Deno's shape, plus the nanosecond times Deno leaves out. */
export type NativeStat = Deno.FileInfo & {
  readonly times: { atime: Time; mtime: Time; ctime: Time };
};

const SYMBOLS = {
  openat2: {
    name: "syscall",
    parameters: ["i64", "i32", "buffer", "buffer", "usize"],
    result: "i32",
  },
  statx: {
    parameters: ["i32", "buffer", "i32", "u32", "buffer"],
    result: "i32",
  },
  mkdirat: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  mknodat: { parameters: ["i32", "buffer", "u32", "u64"], result: "i32" },
  symlinkat: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  linkat: {
    parameters: ["i32", "buffer", "i32", "buffer", "i32"],
    result: "i32",
  },
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  renameat2: {
    parameters: ["i32", "buffer", "i32", "buffer", "u32"],
    result: "i32",
  },
  readlinkat: {
    parameters: ["i32", "buffer", "buffer", "usize"],
    result: "i32",
  },
  fchownat: {
    parameters: ["i32", "buffer", "u32", "u32", "i32"],
    result: "i32",
  },
  fchmodat: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  utimensat: {
    parameters: ["i32", "buffer", "buffer", "i32"],
    result: "i32",
  },
  futimens: { parameters: ["i32", "buffer"], result: "i32" },
  pread: {
    name: "pread64",
    parameters: ["i32", "buffer", "usize", "i64"],
    result: "i32",
  },
  pwrite: {
    name: "pwrite64",
    parameters: ["i32", "buffer", "usize", "i64"],
    result: "i32",
  },
  ftruncate: { name: "ftruncate64", parameters: ["i32", "i64"], result: "i32" },
  fstatfs: { name: "fstatfs64", parameters: ["i32", "buffer"], result: "i32" },
  getdents: {
    name: "getdents64",
    parameters: ["i32", "buffer", "usize"],
    result: "i32",
  },
  rewind: { name: "lseek64", parameters: ["i32", "i64", "i32"], result: "i32" },
  lseek: { name: "lseek64", parameters: ["i32", "i64", "i32"], result: "i64" },
  fallocate: {
    name: "fallocate64",
    parameters: ["i32", "i32", "i64", "i64"],
    result: "i32",
  },
  fallocateAsync: {
    name: "fallocate64",
    parameters: ["i32", "i32", "i64", "i64"],
    result: "i32",
    nonblocking: true,
  },
  copyRange: {
    name: "copy_file_range",
    parameters: ["i32", "buffer", "i32", "buffer", "usize", "u32"],
    result: "i32",
  },
  copyRangeAsync: {
    name: "copy_file_range",
    parameters: ["i32", "buffer", "i32", "buffer", "usize", "u32"],
    result: "i32",
    nonblocking: true,
  },
  ioctlFd: { name: "ioctl", parameters: ["i32", "u64", "i64"], result: "i32" },
  ioctlFdAsync: {
    name: "ioctl",
    parameters: ["i32", "u64", "i64"],
    result: "i32",
    nonblocking: true,
  },
  ioctlBuf: {
    name: "ioctl",
    parameters: ["i32", "u64", "buffer"],
    result: "i32",
  },
  ioctlBufAsync: {
    name: "ioctl",
    parameters: ["i32", "u64", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  fgetxattr: {
    parameters: ["i32", "buffer", "buffer", "usize"],
    result: "i32",
  },
  fsetxattr: {
    parameters: ["i32", "buffer", "buffer", "usize", "i32"],
    result: "i32",
  },
  flistxattr: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  fremovexattr: { parameters: ["i32", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  geteuid: { parameters: [], result: "u32" },
  realpath: { parameters: ["buffer", "buffer"], result: "pointer" },
  errnoLocation: {
    name: "__errno_location",
    parameters: [],
    result: "pointer",
  },
} as const satisfies Deno.ForeignLibraryInterface;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The raw symbols, or why they could not be opened. */
function load(): { sym: Symbols; errno: Deno.UnsafePointerView } | string {
  if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
  if (arch !== "x86_64" && arch !== "aarch64") {
    return `unsupported architecture (${arch})`;
  }
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return "--allow-ffi not granted";
    }
    const lib = Deno.dlopen("libc.so.6", SYMBOLS);
    const at = lib.symbols.errnoLocation();
    if (at === null) {
      lib.close();
      return "no errno location";
    }
    return { sym: lib.symbols, errno: new Deno.UnsafePointerView(at) };
  } catch (e) {
    return `libc.so.6 could not be opened: ${(e as Error).message}`;
  }
}

const loaded = load();

/** Why the native engine cannot run here, or undefined when it can. */
export function libcUnavailable(): string | undefined {
  return typeof loaded === "string" ? loaded : undefined;
}

/** The bindings, when `--allow-ffi` is granted on Linux. */
export function libc(): Libc | undefined {
  return typeof loaded === "string" ? undefined : LIBC;
}

/**
 * A safe integer as a 64-bit FFI argument. Deno's FFI takes a number or a
 * bigint for u64/i64/usize (its declarations say bigint only); a BigInt
 * per argument cost ~0.1 µs of a ~0.7 µs pread here.
 */
function w(n: number): bigint {
  return n as unknown as bigint;
}

/** A NUL-terminated copy of `s` in `scratch` when it fits, else a new buffer. */
function cstr(s: string, scratch: Uint8Array): Uint8Array {
  if (s.length * 3 < scratch.length) {
    const n = enc.encodeInto(s, scratch).written;
    scratch[n] = 0;
    return scratch;
  }
  return enc.encode(s + "\0");
}

/** glibc's makedev, in doubles (device numbers pass 2^32). */
export function makedev(major: number, minor: number): number {
  return (minor & 0xff) + (major & 0xfff) * 0x100 +
    Math.floor(minor / 0x100) * 0x100000 + Math.floor(major / 0x1000) * 2 ** 44;
}

/** The libc calls the native engine makes; each returns its result or -errno. */
export class Libc {
  readonly #s: Symbols;
  readonly #errno: Deno.UnsafePointerView;
  // Scratch for names (two per call at most) and call arguments: every
  // call is synchronous, so one of each is enough.
  readonly #n1 = new Uint8Array(1024);
  readonly #n2 = new Uint8Array(1024);
  readonly #how = new Uint8Array(24);
  readonly #howView = new DataView(this.#how.buffer);
  readonly #stx = new Uint8Array(256);
  readonly #stxView = new DataView(this.#stx.buffer);
  readonly #times = new Uint8Array(32);
  readonly #timesView = new DataView(this.#times.buffer);

  /** Wraps opened symbols; see `libc()`. */
  constructor(sym: Symbols, errno: Deno.UnsafePointerView) {
    this.#s = sym;
    this.#errno = errno;
  }

  #r(r: number): number {
    return r >= 0 ? r : -this.#errno.getInt32();
  }

  /** openat2(2) of `name` under `dirfd`; `resolve` restricts the walk. */
  openat2(
    dirfd: number,
    name: string,
    flags: number,
    mode: number,
    resolve: number,
  ): number {
    const v = this.#howView;
    v.setBigUint64(0, BigInt(flags | O_CLOEXEC), true);
    v.setBigUint64(8, BigInt(mode), true);
    v.setBigUint64(16, BigInt(resolve), true);
    for (;;) {
      const r = this.#r(
        this.#s.openat2(
          w(SYS_OPENAT2),
          dirfd,
          cstr(name, this.#n1),
          this.#how,
          w(24),
        ),
      );
      if (r !== -EINTR) return r;
    }
  }

  /** statx(2) of `name` under `dirfd` (`""` with AT_EMPTY_PATH: the descriptor itself). */
  statx(dirfd: number, name: string, flags: number): NativeStat | number {
    const r = this.#r(
      this.#s.statx(dirfd, cstr(name, this.#n1), flags, STATX_ALL, this.#stx),
    );
    return r < 0 ? r : this.#parseStatx();
  }

  /** fstat through statx on a descriptor. */
  fstat(fd: number): NativeStat | number {
    return this.statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  }

  #parseStatx(): NativeStat {
    const v = this.#stxView;
    const u64 = (o: number) =>
      v.getUint32(o, true) + v.getUint32(o + 4, true) * 2 ** 32;
    const time = (o: number): Time => ({
      sec: Number(v.getBigInt64(o, true)),
      nsec: v.getUint32(o + 8, true),
    });
    const ms = (t: Time) => t.sec * 1000 + Math.floor(t.nsec / 1e6);
    const mode = v.getUint16(28, true);
    const fmt = mode & S_IFMT;
    const atime = time(64);
    const mtime = time(112);
    const ctime = time(96);
    const hasBirth = (v.getUint32(0, true) & STATX_BTIME) !== 0;
    return {
      isFile: fmt === S_IFREG,
      isDirectory: fmt === S_IFDIR,
      isSymlink: fmt === S_IFLNK,
      isBlockDevice: fmt === S_IFBLK,
      isCharDevice: fmt === S_IFCHR,
      isFifo: fmt === S_IFIFO,
      isSocket: fmt === S_IFSOCK,
      size: u64(40),
      atime: new Date(ms(atime)),
      mtime: new Date(ms(mtime)),
      ctime: new Date(ms(ctime)),
      birthtime: hasBirth ? new Date(ms(time(80))) : null,
      dev: makedev(v.getUint32(136, true), v.getUint32(140, true)),
      ino: u64(32),
      mode,
      nlink: v.getUint32(16, true),
      uid: v.getUint32(20, true),
      gid: v.getUint32(24, true),
      rdev: makedev(v.getUint32(128, true), v.getUint32(132, true)),
      blksize: v.getUint32(4, true),
      blocks: u64(48),
      times: { atime, mtime, ctime },
    };
  }

  /** mkdirat(2). */
  mkdirat(dirfd: number, name: string, mode: number): number {
    return this.#r(this.#s.mkdirat(dirfd, cstr(name, this.#n1), mode));
  }

  /** mknodat(2); `mode` includes the type bits. */
  mknodat(dirfd: number, name: string, mode: number, dev: number): number {
    return this.#r(this.#s.mknodat(dirfd, cstr(name, this.#n1), mode, w(dev)));
  }

  /** symlinkat(2): `name` under `dirfd` holds `target`. */
  symlinkat(target: string, dirfd: number, name: string): number {
    return this.#r(
      this.#s.symlinkat(enc.encode(target + "\0"), dirfd, cstr(name, this.#n1)),
    );
  }

  /** linkat(2), never following a symlink. */
  linkat(fromFd: number, from: string, toFd: number, to: string): number {
    return this.#r(
      this.#s.linkat(fromFd, cstr(from, this.#n1), toFd, cstr(to, this.#n2), 0),
    );
  }

  /** unlinkat(2); AT_REMOVEDIR for directories. */
  unlinkat(dirfd: number, name: string, flags: number): number {
    return this.#r(this.#s.unlinkat(dirfd, cstr(name, this.#n1), flags));
  }

  /** renameat2(2). */
  renameat2(
    fromFd: number,
    from: string,
    toFd: number,
    to: string,
    flags: number,
  ): number {
    return this.#r(
      this.#s.renameat2(
        fromFd,
        cstr(from, this.#n1),
        toFd,
        cstr(to, this.#n2),
        flags,
      ),
    );
  }

  /** readlinkat(2): the target, or -errno. */
  readlinkat(dirfd: number, name: string): string | number {
    const buf = new Uint8Array(4097);
    const r = this.#r(
      this.#s.readlinkat(dirfd, cstr(name, this.#n1), buf, w(buf.length)),
    );
    if (r < 0) return r;
    if (r === buf.length) return -ERANGE;
    return dec.decode(buf.subarray(0, r));
  }

  /** fchownat(2); -1 leaves an id as it is. */
  fchownat(
    dirfd: number,
    name: string,
    uid: number,
    gid: number,
    flags: number,
  ): number {
    return this.#r(
      this.#s.fchownat(
        dirfd,
        cstr(name, this.#n1),
        uid >>> 0,
        gid >>> 0,
        flags,
      ),
    );
  }

  /** fchmodat(2) (glibc refuses symlinks with AT_SYMLINK_NOFOLLOW). */
  fchmodat(dirfd: number, name: string, mode: number, flags: number): number {
    return this.#r(this.#s.fchmodat(dirfd, cstr(name, this.#n1), mode, flags));
  }

  /** fchmod(2). */
  fchmod(fd: number, mode: number): number {
    return this.#r(this.#s.fchmod(fd, mode));
  }

  #setTimes(atime: Time | "now" | "omit", mtime: Time | "now" | "omit"): void {
    const v = this.#timesView;
    let o = 0;
    for (const t of [atime, mtime]) {
      const nsec = t === "now" ? UTIME_NOW : t === "omit" ? UTIME_OMIT : t.nsec;
      v.setBigInt64(o, BigInt(typeof t === "string" ? 0 : t.sec), true);
      v.setBigInt64(o + 8, BigInt(nsec), true);
      o += 16;
    }
  }

  /** utimensat(2) of `name` under `dirfd`. */
  utimensat(
    dirfd: number,
    name: string,
    atime: Time | "now" | "omit",
    mtime: Time | "now" | "omit",
    flags: number,
  ): number {
    this.#setTimes(atime, mtime);
    return this.#r(
      this.#s.utimensat(dirfd, cstr(name, this.#n1), this.#times, flags),
    );
  }

  /** futimens(3). */
  futimens(
    fd: number,
    atime: Time | "now" | "omit",
    mtime: Time | "now" | "omit",
  ): number {
    this.#setTimes(atime, mtime);
    return this.#r(this.#s.futimens(fd, this.#times));
  }

  /** pread(2) into `buf` (at most 2 GiB). */
  pread(fd: number, buf: Uint8Array, offset: number): number {
    for (;;) {
      const r = this.#r(this.#s.pread(fd, buf, w(buf.length), w(offset)));
      if (r !== -EINTR) return r;
    }
  }

  /** pwrite(2) of `buf` (at most 2 GiB). */
  pwrite(fd: number, buf: Uint8Array, offset: number): number {
    for (;;) {
      const r = this.#r(this.#s.pwrite(fd, buf, w(buf.length), w(offset)));
      if (r !== -EINTR) return r;
    }
  }

  /** ftruncate(2). */
  ftruncate(fd: number, size: number): number {
    return this.#r(this.#s.ftruncate(fd, w(size)));
  }

  /** fstatfs(2) as the numbers FsStats needs, or -errno. */
  fstatfs(fd: number): {
    bsize: number;
    blocks: number;
    bfree: number;
    bavail: number;
    files: number;
    ffree: number;
  } | number {
    const buf = new Uint8Array(120);
    const r = this.#r(this.#s.fstatfs(fd, buf));
    if (r < 0) return r;
    const v = new DataView(buf.buffer);
    const u64 = (o: number) =>
      v.getUint32(o, true) + v.getUint32(o + 4, true) * 2 ** 32;
    return {
      bsize: u64(8),
      blocks: u64(16),
      bfree: u64(24),
      bavail: u64(32),
      files: u64(40),
      ffree: u64(48),
    };
  }

  /** Every name in the directory open at `fd` (without "." and ".."), or -errno. */
  readdir(fd: number): string[] | number {
    const rw = this.#r(this.#s.rewind(fd, w(0), 0));
    if (rw < 0) return rw;
    const buf = new Uint8Array(64 << 10);
    const v = new DataView(buf.buffer);
    const names: string[] = [];
    for (;;) {
      const n = this.#r(this.#s.getdents(fd, buf, w(buf.length)));
      if (n === -EINTR) continue;
      if (n < 0) return n;
      if (n === 0) return names;
      for (let o = 0; o < n;) {
        const reclen = v.getUint16(o + 16, true);
        let end = o + 19;
        while (end < o + reclen && buf[end] !== 0) end++;
        const name = dec.decode(buf.subarray(o + 19, end));
        if (name !== "." && name !== "..") names.push(name);
        if (reclen === 0) return -EINVAL; // Never: the kernel's records have a length.
        o += reclen;
      }
    }
  }

  /** lseek(2) with SEEK_DATA or SEEK_HOLE. */
  seek(fd: number, offset: number, whence: number): number {
    const r = this.#s.lseek(fd, w(offset), whence);
    return r >= 0n ? Number(r) : -this.#errno.getInt32();
  }

  /** fallocate(2), synchronously. */
  fallocate(fd: number, mode: number, offset: number, length: number): number {
    return this.#r(this.#s.fallocate(fd, mode, w(offset), w(length)));
  }

  /** fallocate(2) on the thread pool; -errno comes from a synchronous retry. */
  async fallocateAsync(
    fd: number,
    mode: number,
    offset: number,
    length: number,
  ): Promise<number> {
    const r = await this.#s.fallocateAsync(fd, mode, w(offset), w(length));
    return r >= 0 ? r : this.fallocate(fd, mode, offset, length);
  }

  /**
   * copy_file_range(2) of up to `length` bytes (at most 1 GiB) between
   * explicit offsets, on the thread pool; -errno comes from a synchronous
   * retry of the same range.
   */
  async copyRange(
    from: number,
    fromOffset: number,
    to: number,
    toOffset: number,
    length: number,
  ): Promise<number> {
    const offsets = () => {
      const a = new BigInt64Array([BigInt(fromOffset), BigInt(toOffset)]);
      const b = new Uint8Array(a.buffer);
      return [b.subarray(0, 8), b.subarray(8)];
    };
    const [fo, to_] = offsets();
    const r = await this.#s.copyRangeAsync(from, fo, to, to_, w(length), 0);
    if (r >= 0) return r;
    const [fo2, to2] = offsets();
    return this.#r(this.#s.copyRange(from, fo2, to, to2, w(length), 0));
  }

  /**
   * FICLONE (`length` 0 with both offsets 0: the whole file) or
   * FICLONERANGE, on the thread pool; -errno from a synchronous retry.
   */
  async clone(
    from: number,
    fromOffset: number,
    to: number,
    toOffset: number,
    length: number,
  ): Promise<number> {
    if (length === 0 && fromOffset === 0 && toOffset === 0) {
      const r = await this.#s.ioctlFdAsync(to, w(FICLONE), w(from));
      return r >= 0 ? r : this.#r(this.#s.ioctlFd(to, w(FICLONE), w(from)));
    }
    const arg = () => {
      // struct file_clone_range { s64 src_fd; u64 src_offset, src_length, dest_offset; }
      const a = new BigInt64Array([
        BigInt(from),
        BigInt(fromOffset),
        BigInt(length),
        BigInt(toOffset),
      ]);
      return new Uint8Array(a.buffer);
    };
    const r = await this.#s.ioctlBufAsync(to, w(FICLONERANGE), arg());
    return r >= 0 ? r : this.#r(this.#s.ioctlBuf(to, w(FICLONERANGE), arg()));
  }

  /** fgetxattr(2): the value, or -errno. */
  fgetxattr(fd: number, name: string): Uint8Array | number {
    const n = cstr(name, this.#n1);
    for (let size = 256;; size = Math.min(size * 16, 1 << 16)) {
      const buf = new Uint8Array(size);
      const r = this.#r(this.#s.fgetxattr(fd, n, buf, w(size)));
      if (r >= 0) return buf.slice(0, r);
      if (r !== -ERANGE || size === 1 << 16) return r;
    }
  }

  /** fsetxattr(2) with XATTR_CREATE, XATTR_REPLACE or 0. */
  fsetxattr(
    fd: number,
    name: string,
    value: Uint8Array,
    flags: number,
  ): number {
    return this.#r(
      this.#s.fsetxattr(
        fd,
        cstr(name, this.#n1),
        value,
        w(value.length),
        flags,
      ),
    );
  }

  /** flistxattr(2): every name, or -errno. */
  flistxattr(fd: number): string[] | number {
    for (let size = 1024;; size = Math.min(size * 16, 1 << 16)) {
      const buf = new Uint8Array(size);
      const r = this.#r(this.#s.flistxattr(fd, buf, w(size)));
      if (r >= 0) {
        return dec.decode(buf.subarray(0, r)).split("\0").filter((s) => s);
      }
      if (r !== -ERANGE || size === 1 << 16) return r;
    }
  }

  /** fremovexattr(2). */
  fremovexattr(fd: number, name: string): number {
    return this.#r(this.#s.fremovexattr(fd, cstr(name, this.#n1)));
  }

  /** close(2); errors are ignored (the descriptor is gone either way on Linux). */
  close(fd: number): void {
    this.#s.close(fd);
  }

  /** The effective uid of this process. */
  geteuid(): number {
    return this.#s.geteuid();
  }

  /** realpath(3), or -errno. */
  realpath(path: string): string | number {
    const out = new Uint8Array(4097);
    const p = this.#s.realpath(enc.encode(path + "\0"), out);
    if (p === null) return -this.#errno.getInt32();
    const end = out.indexOf(0);
    return dec.decode(out.subarray(0, end < 0 ? out.length : end));
  }
}

const LIBC: Libc | undefined = typeof loaded === "string"
  ? undefined
  : new Libc(loaded.sym, loaded.errno);

export { ENXIO };
