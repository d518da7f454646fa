// The objects of a CallbackFs: the path <-> FileId tree (a FileId is handed
// out when a path is first seen and follows the object through renames made
// through the adapter), the readdir sequence numbers kept per entry, and the
// attributes, from the getAttr handler with defaults filled in and a change
// counter for changes made through the adapter.
import { VfsError } from "../errors.ts";
import {
  type Attributes,
  type Credentials,
  type FileId,
  FileType,
  type Time,
} from "../types.ts";
import { context, wrap } from "./_call.ts";
import type { Opens } from "./_opens.ts";
import type {
  CallbackHandlers,
  CallbackStat,
  CallbackTime,
} from "./handlers.ts";

/** One object, by the path it was last seen at. */
export interface Node {
  id: FileId;
  name: string;
  parent: Node | undefined;
  children: Map<string, Node>;
  /** Readdir cookie in the parent; 0 until a listing sees it. */
  seq: number;
  /** Next cookie to hand out among this directory's entries. */
  nextSeq: number;
}

/** A handler's time as a Time; `fallback` when it gave none. */
export function toTime(t: CallbackTime | undefined, fallback: Time): Time {
  if (t === undefined) return fallback;
  if (typeof t === "number" || t instanceof Date) {
    const ms = typeof t === "number" ? t : t.getTime();
    const sec = Math.floor(ms / 1000);
    return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
  }
  return t;
}

/** The tree of nodes under the root, by FileId. */
export class Nodes<O> {
  /** The root's node (FileId 1). */
  readonly root: Node;
  /** When the adapter started: the mtime of objects reported without one. */
  readonly started: Time;
  readonly #h: CallbackHandlers<O>;
  readonly #opens: Opens<O>;
  readonly #fsid: number;
  readonly #nodes = new Map<FileId, Node>();
  #nextId = 2;
  readonly #changes = new Map<FileId, number>();

  /** `opens` loses the context of every node forgotten. */
  constructor(handlers: CallbackHandlers<O>, opens: Opens<O>, fsid: number) {
    this.#h = handlers;
    this.#opens = opens;
    this.#fsid = fsid;
    const ms = Date.now();
    this.started = { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
    this.root = {
      id: 1,
      name: "",
      parent: undefined,
      children: new Map(),
      seq: 0,
      nextSeq: 3,
    };
    this.#nodes.set(1, this.root);
  }

  /** The node of `id`; ESTALE when the adapter has forgotten it. */
  node(id: FileId): Node {
    const n = this.#nodes.get(id);
    if (n === undefined) throw new VfsError("ESTALE", `Stale file id: ${id}`);
    return n;
  }

  /** The node of `id`, if the adapter still knows it. */
  known(id: FileId): Node | undefined {
    return this.#nodes.get(id);
  }

  /** The absolute path of `n` ("/" for the root). */
  path(n: Node): string {
    if (n.parent === undefined) return "/";
    const parts: string[] = [];
    for (let c: Node | undefined = n; c?.parent !== undefined; c = c.parent) {
      parts.push(c.name);
    }
    return "/" + parts.reverse().join("/");
  }

  /** The path of the entry `name` of `dir`. */
  joined(dir: Node, name: string): string {
    return this.path(dir) + (dir.parent ? "/" : "") + name;
  }

  /** The node of `dir/name`, given a new FileId when first seen. */
  child(dir: Node, name: string): Node {
    let n = dir.children.get(name);
    if (n === undefined) {
      n = {
        id: this.#nextId++,
        name,
        parent: dir,
        children: new Map(),
        seq: 0,
        nextSeq: 3,
      };
      dir.children.set(name, n);
      this.#nodes.set(n.id, n);
    }
    return n;
  }

  /** Forgets a node and everything below it. */
  forget(n: Node): void {
    for (const c of n.children.values()) this.forget(c);
    n.children.clear();
    n.parent?.children.delete(n.name);
    this.#nodes.delete(n.id);
    this.#changes.delete(n.id);
    this.#opens.drop(n.id);
  }

  /** The handler's stat of `n` and its attributes; ESTALE (and forgotten) when nothing is there. */
  async stat(
    cred: Credentials,
    n: Node,
  ): Promise<{ stat: CallbackStat; attrs: Attributes }> {
    const path = this.path(n);
    let stat: CallbackStat | undefined;
    try {
      stat = await this.#h.getAttr(path, context(cred));
    } catch (e) {
      throw wrap(e, path);
    }
    if (stat === undefined) {
      if (n.parent !== undefined) this.forget(n);
      throw new VfsError("ESTALE", `No longer exists: ${path}`);
    }
    return { stat, attrs: this.attrs(n, stat) };
  }

  /** The attributes of `n` from what the handler reported, defaults filled in. */
  attrs(n: Node, s: CallbackStat): Attributes {
    const isDir = s.type === FileType.Directory;
    const mtime = toTime(s.mtime, this.started);
    const size = s.size ?? 0;
    return {
      type: s.type,
      mode: (s.mode ?? (isDir ? 0o755 : 0o644)) & 0o7777,
      nlink: s.nlink ?? (isDir ? 2 : 1),
      uid: s.uid ?? 0,
      gid: s.gid ?? 0,
      size,
      used: s.used ?? size,
      rdev: s.rdev ?? { major: 0, minor: 0 },
      fsid: this.#fsid,
      fileid: n.id,
      atime: toTime(s.atime, mtime),
      mtime,
      ctime: toTime(s.ctime, mtime),
      change: (mtime.sec * 1000 + Math.floor(mtime.nsec / 1e6)) * 1000 +
        Math.min(this.#changes.get(n.id) ?? 0, 999),
    };
  }

  /** A change made through the adapter: moves the change counter of `id`. */
  bump(id: FileId): void {
    this.#changes.set(id, (this.#changes.get(id) ?? 0) + 1);
  }

  /** The node and attributes of the directory `id`; ENOTDIR otherwise. */
  async dir(cred: Credentials, id: FileId): Promise<[Node, Attributes]> {
    const n = this.node(id);
    const { attrs } = await this.stat(cred, n);
    if (attrs.type !== FileType.Directory) {
      throw new VfsError("ENOTDIR", `Not a directory: ${this.path(n)}`);
    }
    return [n, attrs];
  }

  /** The attributes of `dir/name`, or undefined when nothing is there. */
  async peek(
    cred: Credentials,
    dir: Node,
    name: string,
  ): Promise<Attributes | undefined> {
    const path = this.path(dir) + (dir.parent ? "/" : "") + name;
    let stat: CallbackStat | undefined;
    try {
      stat = await this.#h.getAttr(path, context(cred));
    } catch (e) {
      throw wrap(e, path);
    }
    if (stat === undefined) {
      const gone = dir.children.get(name);
      if (gone !== undefined) this.forget(gone);
      return undefined;
    }
    return this.attrs(this.child(dir, name), stat);
  }
}
