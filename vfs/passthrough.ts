/**
 * A base for file-system wrappers: every call passes through to the wrapped
 * file system unless a subclass changes it, as an nbdkit filter hands on
 * what it does not handle. `ReadOnlyFs` and `PerUserFs` are built on it.
 *
 * What it promises:
 * - A wrapper offers an optional capability (`find`, `xattrs`, `allocate`,
 *   `deallocate`, `seek`, `copy`, `clone`, and the `open`/`release` hooks) exactly
 *   when the file system it wraps does: the constructor sets each as an own
 *   property only then, so `"allocate" in wrapper` answers truthfully.
 * - `read` and `write` pass the open's `context` on, unchanged.
 * - `root`, `limits` and `concurrency` are the wrapped file system's.
 * - Every forwarded call, core or optional, goes through one method,
 *   `forward(cred, op)`, that a subclass may override to pick the file
 *   system per caller or to bracket each call.
 * - `close()` closes the wrapped file system.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemFs, PassthroughFs, ROOT } from "@netfs/netfs/vfs";
 * const inner = new MemFs();
 * const fs = new PassthroughFs(inner);
 * const f = await fs.create(ROOT, fs.root, "a.txt");
 * assert.equal((await inner.getattr(ROOT, f.fileid)).fileid, f.fileid);
 * assert.equal("copy" in fs, "copy" in inner);
 * ```
 *
 * @module
 */

import { VfsError } from "./errors.ts";
import { findByLookup, findName } from "./_find.ts";
import type {
  Attributes,
  Concurrency,
  CreateOptions,
  Credentials,
  FileId,
  FileSystem,
  FsLimits,
  FsStats,
  MknodOptions,
  OpenOptions,
  ReaddirOptions,
  ReaddirResult,
  ReadResult,
  SetAttributes,
  Stability,
  WriteResult,
  XattrOps,
} from "./types.ts";

/** The optional capabilities of a {@link FileSystem}. */
export type FsCapability =
  | "find"
  | "xattrs"
  | "allocate"
  | "deallocate"
  | "seek"
  | "copy"
  | "clone"
  | "open"
  | "release";

const CAPABILITIES: readonly FsCapability[] = [
  "find",
  "xattrs",
  "allocate",
  "deallocate",
  "seek",
  "copy",
  "clone",
  "open",
  "release",
];

/**
 * Forwards every call to a wrapped {@link FileSystem}. Subclass it and
 * override the core methods you change. Optional capabilities are not
 * methods here: change one in your constructor with
 * {@link PassthroughFs.replaceCapability}, which leaves it absent when the
 * wrapped file system lacks it (a subclass that declares one as a method
 * would offer it regardless, so the constructor refuses that with a
 * TypeError).
 *
 * @example A wrapper that counts the bytes written through it
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   type Credentials,
 *   type FileId,
 *   MemFs,
 *   PassthroughFs,
 *   ROOT,
 *   type Stability,
 *   type WriteResult,
 * } from "@netfs/netfs/vfs";
 * class Metered extends PassthroughFs {
 *   written = 0;
 *   override write(
 *     cred: Credentials,
 *     id: FileId,
 *     offset: number,
 *     data: Uint8Array,
 *     stable?: Stability,
 *     context?: unknown,
 *   ): Promise<WriteResult> {
 *     this.written += data.length;
 *     return super.write(cred, id, offset, data, stable, context);
 *   }
 * }
 * const fs = new Metered(new MemFs());
 * const f = await fs.create(ROOT, fs.root, "log");
 * await fs.write(ROOT, f.fileid, 0, new Uint8Array(3));
 * assert.equal(fs.written, 3);
 * ```
 */
export class PassthroughFs implements FileSystem {
  /** The wrapped file system's root. */
  readonly root: FileId;
  /** The wrapped file system's limits. */
  readonly limits: FsLimits;
  /** The wrapped file system's declaration; absent when it has none. */
  declare readonly concurrency?: Concurrency;
  /** Passes through, when the wrapped file system has extended attributes. */
  declare readonly xattrs?: XattrOps;
  /** The file system calls go to unless `forward` picks another. */
  protected readonly inner: FileSystem;

