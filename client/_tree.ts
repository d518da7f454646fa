// The NfsClient operations that touch many names: a listing's entry types
// (LOOKUP for those READDIR did not describe), recursive remove and
// recursive mkdir. Calls run `window` at a time.
import { Ftype3 } from "../proto/nfs3.ts";
import type { Listed, NfsProtocol } from "./_protocol.ts";
import { components, type Resolved, type Walker } from "./_walk.ts";

/** What the tree operations work with. */
export interface Tree {
  proto: NfsProtocol;
  walker: Walker;
  window: number;
}

/** Each entry's `Ftype3`; 0 for one that vanished since it was listed. */
export async function entryTypes(
  t: Tree,
  dir: Uint8Array,
  page: Listed[],
  path: string,
): Promise<number[]> {
  const types = page.map((e) => e.attrs?.type ?? 0);
  const todo = types.flatMap((type, i) => type === 0 ? [i] : []);
  for (let at = 0; at < todo.length; at += t.window) {
    await Promise.all(
      todo.slice(at, at + t.window).map(async (i) => {
        try {
          const f = await t.proto.lookup(dir, page[i].name, path);
          types[i] = (f.attrs ?? await t.proto.getattr(f.handle, path)).type;
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      }),
    );
  }
  return types;
}

/** Removes everything in a directory, depth first. */
export async function emptyDir(
  t: Tree,
  dir: Uint8Array,
  path: string,
): Promise<void> {
  // List first, then remove: removing while paging upsets the cookies.
  const all: Listed[] = [];
  for await (const page of t.proto.list(dir, path)) all.push(...page);
  const types = await entryTypes(t, dir, all, path);
  for (let at = 0; at < all.length; at += t.window) {
    await Promise.all(
      all.slice(at, at + t.window).map(async (e, j) => {
        const type = types[at + j];
        const child = `${path.replace(/\/+$/, "")}/${e.name}`;
        if (type === Ftype3.DIR) {
          const f = await t.proto.lookup(dir, e.name, child);
          await emptyDir(t, f.handle, child);
          await t.proto.rmdir(dir, e.name, child);
        } else if (type !== 0) await t.proto.remove(dir, e.name, child);
      }),
    );
  }
}

/** Makes `path` and its missing parents; fine if it is a directory already. */
export async function mkdirAll(
  t: Tree,
  path: string,
  mode: number,
): Promise<void> {
  const parts = components(path);
  for (let i = 1; i <= parts.length; i++) {
    let r: Resolved;
    try {
      r = await t.walker.walk(parts.slice(0, i), true, path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      const p = await t.walker.parent(parts.slice(0, i).join("/"));
      try {
        await t.proto.mkdir(p.dir, { name: p.name, mode }, path);
        continue;
      } catch (e2) {
        // Made by someone else meanwhile: fine if it is a directory.
        if (!(e2 instanceof Deno.errors.AlreadyExists)) throw e2;
        r = await t.walker.walk(parts.slice(0, i), true, path);
      }
    }
    if (r.attrs.type !== Ftype3.DIR) {
      throw i === parts.length
        ? new Deno.errors.AlreadyExists(`File exists: ${path}`)
        : new Deno.errors.NotADirectory(`Not a directory: ${path}`);
    }
  }
}
