// The optional capabilities only the native LocalFs engine has, each a
// libc call on a checked descriptor: xattrs in the `user.` namespace
// (f*xattr, on regular files and directories), allocate and deallocate
// (fallocate, PUNCH_HOLE|KEEP_SIZE), seek (lseek SEEK_DATA/SEEK_HOLE), copy
// (copy_file_range, the kernel's own copy, which shares extents where the
// file system can) and clone (FICLONE/FICLONERANGE; ENOTSUP where the file
// system has no reflinks). Calls that may wait on the disk run on the
// thread pool (nonblocking FFI).
import { Perm, requireData } from "../../access.ts";
import { VfsError } from "../../errors.ts";
import type { Credentials, FileId, XattrOps } from "../../types.ts";
import { type AttrMap, owned, requireOn } from "../_attrs.ts";
import { copyByReading, type CopyPlan, planCopy } from "../_engine.ts";
import type { OpenFile } from "../_fd_cache.ts";
import { isInt, settle } from "../_host.ts";
import {
  EINVAL,
  ENOSYS,
  ENOTTY,
  ENXIO,
  EOPNOTSUPP,
  errnoError,
  EXDEV,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  SEEK_DATA,
  SEEK_HOLE,
  XATTR_CREATE,
  XATTR_REPLACE,
} from "../_libc.ts";
import { check, type NativeIo } from "./_io.ts";
import type { NativeTree } from "./_tree.ts";

/** Largest piece of a COPY handed to copy_file_range at once. */
const COPY_CHUNK = 64 << 20;

function checkXattrName(name: string): void {
  if (name === "" || name.includes("\0")) {
    throw new VfsError("EINVAL", `Invalid xattr name: ${JSON.stringify(name)}`);
  }
  if (!name.startsWith("user.")) {
    throw new VfsError(
      "ENOTSUP",
      `Only user. xattrs are served: ${JSON.stringify(name)}`,
    );
  }
}

function checkRange(offset: number, length: number, max: number): void {
  if (!isInt(offset) || !isInt(length) || length === 0) {
    throw new VfsError("EINVAL", `Invalid range: ${offset}+${length}`);
  }
  if (offset + length > max) {
    throw new VfsError("EFBIG", `File too large: ${offset + length}`);
  }
}

/** xattrs, allocate, deallocate, seek, copy and clone. */
export class NativeCaps {
  readonly #tree: NativeTree;
  readonly #attrs: AttrMap;
  readonly #io: NativeIo;
  readonly #maxFileSize: number;
  /** The xattr calls, as FileSystem.xattrs. */
  readonly xattrs: XattrOps;