  /**
   * Wraps `inner`, offering the optional capabilities it has.
   *
   * @param inner The file system calls pass through to.
   */
  constructor(inner: FileSystem) {
    for (const name of CAPABILITIES) {
      if (name in this) {
        throw new TypeError(
          `Optional capability declared as a method, use replaceCapability: ${name}`,
        );
      }
    }
    this.inner = inner;
    this.root = inner.root;
    this.limits = inner.limits;
    if (inner.concurrency !== undefined) this.concurrency = inner.concurrency;
    if (inner.find !== undefined) {
      // A subclass that changes `lookup` decides what `find` finds too.
      this.find = this.lookup === PassthroughFs.prototype.lookup
        ? (c, d, n) => this.forward(c, (fs) => findName(fs, c, d, n))
        : (c, d, n) => findByLookup(this, c, d, n);
    }
    if (inner.xattrs !== undefined) {
      this.xattrs = {
        getxattr: (c, id, n) =>
          this.forward(c, (fs) => fs.xattrs?.getxattr(c, id, n) ?? noXattrs()),
        setxattr: (c, id, n, v, m) =>
          this.forward(
            c,
            (fs) => fs.xattrs?.setxattr(c, id, n, v, m) ?? noXattrs(),
          ),
        listxattrs: (c, id) =>
          this.forward(c, (fs) => fs.xattrs?.listxattrs(c, id) ?? noXattrs()),
        removexattr: (c, id, n) =>
          this.forward(
            c,
            (fs) => fs.xattrs?.removexattr(c, id, n) ?? noXattrs(),
          ),
      };
    }
    if (inner.allocate !== undefined) {
      this.allocate = (c, id, o, l) =>
        this.forward(
          c,
          (fs) => fs.allocate?.(c, id, o, l) ?? unsupported("allocate"),
        );
    }
    if (inner.deallocate !== undefined) {
      this.deallocate = (c, id, o, l) =>
        this.forward(
          c,
          (fs) => fs.deallocate?.(c, id, o, l) ?? unsupported("deallocate"),
        );
    }
    if (inner.seek !== undefined) {
      this.seek = (c, id, o, w) =>
        this.forward(c, (fs) => fs.seek?.(c, id, o, w) ?? unsupported("seek"));
    }
    if (inner.copy !== undefined) {
      this.copy = (c, s, d, o) =>
        this.forward(c, (fs) => fs.copy?.(c, s, d, o) ?? unsupported("copy"));
    }
    if (inner.clone !== undefined) {
      this.clone = (c, s, d, o) =>
        this.forward(c, (fs) => fs.clone?.(c, s, d, o) ?? unsupported("clone"));
    }
    if (inner.open !== undefined) {
      this.open = (c, id, o) =>
        this.forward(c, (fs) => fs.open?.(c, id, o) ?? unsupported("open"));
    }
    if (inner.release !== undefined) {
      this.release = (c, id, x) =>
        this.forward(
          c,
          (fs) => fs.release?.(c, id, x) ?? unsupported("release"),
        );
    }
  }

  /**
   * Runs `op` on the file system that serves `cred`: by default the wrapped
   * one. Every forwarded call comes through here, so an override can choose
   * the file system per caller or wrap each call (count it, queue it).
   *
   * @param _cred The caller.
   * @param op The call to make.
   * @returns What `op` returns.
   */
  protected forward<T>(
    _cred: Credentials,
    op: (fs: FileSystem) => Promise<T>,
  ): Promise<T> {
    return op(this.inner);
  }

  /**
   * Replaces optional capability `name` when the wrapped file system has
   * it; leaves it absent otherwise. Call it from a subclass constructor.
   *
   * @param name The capability.
   * @param impl What to offer instead of passing through.
   */
  protected replaceCapability<K extends FsCapability>(
    name: K,
    impl: NonNullable<FileSystem[K]>,
  ): void {
    if (this[name] === undefined) return;
    (this as Record<FsCapability, unknown>)[name] = impl;
  }

