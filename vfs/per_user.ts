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
 * The wrapper offers the optional capabilities, and declares the
 * `concurrency`, of the instance made for root when it opens; a call to a
 * capability another caller's instance lacks fails with ENOTSUP.
 *
 * Opens (the `open`/`release` hooks, when root's instance has them) stay
 * with the instance that made them: it is not closed while it has opens;
 * reads and writes by the opener carry the open's context to it; `release`
 * goes to it with the opener's credentials. I/O by another caller under the
 * open goes to that caller's own instance without the context, so no
 * instance is ever called with credentials it was not made for. When the
 * opener's instance has no `open`, the open is only noted, and its I/O
 * carries no context.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemFs, PerUserFs, ReadOnlyFs, ROOT } from "@netfs/netfs/vfs";
 * const shared = new MemFs();
 * // Root writes, everybody else gets a read-only view of the same tree.
 * const fs = await PerUserFs.open((cred) =>
 *   cred.uid === 0 ? shared : new ReadOnlyFs(shared, { closeInner: false })
 * );
 * await fs.create(ROOT, fs.root, "motd");
 * const user = { uid: 1000, gid: 1000, groups: [] };
 * await assert.rejects(fs.remove(user, fs.root, "motd"), { code: "EROFS" });
 * await fs.close();
 * ```
 *
 * @module
 */

import { VfsError } from "./errors.ts";
import { PassthroughFs } from "./passthrough.ts";
import {
  type Credentials,
  type FileId,
  type FileSystem,
  type OpenOptions,
  type ReadResult,
  ROOT,
  type Stability,
  type WriteResult,
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
  key: string;
  fs: FileSystem;
  users: number;
  opens: number;
  lastUsed: number;
}

/** The context PerUserFs gives an open: where it was made, and by whom. */
class UserOpen {
  constructor(
    readonly entry: Entry,
    readonly cred: Credentials,
    readonly hooked: boolean,
    readonly context: unknown,
  ) {}
}

/**
 * Delegates every call to the caller's own file system.
 *
 * @example One instance per caller, made on first use
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemFs, PerUserFs, ROOT } from "@netfs/netfs/vfs";
 * const shared = new MemFs();
 * const madeFor: number[] = [];
 * const fs = await PerUserFs.open((cred) => {
 *   madeFor.push(cred.uid);
 *   return shared; // a real factory returns this caller's view of one tree
 * });
 * const alice = { uid: 1000, gid: 1000, groups: [] };
 * await fs.getattr(alice, fs.root);
 * await fs.getattr(alice, fs.root); // alice's instance again
 * await fs.getattr(ROOT, fs.root);
 * assert.deepEqual(madeFor, [0, 1000]); // root's when it opened, alice's on her first call
 * assert.equal(fs.instances, 2);
 * await fs.close();
 * ```
 */
