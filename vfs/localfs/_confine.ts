// Confinement for the portable LocalFs engine: where an object is on the
// host and proof that a path still leads to it. Every FileId resolves to a
// path checked component by component against device, inode and birth time
// (the guarantees and their limits are stated at the top of ./mod.ts); a
// name seen for the first time is confirmed after its directory's path was
// verified; an object a call made is confirmed the same way, and removed
// again if the check fails. The FileId journal (./_id_index.ts) supplies the
// recorded names; this file is the only one that trusts a path.
import * as nfs from "node:fs";
import { checkName } from "../_names.ts";
import { VfsError } from "../errors.ts";
import type { FileId } from "../types.ts";
import type { IdIndex } from "./_id_index.ts";
import { lstat, sameObject } from "./_host.ts";
import { TreeIds } from "./_tree_ids.ts";
import { queued, STEP, type WalkSteps } from "./_walks.ts";

/** An object found on the host: its verified path and what lstat said. */
export interface Located {
  path: string;
  st: Deno.FileInfo;
}

function validName(name: string): boolean {
  try {
    checkName(name);
    return true;
  } catch {
    return false;
  }
}

/** The export's root, the FileId journal, and the checks that keep every path inside. */
export class Confinement extends TreeIds<Located> {
  readonly rootPath: string;
  readonly #scanLimit: number;
  /** FileIds verified to be directories. */
  readonly #dirs = new Set<FileId>();

  constructor(
    rootPath: string,
    rootSt: Deno.FileInfo,
    index: IdIndex,
    hidden: string | undefined,
    scanLimit: number,
  ) {
    super(rootSt, index, hidden);
    this.rootPath = rootPath;
    this.#scanLimit = scanLimit;
  }

  /**
   * Finds `id` on the host and verifies that it is that object: every
   * directory on the recorded path is checked with lstat (so a component
   * swapped for a symlink fails instead of leading outside), then the object.
   */
  locate(id: FileId): Located {
    this.live(id);
    if (id === this.root) {
      const st = lstat(this.rootPath);
      if (st === undefined || !st.isDirectory || !this.matches(st, id)) {
        throw new VfsError("ESTALE", `Export root is gone: ${this.rootPath}`);
      }
      return { path: this.rootPath, st };
    }
    const found = this.verifiedPath(id) ?? this.scan(id);
    if (found === undefined) {
      throw new VfsError("ESTALE", `Stale file id: ${id}`);
    }
    return found;
  }

  verifiedPath(id: FileId): Located | undefined {
    const chain: FileId[] = [];
    const names: string[] = [];
    for (let cur = id; cur !== this.root;) {
      const rec = this.index.records.get(cur);
      if (rec === undefined || chain.length > 4096) return undefined;
      chain.push(cur);
      names.push(rec.name);
      cur = rec.parent;
    }
    let path = this.rootPath;
    for (let i = chain.length - 1; i >= 0; i--) {
      path += "/" + names[i];
      const st = lstat(path);
      if (st === undefined || !this.matches(st, chain[i])) return undefined;
      if (i === 0) return { path, st };
      if (!st.isDirectory) return undefined;
    }
    return undefined;
  }

  /**
   * The walk (see TreeIds.steps), never through symlinks or mount points.
   * A directory's path is taken from the journal when its turn comes, so
   * one renamed meanwhile (by a call served between two steps) is read.
   */
  protected override *steps(
    id: FileId | undefined,
    count: { seen: number },
    more: () => FileId | undefined,
  ): WalkSteps<Located> {
    const queue: FileId[] = [this.root];
    for (let q = 0; count.seen < this.#scanLimit; q++) {
      const dirId = queued(queue, q, more);
      if (dirId === undefined) break;
      const dir = dirId === this.root
        ? { id: this.root, path: this.rootPath }
        : { id: dirId, path: this.verifiedPath(dirId)?.path };
      if (dir.path === undefined) continue;
      let names: string[];
      try {
        names = [...Deno.readDirSync(dir.path)].map((e) => e.name);
      } catch {
        continue;
      }
      for (const name of names) {
        if (count.seen >= this.#scanLimit) break;
        if (++count.seen % STEP === 0) yield;
        if (dir.id === this.root && name === this.hidden) continue;
        const path = `${dir.path}/${name}`;
        const st = lstat(path);
        if (st === undefined || st.dev !== this.dev) continue;
        if (!this.known(dir.id, name, st)) {
          // Recorded names must be confirmed like lookups (see confirmed).
          // (This also catches a directory swapped between two steps.)
          const d = lstat(dir.path);
          if (
            d === undefined || !this.matches(d, dir.id) ||
            !this.confirmed(dir.id, name, path, st)
          ) continue;
        }
        const childId = this.idOf(st);
        this.index.set(childId, dir.id, name, st.birthtime?.getTime() ?? 0);
        if (childId === id) return { path, st };
        if (st.isDirectory) queue.push(childId);
      }
      yield;
    }
    return undefined;
  }

  protected override atRecord(id: FileId): boolean {
    return this.verifiedPath(id) !== undefined;
  }

  dir(id: FileId): Located {
    const at = this.locate(id);
    if (!at.st.isDirectory) {
      throw new VfsError("ENOTDIR", `Not a directory: fileid ${id}`);
    }
    this.#noteDir(id);
    return at;
  }

  /** Remembers that `id` is a directory (a FileId never changes type). */
  #noteDir(id: FileId): void {
    if (this.#dirs.size >= 100_000) this.#dirs.clear();
    this.#dirs.add(id);
  }

  /** The path recorded for `id`, without touching the host. */
  #recordedPath(id: FileId): string | undefined {
    const names: string[] = [];
    for (let cur = id; cur !== this.root;) {
      const rec = this.index.records.get(cur);
      if (rec === undefined || names.length > 4096) return undefined;
      names.push(rec.name);
      cur = rec.parent;
    }
    let path = this.rootPath;
    for (let i = names.length - 1; i >= 0; i--) path += "/" + names[i];
    return path;
  }

