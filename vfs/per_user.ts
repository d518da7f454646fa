/**
 * A {@link FileSystem} that hands each caller (by uid and gid) its own
 * file-system instance from a factory, created on first use and closed
 * after an idle timeout.
 *
 * Every instance must agree on FileIds: the factory should return views of
 * one tree (for example a `LocalFs` on the same directory, whose FileIds
 * come from inodes, or per-user wrappers around one shared file system).
 * A file handle is not tied to a user, so instances with private trees
 * (say, one `MemFs` per user) would let one user's handle name another
 * object in someone else's tree; the root ids are checked and a mismatch
 * fails with EIO.
 *
 * @example
 * ```ts
 * import { MemFs } from "./memfs.ts";
 * import { PerUserFs } from "./per_user.ts";
 * import { ReadOnlyFs } from "./readonly.ts";
 * import { ROOT } from "./types.ts";
 * const shared = new MemFs();
 * // Root writes, everybody else gets a read-only view of the same tree.
 * const fs = await PerUserFs.open((cred) =>
 *   cred.uid === 0 ? shared : new ReadOnlyFs(shared, { closeInner: false })
 * );
 * await fs.create(ROOT, fs.root, "motd");
 * await fs.close();
 * ```
 *
 * @module
 */

import { VfsError } from "./errors.ts";
import {
  type Attributes,
  type CreateOptions,
  type Credentials,
  type FileId,
  type FileSystem,
  type FsLimits,
  type FsStats,
  type MknodOptions,
  type ReaddirOptions,
  type ReaddirResult,
  type ReadResult,
  ROOT,
  type SetAttributes,
  type Stability,
  type WriteResult,
  type XattrOps,
} from "./types.ts";

/** Makes the file system for one caller. */
export type PerUserFactory = (
  cred: Credentials,
) => FileSystem | Promise<FileSystem>;

/** Options for {@link PerUserFs.open}. */
export interface PerUserFsOptions {
  /** Close an instance unused this long, in ms (default 5 minutes). */
  idleTimeoutMs?: number;
  /** The cache key of a caller (default `uid:gid`). */
  key?: (cred: Credentials) => string;
}

interface Entry {
  fs: FileSystem;
  users: number;
  lastUsed: number;
}

/**
 * Delegates every call to the caller's own file system.
 *
 * @example
 * ```ts
 * import { MemFs } from "./memfs.ts";
 * import { PerUserFs } from "./per_user.ts";
 * import { ROOT } from "./types.ts";
 * const shared = new MemFs();
 * const fs = await PerUserFs.open(() => shared, { idleTimeoutMs: 60_000 });
 * console.log((await fs.getattr(ROOT, fs.root)).type); // 2
 * await fs.close();
 * ```
 */
export class PerUserFs implements FileSystem {
  /** The root id every instance shares. */
  readonly root: FileId;
  /** Limits of the first instance. */
  readonly limits: FsLimits;
  /** Extended attributes, when the instances have them. */
  readonly xattrs?: XattrOps;

