// Namespace operations of the portable LocalFs engine that find, move and
// remove names: lookup, readlink, remove, rmdir and rename (./_create.ts
// makes objects). Each runs synchronously from start to end, so no two client
// requests interleave inside one; it finds its objects through ./_confine.ts,
// checks the permission policy in ../access.ts, acts by path right after
// checking the object there, and re-checks the directories after.
import * as nfs from "node:fs";
import { Perm } from "../access.ts";
import { checkName } from "../_names.ts";
import { VfsError } from "../errors.ts";
import type { Attributes, Credentials, FileId } from "../types.ts";
import { type AttrMap, requireOn, requireStickyOn } from "./_attrs.ts";
import type { Confinement, Located } from "./_confine.ts";
import { hostError, lstat, settle } from "./_host.ts";
import type { DataIo } from "./_io.ts";
import type { Listings } from "./_readdir.ts";

/**
 * The directory `dirId`, located, in which `cred` may add or remove `name`
 * (a valid name, not the state folder, write and search permission).
 */
export function dirForChange(
  tree: Confinement,
  cred: Credentials,
  dirId: FileId,
  name: string,
): Located {
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

/** Lookup, readlink, remove, rmdir and rename. */
export class Namespace {
  readonly #tree: Confinement;
  readonly #attrs: AttrMap;
  readonly #io: DataIo;
  readonly #listings: Listings;

  constructor(
    tree: Confinement,
    attrs: AttrMap,
    io: DataIo,
    listings: Listings,
  ) {
    this.#tree = tree;
    this.#attrs = attrs;
    this.#io = io;
    this.#listings = listings;
  }

  /** Finds a name; "." and ".." name the directory itself and its parent. */
  lookup(cred: Credentials, dirId: FileId, name: string): Promise<Attributes> {
    return settle(() => {
      const e = this.#tree.entry(dirId, name);
      if (e !== undefined) {
        requireOn(cred, e.dir.st, Perm.X, `cannot search fileid ${dirId}`);
        this.#attrs.noteTurn(dirId, e.dir.st);
        if (e.child === undefined) {
          throw new VfsError("ENOENT", `No such file or directory: ${name}`);
        }
        const st = e.child.st;
        return this.#attrs.of(st, this.#tree.place(dirId, name, st));
      }
      const dir = this.#tree.dir(dirId);
      requireOn(cred, dir.st, Perm.X, `cannot search fileid ${dirId}`);
      if (name === ".") return this.#attrs.of(dir.st, dirId);
      if (name === "..") {
        if (dirId === this.#tree.root) return this.#attrs.of(dir.st, dirId);
        const parent = this.#tree.index.records.get(dirId)!.parent;
        return this.#attrs.of(this.#tree.locate(parent).st, parent);
      }
      const child = this.#tree.child(dirId, dir, name);
      if (child === undefined) {
        throw new VfsError("ENOENT", `No such file or directory: ${name}`);
      }
      return this.#attrs.of(child.st, this.#tree.place(dirId, name, child.st));
    });
  }

  /** The target of a symbolic link. */
  readlink(_cred: Credentials, id: FileId): Promise<string> {
    return settle(() => {
      const at = this.#tree.locate(id);
      if (!at.st.isSymlink) {
        throw new VfsError(
          "EINVAL",
          `Invalid argument: fileid ${id} is not a symlink`,
        );
      }
      try {
        return Deno.readLinkSync(at.path);
      } catch (e) {
        throw hostError(e, `fileid ${id}`);
      }
    });
  }

  /** Looks up the entry to remove, checking permissions and the sticky bit. */
  #victim(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): { dir: Located; victim: Located; id: FileId } {
    const e = this.#tree.entry(dirId, name);
    if (e !== undefined) {
      requireOn(
        cred,
        e.dir.st,
        Perm.W | Perm.X,
        `cannot change entry ${name} of fileid ${dirId}`,
      );
      if (e.child === undefined) {
        throw new VfsError("ENOENT", `No such file or directory: ${name}`);
      }
      requireStickyOn(cred, e.dir.st, e.child.st, name);
      return { dir: e.dir, victim: e.child, id: this.#tree.idOf(e.child.st) };
    }
    const dir = dirForChange(this.#tree, cred, dirId, name);
    const victim = this.#tree.child(dirId, dir, name);
    if (victim === undefined) {
      throw new VfsError("ENOENT", `No such file or directory: ${name}`);
    }
    requireStickyOn(cred, dir.st, victim.st, name);
    return { dir, victim, id: this.#tree.idOf(victim.st) };
  }

  /** Forgets an object whose last link just went away. */
  #gone(id: FileId, st: Deno.FileInfo): void {
    this.#io.files.drop(id);
    this.#listings.forget(id);
    this.#tree.index.forget(id, st.birthtime?.getTime() ?? 0);
  }

  /**
   * Removes `name` from `dir` if it is still `victim`: the identity check
   * right before the unlink keeps a directory swapped for a symlink since
   * the lookup from removing another object through it.
   */
  #unlinkIn(dir: Located, name: string, victim: Located): void {
    try {
      const path = `${dir.path}/${name}`;
      const st = lstat(path);
      if (
        st === undefined || st.ino !== victim.st.ino ||
        st.dev !== this.#tree.dev
      ) {
        throw new VfsError("ESTALE", `Entry changed while removing: ${name}`);
      }
      // Not Deno.removeSync: it lstats once more to choose unlink or rmdir.
      if (victim.st.isDirectory) nfs.rmdirSync(path);
      else nfs.unlinkSync(path);
    } catch (e) {
      throw hostError(e, name);
    }
  }

  /** Removes a non-directory entry. */
  remove(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return settle(() => {
      const { dir, victim, id } = this.#victim(cred, dirId, name);
      if (victim.st.isDirectory) {
        throw new VfsError("EISDIR", `Is a directory: ${name}`);
      }
      this.#unlinkIn(dir, name, victim);
      this.#listings.changed(dirId);
      if ((victim.st.nlink ?? 1) <= 1) this.#gone(id, victim.st);
      else {
        const rec = this.#tree.index.records.get(id);
        if (rec?.parent === dirId && rec.name === name) {
          this.#tree.index.unplace(id);
        }
        this.#attrs.bump(id);
      }
    });
  }

  /** Removes an empty directory. */
  rmdir(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return settle(() => {
      const { dir, victim, id } = this.#victim(cred, dirId, name);
      if (!victim.st.isDirectory) {
        throw new VfsError("ENOTDIR", `Not a directory: ${name}`);
      }
      this.#unlinkIn(dir, name, victim);
      this.#listings.changed(dirId);
      this.#gone(id, victim.st);
    });
  }

  /**
   * Atomically renames with POSIX rules (host rename(2)). Both directories
   * are verified before, and the moved object and the target directory
   * after; a raced swap is undone as far as paths allow.
   */
  rename(
    cred: Credentials,
    fromDirId: FileId,
    fromName: string,
    toDirId: FileId,
    toName: string,
  ): Promise<void> {
    return settle(() => {
      const { victim: src, id } = this.#victim(cred, fromDirId, fromName);
      const to = dirForChange(this.#tree, cred, toDirId, toName);
      const target = this.#tree.child(toDirId, to, toName);
      const targetId = target && this.#tree.idOf(target.st);
      if (targetId === id) return;
      const isDir = src.st.isDirectory;
      if (isDir) {
        if (to.path === src.path || to.path.startsWith(src.path + "/")) {
          throw new VfsError(
            "EINVAL",
            `Invalid argument: cannot move ${fromName} into its own subtree`,
          );
        }
        if (fromDirId !== toDirId) {
          requireOn(cred, src.st, Perm.W, `cannot move ${fromName}`);
        }
      }
      if (target !== undefined) {
        requireStickyOn(cred, to.st, target.st, toName);
        if (isDir && !target.st.isDirectory) {
          throw new VfsError("ENOTDIR", `Not a directory: ${toName}`);
        }
        if (!isDir && target.st.isDirectory) {
          throw new VfsError("EISDIR", `Is a directory: ${toName}`);
        }
      }
      {
        const dest = `${to.path}/${toName}`;
        const source = fromDirId === toDirId
          ? `${to.path}/${fromName}`
          : src.path;
        try {
          Deno.renameSync(source, dest);
        } catch (e) {
          throw hostError(e, toName);
        }
        const moved = lstat(dest);
        if (moved === undefined || moved.ino !== src.st.ino) {
          try {
            Deno.renameSync(dest, source);
          } catch { /* best effort */ }
          throw new VfsError(
            "ESTALE",
            `Directory changed during rename: ${fromName}`,
          );
        }
        this.#tree.stillThere(toDirId, to, () => {});
      }
      this.#listings.changed(fromDirId);
      this.#listings.changed(toDirId);
      this.#tree.index.set(
        id,
        toDirId,
        toName,
        src.st.birthtime?.getTime() ?? 0,
      );
      this.#attrs.bump(id);
      if (target !== undefined && targetId !== undefined) {
        if (target.st.isDirectory || (target.st.nlink ?? 1) <= 1) {
          this.#gone(targetId, target.st);
        } else this.#tree.index.unplace(targetId);
      }
    });
  }
}
