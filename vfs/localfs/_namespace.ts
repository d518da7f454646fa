// Namespace operations of the portable LocalFs engine that find, move and
// remove names: lookup, readlink, rename, and the entry a REMOVE or RMDIR
// acts on and the act itself (the facade decides; ./_create.ts makes
// objects). Each runs synchronously from start to end, so no two client
// requests interleave inside one; it finds its objects through ./_confine.ts,
// decides with the policy both engines share (./_names_policy.ts), acts by
// path right after checking the object there, and re-checks the directories
// after.
import * as nfs from "node:fs";
import { found } from "../_find.ts";
import { Perm } from "../access.ts";
import { VfsError } from "../errors.ts";
import type { Attributes, Credentials, FileId } from "../types.ts";
import { type AttrMap, requireOn, requireStickyOn } from "./_attrs.ts";
import type { Confinement, Located } from "./_confine.ts";
import { hostError, lstat, settle } from "./_host.ts";
import type { DataIo } from "./_io.ts";
import {
  checkRename,
  dirForChange,
  findIn,
  findVictim,
  type NameEffects,
  nameEffects,
  renamed,
} from "./_names_policy.ts";
import type { Listings } from "./_readdir.ts";

/** Lookup, readlink, remove, rmdir and rename. */
export class Namespace {
  readonly #tree: Confinement;
  readonly #attrs: AttrMap;
  /** What a change of names tells the rest of the engine. */
  readonly effects: NameEffects;

  constructor(
    tree: Confinement,
    attrs: AttrMap,
    io: DataIo,
    listings: Listings<Located>,
  ) {
    this.#tree = tree;
    this.#attrs = attrs;
    this.effects = nameEffects(attrs, listings, io.files, tree.index);
  }

  /** Finds a name; "." and ".." name the directory itself and its parent. */
  lookup(cred: Credentials, dirId: FileId, name: string): Promise<Attributes> {
    return settle(() => found(name, this.#find(cred, dirId, name)));
  }

  /** As {@link lookup}, but an absent name is `undefined`, not ENOENT. */
  find(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes | undefined> {
    return settle(() => this.#find(cred, dirId, name));
  }

  #find(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Attributes | undefined {
    const e = this.#tree.entry(dirId, name);
    if (e === undefined) {
      return findIn(this.#tree, this.#attrs, cred, dirId, name);
    }
    requireOn(cred, e.dir.st, Perm.X, `cannot search fileid ${dirId}`);
    this.#attrs.noteTurn(dirId, e.dir.st);
    if (e.child === undefined) return undefined;
    const st = e.child.st;
    return this.#attrs.of(st, this.#tree.place(dirId, name, st));
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
  victim(
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
    return findVictim(this.#tree, cred, dirId, name);
  }

  /**
   * Removes `name` from `dir` if it is still `victim`: the identity check
   * right before the unlink keeps a directory swapped for a symlink since
   * the lookup from removing another object through it.
   */
  unlink(dir: Located, name: string, victim: Located): void {
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
      const { victim: src, id } = this.victim(cred, fromDirId, fromName);
      const to = dirForChange(this.#tree, cred, toDirId, toName);
      const target = this.#tree.child(toDirId, to, toName);
      const targetId = target && this.#tree.idOf(target.st);
      if (targetId === id) return;
      checkRename(
        this.#tree,
        cred,
        { dirId: fromDirId, name: fromName, src, id },
        { dirId: toDirId, name: toName, dir: to, target },
      );
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
      renamed(
        this.#tree,
        this.effects,
        { dirId: fromDirId, src, id },
        { dirId: toDirId, name: toName, target, targetId },
      );
    });
  }
}