  readonly #factory: PerUserFactory;
  readonly #idle: number;
  readonly #key: (cred: Credentials) => string;
  readonly #live = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<Entry>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  private constructor(
    factory: PerUserFactory,
    first: FileSystem,
    options: PerUserFsOptions,
  ) {
    this.#factory = factory;
    this.#idle = options.idleTimeoutMs ?? 5 * 60_000;
    this.#key = options.key ?? ((c) => `${c.uid}:${c.gid}`);
    this.root = first.root;
    this.limits = first.limits;
    this.#live.set(this.#key(ROOT), {
      fs: first,
      users: 0,
      lastUsed: Date.now(),
    });
    this.#arm();
    if (first.xattrs !== undefined) {
      this.xattrs = {
        getxattr: (c, id, n) =>
          this.#with(c, (fs) => xa(fs).getxattr(c, id, n)),
        setxattr: (c, id, n, v, m) =>
          this.#with(c, (fs) => xa(fs).setxattr(c, id, n, v, m)),
        listxattrs: (c, id) => this.#with(c, (fs) => xa(fs).listxattrs(c, id)),
        removexattr: (c, id, n) =>
          this.#with(c, (fs) => xa(fs).removexattr(c, id, n)),
      };
    }
    if (first.allocate !== undefined) {
      this.allocate = (c, id, o, l) =>
        this.#with(
          c,
          (fs) => cap(fs.allocate, "allocate").call(fs, c, id, o, l),
        );
    }
    if (first.deallocate !== undefined) {
      this.deallocate = (c, id, o, l) =>
        this.#with(
          c,
          (fs) => cap(fs.deallocate, "deallocate").call(fs, c, id, o, l),
        );
    }
    if (first.seek !== undefined) {
      this.seek = (c, id, o, w) =>
        this.#with(c, (fs) => cap(fs.seek, "seek").call(fs, c, id, o, w));
    }
    if (first.copy !== undefined) {
      this.copy = (c, s, d, o) =>
        this.#with(c, (fs) => cap(fs.copy, "copy").call(fs, c, s, d, o));
    }
  }

  /**
   * Creates the wrapper; the factory is called once for root up front to
   * learn the root id and limits.
   *
   * @param factory Makes the file system for a caller.
   * @param options Idle timeout and cache key.
   * @returns The wrapper.
   *
   * @example
   * ```ts
   * import { MemFs } from "./memfs.ts";
   * import { PerUserFs } from "./per_user.ts";
   * const shared = new MemFs();
   * const fs = await PerUserFs.open(() => shared);
   * await fs.close();
   * ```
   */
  static async open(
    factory: PerUserFactory,
    options: PerUserFsOptions = {},
  ): Promise<PerUserFs> {
    return new PerUserFs(factory, await factory(ROOT), options);
  }

  /** Number of live per-user instances (for tests and monitoring). */
  get instances(): number {
    return this.#live.size;
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const every = Math.max(10, Math.min(this.#idle / 2, 60_000));
    const timer = setInterval(() => this.#sweep(), every);
    // Idle bookkeeping must not keep the process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  async #sweep(): Promise<void> {
    const now = Date.now();
    for (const [key, e] of this.#live) {
      if (e.users > 0 || now - e.lastUsed < this.#idle) continue;
      this.#live.delete(key);
      await closeQuietly(e.fs, this.#live);
    }
    if (this.#live.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  async #entry(cred: Credentials): Promise<Entry> {
    if (this.#closed) throw new VfsError("EIO", "File system closed");
    const key = this.#key(cred);
    const have = this.#live.get(key);
    if (have !== undefined) return have;
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = (async () => {
        const fs = await this.#factory(cred);
        if (fs.root !== this.root) {
          await closeQuietly(fs, this.#live);
          throw new VfsError(
            "EIO",
            `Per-user file systems disagree on the root: ${fs.root} for ${key}, ${this.root} before`,
          );
        }
        const e: Entry = { fs, users: 0, lastUsed: Date.now() };
        this.#live.set(key, e);
        this.#arm();
        return e;
      })();
      this.#pending.set(key, pending);
      pending.finally(() => this.#pending.delete(key)).catch(() => {});
    }
    return await pending;
  }

  async #with<T>(
    cred: Credentials,
    f: (fs: FileSystem) => Promise<T>,
  ): Promise<T> {
    const e = await this.#entry(cred);
    e.users++;
    try {
      return await f(e.fs);
    } finally {
      e.users--;
      e.lastUsed = Date.now();
    }
  }

  /** Delegates. */
  getattr(cred: Credentials, id: FileId): Promise<Attributes> {
    return this.#with(cred, (fs) => fs.getattr(cred, id));
  }
  /** Delegates. */
  setattr(
    cred: Credentials,
    id: FileId,
    attrs: SetAttributes,
  ): Promise<Attributes> {
    return this.#with(cred, (fs) => fs.setattr(cred, id, attrs));
  }
  /** Delegates. */
  lookup(cred: Credentials, dir: FileId, name: string): Promise<Attributes> {
    return this.#with(cred, (fs) => fs.lookup(cred, dir, name));
  }
  /** Delegates. */
  access(cred: Credentials, id: FileId, mask: number): Promise<number> {
    return this.#with(cred, (fs) => fs.access(cred, id, mask));
  }
  /** Delegates. */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<ReadResult> {
    return this.#with(cred, (fs) => fs.read(cred, id, offset, length));
  }
  /** Delegates. */
  write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable?: Stability,
  ): Promise<WriteResult> {
    return this.#with(cred, (fs) => fs.write(cred, id, offset, data, stable));
  }
  /** Delegates. */
  create(
    cred: Credentials,
    dir: FileId,
    name: string,
    options?: CreateOptions,
  ): Promise<Attributes> {
    return this.#with(cred, (fs) => fs.create(cred, dir, name, options));
  }
  /** Delegates. */
  mkdir(
    cred: Credentials,
    dir: FileId,
    name: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#with(cred, (fs) => fs.mkdir(cred, dir, name, attrs));
  }
  /** Delegates. */
  symlink(
    cred: Credentials,
    dir: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#with(
      cred,
      (fs) => fs.symlink(cred, dir, name, target, attrs),
    );
  }
  /** Delegates. */
  readlink(cred: Credentials, id: FileId): Promise<string> {
    return this.#with(cred, (fs) => fs.readlink(cred, id));
  }
  /** Delegates. */
  mknod(
    cred: Credentials,
    dir: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    return this.#with(cred, (fs) => fs.mknod(cred, dir, name, options));
  }
  /** Delegates. */
  link(
    cred: Credentials,
    id: FileId,
    dir: FileId,
    name: string,
  ): Promise<Attributes> {
    return this.#with(cred, (fs) => fs.link(cred, id, dir, name));
  }
  /** Delegates. */
  remove(cred: Credentials, dir: FileId, name: string): Promise<void> {
    return this.#with(cred, (fs) => fs.remove(cred, dir, name));
  }
  /** Delegates. */
  rmdir(cred: Credentials, dir: FileId, name: string): Promise<void> {
    return this.#with(cred, (fs) => fs.rmdir(cred, dir, name));
  }
  /** Delegates. */
  rename(
    cred: Credentials,
    fromDir: FileId,
    fromName: string,
    toDir: FileId,
    toName: string,
  ): Promise<void> {
    return this.#with(
      cred,
      (fs) => fs.rename(cred, fromDir, fromName, toDir, toName),
    );
  }
  /** Delegates. */
  readdir(
    cred: Credentials,
    dir: FileId,
    options?: ReaddirOptions,
  ): Promise<ReaddirResult> {
    return this.#with(cred, (fs) => fs.readdir(cred, dir, options));
  }
  /** Delegates. */
  statfs(cred: Credentials, id: FileId): Promise<FsStats> {
    return this.#with(cred, (fs) => fs.statfs(cred, id));
  }
  /** Delegates. */
  commit(cred: Credentials, id: FileId): Promise<void> {
    return this.#with(cred, (fs) => fs.commit(cred, id));
  }
  /** Delegates, when the instances can allocate. */
  allocate?(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void>;
  /** Delegates, when the instances can punch holes. */
  deallocate?(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void>;
  /** Delegates, when the instances can seek. */
  seek?(
    cred: Credentials,
    id: FileId,
    offset: number,
    what: "data" | "hole",
  ): Promise<{ offset: number; eof: boolean }>;
  /** Delegates, when the instances can copy. */
  copy?(
    cred: Credentials,
    src: FileId,
    dst: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number>;

  /** Closes every instance and stops the idle timer. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#pending.values()]);
    const all = [...this.#live.values()];
    this.#live.clear();
    const seen = new Set<FileSystem>();
    for (const e of all) {
      if (seen.has(e.fs)) continue;
      seen.add(e.fs);
      await closeQuietly(e.fs, this.#live);
    }
  }
}

function xa(fs: FileSystem): XattrOps {
  if (fs.xattrs === undefined) {
    throw new VfsError("ENOTSUP", "Extended attributes not supported");
  }
  return fs.xattrs;
}

function cap<F>(f: F | undefined, what: string): F {
  if (f === undefined) {
    throw new VfsError("ENOTSUP", `Operation not supported: ${what}`);
  }
  return f;
}

/** Closes `fs` unless another live entry still uses the same instance. */
async function closeQuietly(
  fs: FileSystem,
  live: Map<string, Entry>,
): Promise<void> {
  for (const e of live.values()) if (e.fs === fs) return;
  try {
    await fs.close?.();
  } catch {
    // An instance failing to close has no caller to tell.
  }
}
