// The open contexts of a CallbackFs, of two kinds.
//
// The adapter's own: what the open handler returned per FileId for I/O that
// comes without an open, reused by later reads and writes of the same path,
// at most `openFiles` of them (least recently used closed first), closed
// through the close handler on eviction, removal and close().
//
// A client's: one per FileSystem.open, handed out wrapped in a ClientOpen so
// the adapter knows its own when the context comes back, used by the I/O
// that carries it, closed exactly once: by release, or by close() if the
// open is still there then. Neither the LRU limit nor removal closes one.
import { BoundedMap } from "../../collections/_bounded_map.ts";
import { VfsError } from "../errors.ts";
import {
  type Credentials,
  type FileId,
  type OpenOptions,
  ROOT,
  ShareAccess,
  ShareDeny,
} from "../types.ts";
import { call, context } from "./_call.ts";
import type { CallbackHandlers, CallbackOpen } from "./handlers.ts";

/** One open context. */
export interface Opened<O> {
  id: FileId;
  path: string;
  write: boolean;
  ctx: O;
  users: number;
}

/** The context FileSystem.open returns: a client's open, until released. */
class ClientOpen<O> implements Opened<O> {
  users = 0;
  constructor(
    readonly opens: Opens<O>,
    readonly id: FileId,
    public path: string,
    readonly write: boolean,
    readonly ctx: O,
  ) {}
}

/** The open contexts, by FileId, least recently used first. */
export class Opens<O> {
  readonly #h: CallbackHandlers<O>;
  readonly #open: BoundedMap<FileId, Opened<O>>;
  readonly #clients = new Map<FileId, Set<ClientOpen<O>>>();
  /** The adapter's contexts evicted by the bound, for `opened` to close. */
  readonly #evicted: Opened<O>[] = [];

  constructor(handlers: CallbackHandlers<O>, openFiles: number) {
    this.#h = handlers;
    this.#open = new BoundedMap(Math.max(1, openFiles), {
      onEvict: (_, o) => this.#evicted.push(o),
    });
  }

  /**
   * The contexts commit should make durable for `id`: the adapter's own
   * (when there is one) and every client's open of `id` that may write.
   */
  writers(id: FileId): Opened<O>[] {
    const out: Opened<O>[] = [];
    const own = this.#open.get(id);
    if (own !== undefined) out.push(own);
    for (const o of this.#clients.get(id) ?? []) if (o.write) out.push(o);
    return out;
  }

  /** The object `id` was renamed through the adapter: its contexts follow. */
  moved(id: FileId, path: string): void {
    const o = this.#open.get(id);
    if (o !== undefined) o.path = path;
    for (const c of this.#clients.get(id) ?? []) c.path = path;
  }

  /** Closes the adapter's own context of `id` (an object gone), without waiting. */
  drop(id: FileId): void {
    const o = this.#open.get(id);
    if (o !== undefined) {
      this.#open.delete(id);
      void this.#closeQuietly(o);
    }
  }

  /** Closes every context, the clients' opens still there included. */
  async closeAll(): Promise<void> {
    const all: Opened<O>[] = [...this.#open.values()];
    for (const set of this.#clients.values()) all.push(...set);
    this.#open.clear();
    this.#clients.clear();
    for (const o of all) await this.#closeQuietly(o);
  }

  /**
   * The adapter's own open context of `id` at `path`, opened through the
   * open handler unless one open for writing (or for reading, when that is
   * all `write` asks) is cached for that same path; in use until
   * {@link release}.
   */
  async opened(
    cred: Credentials,
    id: FileId,
    path: string,
    write: boolean,
  ): Promise<Opened<O>> {
    const have = this.#open.get(id);
    if (have !== undefined && (have.write || !write) && have.path === path) {
      this.#open.touch(id);
      have.users++;
      return have;
    }
    if (have !== undefined) {
      this.#open.delete(id);
      await this.#closeQuietly(have);
    }
    const ctx = await this.#handlerOpen(cred, path, {
      access: write ? ShareAccess.Both : ShareAccess.Read,
      deny: ShareDeny.None,
      write,
      client: false,
    });
    const o: Opened<O> = { id, path, write, ctx, users: 1 };
    this.#open.set(id, o); // the least recently used past the bound go
    for (const old of this.#evicted.splice(0)) await this.#closeQuietly(old);
    return o;
  }

  /** Ends one use of `o`. */
  release(o: Opened<O>): void {
    o.users--;
  }

  /** A client opens `id` at `path`: the open handler's context, wrapped. */
  async openClient(
    cred: Credentials,
    id: FileId,
    path: string,
    options: OpenOptions,
  ): Promise<unknown> {
    const write = (options.access & ShareAccess.Write) !== 0;
    const ctx = await this.#handlerOpen(cred, path, {
      ...options,
      write,
      client: true,
    });
    const o = new ClientOpen(this, id, path, write, ctx);
    let set = this.#clients.get(id);
    if (set === undefined) this.#clients.set(id, set = new Set());
    set.add(o);
    return o;
  }

  /**
   * The client's open `context` names, when it is one of this adapter's
   * opens of `id` that is still there and allows `write` if asked;
   * undefined for anything else (the I/O then uses the adapter's own).
   */
  client(
    context: unknown,
    id: FileId,
    write: boolean,
  ): Opened<O> | undefined {
    if (!(context instanceof ClientOpen) || context.opens !== this) {
      return undefined;
    }
    const o = context as ClientOpen<O>;
    if (o.id !== id || !this.#clients.get(id)?.has(o)) return undefined;
    return o.write || !write ? o : undefined;
  }

  /**
   * Ends the client's open `context`: its close handler runs unless
   * close() ran it already. EINVAL for a context this adapter did not make
   * for `id`.
   */
  async closeClient(
    cred: Credentials,
    id: FileId,
    context: unknown,
    path: string | undefined,
  ): Promise<void> {
    if (
      !(context instanceof ClientOpen) || context.opens !== this ||
      context.id !== id
    ) {
      throw new VfsError("EINVAL", `Not an open of this file: ${id}`);
    }
    const o = context as ClientOpen<O>;
    const set = this.#clients.get(id);
    if (set === undefined || !set.delete(o)) return;
    if (set.size === 0) this.#clients.delete(id);
    if (path !== undefined) o.path = path;
    await this.#handlerClose(cred, o);
  }

  #handlerOpen(
    cred: Credentials,
    path: string,
    options: CallbackOpen,
  ): Promise<O> {
    const open = this.#h.open;
    if (open === undefined) return Promise.resolve(undefined as O);
    return call(path, () => open(path, options, context(cred)));
  }

  async #handlerClose(cred: Credentials, o: Opened<O>): Promise<void> {
    const close = this.#h.close;
    if (close !== undefined) {
      await call(o.path, () => close(o.path, o.ctx, context(cred)));
    }
  }

  async #closeQuietly(o: Opened<O>): Promise<void> {
    try {
      await this.#handlerClose(ROOT, o);
    } catch {
      // A failing close has nobody to report to.
    }
  }
}
