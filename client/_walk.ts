// Path resolution for NfsClient: a path is looked up one name at a time
// from the client's root (the URL's path), following symbolic links in
// every component but, when asked, the last. ".." stops at the root, and an
// absolute link target starts again from the root, so a path can never
// leave what the URL names. More than 40 links in one walk is ELOOP.
import { type Fattr3, Ftype3 } from "../proto/nfs3.ts";
import type { NfsProtocol } from "./_protocol.ts";

/** The most symbolic links one path may pass through (Linux's limit). */
const MAX_LINKS = 40;

/** A resolved object. */
export interface Resolved {
  handle: Uint8Array;
  attrs: Fattr3;
  /** The canonical path from the root: "/" or "/a/b". */
  path: string;
}

/** The directory a name is to be made or changed in. */
export interface ParentOf {
  dir: Uint8Array;
  name: string;
  /** The directory's canonical path. */
  dirPath: string;
}

/** The components of a path, without empty ones and ".". */
export function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
}

/** The parent's components and the last name; throws for the root. */
export function splitLast(path: string): { parent: string[]; name: string } {
  const parts = components(path);
  const name = parts.pop();
  if (name === undefined || name === "..") {
    throw new TypeError(`Path names no entry: ${path}`);
  }
  return { parent: parts, name };
}

export class Walker {
  readonly #proto: NfsProtocol;
  readonly #root: Uint8Array;

  constructor(proto: NfsProtocol, root: Uint8Array) {
    this.#proto = proto;
    this.#root = root;
  }

  /**
   * Resolves `parts` from the root. `follow` says whether a link in the
   * last component is followed; `shown` is the path for error messages.
   */
  async walk(
    parts: readonly string[],
    follow: boolean,
    shown: string,
  ): Promise<Resolved> {
    const stack: { name: string; handle: Uint8Array }[] = [];
    let attrs: Fattr3 | undefined;
    const todo = [...parts];
    let links = 0;
    while (todo.length > 0) {
      const name = todo.shift()!;
      if (name === "..") {
        stack.pop();
        attrs = undefined;
        continue;
      }
      const dir = stack.at(-1)?.handle ?? this.#root;
      const found = await this.#proto.lookup(dir, name, shown);
      const a = found.attrs ??
        await this.#proto.getattr(found.handle, shown);
      if (a.type === Ftype3.LNK && (todo.length > 0 || follow)) {
        if (++links > MAX_LINKS) {
          throw new Deno.errors.FilesystemLoop(
            `Too many levels of symbolic links: ${shown}`,
          );
        }
        const target = await this.#proto.readlink(found.handle, shown);
        if (target.startsWith("/")) stack.length = 0;
        todo.unshift(...components(target));
        attrs = undefined;
        continue;
      }
      stack.push({ name, handle: found.handle });
      attrs = a;
    }
    const handle = stack.at(-1)?.handle ?? this.#root;
    attrs ??= await this.#proto.getattr(handle, shown);
    return {
      handle,
      attrs,
      path: "/" + stack.map((s) => s.name).join("/"),
    };
  }

  /** The directory `path`'s last name lives in (links followed). */
  async parent(path: string): Promise<ParentOf> {
    const { parent, name } = splitLast(path);
    const dir = await this.walk(parent, true, path);
    if (dir.attrs.type !== Ftype3.DIR) {
      throw new Deno.errors.NotADirectory(`Not a directory: ${path}`);
    }
    return { dir: dir.handle, name, dirPath: dir.path };
  }
}
