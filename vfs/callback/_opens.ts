// The open contexts of a CallbackFs: what the open handler returned per
// FileId, reused by later reads and writes of the same path, at most
// `openFiles` of them (least recently used closed first), closed through the
// close handler on eviction, removal and close().
import type { Credentials, FileId } from "../types.ts";
import { call, context } from "./_call.ts";
import type { CallbackHandlers } from "./handlers.ts";

/** One open context. */
export interface Opened<O> {
  id: FileId;
  path: string;
  write: boolean;
  ctx: O;
  users: number;
}

/** The open contexts, by FileId, least recently used first. */
export class Opens<O> {
  readonly #h: CallbackHandlers<O>;
  readonly #open = new Map<FileId, Opened<O>>();
  readonly #maxOpen: number;

  constructor(handlers: CallbackHandlers<O>, openFiles: number) {
    this.#h = handlers;
    this.#maxOpen = Math.max(1, openFiles);
  }

  /** The cached context of `id`, if any (not marked in use). */
  get(id: FileId): Opened<O> | undefined {
    return this.#open.get(id);
  }

  /** The object `id` was renamed through the adapter: its context follows. */
  moved(id: FileId, path: string): void {
    const o = this.#open.get(id);
    if (o !== undefined) o.path = path;
  }

  /** Closes the context of `id` (an object gone), without waiting. */
  drop(id: FileId): void {
    const o = this.#open.get(id);
    if (o !== undefined) {
      this.#open.delete(id);
      void this.#closeOpened(o);
    }
  }

  /** Closes every context. */
  async closeAll(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    for (const o of all) await this.#closeOpened(o);
  }

  /**
   * The open context of `id` at `path`, opened through the open handler
   * unless one open for writing (or for reading, when that is all `write`
   * asks) is cached for that same path; in use until {@link release}.
   */
  async opened(
    cred: Credentials,
    id: FileId,
    path: string,
    write: boolean,
  ): Promise<Opened<O>> {
    const have = this.#open.get(id);
    if (have !== undefined && (have.write || !write) && have.path === path) {
      this.#open.delete(id);
      this.#open.set(id, have);
      have.users++;
      return have;
    }
    if (have !== undefined) {
      this.#open.delete(id);
      await this.#closeOpened(have);
    }
    const ctx = this.#h.open
      ? await call(
        path,
        () => this.#h.open!(path, { write }, context(cred)),
      )
      : undefined as O;
    const o: Opened<O> = { id, path, write, ctx, users: 1 };
    this.#open.set(id, o);
    while (this.#open.size > this.#maxOpen) {
      const [oldId, old] = this.#open.entries().next().value!;
      this.#open.delete(oldId);
      await this.#closeOpened(old);
    }
    return o;
  }

  /** Ends one use of `o`. */
  release(o: Opened<O>): void {
    o.users--;
  }

  async #closeOpened(o: Opened<O>): Promise<void> {
    if (this.#h.close === undefined) return;
    try {
      await this.#h.close(
        o.path,
        o.ctx,
        context({ uid: 0, gid: 0, groups: [] }),
      );
    } catch {
      // A failing close has nobody to report to.
    }
  }
}
