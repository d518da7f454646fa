// Namespace operations of the native LocalFs engine that find, move and
// remove names: lookup, readlink, rename, and the entry a REMOVE or RMDIR
// acts on and the act itself (the facade decides; ./_create.ts makes
// objects). Each runs synchronously from start to end, on directory
// descriptors from ./_tree.ts, so every name it acts on is an entry of a
// directory inside the export: a host process renaming or swapping entries
// meanwhile can make a call act on another entry of the same directory,
// never on anything outside.
import { VfsError } from "../../errors.ts";
import type { Attributes, Credentials, FileId } from "../../types.ts";
import type { AttrMap } from "../_attrs.ts";
import { found } from "../../_find.ts";
import { settle } from "../_host.ts";
import { AT_REMOVEDIR, EEXIST, RENAME_NOREPLACE } from "../_libc.ts";
import {
  checkRename,
  dirForChange,
  findIn,
  findVictim,
  type NameEffects,
  nameEffects,
  renamed,
} from "../_names_policy.ts";
import type { Listings } from "../_readdir.ts";
import { check, type NativeIo } from "./_io.ts";
import type { Found, FoundDir, NativeTree } from "./_tree.ts";

/** Lookup, readlink, remove, rmdir and rename. */
export class NativeNames {
  readonly #tree: NativeTree;
  readonly #attrs: AttrMap;
  /** What a change of names tells the rest of the engine. */
  readonly effects: NameEffects;

  constructor(
    tree: NativeTree,
    attrs: AttrMap,
    io: NativeIo,
    listings: Listings<FoundDir>,
  ) {
    this.#tree = tree;
    this.#attrs = attrs;
    this.effects = nameEffects(
      attrs,
      listings,
      io.files,
      tree.index,
      (id) => tree.drop(id),
    );
  }

  /** Finds a name; "." and ".." name the directory itself and its parent. */
  lookup(cred: Credentials, dirId: FileId, name: string): Promise<Attributes> {
    return settle(() =>
      found(name, findIn(this.#tree, this.#attrs, cred, dirId, name))
    );
  }

  /** As {@link lookup}, but an absent name is `undefined`, not ENOENT. */
  find(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes | undefined> {
    return settle(() => findIn(this.#tree, this.#attrs, cred, dirId, name));
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
      const r = this.#tree.lib.readlinkat(at.dirFd, at.name);
      if (typeof r === "number") check(r, `fileid ${id}`);
      return r as string;
    });
  }

  /** The entry to remove, with permissions and the sticky bit checked. */
  victim(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): { dir: FoundDir; victim: Found; id: FileId } {
    return findVictim(this.#tree, cred, dirId, name);
  }

  /** unlinkat of the entry `name` (AT_REMOVEDIR for a directory). */
  unlink(dir: FoundDir, name: string, victim: Found): void {
    const flags = victim.st.isDirectory ? AT_REMOVEDIR : 0;
    check(this.#tree.lib.unlinkat(dir.fd, name, flags), name);
  }

  /**
   * Atomically renames with POSIX rules (renameat2). When no target was
   * there at the check, RENAME_NOREPLACE keeps one a host process made
   * meanwhile from being replaced unchecked: the rename is then decided
   * once more, target included (EEXIST if that races too).
   */
  rename(
    cred: Credentials,
    fromDirId: FileId,
    fromName: string,
    toDirId: FileId,
    toName: string,
  ): Promise<void> {
    return settle(() => {
      for (let attempt = 0;; attempt++) {
        const done = this.#renameOnce(
          cred,
          fromDirId,
          fromName,
          toDirId,
          toName,
          attempt > 0,
        );
        if (done) return;
      }
    });
  }

  #renameOnce(
    cred: Credentials,
    fromDirId: FileId,
    fromName: string,
    toDirId: FileId,
    toName: string,
    last: boolean,
  ): boolean {
    const { dir: from, victim: src, id } = findVictim(
      this.#tree,
      cred,
      fromDirId,
      fromName,
    );
    const to = dirForChange(this.#tree, cred, toDirId, toName);
    const target = this.#tree.child(toDirId, to, toName);
    const targetId = target && this.#tree.idOf(target.st);
    if (targetId === id) return true;
    checkRename(
      this.#tree,
      cred,
      { dirId: fromDirId, name: fromName, src, id },
      { dirId: toDirId, name: toName, dir: to, target },
    );
    const flags = target === undefined ? RENAME_NOREPLACE : 0;
    const r = this.#tree.lib.renameat2(from.fd, fromName, to.fd, toName, flags);
    if (r === -EEXIST && flags !== 0 && !last) return false;
    check(r, toName);
    renamed(
      this.#tree,
      this.effects,
      { dirId: fromDirId, src, id },
      { dirId: toDirId, name: toName, target, targetId },
    );
    return true;
  }
}
