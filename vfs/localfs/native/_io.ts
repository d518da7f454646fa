// Data I/O of the native LocalFs engine: files opened with openat2 beneath
// their parent's descriptor and checked against their FileId, kept in the
// shared descriptor cache; pread/pwrite through FFI, on the thread pool
// (nonblocking) above 64 KiB, and fsync there too, under the READ/WRITE
// policy both engines share (../_file_io.ts);
// attribute changes through the file's descriptor, the root's, or the *at
// calls on the parent's descriptor with AT_SYMLINK_NOFOLLOW (so a name
// swapped for a symlink is never followed).
import { VfsError } from "../../errors.ts";
import type {
  Credentials,
  FileId,
  SetAttributes,
  SetTime,
  Time,
} from "../../types.ts";
import { type AttrMap, setattrMode } from "../_attrs.ts";
import { FileIo } from "../_file_io.ts";
import { FdCache, type OpenFile } from "../_fd_cache.ts";
import { sameObject } from "../_host.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  EACCES,
  EBADF,
  EROFS,
  errnoError,
  type Libc,
  type NativeStat,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  RESOLVE_CONFINED,
} from "../_libc.ts";
import { type Found, type NativeTree, REVALIDATE_MS } from "./_tree.ts";

/** Throws the VfsError of a failed libc call. */
export function check(r: number, what: string): number {
  if (r < 0) throw errnoError(r, what);
  return r;
}

/** A netfs time to set as utimensat takes it. */
export function timeArg(t: SetTime | undefined): Time | "now" | "omit" {
  return t === undefined ? "omit" : t === "server" ? "now" : t;
}

/** Reads, writes, fsync and attribute changes of host objects. */
export class NativeIo extends FileIo {
  /** The open descriptors, by FileId. */
  readonly files: FdCache;
  readonly #tree: NativeTree;
  readonly #lib: Libc;

  /** `openFiles` bounds the descriptors kept open. */
  constructor(
    tree: NativeTree,
    attrs: AttrMap,
    maxFileSize: number,
    openFiles: number,
  ) {
    super(tree, attrs, maxFileSize);
    this.#tree = tree;
    this.#lib = tree.lib;
    this.files = new FdCache(openFiles, (fd) => tree.lib.close(fd));
  }