  /** Passes through. */
  getattr(cred: Credentials, id: FileId): Promise<Attributes> {
    return this.forward(cred, (fs) => fs.getattr(cred, id));
  }
  /** Passes through. */
  setattr(
    cred: Credentials,
    id: FileId,
    attrs: SetAttributes,
  ): Promise<Attributes> {
    return this.forward(cred, (fs) => fs.setattr(cred, id, attrs));
  }
  /** Passes through. */
  lookup(cred: Credentials, dir: FileId, name: string): Promise<Attributes> {
    return this.forward(cred, (fs) => fs.lookup(cred, dir, name));
  }
  /** Passes through. */
  access(cred: Credentials, id: FileId, mask: number): Promise<number> {
    return this.forward(cred, (fs) => fs.access(cred, id, mask));
  }
  /** Passes through, with the open's context. */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
    context?: unknown,
  ): Promise<ReadResult> {
    return this.forward(
      cred,
      (fs) => fs.read(cred, id, offset, length, context),
    );
  }
  /** Passes through, with the open's context. */
  write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable?: Stability,
    context?: unknown,
  ): Promise<WriteResult> {
    return this.forward(
      cred,
      (fs) => fs.write(cred, id, offset, data, stable, context),
    );
  }
  /** Passes through. */
  create(
    cred: Credentials,
    dir: FileId,
    name: string,
    options?: CreateOptions,
  ): Promise<Attributes> {
    return this.forward(cred, (fs) => fs.create(cred, dir, name, options));
  }
  /** Passes through. */
  mkdir(
    cred: Credentials,
    dir: FileId,
    name: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.forward(cred, (fs) => fs.mkdir(cred, dir, name, attrs));
  }
  /** Passes through. */
  symlink(
    cred: Credentials,
    dir: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.forward(
      cred,
      (fs) => fs.symlink(cred, dir, name, target, attrs),
    );
  }
  /** Passes through. */
  readlink(cred: Credentials, id: FileId): Promise<string> {
    return this.forward(cred, (fs) => fs.readlink(cred, id));
  }
  /** Passes through. */
  mknod(
    cred: Credentials,
    dir: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    return this.forward(cred, (fs) => fs.mknod(cred, dir, name, options));
  }
  /** Passes through. */
  link(
    cred: Credentials,
    id: FileId,
    dir: FileId,
    name: string,
  ): Promise<Attributes> {
    return this.forward(cred, (fs) => fs.link(cred, id, dir, name));
  }
  /** Passes through. */
  remove(cred: Credentials, dir: FileId, name: string): Promise<void> {
    return this.forward(cred, (fs) => fs.remove(cred, dir, name));
  }
  /** Passes through. */
  rmdir(cred: Credentials, dir: FileId, name: string): Promise<void> {
    return this.forward(cred, (fs) => fs.rmdir(cred, dir, name));
  }
  /** Passes through. */
  rename(
    cred: Credentials,
    fromDir: FileId,
    fromName: string,
    toDir: FileId,
    toName: string,
  ): Promise<void> {
    return this.forward(
      cred,
      (fs) => fs.rename(cred, fromDir, fromName, toDir, toName),
    );
  }
  /** Passes through. */
  readdir(
    cred: Credentials,
    dir: FileId,
    options?: ReaddirOptions,
  ): Promise<ReaddirResult> {
    return this.forward(cred, (fs) => fs.readdir(cred, dir, options));
  }
  /** Passes through. */
  statfs(cred: Credentials, id: FileId): Promise<FsStats> {
    return this.forward(cred, (fs) => fs.statfs(cred, id));
  }
  /** Passes through. */
  commit(cred: Credentials, id: FileId): Promise<void> {
    return this.forward(cred, (fs) => fs.commit(cred, id));
  }
  /**
   * Passes through, when the wrapped file system has it; through this
   * wrapper's own `lookup` when a subclass overrides that.
   */
  find?(
    cred: Credentials,
    dir: FileId,
    name: string,
  ): Promise<Attributes | undefined>;
  /** Passes through, when the wrapped file system can allocate. */
  allocate?(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void>;
  /** Passes through, when the wrapped file system can punch holes. */
  deallocate?(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void>;
  /** Passes through, when the wrapped file system can seek. */
  seek?(
    cred: Credentials,
    id: FileId,
    offset: number,
    what: "data" | "hole",
  ): Promise<{ offset: number; eof: boolean }>;
  /** Passes through, when the wrapped file system can copy. */
  copy?(
    cred: Credentials,
    src: FileId,
    dst: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number>;
  /** Passes through, when the wrapped file system can clone. */
  clone?(
    cred: Credentials,
    src: FileId,
    dst: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<void>;
  /** Passes through, when the wrapped file system wants to know of opens. */
  open?(cred: Credentials, id: FileId, options: OpenOptions): Promise<unknown>;
  /** Passes through, when the wrapped file system wants to know of opens. */
  release?(cred: Credentials, id: FileId, context: unknown): Promise<void>;
  /** Closes the wrapped file system. */
  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

// What a call meets when the file system `forward` picked lacks a
// capability the wrapped one has (per-user instances may differ).

function unsupported(what: string): Promise<never> {
  return Promise.reject(
    new VfsError("ENOTSUP", `Operation not supported: ${what}`),
  );
}

function noXattrs(): Promise<never> {
  return Promise.reject(
    new VfsError("ENOTSUP", "Extended attributes not supported"),
  );
}
