// The ABI facts the native LocalFs engine's libc bindings (./_libc.ts)
// rely on, kept apart from the calls: open and *at flags (two differ
// between x86_64 and aarch64), errno numbers and their VfsError codes, the
// symbols declared to Deno.dlopen, and the layout of struct statx. Linux on
// x86_64 and aarch64 share everything else here. The errno numbers and their
// texts are sys/_libc.ts's, shared with the NBD kernel attachment.
import { VfsError, type VfsErrorCode } from "../errors.ts";
import type { Time } from "../types.ts";
import { arch, ERRNO_NAMES } from "../../sys/_libc.ts";
import { VFS_CODES } from "./_host.ts";

export { arch };

/** Open flags, which differ between architectures. */
const ARCH_FLAGS = {
  x86_64: { O_DIRECTORY: 0o200000, O_NOFOLLOW: 0o400000 },
  aarch64: { O_DIRECTORY: 0o40000, O_NOFOLLOW: 0o100000 },
} as const;

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
export const O_NONBLOCK = 0o4000;

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
export const FALLOC_FL_ZERO_RANGE = 0x10;
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

export const SYS_OPENAT2 = 437;
export const FICLONE = 0x40049409;
export const FICLONERANGE = 0x4020940d;
export const STATX_ALL = 0xfff;
const STATX_BTIME = 0x800;

export {
  EACCES,
  EBADF,
  EEXIST,
  EINTR,
  EINVAL,
  EIO,
  ELOOP,
  ENODATA,
  ENOENT,
  ENOSYS,
  ENOTDIR,
  ENOTTY,
  ENXIO,
  EOPNOTSUPP,
  ERANGE,
  EROFS,
  EXDEV,
} from "../../sys/_libc.ts";

/** The VfsError for `errno` (positive or negated), naming `what`. */
export function errnoError(errno: number, what: string): VfsError {
  const e = Math.abs(errno);
  const known = ERRNO_NAMES[e];
  if (known !== undefined && VFS_CODES.has(known[0])) {
    return new VfsError(known[0] as VfsErrorCode, `${known[1]}: ${what}`);
  }
  return new VfsError("EIO", `I/O error (errno ${e}): ${what}`);
}

/** A stat result in Deno's shape, plus the nanosecond times Deno leaves out. */
export type NativeStat = Deno.FileInfo & {
  readonly times: { atime: Time; mtime: Time; ctime: Time };
};

/** Every libc symbol the engine calls, as Deno.dlopen declares them. */
export const SYMBOLS = {
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
  preadAsync: {
    name: "pread64",
    parameters: ["i32", "buffer", "usize", "i64"],
    result: "i32",
    nonblocking: true,
  },
  pwriteAsync: {
    name: "pwrite64",
    parameters: ["i32", "buffer", "usize", "i64"],
    result: "i32",
    nonblocking: true,
  },
  fsyncAsync: {
    name: "fsync",
    parameters: ["i32"],
    result: "i32",
    nonblocking: true,
  },
  fdatasyncAsync: {
    name: "fdatasync",
    parameters: ["i32"],
    result: "i32",
    nonblocking: true,
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
} as const satisfies Deno.ForeignLibraryInterface;

/** glibc's makedev, in doubles (device numbers pass 2^32). */
export function makedev(major: number, minor: number): number {
  return (minor & 0xff) + (major & 0xfff) * 0x100 +
    Math.floor(minor / 0x100) * 0x100000 + Math.floor(major / 0x1000) * 2 ** 44;
}

/** A statx buffer (struct statx, the same on every architecture) as a NativeStat. */
export function parseStatx(v: DataView): NativeStat {
  const u64 = (o: number) =>
    v.getUint32(o, true) + v.getUint32(o + 4, true) * 2 ** 32;
  // Seconds as two 32-bit halves: a BigInt per time cost more than the
  // rest of the parse.
  const time = (o: number): Time => ({
    sec: v.getUint32(o, true) + v.getInt32(o + 4, true) * 2 ** 32,
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