  constructor(
    tree: NativeTree,
    attrs: AttrMap,
    io: NativeIo,
    maxFileSize: number,
  ) {
    this.#tree = tree;
    this.#attrs = attrs;
    this.#io = io;
    this.#maxFileSize = maxFileSize;
    this.xattrs = {
      getxattr: (c, id, n) =>
        this.#onObject(c, id, Perm.R, "read xattrs of", (fd) => {
          checkXattrName(n);
          const v = tree.lib.fgetxattr(fd, n);
          if (typeof v === "number") throw errnoError(v, n);
          return v;
        }),
      setxattr: (c, id, n, value, mode = "either") =>
        this.#onObject(c, id, Perm.W, "set xattrs of", (fd) => {
          checkXattrName(n);
          const flags = mode === "create"
            ? XATTR_CREATE
            : mode === "replace"
            ? XATTR_REPLACE
            : 0;
          check(tree.lib.fsetxattr(fd, n, value, flags), n);
          attrs.bump(id);
        }),
      listxattrs: (c, id) =>
        this.#onObject(c, id, Perm.R, "list xattrs of", (fd) => {
          const names = tree.lib.flistxattr(fd);
          if (typeof names === "number") {
            throw errnoError(names, `fileid ${id}`);
          }
          return names.filter((n) => n.startsWith("user."));
        }),
      removexattr: (c, id, n) =>
        this.#onObject(c, id, Perm.W, "remove xattrs of", (fd) => {
          checkXattrName(n);
          check(tree.lib.fremovexattr(fd, n), n);
          attrs.bump(id);
        }),
    };
  }

  /**
   * Runs `body` on a descriptor of the regular file or directory `id`
   * once `cred` has `want` on it (user xattrs exist on nothing else).
   */
  #onObject<T>(
    cred: Credentials,
    id: FileId,
    want: number,
    verb: string,
    body: (fd: number) => T,
  ): Promise<T> {
    return settle(() => {
      const at = this.#tree.locate(id);
      requireOn(cred, at.st, want, `cannot ${verb} fileid ${id}`);
      if (at.st.isDirectory) return body(this.#tree.dir(id).fd);
      if (!at.st.isFile) {
        throw new VfsError(
          "ENOTSUP",
          `Xattrs are served on files and directories only: fileid ${id}`,
        );
      }
      const f = this.#io.open(id, want === Perm.W);
      try {
        return body(f.fd);
      } finally {
        this.#io.files.release(f);
      }
    });
  }

  /** An open file `id` that `cred` may read or write, with its size. */
  #data(
    cred: Credentials,
    id: FileId,
    write: boolean,
  ): { f: OpenFile; size: number } {
    const f = this.#io.open(id, write);
    try {
      const st = this.#tree.lib.fstat(f.fd);
      if (typeof st === "number") throw errnoError(st, `fileid ${id}`);
      requireData(owned(st), cred, write ? "write" : "read", `fileid ${id}`);
      return { f, size: st.size };
    } catch (e) {
      this.#io.files.release(f);
      throw e;
    }
  }

  /** The source `cred` may read and the destination it may write, open. */
  #pair(
    cred: Credentials,
    srcId: FileId,
    dstId: FileId,
  ): { src: { f: OpenFile }; dst: { f: OpenFile } } {
    const src = this.#data(cred, srcId, false);
    try {
      return { src, dst: this.#data(cred, dstId, true) };
    } catch (e) {
      this.#io.files.release(src.f);
      throw e;
    }
  }

  /** fallocate with `mode` on a file `cred` may write. */
  async #fallocate(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
    mode: number,
  ): Promise<void> {
    checkRange(offset, length, this.#maxFileSize);
    const { f } = this.#data(cred, id, true);
    try {
      check(
        await this.#tree.lib.fallocateAsync(f.fd, mode, offset, length),
        `fileid ${id}`,
      );
      this.#attrs.bump(id);
    } finally {
      this.#io.files.release(f);
    }
  }

  /** Reserves zeroed storage for a range, extending the file if needed. */
  allocate(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void> {
    return this.#fallocate(cred, id, offset, length, 0);
  }

  /** Punches a hole: the range reads as zeros, the size stays. */
  deallocate(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void> {
    return this.#fallocate(
      cred,
      id,
      offset,
      length,
      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
    );
  }

  /** The next data or hole at or after `offset` (lseek SEEK_DATA / SEEK_HOLE). */
  seek(
    cred: Credentials,
    id: FileId,
    offset: number,
    what: "data" | "hole",
  ): Promise<{ offset: number; eof: boolean }> {
    return settle(() => {
      if (!isInt(offset)) {
        throw new VfsError("EINVAL", `Invalid offset: ${offset}`);
      }
      const { f, size } = this.#data(cred, id, false);
      try {
        if (offset >= size) {
          throw new VfsError("ENXIO", `Offset beyond end of file: ${offset}`);
        }
        const r = this.#tree.lib.seek(
          f.fd,
          offset,
          what === "data" ? SEEK_DATA : SEEK_HOLE,
        );
        // No data after offset, only a hole to the end: lseek says ENXIO.
        if (r === -ENXIO && what === "data") return { offset: size, eof: true };
        check(r, `fileid ${id}`);
        return { offset: r, eof: what === "hole" && r >= size };
      } finally {
        this.#io.files.release(f);
      }
    });
  }

  /**
   * Copies a byte range with copy_file_range; where the kernel cannot copy
   * between these two files (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP), through
   * reads and writes instead.
   */
  async copy(
    cred: Credentials,
    srcId: FileId,
    dstId: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number> {
    const plan = await planCopy(
      srcId,
      dstId,
      options,
      () => Promise.resolve(this.#tree.locate(srcId).st.size),
    );
    if (plan === undefined) return 0;
    const done = await this.#kernelCopy(cred, srcId, dstId, plan);
    if (done !== undefined) return done;
    return await copyByReading(this.#io, cred, srcId, dstId, plan);
  }

  async #kernelCopy(
    cred: Credentials,
    srcId: FileId,
    dstId: FileId,
    plan: CopyPlan,
  ): Promise<number | undefined> {
    if (plan.dstOffset + plan.length > this.#maxFileSize) {
      throw new VfsError(
        "EFBIG",
        `File too large: ${plan.dstOffset + plan.length}`,
      );
    }
    const { src, dst } = this.#pair(cred, srcId, dstId);
    const lib = this.#tree.lib;
    let done = 0;
    try {
      while (done < plan.length) {
        const r = await lib.copyRange(
          src.f.fd,
          plan.srcOffset + done,
          dst.f.fd,
          plan.dstOffset + done,
          Math.min(COPY_CHUNK, plan.length - done),
        );
        if (
          done === 0 &&
          (r === -EXDEV || r === -EINVAL || r === -ENOSYS || r === -EOPNOTSUPP)
        ) {
          return undefined;
        }
        if (check(r, `fileid ${dstId}`) === 0) break;
        done += r;
      }
      if (done > 0) {
        const st = lib.fstat(dst.f.fd);
        if (typeof st !== "number") this.#io.killPriv(cred, dst.f.fd, st.mode!);
        this.#attrs.bump(dstId);
      }
      return done;
    } finally {
      this.#io.files.release(src.f);
      this.#io.files.release(dst.f);
    }
  }

  /**
   * Makes a range of `dstId` share the storage of a range of `srcId`
   * (FICLONERANGE; length 0 with both offsets 0 clones the whole file with
   * FICLONE). ENOTSUP where the file system has no reflinks.
   */
  async clone(
    cred: Credentials,
    srcId: FileId,
    dstId: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<void> {
    const { srcOffset, dstOffset, length } = options;
    if (!isInt(srcOffset) || !isInt(dstOffset) || !isInt(length)) {
      throw new VfsError("EINVAL", `Invalid clone range: ${srcOffset}`);
    }
    const { src, dst } = this.#pair(cred, srcId, dstId);
    try {
      const r = await this.#tree.lib.clone(
        src.f.fd,
        srcOffset,
        dst.f.fd,
        dstOffset,
        length,
      );
      // Without reflinks: EOPNOTSUPP (tmpfs, ext4), ENOTTY (no such ioctl),
      // EXDEV (two file systems).
      if (r === -EOPNOTSUPP || r === -ENOTTY || r === -EXDEV) {
        throw new VfsError(
          "ENOTSUP",
          `Clones are not supported by this file system: fileid ${dstId}`,
        );
      }
      check(r, `fileid ${dstId}`);
      this.#attrs.bump(dstId);
    } finally {
      this.#io.files.release(src.f);
      this.#io.files.release(dst.f);
    }
  }
}
