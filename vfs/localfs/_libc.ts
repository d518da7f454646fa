// The libc calls of the native LocalFs engine, through Deno.dlopen of
// libc.so.6 (glibc 2.33 or later; Linux on x86_64 or aarch64), and nothing
// else: every call the engine makes goes through this module, so that what
// it asks of the kernel is read in one place (the flags, errno numbers,
// symbol declarations and struct layouts it relies on are ./_libc_abi.ts,
// re-exported here).
//
// What it promises:
// - Every call returns its result, or minus the errno when it failed (no
//   exception on the hot path: a lookup of an absent name is an answer).
//   `errnoError` turns an errno into the VfsError code of the same name
//   (EOPNOTSUPP/ENOTSUP is ENOTSUP, EWOULDBLOCK is EAGAIN); an errno with no
//   VfsError code of its own is EIO, its number in the message.
// - errno is read from the calling thread's errno right after a synchronous
//   call. A call made with `nonblocking: true` (those that may wait on a
//   disk: large reads and writes, fsync, fallocate, copies, clones) runs on
//   another thread whose errno cannot be read here: it reports only failure
//   (-1), and the failed step is repeated synchronously to learn its errno
//   (each of those is idempotent), except fsync, whose failure is EIO (see
//   `fsync`). node:fs cannot stand in: Deno's node:fs accepts only
//   descriptors it opened itself.
// - The library is open while some holder needs it (a native LocalFs from
//   open to close, see `openLibc`), so that a test that opens and closes a
//   LocalFs leaves nothing loaded behind. Opening it needs every symbol: a
//   libc without one (glibc before 2.33) leaves the native engine
//   unavailable, never half there. It costs ~8 ms (Deno prepares a call
//   path per symbol), once per period in which any native LocalFs is open.
//   Opening, holders and errno are sys/_libc.ts's, shared with nbd/.
import type { Time } from "../types.ts";
import { cstr, type LibcHandle, openLibrary, w } from "../../sys/_libc.ts";
import {
  AT_EMPTY_PATH,
  AT_SYMLINK_NOFOLLOW,
  EINTR,
  EINVAL,
  EIO,
  ERANGE,
  FICLONE,
  FICLONERANGE,
  type NativeStat,
  O_CLOEXEC,
  parseStatx,
  STATX_ALL,
  SYMBOLS,
  SYS_OPENAT2,
  UTIME_NOW,
  UTIME_OMIT,
} from "./_libc_abi.ts";

export * from "./_libc_abi.ts";

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const dec = new TextDecoder();

/**
 * The bindings, or why they cannot be had here: not Linux on x86_64 or
 * aarch64, no `--allow-ffi`, or a libc without one of the symbols. The
 * library is opened by the first holder and closed when the last one
 * releases it (`Libc.release`).
 */
export function openLibc(): Libc | string {
  const handle = openLibrary(SYMBOLS);
  return typeof handle === "string" ? handle : new Libc(handle);
}

/** The libc calls the native engine makes; each returns its result or -errno. */
export class Libc {
  readonly #s: Symbols;
  readonly #handle: LibcHandle<typeof SYMBOLS>;
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

  /** Wraps opened symbols; see `openLibc()`. */
  constructor(handle: LibcHandle<typeof SYMBOLS>) {
    this.#handle = handle;
    this.#s = handle.symbols;
  }

  /**
   * Gives the library back (closed with its last holder); no call may be
   * made, or be in flight, after.
   */
  release(): void {
    this.#handle.release();
  }

  #r(r: number): number {
    return r >= 0 ? r : -this.#handle.errno();
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
    return r < 0 ? r : parseStatx(this.#stxView);
  }

  /** fstat through statx on a descriptor. */
  fstat(fd: number): NativeStat | number {
    return this.statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
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
      this.#s.symlinkat(cstr(target), dirfd, cstr(name, this.#n1)),
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

  /**
   * pread(2) on the thread pool; a failure is read again synchronously (a
   * read at an offset changes nothing) to learn its errno.
   */
  async preadAsync(
    fd: number,
    buf: Uint8Array,
    offset: number,
  ): Promise<number> {
    const r = await this.#s.preadAsync(fd, buf, w(buf.length), w(offset));
    return r >= 0 ? r : this.pread(fd, buf, offset);
  }

  /**
   * pwrite(2) on the thread pool; a failure is written again synchronously
   * (the same bytes at the same offset) to learn its errno.
   */
  async pwriteAsync(
    fd: number,
    buf: Uint8Array,
    offset: number,
  ): Promise<number> {
    const r = await this.#s.pwriteAsync(fd, buf, w(buf.length), w(offset));
    return r >= 0 ? r : this.pwrite(fd, buf, offset);
  }

  /**
   * fsync(2), or fdatasync(2) when `dataOnly`, on the thread pool. Its
   * errno cannot be learnt: a second fsync would not report the error again
   * (the kernel reports a writeback error once per open file), so any
   * failure is -EIO, which is what writeback errors are.
   */
  async fsync(fd: number, dataOnly: boolean): Promise<number> {
    const r =
      await (dataOnly ? this.#s.fdatasyncAsync(fd) : this.#s.fsyncAsync(fd));
    return r >= 0 ? r : -EIO;
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
    return r >= 0n ? Number(r) : -this.#handle.errno();
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
    const p = this.#s.realpath(cstr(path), out);
    if (p === null) return -this.#handle.errno();
    const end = out.indexOf(0);
    return dec.decode(out.subarray(0, end < 0 ? out.length : end));
  }
}