export class PerUserFs extends PassthroughFs {
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
    super(first);
    this.#factory = factory;
    this.#idle = options.idleTimeoutMs ?? 5 * 60_000;
    this.#key = options.key ?? ((c) => `${c.uid}:${c.gid}`);
    const key = this.#key(ROOT);
    this.#live.set(key, newEntry(key, first));
    this.#arm();
    this.replaceCapability(
      "open",
      (cred, id, options) => this.#open(cred, id, options),
    );
    this.replaceCapability(
      "release",
      (cred, id, context) => this.#release(cred, id, context),
    );
  }

  /**
   * Creates the wrapper; the factory is called once for root up front to
   * learn the root id and limits.
   *
   * @param factory Makes the file system for a caller.
   * @param options Idle timeout and cache key.
   * @returns The wrapper.
   *
   * @example Close idle instances; key callers by uid alone
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemFs, PerUserFs, ReadOnlyFs } from "@netfs/netfs/vfs";
   * const shared = new MemFs();
   * const fs = await PerUserFs.open(
   *   () => new ReadOnlyFs(shared, { closeInner: false }),
   *   { idleTimeoutMs: 20, key: (cred) => String(cred.uid) },
   * );
   * await fs.getattr({ uid: 1000, gid: 1000, groups: [] }, fs.root);
   * assert.equal(fs.instances, 2); // root's and uid 1000's
   * // Unused for 20 ms, both are closed (waiting at most a second here).
   * for (let i = 0; i < 100 && fs.instances > 0; i++) {
   *   await new Promise((done) => setTimeout(done, 10));
   * }
   * assert.equal(fs.instances, 0);
   * await fs.getattr({ uid: 1000, gid: 50, groups: [] }, fs.root); // made again
   * await fs.getattr({ uid: 1000, gid: 1000, groups: [] }, fs.root); // same key
   * assert.equal(fs.instances, 1);
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
      if (e.users > 0 || e.opens > 0 || now - e.lastUsed < this.#idle) {
        continue;
      }
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
        const e = newEntry(key, fs);
        this.#live.set(key, e);
        this.#arm();
        return e;
      })();
      this.#pending.set(key, pending);
      pending.finally(() => this.#pending.delete(key)).catch(() => {});
    }
    return await pending;
  }

  /** Runs `op` on the caller's instance, which stays open meanwhile. */
  protected override async forward<T>(
    cred: Credentials,
    op: (fs: FileSystem) => Promise<T>,
  ): Promise<T> {
    return await use(await this.#entry(cred), op);
  }

  async #open(
    cred: Credentials,
    id: FileId,
    options: OpenOptions,
  ): Promise<unknown> {
    const e = await this.#entry(cred);
    const hooked = e.fs.open !== undefined;
    const context = await use(
      e,
      (fs) => fs.open?.(cred, id, options) ?? Promise.resolve(undefined),
    );
    e.opens++;
    return new UserOpen(e, cred, hooked, context);
  }

  async #release(
    cred: Credentials,
    id: FileId,
    context: unknown,
  ): Promise<void> {
    if (!(context instanceof UserOpen)) {
      return await this.forward(
        cred,
        (fs) => fs.release?.(cred, id, context) ?? Promise.resolve(),
      );
    }
    const e = context.entry;
    try {
      if (context.hooked) {
        await use(e, (fs) => fs.release!(context.cred, id, context.context));
      }
    } finally {
      e.opens--;
      e.lastUsed = Date.now();
    }
  }

  /**
   * Runs `op` with the context of the open `context` names on the instance
   * that made it when `cred` is its opener's; otherwise on the caller's
   * instance, with no context or with one PerUserFs did not make.
   */
  #underOpen<T>(
    cred: Credentials,
    context: unknown,
    op: (fs: FileSystem, context: unknown) => Promise<T>,
  ): Promise<T> {
    if (!(context instanceof UserOpen)) {
      return this.forward(cred, (fs) => op(fs, context));
    }
    if (context.entry.key === this.#key(cred) && !this.#closed) {
      return use(context.entry, (fs) => op(fs, context.context));
    }
    return this.forward(cred, (fs) => op(fs, undefined));
  }

  /** On the caller's instance, with the open's context when it opened. */
  override read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
    context?: unknown,
  ): Promise<ReadResult> {
    return this.#underOpen(
      cred,
      context,
      (fs, c) => fs.read(cred, id, offset, length, c),
    );
  }

  /** On the caller's instance, with the open's context when it opened. */
  override write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable?: Stability,
    context?: unknown,
  ): Promise<WriteResult> {
    return this.#underOpen(
      cred,
      context,
      (fs, c) => fs.write(cred, id, offset, data, stable, c),
    );
  }

  /** Closes every instance and stops the idle timer. */
  override async close(): Promise<void> {
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

function newEntry(key: string, fs: FileSystem): Entry {
  return { key, fs, users: 0, opens: 0, lastUsed: Date.now() };
}

/** Runs `op` on the instance of `e`, which stays open meanwhile. */
async function use<T>(
  e: Entry,
  op: (fs: FileSystem) => Promise<T>,
): Promise<T> {
  e.users++;
  try {
    return await op(e.fs);
  } finally {
    e.users--;
    e.lastUsed = Date.now();
  }
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
