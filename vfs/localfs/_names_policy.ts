// The namespace decisions both LocalFs engines share, written once: which
// directory a change may happen in, how a name is looked up, which entry a
// remove or rename acts on and whether it may, what the FileId journal and
// the caches learn afterwards, and how CREATE ranks "make" against "open".
// The engines differ only in how they reach the host (paths checked
// component by component, or directory descriptors), which each passes in
// as its tree.
import { checkNewOwner, hasPermission, Perm } from "../access.ts";
import { checkName } from "../_names.ts";
import { VfsError } from "../errors.ts";
import type {
  Attributes,
  CreateOptions,
  Credentials,
  FileId,
  SetAttributes,
} from "../types.ts";
import { type AttrMap, owned, requireOn, requireStickyOn } from "./_attrs.ts";
import { isInt } from "./_host.ts";
import type { IdIndex } from "./_id_index.ts";

/** Something found on the host. */
type Seen = { st: Deno.FileInfo };

/** What the shared policy asks of an engine's tree. */
export interface NameTree<D extends Seen, L extends Seen> {
  readonly root: FileId;
  readonly index: IdIndex;
  /** The directory `id`, verified (ENOTDIR, ESTALE otherwise). */
  dir(id: FileId): D;
  /** The object `id`, verified (ESTALE otherwise). */
  locate(id: FileId): L;
  /** The entry `name` of a verified directory, or undefined. */
  child(dirId: FileId, dir: D, name: string): L | undefined;
  /** Records and returns the FileId of an entry. */
  place(dirId: FileId, name: string, st: Deno.FileInfo): FileId;
  idOf(st: Deno.FileInfo): FileId;
  /** Throws EACCES for the state folder's name in the root. */
  reserved(dirId: FileId, name: string): void;
}

/** What changes of names tell the rest of the engine. */
export interface NameEffects {
  readonly attrs: AttrMap;
  /** An entry of `dirId` changed (its listing goes, its counter moves). */
  changed(dirId: FileId): void;
  /** The object `id` lost its last link: forget it everywhere. */
  gone(id: FileId, st: Deno.FileInfo): void;
}

/**
 * The effects for an engine's caches: its listings, its open files, the
 * journal, and `dropDir` for what it keeps per directory.
 */
export function nameEffects(
  attrs: AttrMap,
  listings: { changed(dirId: FileId): void; forget(dirId: FileId): void },
  files: { drop(id: FileId): void },
  index: IdIndex,
  dropDir: (id: FileId) => void = () => {},
): NameEffects {
  return {
    attrs,
    changed: (dirId) => listings.changed(dirId),
    gone: (id, st) => {
      files.drop(id);
      listings.forget(id);
      if (st.isDirectory) dropDir(id);
      index.forget(id, st.birthtime?.getTime() ?? 0);
    },
  };
}

/**
 * The directory `dirId`, located, in which `cred` may add or remove `name`
 * (a valid name, not the state folder, write and search permission).
 */
export function dirForChange<D extends Seen>(
  tree: { dir(id: FileId): D; reserved(dirId: FileId, name: string): void },
  cred: Credentials,
  dirId: FileId,
  name: string,
): D {
  const dir = tree.dir(dirId);
  checkName(name);
  tree.reserved(dirId, name);
  requireOn(
    cred,
    dir.st,
    Perm.W | Perm.X,
    `cannot change entry ${name} of fileid ${dirId}`,
  );
  return dir;
}

/**
 * LOOKUP: "." and ".." name the directory itself and its parent; an absent
 * name is `undefined` (no error is built for it: see `FileSystem.find`).
 */
