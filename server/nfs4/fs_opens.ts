/**
 * The file system's open hooks under NFSv4 opens (`FileSystem.open` and
 * `FileSystem.release`, for back ends such as CallbackFs that want to know
 * who has a file open and how).
 *
 * What it promises the file system, as vfs/types.ts asks:
 * - `open` is called for each OPEN that the state machine let through, with
 *   the open's share access and deny bits after that OPEN (a second OPEN by
 *   the same owner that widens them calls it again with the combined bits);
 *   an error from it fails the OPEN with that error.
 * - READ and WRITE under that open's stateid (or a lock stateid made from
 *   it) pass the newest context.
 * - `release` is called once per context, with the opener's credentials,
 *   when the open ends (CLOSE, lease expiry, a client's restart, a
 *   revocation, the server's shutdown), and only after the READs and WRITEs
 *   that were using the open have settled.
 *
 * Without the hooks nothing here runs: the server keeps its share
 * reservations and permission checks either way.
 *
 * @module
 */

import type { OpenState } from "./state/opens.ts";
import type { Target } from "./context.ts";

/** What an open keeps for its file system (the state's `context` slot). */
interface FsOpen {
  readonly target: Target;
  /** Every context `open` returned, oldest first; the last one is used. */
  readonly contexts: unknown[];
  /** I/O under the open that has not settled. */
  readonly inflight: Set<Promise<unknown>>;
}

/** The open hooks of every NFSv4 open of one server. */
export class FsOpens {
  readonly #log: (message: string) => void;
  readonly #all = new Set<FsOpen>();

  /** Failures of `release` go to `log` (the open is gone either way). */
  constructor(log: (message: string) => void) {
    this.#log = log;
  }

  /**
   * Calls the file system's `open` for `open` on `t`, if it has one, and
   * keeps the context in the open.
   */
  async opened(
    t: Target,
    open: OpenState,
    options: { created: boolean; owner: string },
  ): Promise<void> {
    if (t.fs.open === undefined) return;
    const context = await t.fs.open(t.cred, t.id, {
      access: open.access as 1 | 2 | 3,
      deny: open.deny as 0 | 1 | 2 | 3,
      created: options.created,
      owner: options.owner,
    });
    let rec = open.context as FsOpen | undefined;
    if (rec === undefined) {
      rec = { target: t, contexts: [], inflight: new Set() };
      open.context = rec;
      this.#all.add(rec);
    }
    rec.contexts.push(context);
  }

  /**
   * Runs `io` with the newest context of `open` (undefined without one),
   * counting it as in flight so a release waits for it.
   */
  async withContext<T>(
    open: OpenState | undefined,
    io: (context: unknown) => Promise<T>,
  ): Promise<T> {
    const rec = open?.context as FsOpen | undefined;
    if (rec === undefined || rec.contexts.length === 0) return io(undefined);
    const p = io(rec.contexts[rec.contexts.length - 1]);
    rec.inflight.add(p);
    try {
      return await p;
    } finally {
      rec.inflight.delete(p);
    }
  }

  /** The open ended: releases its contexts once its I/O has settled. */
  released(open: OpenState): void {
    const rec = open.context as FsOpen | undefined;
    if (rec === undefined) return;
    open.context = undefined;
    void this.#release(rec);
  }

  /** Releases every open's contexts (the server stops). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#all].map((rec) => this.#release(rec)));
  }

  async #release(rec: FsOpen): Promise<void> {
    if (!this.#all.delete(rec)) return;
    await Promise.allSettled([...rec.inflight]);
    const { fs, cred, id } = rec.target;
    for (const context of rec.contexts) {
      try {
        await fs.release?.(cred, id, context);
      } catch (e) {
        this.#log(
          `NFS4 release of file ${id} failed: ${(e as Error)?.message ?? e}`,
        );
      }
    }
  }
}
