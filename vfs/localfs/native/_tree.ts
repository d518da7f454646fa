// How the native LocalFs engine reaches objects: through directory
// descriptors, never through paths. The root is opened once; every other
// directory is opened with openat2(parent's descriptor, name,
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_XDEV), so the kernel itself refuses "..", symlinks and mount
// points, and the descriptor it gives is checked against the FileId's
// device, inode and birth time. Objects other than directories are named
// by (parent descriptor, name) and looked at with statx(AT_SYMLINK_NOFOLLOW).
//
// Directory descriptors are cached (LRU, bounded). A descriptor names its
// directory wherever it moves, so a cached one is trusted for at most
// REVALIDATE_MS after the directory was last seen at its recorded name
// under a trusted parent (each entry keeps the oldest such time of its
// chain): a directory the host moves out of the export stops being served
// within that bound. An evicted descriptor is closed at the end of the
// current synchronous turn, never under an operation still using it.
import { BoundedMap } from "../../../collections/_bounded_map.ts";
import { checkName } from "../../_names.ts";
import { VfsError } from "../../errors.ts";
import type { FileId } from "../../types.ts";
import type { IdIndex } from "../_id_index.ts";
import {
  AT_SYMLINK_NOFOLLOW,
  EACCES,
  ENOENT,
  ENOTDIR,
  errnoError,
  type Libc,
  type NativeStat,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  RESOLVE_CONFINED,
} from "../_libc.ts";
import { TreeIds } from "../_tree_ids.ts";
import { queued, STEP, type WalkSteps } from "../_walks.ts";

/** How long a cached descriptor is trusted without looking at its name again. */
export const REVALIDATE_MS = 1000;
/** Directory descriptors kept open. */
const DIR_CACHE = 256;

/** An object found: its stat, and how to reach it. */
export interface Found {
  st: NativeStat;
  /**
   * The parent directory's descriptor and the name in it, for objects
   * other than directories (a directory is reached through its own
   * descriptor: for one found that way, these are that descriptor and "").
   */
  dirFd: number;
  name: string;
  /** A directory's own descriptor, when at hand (always for the root). */
  fd?: number;
}

/** A found directory, with its own descriptor. */
export type FoundDir = Found & { fd: number };

interface CachedDir {
  fd: number;
  /** When its chain of names was last verified up to the root. */
  checked: number;
}

