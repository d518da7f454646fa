// Data I/O for the portable LocalFs engine: positional reads and writes
// (node:fs read/write at an offset; Deno.FsFile has none; the policy is
// ./_file_io.ts's, shared with the native engine) through a bounded cache of
// descriptors each verified, when opened, to be the object its
// FileId names (an open descriptor cannot escape), fsync, and the attribute
// changes that go through a verified descriptor (truncate, chmod, chown,
// utimes) or, for symlinks and special files, by path.
import * as nfs from "node:fs";
import { VfsError } from "../errors.ts";
import type { Credentials, FileId, SetAttributes, SetTime } from "../types.ts";
import {
  type AttrMap,
  fromNodeStats,
  setattrMode,
  toSeconds,
} from "./_attrs.ts";
import type { Confinement, Located } from "./_confine.ts";
import {
  FdCache,
  type OpenFile,
  readFull,
  syncFd,
  writeFull,
} from "./_fd_cache.ts";
import { FileIo } from "./_file_io.ts";
import { C, hostError, O_DIRECTORY, O_NOFOLLOW } from "./_host.ts";

/** Reads, writes, fsync and descriptor-based attribute changes of host files. */
export class DataIo extends FileIo {
  /** The open descriptors, by FileId. */
  readonly files: FdCache;
  readonly #tree: Confinement;

  /** `openFiles` bounds the descriptors kept open. */
  constructor(
    tree: Confinement,
    attrs: AttrMap,
    maxFileSize: number,
    openFiles: number,
  ) {
    super(tree, attrs, maxFileSize);
    this.#tree = tree;
    this.files = new FdCache(openFiles);
  }

  /** An open descriptor for a regular file, verified to be `id`. */
  open(id: FileId, writable: boolean): OpenFile {
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
  protected fileStat(id: FileId, f: OpenFile): Deno.FileInfo {
    const st = this.attrs.turnStat(id);
    if (st !== undefined) return st;
    const at = this.#tree.closed ? undefined : this.#tree.verifiedPath(id);
    if (at !== undefined) return at.st;
    return fromNodeStats(nfs.fstatSync(f.fd));
  }

  protected readSync(fd: number, buf: Uint8Array, offset: number): number {
    return nfs.readSync(fd, buf, 0, buf.length, offset);
  }

  protected readAsync(
    fd: number,
    buf: Uint8Array,
    offset: number,
  ): Promise<number> {
    return readFull(fd, buf, offset);
  }

  protected writeSync(fd: number, data: Uint8Array, offset: number): number {
    return nfs.writeSync(fd, data, 0, data.length, offset);
  }

  protected writeAsync(
    fd: number,
    data: Uint8Array,
    offset: number,
  ): Promise<void> {
    return writeFull(fd, data, offset, 0);
  }

  protected sync(fd: number, dataOnly: boolean): Promise<void> {
    return syncFd(fd, dataOnly);
  }

  protected chmod(fd: number, mode: number): void {
    nfs.fchmodSync(fd, mode);
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
    const mode = setattrMode(cred, id, st, attrs);
    try {
      if (attrs.size !== undefined) {
        const f = this.open(id, true);
        try {
          nfs.ftruncateSync(f.fd, attrs.size);
          this.killPriv(cred, f.fd, st.mode!);
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
      const f = this.open(id, false);
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
}
