// Data I/O for the portable LocalFs engine: positional reads and writes
// (node:fs read/write at an offset; Deno.FsFile has none) through a bounded
// cache of descriptors each verified, when opened, to be the object its
// FileId names (an open descriptor cannot escape), fsync, and the attribute
// changes that go through a verified descriptor (truncate, chmod, chown,
// utimes) or, for symlinks and special files, by path.
import * as nfs from "node:fs";
import { checkSetattr, modeAfterWrite, requireData } from "../access.ts";
import { VfsError } from "../errors.ts";
import type {
  Credentials,
  FileId,
  FsLimits,
  ReadResult,
  SetAttributes,
  SetTime,
  Stability,
  WriteResult,
} from "../types.ts";
import { type AttrMap, fromNodeStats, owned, toSeconds } from "./_attrs.ts";
import type { Confinement, Located } from "./_confine.ts";
import { FdCache, type OpenFile } from "./_fd_cache.ts";
import { C, hostError, isInt, O_DIRECTORY, O_NOFOLLOW } from "./_host.ts";

const EMPTY = new Uint8Array(0);
/**
 * Reads and writes up to this size are synchronous (a pread from the page
 * cache costs a few microseconds; the thread pool round trip several times
 * more); larger ones go through the thread pool, which lets the copy overlap
 * with the network work on another core (measured: 1 MiB sequential READs
 * ~1.4 GiB/s synchronous, ~2.3 GiB/s through the pool, over NFS on tmpfs).
 */
const SYNC_IO_MAX = 64 << 10;

/** Reads, writes, fsync and descriptor-based attribute changes of host files. */
export class DataIo {
  /** The open descriptors, by FileId. */
  readonly files: FdCache;
  readonly #tree: Confinement;
  readonly #attrs: AttrMap;
  readonly #maxFileSize: number;

  /** `openFiles` bounds the descriptors kept open. */
  constructor(
    tree: Confinement,
    attrs: AttrMap,
    limits: FsLimits,
    openFiles: number,
  ) {
    this.#tree = tree;
    this.#attrs = attrs;
    this.#maxFileSize = limits.maxFileSize;
    this.files = new FdCache(openFiles);
  }