  /**
   * An open descriptor of the regular file `id`, checked to be that object;
   * a cached one is looked up at its recorded name again once it is older
   * than REVALIDATE_MS. The caller releases it.
   */
  open(id: FileId, writable: boolean): OpenFile {
    const cached = this.files.take(id, writable) ??
      (writable ? undefined : this.files.take(id, true));
    if (cached !== undefined) {
      if (Date.now() - cached.checked >= REVALIDATE_MS) {
        try {
          this.#tree.locate(id);
        } catch (e) {
          this.files.release(cached);
          this.files.drop(id);
          throw e;
        }
        cached.checked = Date.now();
      }
      return cached;
    }
    const at = this.#tree.locate(id);
    if (at.st.isDirectory) {
      throw new VfsError("EISDIR", `Is a directory: fileid ${id}`);
    }
    if (!at.st.isFile) {
      throw new VfsError("EINVAL", `Not a regular file: fileid ${id}`);
    }
    // O_NONBLOCK: a name swapped for a fifo since the statx must not hang us.
    const flags = O_NOFOLLOW | O_NONBLOCK;
    let rw = true;
    let fd = this.#lib.openat2(
      at.dirFd,
      at.name,
      O_RDWR | flags,
      0,
      RESOLVE_CONFINED,
    );
    if (!writable && (fd === -EACCES || fd === -EROFS)) {
      rw = false;
      fd = this.#lib.openat2(
        at.dirFd,
        at.name,
        O_RDONLY | flags,
        0,
        RESOLVE_CONFINED,
      );
    }
    check(fd, `fileid ${id}`);
    const st = this.#lib.fstat(fd);
    if (typeof st === "number" || !sameObject(st, at.st)) {
      this.#lib.close(fd);
      throw new VfsError(
        "ESTALE",
        `Object changed while opening: fileid ${id}`,
      );
    }
    return this.files.add(id, fd, rw);
  }

  /** Fresh attributes of an open file: this turn's, else its descriptor's. */
  protected fileStat(id: FileId, f: OpenFile): NativeStat {
    const seen = this.attrs.turnStat(id) as NativeStat | undefined;
    if (seen !== undefined) return seen;
    const st = this.#lib.fstat(f.fd);
    if (typeof st === "number") throw errnoError(st, `fileid ${id}`);
    return st;
  }

  protected readSync(fd: number, buf: Uint8Array, offset: number): number {
    return check(this.#lib.pread(fd, buf, offset), `descriptor ${fd}`);
  }

  protected async readAsync(
    fd: number,
    buf: Uint8Array,
    offset: number,
  ): Promise<number> {
    let got = 0;
    while (got < buf.length) {
      const r = check(
        await this.#lib.preadAsync(fd, buf.subarray(got), offset + got),
        `descriptor ${fd}`,
      );
      if (r === 0) break;
      got += r;
    }
    return got;
  }

  protected writeSync(fd: number, data: Uint8Array, offset: number): number {
    return check(this.#lib.pwrite(fd, data, offset), `descriptor ${fd}`);
  }

  protected async writeAsync(
    fd: number,
    data: Uint8Array,
    offset: number,
  ): Promise<void> {
    for (let done = 0; done < data.length;) {
      done += check(
        await this.#lib.pwriteAsync(fd, data.subarray(done), offset + done),
        `descriptor ${fd}`,
      );
    }
  }

  protected async sync(fd: number, dataOnly: boolean): Promise<void> {
    check(await this.#lib.fsync(fd, dataOnly), `descriptor ${fd}`);
  }

  protected chmod(fd: number, mode: number): void {
    check(this.#lib.fchmod(fd, mode), `descriptor ${fd}`);
  }

  /**
   * Applies `attrs` to the found object `at` (named `id`) once the
   * permission policy allows them; the caller moves the change counter.
   */
  setattr(
    cred: Credentials,
    id: FileId,
    at: Found,
    attrs: SetAttributes,
  ): void {
    const st = at.st;
    const what = `fileid ${id}`;
    const mode = setattrMode(cred, id, st, attrs);
    if (attrs.size !== undefined) {
      const f = this.open(id, true);
      try {
        check(this.#lib.ftruncate(f.fd, attrs.size), what);
        this.killPriv(cred, f.fd, st.mode!);
      } finally {
        this.files.release(f);
      }
    }
    const uid = attrs.uid ?? st.uid!;
    const gid = attrs.gid ?? st.gid!;
    const chown = uid !== st.uid || gid !== st.gid;
    const times = attrs.atime !== undefined || attrs.mtime !== undefined;
    if (mode === undefined && !chown && !times) return;
    const a = timeArg(attrs.atime);
    const m = timeArg(attrs.mtime);
    // Files and directories change through their own descriptor, which a
    // host process renaming them cannot redirect; symlinks and special
    // files by name under their directory, never following a symlink.
    const fd = st.isFile ? this.open(id, false) : undefined;
    const own = fd?.fd ?? (st.isDirectory ? this.#tree.dir(id).fd : undefined);
    const lib = this.#lib;
    try {
      if (own !== undefined) {
        this.#byFd(own, mode, chown, uid, gid, times, a, m, what);
        return;
      }
      if (mode !== undefined) {
        check(lib.fchmodat(at.dirFd, at.name, mode, AT_SYMLINK_NOFOLLOW), what);
      }
      if (chown) {
        check(
          lib.fchownat(at.dirFd, at.name, uid, gid, AT_SYMLINK_NOFOLLOW),
          what,
        );
      }
      if (times) {
        check(
          lib.utimensat(at.dirFd, at.name, a, m, AT_SYMLINK_NOFOLLOW),
          what,
        );
      }
    } finally {
      if (fd !== undefined) this.files.release(fd);
    }
  }

  /**
   * Mode, owner and times through a descriptor. A path-only descriptor (a
   * directory the server may not read) takes no fchmod or futimens: the
   * change then goes through its /proc/self/fd link, which leads to
   * exactly that directory.
   */
  #byFd(
    fd: number,
    mode: number | undefined,
    chown: boolean,
    uid: number,
    gid: number,
    times: boolean,
    a: Time | "now" | "omit",
    m: Time | "now" | "omit",
    what: string,
  ): void {
    const lib = this.#lib;
    const link = `/proc/self/fd/${fd}`;
    if (mode !== undefined) {
      const r = lib.fchmod(fd, mode);
      check(r === -EBADF ? lib.fchmodat(AT_FDCWD, link, mode, 0) : r, what);
    }
    if (chown) check(lib.fchownat(fd, "", uid, gid, AT_EMPTY_PATH), what);
    if (times) {
      const r = lib.futimens(fd, a, m);
      check(r === -EBADF ? lib.utimensat(AT_FDCWD, link, a, m, 0) : r, what);
    }
  }
}