/** The root descriptor, the directory descriptor cache and the lookups through them. */
export class NativeTree extends TreeIds<Found> {
  readonly lib: Libc;
  readonly rootFd: number;
  readonly #dirs = new BoundedMap<FileId, CachedDir>(DIR_CACHE, {
    onEvict: (_, c) => this.#closeLater(c.fd),
  });
  readonly #retired: number[] = [];
  readonly #scanLimit: number;

  constructor(
    lib: Libc,
    rootFd: number,
    rootSt: NativeStat,
    index: IdIndex,
    hidden: string | undefined,
    scanLimit: number,
  ) {
    super(rootSt, index, hidden);
    this.lib = lib;
    this.rootFd = rootFd;
    this.#scanLimit = scanLimit;
  }

  /** `st` of the directory `id` at its own descriptor. */
  #own(id: FileId, fd: number): NativeStat | undefined {
    const st = this.lib.fstat(fd);
    // A removed directory keeps its descriptor, with no links left.
    if (typeof st === "number" || st.nlink === 0 || !this.matches(st, id)) {
      return undefined;
    }
    return st;
  }

  /** Finds `id` and verifies that it is that object (ESTALE otherwise). */
  locate(id: FileId): Found {
    this.live(id);
    if (id === this.root) {
      const st = this.#own(id, this.rootFd);
      if (st === undefined) {
        throw new VfsError("ESTALE", `Export root is gone: fileid ${id}`);
      }
      return { st, dirFd: this.rootFd, name: "", fd: this.rootFd };
    }
    // A directory whose descriptor is trusted needs no name: a host process
    // renaming it meanwhile does not make it stale.
    const cached = this.#dirs.get(id);
    if (cached !== undefined && Date.now() - cached.checked < REVALIDATE_MS) {
      const st = this.#own(id, cached.fd);
      if (st !== undefined) {
        return { st, dirFd: cached.fd, name: "", fd: cached.fd };
      }
      this.#retire(id);
    }
    const found = this.#recorded(id) ?? this.scan(id);
    if (found === undefined) {
      throw new VfsError("ESTALE", `Stale file id: ${id}`);
    }
    return found;
  }

  /** `id` at its recorded place, or undefined. */
  #recorded(id: FileId): Found | undefined {
    const rec = this.index.records.get(id);
    if (rec === undefined) return undefined;
    const dirFd = this.dirFd(rec.parent);
    if (dirFd === undefined) return undefined;
    const st = this.lib.statx(dirFd, rec.name, AT_SYMLINK_NOFOLLOW);
    if (typeof st === "number" || !this.matches(st, id)) return undefined;
    return { st, dirFd, name: rec.name };
  }

  /** The directory `id`, with its descriptor (ENOTDIR, ESTALE otherwise). */
  dir(id: FileId): FoundDir {
    const at = this.locate(id);
    if (!at.st.isDirectory) {
      throw new VfsError("ENOTDIR", `Not a directory: fileid ${id}`);
    }
    const fd = at.fd ?? this.dirFd(id);
    if (fd === undefined) {
      throw new VfsError("ESTALE", `Directory changed: fileid ${id}`);
    }
    return { ...at, fd };
  }

  /**
   * A verified descriptor of the directory `id`, opened beneath its
   * parent's, or undefined when it is not at its recorded name.
   */
  dirFd(id: FileId, depth = 0): number | undefined {
    if (id === this.root) return this.rootFd;
    const now = Date.now();
    const cached = this.#dirs.get(id);
    if (cached !== undefined && now - cached.checked < REVALIDATE_MS) {
      this.#dirs.touch(id);
      return cached.fd;
    }
    const rec = this.index.records.get(id);
    if (rec === undefined || depth > 4096) return this.#forget(id);
    const parentFd = this.dirFd(rec.parent, depth + 1);
    if (parentFd === undefined) return this.#forget(id);
    const parentChecked = rec.parent === this.root
      ? now
      : this.#dirs.get(rec.parent)?.checked ?? now;
    const checked = Math.min(now, parentChecked);
    if (cached !== undefined) {
      const st = this.lib.statx(parentFd, rec.name, AT_SYMLINK_NOFOLLOW);
      if (typeof st === "number" || !this.matches(st, id)) {
        return this.#forget(id);
      }
      cached.checked = checked;
      this.#dirs.touch(id);
      return cached.fd;
    }
    const fd = this.openDir(parentFd, rec.name);
    if (fd < 0) return undefined;
    if (this.#own(id, fd) === undefined) {
      this.lib.close(fd);
      return undefined;
    }
    this.#cache(id, fd, checked);
    return fd;
  }

  /**
   * openat2 of the directory `name` beneath `parentFd`: read-only, or a
   * path-only descriptor when the server may not read it. -errno on failure.
   */
  openDir(parentFd: number, name: string): number {
    const flags = O_DIRECTORY | O_NOFOLLOW;
    const fd = this.lib.openat2(
      parentFd,
      name,
      O_RDONLY | flags,
      0,
      RESOLVE_CONFINED,
    );
    if (fd !== -EACCES) return fd;
    return this.lib.openat2(
      parentFd,
      name,
      O_PATH | flags,
      0,
      RESOLVE_CONFINED,
    );
  }

  #cache(id: FileId, fd: number, checked: number): void {
    this.#dirs.set(id, { fd, checked });
  }

  /** Caches the descriptor of a directory this engine just made and verified. */
  adopt(id: FileId, fd: number): void {
    this.#retire(id);
    this.#cache(id, fd, Date.now());
  }

  #forget(id: FileId): undefined {
    this.#retire(id);
    return undefined;
  }

  /** Drops the cached descriptor of `id` (closed at the end of this turn). */
  #retire(id: FileId): void {
    const c = this.#dirs.get(id);
    if (c === undefined) return;
    this.#dirs.delete(id);
    this.#closeLater(c.fd);
  }

  /** Closes `fd` at the end of this turn. */
  #closeLater(fd: number): void {
    if (this.#retired.length === 0) queueMicrotask(this.#closeRetired);
    this.#retired.push(fd);
  }

  readonly #closeRetired = (): void => {
    for (const fd of this.#retired.splice(0)) this.lib.close(fd);
  };

  /** A directory removed or gone: its descriptor goes too. */
  drop(id: FileId): void {
    this.#retire(id);
  }

  /** The entry `name` of a found directory (confined to it), or undefined. */
  child(dirId: FileId, dir: FoundDir, name: string): Found | undefined {
    checkName(name);
    if (dirId === this.root && name === this.hidden) return undefined;
    const st = this.lib.statx(dir.fd, name, AT_SYMLINK_NOFOLLOW);
    if (typeof st === "number") {
      if (st === -ENOENT || st === -ENOTDIR) return undefined;
      throw errnoError(st, name);
    }
    if (st.dev !== this.dev) {
      throw new VfsError("EXDEV", `Crosses a mount point: ${name}`);
    }
    return { st, dirFd: dir.fd, name };
  }

  /**
   * The walk (see TreeIds.steps), through descriptors, never through
   * symlinks or mount points. A descriptor is used only within the step
   * that got it.
   */
  protected override *steps(
    id: FileId | undefined,
    count: { seen: number },
    more: () => FileId | undefined,
  ): WalkSteps<Found> {
    const queue: FileId[] = [this.root];
    for (let q = 0; count.seen < this.#scanLimit; q++) {
      const dirId = queued(queue, q, more);
      if (dirId === undefined) break;
      let fd = this.dirFd(dirId);
      if (fd === undefined) continue;
      const names = this.lib.readdir(fd);
      if (typeof names === "number") continue;
      for (const name of names) {
        if (count.seen >= this.#scanLimit) break;
        if (++count.seen % STEP === 0) {
          yield;
          fd = this.dirFd(dirId);
          if (fd === undefined) break;
        }
        if (dirId === this.root && name === this.hidden) continue;
        const st = this.lib.statx(fd, name, AT_SYMLINK_NOFOLLOW);
        if (typeof st === "number" || st.dev !== this.dev) continue;
        const childId = this.place(dirId, name, st);
        if (childId === id) return { st, dirFd: fd, name };
        if (st.isDirectory) queue.push(childId);
      }
      yield;
    }
    return undefined;
  }

  protected override atRecord(id: FileId): boolean {
    return this.#recorded(id) !== undefined;
  }

  /** Closes every descriptor. */
  close(): void {
    for (const id of [...this.#dirs.keys()]) this.#retire(id);
    this.#closeRetired();
    this.lib.close(this.rootFd);
  }
}