  /**
   * The entry `name` of a directory known to be one, looked up through the
   * directory's recorded path and then every component of that path
   * verified: a component swapped for a symlink before the lookup is caught
   * as surely as by verifying first and re-checking the directory after, with
   * one lstat fewer. Undefined sends the caller down the general path
   * (unknown or moved directory, bad or reserved name), which also picks
   * the right error.
   */
  entry(
    dirId: FileId,
    name: string,
  ): { dir: Located; child: Located | undefined } | undefined {
    if (
      !this.#dirs.has(dirId) || this.closed || this.index.isDead(dirId) ||
      (dirId === this.root && name === this.hidden) || !validName(name)
    ) {
      return undefined;
    }
    const path = this.#recordedPath(dirId);
    if (path === undefined) return undefined;
    const childPath = path + "/" + name;
    const st = lstat(childPath);
    let dir: Located | undefined;
    if (dirId === this.root) {
      const rst = lstat(path);
      if (rst !== undefined && this.matches(rst, dirId)) {
        dir = { path, st: rst };
      }
    } else dir = this.verifiedPath(dirId);
    if (dir === undefined || dir.path !== path || !dir.st.isDirectory) {
      return undefined;
    }
    if (st !== undefined && !this.confirmed(dirId, name, childPath, st)) {
      return undefined; // The general path decides, or answers ESTALE.
    }
    if (st !== undefined && st.dev !== this.dev) {
      throw new VfsError("EXDEV", `Crosses a mount point: ${name}`);
    }
    return { dir, child: st && { path: childPath, st } };
  }

  /**
   * Whether `st`, read at `path` (the entry `name` of `dirId`) before the
   * directory's path was verified, is really that entry. Deno has no
   * openat/fstatat, so a host process that swaps an ancestor for a symlink
   * and back between two of our calls can show us an object outside. An
   * object already recorded at exactly this name is ours; one seen here for
   * the first time is read again right after the verification and must be
   * the same object, so the swap would have to be undone and redone within
   * one system call of ours.
   */
  confirmed(
    dirId: FileId,
    name: string,
    path: string,
    st: Deno.FileInfo,
  ): boolean {
    if (this.known(dirId, name, st)) return true;
    const again = lstat(path);
    if (again === undefined || !sameObject(st, again)) return false;
    // A swap undone for the directory's check and redone for the re-read
    // passes the above (the race test wins it about once in 20,000 lookups):
    // the directory's path is verified once more after the re-read, so the
    // race has to be won a third time.
    if (dirId === this.root) return true; // Names in the root are lstat'ed.
    const dir = this.verifiedPath(dirId);
    return dir !== undefined && path === `${dir.path}/${name}`;
  }

  /** The entry `name` of a located directory, or undefined. */
  child(dirId: FileId, dir: Located, name: string): Located | undefined {
    checkName(name);
    if (dirId === this.root && name === this.hidden) return undefined;
    const path = `${dir.path}/${name}`;
    const st = lstat(path);
    // A directory swapped for a symlink while we looked would have shown an
    // object outside: check that the directory is still itself.
    this.stillThere(dirId, dir, () => {});
    if (st === undefined) return undefined;
    if (!this.confirmed(dirId, name, path, st)) {
      throw new VfsError(
        "ESTALE",
        `Directory changed during the operation: fileid ${dirId}`,
      );
    }
    if (st.dev !== this.dev) {
      throw new VfsError("EXDEV", `Crosses a mount point: ${name}`);
    }
    return { path, st };
  }

  /** Records and returns the FileId of a child just found or made. */
  override place(dirId: FileId, name: string, st: Deno.FileInfo): FileId {
    const id = super.place(dirId, name, st);
    if (st.isDirectory) this.#noteDir(id);
    return id;
  }

  /**
   * Removes what this call just made at `path`, but only while the path
   * still shows that very object (the path may lead elsewhere by now).
   */
  unmake(path: string, made: Deno.FileInfo | undefined): void {
    if (made === undefined) return;
    const now = lstat(path);
    if (now === undefined || !sameObject(now, made)) return;
    if (now.isDirectory) nfs.rmdirSync(path);
    else nfs.unlinkSync(path);
  }

  /**
   * After making `made` at `path` in `dir`: the directory's path must still
   * lead to `dirId` (else the object is removed again, if still there, and
   * ESTALE), and the path must still show `made` (see confirmed), so that
   * a swap of an ancestor during the call cannot leave us holding or
   * recording an object made outside.
   */
  madeIn(
    dirId: FileId,
    dir: Located,
    path: string,
    made: Deno.FileInfo | undefined,
  ): Deno.FileInfo {
    this.stillThere(dirId, dir, () => this.unmake(path, made));
    const again = lstat(path);
    if (made === undefined || again === undefined || !sameObject(made, again)) {
      throw new VfsError(
        "ESTALE",
        `Directory changed during the operation: fileid ${dirId}`,
      );
    }
    return again;
  }

  /** Re-checks that `dir` is still the directory `dirId` after a change in it. */
  stillThere(dirId: FileId, dir: Located, undo: () => void): void {
    const st = lstat(dir.path);
    if (st === undefined || !this.matches(st, dirId)) {
      try {
        undo();
      } catch { /* best effort: the path moved under us */ }
      throw new VfsError(
        "ESTALE",
        `Directory changed during the operation: fileid ${dirId}`,
      );
    }
  }
}