export function findIn<D extends Seen, L extends Seen>(
  tree: NameTree<D, L>,
  attrs: AttrMap,
  cred: Credentials,
  dirId: FileId,
  name: string,
): Attributes | undefined {
  const dir = tree.dir(dirId);
  requireOn(cred, dir.st, Perm.X, `cannot search fileid ${dirId}`);
  attrs.noteTurn(dirId, dir.st);
  if (name === ".") return attrs.of(dir.st, dirId);
  if (name === "..") {
    if (dirId === tree.root) return attrs.of(dir.st, dirId);
    const parent = tree.index.records.get(dirId)!.parent;
    return attrs.of(tree.locate(parent).st, parent);
  }
  const child = tree.child(dirId, dir, name);
  if (child === undefined) return undefined;
  return attrs.of(child.st, tree.place(dirId, name, child.st));
}

/** The entry a remove or rename acts on, with permissions and the sticky bit checked. */
export function findVictim<D extends Seen, L extends Seen>(
  tree: NameTree<D, L>,
  cred: Credentials,
  dirId: FileId,
  name: string,
): { dir: D; victim: L; id: FileId } {
  const dir = dirForChange(tree, cred, dirId, name);
  const victim = tree.child(dirId, dir, name);
  if (victim === undefined) {
    throw new VfsError("ENOENT", `No such file or directory: ${name}`);
  }
  requireStickyOn(cred, dir.st, victim.st, name);
  return { dir, victim, id: tree.idOf(victim.st) };
}

/**
 * REMOVE (`wantDir` false) or RMDIR of a found entry: the type check, the
 * engine's `unlink`, then the bookkeeping.
 */
export function removeEntry<D, L extends Seen>(
  found: { dir: D; victim: L; id: FileId },
  index: IdIndex,
  effects: NameEffects,
  at: { dirId: FileId; name: string; wantDir: boolean },
  unlink: (dir: D, victim: L) => void,
): void {
  const { dir, victim, id } = found;
  if (at.wantDir && !victim.st.isDirectory) {
    throw new VfsError("ENOTDIR", `Not a directory: ${at.name}`);
  }
  if (!at.wantDir && victim.st.isDirectory) {
    throw new VfsError("EISDIR", `Is a directory: ${at.name}`);
  }
  unlink(dir, victim);
  removed(index, effects, at.dirId, at.name, victim, id);
}

/** After `name` (the object `id`) left `dirId`: the journal and caches learn it. */
function removed(
  index: IdIndex,
  effects: NameEffects,
  dirId: FileId,
  name: string,
  victim: Seen,
  id: FileId,
): void {
  effects.changed(dirId);
  if (victim.st.isDirectory || (victim.st.nlink ?? 1) <= 1) {
    effects.gone(id, victim.st);
    return;
  }
  const rec = index.records.get(id);
  if (rec?.parent === dirId && rec.name === name) index.unplace(id);
  effects.attrs.bump(id);
}

/** Whether `ancestor` is the directory `id` or one above it, by the journal. */
function within(
  index: IdIndex,
  root: FileId,
  id: FileId,
  ancestor: FileId,
): boolean {
  for (let cur = id, n = 0; n < 4096; n++) {
    if (cur === ancestor) return true;
    if (cur === root) return false;
    const rec = index.records.get(cur);
    if (rec === undefined) return false;
    cur = rec.parent;
  }
  return false;
}

/**
 * RENAME's checks once source, target directory and target are found:
 * no directory into its own subtree, write permission on a directory moved
 * elsewhere, the sticky bit and type compatibility of the target.
 */
export function checkRename(
  tree: { readonly root: FileId; readonly index: IdIndex },
  cred: Credentials,
  from: { dirId: FileId; name: string; src: Seen; id: FileId },
  to: { dirId: FileId; name: string; dir: Seen; target: Seen | undefined },
): void {
  if (from.src.st.isDirectory) {
    if (within(tree.index, tree.root, to.dirId, from.id)) {
      throw new VfsError(
        "EINVAL",
        `Invalid argument: cannot move ${from.name} into its own subtree`,
      );
    }
    if (from.dirId !== to.dirId) {
      requireOn(cred, from.src.st, Perm.W, `cannot move ${from.name}`);
    }
  }
  const target = to.target;
  if (target === undefined) return;
  requireStickyOn(cred, to.dir.st, target.st, to.name);
  if (from.src.st.isDirectory && !target.st.isDirectory) {
    throw new VfsError("ENOTDIR", `Not a directory: ${to.name}`);
  }
  if (!from.src.st.isDirectory && target.st.isDirectory) {
    throw new VfsError("EISDIR", `Is a directory: ${to.name}`);
  }
}

