// What both LocalFs engines know about an export's objects before they
// touch the host: the root's FileId, the export's device, the FileId
// journal, the hidden state folder, and the FileId of a stat result; and
// when to walk the tree for a FileId (./_walks.ts). Each engine's tree
// (./_confine.ts, ./native/_tree.ts) extends this with how it reaches
// objects and how it walks.
import { VfsError } from "../errors.ts";
import type { FileId } from "../types.ts";
import type { IdIndex } from "./_id_index.ts";
import { WalkPolicy, type WalkSteps } from "./_walks.ts";

/**
 * The export's identity bookkeeping, shared by both engines' trees, and
 * their walks for FileIds (`F`: what a tree's walk finds).
 */
export abstract class TreeIds<F> {
  /** The root directory's id. */
  readonly root: FileId;
  /** The export's host device: objects on other devices are not served. */
  readonly dev: number;
  readonly index: IdIndex;
  /** The state folder's name when it sits directly in the root: hidden. */
  readonly hidden: string | undefined;
  /** Set by LocalFs.close: every lookup answers EIO after. */
  closed = false;
  /**
   * Set by the facade around the synchronous start of a call that may run
   * again: a FileId worth a walk then throws WalkNeeded (./_walks.ts)
   * instead of walking at once.
   */
  deferWalks = false;
  /** Whether a walk could find an id, and what walks did. */
  protected readonly walks: WalkPolicy;

  constructor(
    rootSt: Deno.FileInfo,
    index: IdIndex,
    hidden: string | undefined,
  ) {
    this.dev = rootSt.dev;
    this.index = index;
    this.hidden = hidden;
    this.root = index.idFor(rootSt.ino!, rootSt.birthtime?.getTime() ?? 0);
    this.walks = new WalkPolicy(index);
  }

  /** A call renamed the directory `id` (see WalkPolicy.moved). */
  moved(id: FileId): void {
    this.walks.moved(id);
  }

  /**
   * The tree's walk for `id` (undefined: every object), breadth-first from
   * the root, recording what it passes, then the directories `more` gives.
   */
  protected abstract steps(
    id: FileId | undefined,
    count: { seen: number },
    more: () => FileId | undefined,
  ): WalkSteps<F>;

  /** Whether `id` is at its recorded place. */
  protected abstract atRecord(id: FileId): boolean;

  /**
   * Walks the tree for `id` (an object moved behind the server's back, or
   * a FileId the journal lost), when worth it (see ./_walks.ts).
   */
  protected scan(id: FileId): F | undefined {
    return this.walks.scan(
      id,
      this.deferWalks,
      (count, more) => this.steps(id, count, more),
    );
  }

  /** Walks the whole tree for `id`, yielding to the event loop (see WalkPolicy.sweep). */
  sweep(id: FileId): Promise<void> {
    return this.walks.sweep(
      id,
      (count, more) => this.steps(undefined, count, more),
      () => this.closed,
      (w) => this.atRecord(w),
    );
  }

  idOf(st: Deno.FileInfo): FileId {
    try {
      return this.index.idFor(st.ino!, st.birthtime?.getTime() ?? 0);
    } catch (e) {
      throw new VfsError("EIO", (e as Error).message);
    }
  }

  matches(st: Deno.FileInfo, id: FileId): boolean {
    return st.dev === this.dev && this.idOf(st) === id;
  }

  /** Whether `st` is the object already recorded as the entry `name` of `dirId`. */
  known(dirId: FileId, name: string, st: Deno.FileInfo): boolean {
    if (st.dev !== this.dev) return false;
    const id = this.index.peek(st.ino!, st.birthtime?.getTime() ?? 0);
    if (id === undefined) return false;
    const rec = this.index.records.get(id);
    return rec !== undefined && rec.parent === dirId && rec.name === name;
  }

  reserved(dirId: FileId, name: string): void {
    if (dirId === this.root && name === this.hidden) {
      throw new VfsError("EACCES", `Reserved for the server's state: ${name}`);
    }
  }

  /** Records and returns the FileId of a child just found or made. */
  place(dirId: FileId, name: string, st: Deno.FileInfo): FileId {
    const id = this.idOf(st);
    this.index.set(id, dirId, name, st.birthtime?.getTime() ?? 0);
    return id;
  }

  /** Throws unless the tree is open and `id` can name a live object. */
  live(id: FileId): void {
    if (this.closed) throw new VfsError("EIO", "File system closed");
    if (!Number.isSafeInteger(id) || this.index.isDead(id)) {
      throw new VfsError("ESTALE", `Stale file id: ${id}`);
    }
  }
}