  /** An open descriptor for a regular file, verified to be `id`. */
  #open(id: FileId, writable: boolean): OpenFile {
    const cached = this.files.take(id, writable) ??
      (writable ? undefined : this.files.take(id, true));
    if (cached !== undefined) return cached;
    const at = this.#tree.locate(id);
    if (at.st.isDirectory) {
      throw new VfsError("EISDIR", `Is a directory: fileid ${id}`);
    }
    if (!at.st.isFile) {
      throw new VfsError("EINVAL", `Not a regular file: fileid ${id}`);
    }
    let fd: number;
    let rw = true;
    try {
      fd = nfs.openSync(at.path, C.O_RDWR | O_NOFOLLOW);
    } catch (e) {
      const code = (e as { code?: string }).code;
      // Without Deno's write permission (a read-only export run with
      // --allow-read only) a file is opened for reading, as on EACCES.
      const denied = code === "EACCES" || code === "EROFS" ||
        e instanceof Deno.errors.NotCapable;
      if (writable || !denied) {
        throw hostError(e, `fileid ${id}`);
      }
      try {
        fd = nfs.openSync(at.path, C.O_RDONLY | O_NOFOLLOW);
      } catch (e2) {
        throw hostError(e2, `fileid ${id}`);
      }
      rw = false;
    }
    const st = nfs.fstatSync(fd);
    if (
      st.dev !== this.#tree.dev || st.ino !== at.st.ino ||
      Math.round(st.birthtimeMs ?? 0) !== (at.st.birthtime?.getTime() ?? 0)
    ) {
      nfs.closeSync(fd);
      throw new VfsError(
        "ESTALE",
        `Object changed while opening: fileid ${id}`,
      );
    }
    return this.files.add(id, fd, rw);
  }

  /**
   * Fresh attributes of an open file without a full `fstat` through
   * node:fs (several times the cost of a path lstat): those a getattr took
   * in this same synchronous turn (the NFS READ asks for both at once), else
   * an lstat of its verified path, else the descriptor's own (an object moved
   * out of reach is still the object the descriptor was verified to be).
   */
  #openStat(id: FileId, f: OpenFile): Deno.FileInfo {
    const st = this.#attrs.turnStat(id);
    if (st !== undefined) return st;
    const at = this.#tree.closed ? undefined : this.#tree.verifiedPath(id);
    if (at !== undefined) return at.st;
    return fromNodeStats(nfs.fstatSync(f.fd));
  }

  /** Reads up to `length` bytes at `offset` with one positional read. */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<ReadResult> {
    if (!isInt(offset) || !isInt(length)) {
      return Promise.reject(
        new VfsError("EINVAL", `Invalid range: ${offset}+${length}`),
      );
    }
    let f: OpenFile;
    try {
      f = this.#open(id, false);
    } catch (e) {
      return Promise.reject(e);
    }
    let st: Deno.FileInfo;
    try {
      st = this.#openStat(id, f);
      if (st.nlink === 0) {
        this.files.drop(id);
        throw new VfsError("ESTALE", `File was removed: fileid ${id}`);
      }
      requireData(owned(st), cred, "read", `fileid ${id}`);
    } catch (e) {
      this.files.release(f);
      return Promise.reject(hostError(e, `fileid ${id}`));
    }
    const size = st.size;
    if (offset >= size || length === 0) {
      this.files.release(f);
      return Promise.resolve({ data: EMPTY, eof: offset >= size });
    }
    const n = Math.min(length, size - offset);
    const buf = new Uint8Array(n);
    if (n > SYNC_IO_MAX) return this.#readAsync(id, f, buf, offset, size);
    // Small reads are served by the page cache: a synchronous pread costs a
    // few microseconds, a trip through the thread pool several times more.
    try {
      let got = 0;
      while (got < n) {
        const r = nfs.readSync(f.fd, buf, got, n - got, offset + got);
        if (r === 0) break;
        got += r;
      }
      const data = got === n ? buf : buf.subarray(0, got);
      return Promise.resolve({ data, eof: got < n || offset + got >= size });
    } catch (e) {
      return Promise.reject(hostError(e, `fileid ${id}`));
    } finally {
      this.files.release(f);
    }
  }

  async #readAsync(
    id: FileId,
    f: OpenFile,
    buf: Uint8Array,
    offset: number,
    size: number,
  ): Promise<ReadResult> {
    const n = buf.length;
    try {
      let got = 0;
      while (got < n) {
        const r = await new Promise<number>((resolve, reject) =>
          nfs.read(
            f.fd,
            buf,
            got,
            n - got,
            offset + got,
            (e, k) => e ? reject(e) : resolve(k),
          )
        );
        if (r === 0) break;
        got += r;
      }
      const data = got === n ? buf : buf.subarray(0, got);
      return { data, eof: got < n || offset + got >= size };
    } catch (e) {
      throw hostError(e, `fileid ${id}`);
    } finally {
      this.files.release(f);
    }
  }

  /** Writes at `offset`; "data" and "file" stability fsync before returning. */
  async write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable: Stability = "unstable",
  ): Promise<WriteResult> {
    if (!isInt(offset)) {
      throw new VfsError("EINVAL", `Invalid offset: ${offset}`);
    }
    if (offset + data.length > this.#maxFileSize) {
      throw new VfsError("EFBIG", `File too large: ${offset + data.length}`);
    }
    const f = this.#open(id, true);
    try {
      const st = this.#openStat(id, f);
      if (st.nlink === 0) {
        this.files.drop(id);
        throw new VfsError("ESTALE", `File was removed: fileid ${id}`);
      }
      requireData(owned(st), cred, "write", `fileid ${id}`);
      let done = 0;
      if (data.length <= SYNC_IO_MAX) {
        while (done < data.length) {
          done += nfs.writeSync(
            f.fd,
            data,
            done,
            data.length - done,
            offset + done,
          );
        }
      }
      while (done < data.length) {
        done += await new Promise<number>((resolve, reject) =>
          nfs.write(
            f.fd,
            data,
            done,
            data.length - done,
            offset + done,
            (e, k) => e ? reject(e) : resolve(k),
          )
        );
      }
      if (data.length > 0) {
        this.#killPriv(cred, f.fd, st.mode!);
        this.#attrs.bump(id);
      }
      if (stable !== "unstable") await this.#sync(f.fd, stable === "data");
      return {
        count: data.length,
        committed: stable,
        attrs: this.#attrs.of(this.#openStat(id, f), id),
      };
    } catch (e) {
      throw hostError(e, `fileid ${id}`);
    } finally {
      this.files.release(f);
    }
  }

  #sync(fd: number, dataOnly: boolean): Promise<void> {
    return new Promise((resolve, reject) =>
      (dataOnly ? nfs.fdatasync : nfs.fsync)(
        fd,
        (e) => e ? reject(e) : resolve(),
      )
    );
  }

  /**
   * Applies `attrs` to the located object `at` (named `id`) once the
   * permission policy allows them; the caller moves the change counter.
   */
  setattr(
    cred: Credentials,
    id: FileId,
    at: Located,
    attrs: SetAttributes,
  ): void {
    const st = at.st;
    const what = `fileid ${id}`;
    const mode = checkSetattr(owned(st), cred, attrs, { what });
    if (mode !== undefined && st.isSymlink) {
      throw new VfsError("ENOTSUP", `Symlinks have no mode: ${what}`);
    }
    try {
      if (attrs.size !== undefined) {
        const f = this.#open(id, true);
        try {
          nfs.ftruncateSync(f.fd, attrs.size);
          this.#killPriv(cred, f.fd, st.mode!);
        } finally {
          this.files.release(f);
        }
      }
      if (mode !== undefined) {
        this.#withFd(
          at,
          id,
          (fd) => nfs.fchmodSync(fd, mode),
          () => Deno.chmodSync(at.path, mode),
        );
      }
      if (attrs.uid !== undefined || attrs.gid !== undefined) {
        const uid = attrs.uid ?? st.uid!;
        const gid = attrs.gid ?? st.gid!;
        if (uid !== st.uid || gid !== st.gid) {
          this.#withFd(
            at,
            id,
            (fd) => nfs.fchownSync(fd, uid, gid),
            () => nfs.lchownSync(at.path, uid, gid),
          );
        }
      }
      if (attrs.atime !== undefined || attrs.mtime !== undefined) {
        const now = Date.now() / 1000;
        const pick = (t: SetTime | undefined, cur: Date | null) =>
          t === undefined
            ? (cur?.getTime() ?? 0) / 1000
            : t === "server"
            ? now
            : toSeconds(t);
        const a = pick(attrs.atime, st.atime);
        const m = pick(attrs.mtime, st.mtime);
        this.#withFd(
          at,
          id,
          (fd) => nfs.futimesSync(fd, a, m),
          () => nfs.lutimesSync(at.path, a, m),
        );
      }
    } catch (e) {
      throw hostError(e, what);
    }
  }

  /**
   * Runs `viaFd` on a verified descriptor of a file or directory (immune to
   * path swaps), or `viaPath` for symlinks and special files.
   */
  #withFd(
    at: Located,
    id: FileId,
    viaFd: (fd: number) => void,
    viaPath: () => void,
  ): void {
    if (at.st.isFile) {
      const f = this.#open(id, false);
      try {
        viaFd(f.fd);
      } finally {
        this.files.release(f);
      }
      return;
    }
    if (!at.st.isDirectory) {
      viaPath();
      return;
    }
    const fd = nfs.openSync(at.path, C.O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      const st = nfs.fstatSync(fd);
      if (st.dev !== this.#tree.dev || st.ino !== at.st.ino) {
        throw new VfsError("ESTALE", `Object changed: fileid ${id}`);
      }
      viaFd(fd);
    } finally {
      nfs.closeSync(fd);
    }
  }

  /** A non-root write clears setuid, and setgid when group-executable. */
  #killPriv(cred: Credentials, fd: number, mode: number): void {
    const next = modeAfterWrite(mode & 0o7777, cred);
    if (next !== (mode & 0o7777)) nfs.fchmodSync(fd, next);
  }

  /** fsyncs the file (and the FileId journal); errors are reported. */
  async commit(_cred: Credentials, id: FileId): Promise<void> {
    const at = this.#tree.locate(id);
    try {
      this.#tree.index.flush();
    } catch (e) {
      throw hostError(e, "FileId journal");
    }
    if (!at.st.isFile) return;
    const f = this.#open(id, false);
    try {
      await this.#sync(f.fd, false);
    } catch (e) {
      throw hostError(e, `fileid ${id}`);
    } finally {
      this.files.release(f);
    }
  }
}