/**
 * After a rename: the journal records the new place, a walk running learns
 * of a moved directory, a replaced target goes.
 */
export function renamed(
  tree: { readonly index: IdIndex; moved(id: FileId): void },
  effects: NameEffects,
  from: { dirId: FileId; src: Seen; id: FileId },
  to: {
    dirId: FileId;
    name: string;
    target: Seen | undefined;
    targetId: FileId | undefined;
  },
): void {
  effects.changed(from.dirId);
  effects.changed(to.dirId);
  const index = tree.index;
  index.set(from.id, to.dirId, to.name, from.src.st.birthtime?.getTime() ?? 0);
  if (from.src.st.isDirectory) tree.moved(from.id);
  effects.attrs.bump(from.id);
  if (to.target !== undefined && to.targetId !== undefined) {
    if (to.target.st.isDirectory || (to.target.st.nlink ?? 1) <= 1) {
      effects.gone(to.targetId, to.target.st);
    } else index.unplace(to.targetId);
  }
}

/** How an engine makes a new file for {@link createOrOpen}. */
export type MakeFile<D> = (
  cred: Credentials,
  dirId: FileId,
  dir: D,
  name: string,
  options: CreateOptions,
  quietExists: boolean,
) => Attributes | undefined;

/**
 * CREATE: most creates make a new file, so that is tried first (O_EXCL)
 * with no lookup of a name that is usually absent; an existing name takes
 * the general path, which also ranks the errors (EEXIST when exclusive,
 * EISDIR, EEXIST for other types, then the truncation and times asked for).
 */
export function createOrOpen<D extends Seen, L extends Seen>(
  tree: NameTree<D, L>,
  attrs: AttrMap,
  setattr: (cred: Credentials, id: FileId, at: L, a: SetAttributes) => void,
  make: MakeFile<D>,
  cred: Credentials,
  dirId: FileId,
  name: string,
  options: CreateOptions,
): Attributes {
  const dir = tree.dir(dirId);
  checkName(name);
  tree.reserved(dirId, name);
  const size = options.attrs?.size ?? 0;
  if (
    isInt(size) &&
    hasPermission(owned(dir.st), cred, Perm.W | Perm.X) &&
    mayOwn(cred, options.attrs)
  ) {
    const made = make(cred, dirId, dir, name, options, true);
    if (made !== undefined) return made;
  }
  const existing = tree.child(dirId, dir, name);
  if (existing !== undefined) {
    if (options.exclusive) {
      throw new VfsError("EEXIST", `File exists: ${name}`);
    }
    if (existing.st.isDirectory) {
      throw new VfsError("EISDIR", `Is a directory: ${name}`);
    }
    if (!existing.st.isFile) {
      throw new VfsError("EEXIST", `File exists: ${name}`);
    }
    requireOn(cred, dir.st, Perm.X, `cannot search fileid ${dirId}`);
    const id = tree.place(dirId, name, existing.st);
    const a = options.attrs;
    if (
      a !== undefined &&
      (a.size !== undefined || a.atime !== undefined || a.mtime !== undefined)
    ) {
      setattr(cred, id, existing, {
        size: a.size,
        atime: a.atime,
        mtime: a.mtime,
      });
      attrs.bump(id);
    }
    return attrs.of(tree.locate(id).st, id);
  }
  dirForChange(tree, cred, dirId, name);
  checkNewOwner(cred, options.attrs);
  if (!isInt(size)) throw new VfsError("EINVAL", `Invalid size: ${size}`);
  return make(cred, dirId, dir, name, options, false)!;
}

function mayOwn(cred: Credentials, attrs: SetAttributes | undefined): boolean {
  try {
    checkNewOwner(cred, attrs);
    return true;
  } catch {
    return false;
  }
}
