// When a LocalFs engine walks its tree for a FileId it cannot find at the
// recorded place, what those walks cost, and how they take turns with other
// calls. Both engines' trees (./_confine.ts, ./native/_tree.ts) write
// their walk as steps (WalkSteps) and hand it to WalkPolicy's `scan` (at
// once) or `sweep` (taking turns), which decide whether it is worth it.
//
// A walk records every object it passes in the FileId journal, and walks
// are breadth-first from the root with the same bound (scanLimit), so a
// walk that ran to its end ("a sweep") left nothing a second walk could
// find, except what the host changed since. The rules:
//
// - An id with no record (never seen, or made up: handles carry no secret)
//   is not walked for while the last sweep is trusted: anything the sweep
//   passed is recorded, and an object that appeared since was either made
//   by this LocalFs, or another of this process on the same journal
//   (recorded when made: they share one IdIndex), or by the host, and then
//   no client can hold its handle before a lookup records it. A sweep is trusted for
//   SWEEP_TRUST_MS, or 50 times as long as it worked (so walks for unknown
//   ids take at most about 2% of the server's time), at most MAX_TRUST_MS.
//   A flood of made-up handles thus costs one walk per trust period, not
//   one per handle. Ids whose record a removed hard link dropped
//   (IdIndex.homeless) are exempt: the object lives on under another name.
// - An id with a record that a walk did not find is not walked for again
//   within SWEEP_TRUST_MS while its record is the same object: recording
//   it anew (made, renamed, found by a lookup) lifts that at once.
//
// Taking turns: the calls that change nothing (getattr, access, lookup,
// readlink, read, readdir) run through `afterWalks`. Their locate throws
// WalkNeeded instead of walking; the call waits for a sweep that gives the
// event loop a turn every SLICE_MS of work (one sweep at a time: a call
// that needs one while it runs waits for it, which is as good, since it
// records everything it passes), then runs again and finds the object by
// its record, or answers ESTALE by the rules above. Other calls (a call
// that changes something could not safely run twice) still walk at once,
// synchronously, up to scanLimit entries, under the same rules.
//
// A directory a call renames while a sweep runs may leave a part of the
// tree the sweep has not read for a part it has: the sweep walks every
// directory renamed meanwhile again before it ends (more than MISSES of
// them, and it is not trusted at all).
//
// Left to host races: an object the host moves into the export from
// outside, or across a walk while it runs, with a client holding a handle
// that no record names (the journal lost it), answers ESTALE until the
// trust ends; so does one that another process serving the same tree made
// and handed out.
import { BoundedMap } from "../../collections/_bounded_map.ts";
import type { FileId } from "../types.ts";
import type { IdIndex, IdRecord } from "./_id_index.ts";

// Times here are the monotonic clock's (performance.now): a wall clock set
// back would otherwise stretch every trust by as much.

/** How long a sweep (or a walk's miss) is trusted, at least. */
export const SWEEP_TRUST_MS = 5000;
/** A sweep is trusted this many times as long as it worked... */
const TRUST_FACTOR = 50;
/** ...but never longer than this. */
const MAX_TRUST_MS = 60_000;
/** Ids whose miss is remembered. */
const MISSES = 10_000;

/** Walks done and entries they passed, over every LocalFs of this process (for tests). */
export const walkTotals: { walks: number; entries: number } = {
  walks: 0,
  entries: 0,
};

interface Miss {
  at: number;
  /** The id's record when the walk missed it (undefined: none). */
  rec: IdRecord | undefined;
}

/**
 * Thrown by a tree's locate, while walks may wait (`deferWalks`), for a
 * FileId worth a walk: the facade awaits a sweep and runs the call again.
 */
export class WalkNeeded extends Error {
  readonly id: FileId;
  constructor(id: FileId) {
    super(`Walk needed: fileid ${id}`);
    this.id = id;
  }
}

/**
 * A walk as steps: it yields after every directory and every STEP entries,
 * and returns what it looked for when it found it.
 */
export type WalkSteps<T> = Generator<void, T | undefined, void>;

/**
 * How a tree makes its walk: `count` counts the entries passed, and `more`
 * gives directories to walk once the queue from the root is done.
 */
export type WalkMaker<T> = (
  count: { seen: number },
  more: () => FileId | undefined,
) => WalkSteps<T>;

/**
 * The directory at `q` in a walk's queue; past its end, the next one
 * `more` gives (added to the queue), or undefined when the walk is done.
 */
export function queued(
  queue: FileId[],
  q: number,
  more: () => FileId | undefined,
): FileId | undefined {
  if (q < queue.length) return queue[q];
  const m = more();
  if (m !== undefined) queue.push(m);
  return m;
}

const nothingMore = (): undefined => undefined;

/** Entries a walk passes between two of its steps. */
export const STEP = 256;
/** Work a yielding walk does between two turns of the event loop. */
const SLICE_MS = 5;

/** Runs a walk to its end at once: what it found, and the time it took. */
function walkNow<T>(
  steps: WalkSteps<T>,
): { found: T | undefined; ms: number } {
  const t0 = performance.now();
  let r = steps.next();
  while (!r.done) r = steps.next();
  return { found: r.value, ms: performance.now() - t0 };
}

/**
 * Runs a walk with a turn of the event loop every SLICE_MS of work, until
 * it ends or `stopped()`; the time it worked, turns not counted.
 */
async function walkYielding(
  steps: WalkSteps<unknown>,
  stopped: () => boolean,
): Promise<number> {
  let busy = 0;
  let slice = performance.now();
  for (let r = steps.next(); !r.done; r = steps.next()) {
    const now = performance.now();
    if (now - slice < SLICE_MS) continue;
    busy += now - slice;
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (stopped()) {
      steps.return(undefined);
      return busy;
    }
    slice = performance.now();
  }
  return busy + performance.now() - slice;
}

/**
 * Runs `call`, which changes nothing and so may run twice, with walks
 * deferred: when it needs one, it runs again after a sweep, so that the
 * walk takes turns with other clients' calls instead of blocking them.
 */
export function afterWalks<T>(
  tree: { deferWalks: boolean; sweep(id: FileId): Promise<void> },
  call: () => Promise<T>,
): Promise<T> {
  let p: Promise<T>;
  tree.deferWalks = true;
  try {
    p = call();
  } catch (e) {
    p = Promise.reject(e);
  } finally {
    tree.deferWalks = false;
  }
  return p.catch((e) => {
    if (!(e instanceof WalkNeeded)) throw e;
    return tree.sweep(e.id).then(call);
  });
}

/** Decides whether a walk for an id could find it, and remembers walks. */
export class WalkPolicy {
  readonly #index: IdIndex;
  /** When the last walk that ran to its end finished. */
  #sweptAt = -Infinity;
  /** How long the last sweep is trusted. */
  #trust = SWEEP_TRUST_MS;
  readonly #misses = new BoundedMap<FileId, Miss>(MISSES);
  /** The sweep running now, and the ids waiting for it. */
  #sweeping: Promise<void> | undefined;
  readonly #wanted = new Set<FileId>();
  /** Directories renamed while the sweep runs, not yet walked again. */
  readonly #moved = new Set<FileId>();
  /** More were renamed than #moved keeps: the sweep proves nothing. */
  #movedTooMany = false;

  constructor(index: IdIndex) {
    this.#index = index;
  }

  /** Whether walking the tree for `id` could find it (see the rules above). */
  #worthWalking(id: FileId): boolean {
    const now = performance.now();
    const rec = this.#index.records.get(id);
    if (
      rec === undefined && !this.#index.homeless(id) &&
      now - this.#sweptAt < this.#trust
    ) return false;
    const miss = this.#misses.get(id);
    return miss === undefined || miss.rec !== rec ||
      now - miss.at >= SWEEP_TRUST_MS;
  }

  /**
   * Walks for `id` at once, when worth it, and notes the walk: found it
   * (and stopped there), or ran to its end or to scanLimit without it. With
   * `defer`, throws WalkNeeded instead of walking (see afterWalks).
   */
  scan<T>(
    id: FileId,
    defer: boolean,
    steps: WalkMaker<T>,
  ): T | undefined {
    if (!this.#worthWalking(id)) return undefined;
    if (defer) throw new WalkNeeded(id);
    const count = { seen: 0 };
    const { found, ms } = walkNow(steps(count, nothingMore));
    if (found !== undefined) {
      this.#count(count.seen);
      this.#misses.delete(id);
      return found;
    }
    this.#swept(count.seen, ms);
    this.#missed(id);
    return undefined;
  }

  /**
   * Walks the whole tree with turns of the event loop between slices of
   * work, for `id` and every id that asks while it runs (one sweep at a
   * time: they wait for the one running). Afterwards those ids are found
   * by their records, or remembered as missed.
   */
  sweep(
    id: FileId,
    steps: WalkMaker<unknown>,
    stopped: () => boolean,
    present: (id: FileId) => boolean,
  ): Promise<void> {
    if (this.#sweeping === undefined) {
      if (stopped()) return Promise.resolve(); // Closed before it began.
      const count = { seen: 0 };
      const more = () => this.#nextMoved();
      this.#sweeping = walkYielding(steps(count, more), stopped).then((ms) => {
        if (stopped()) return; // Closed: the tree is not to be touched.
        if (this.#movedTooMany) {
          // Parts of the tree may be unread: the calls waiting walk again.
          this.#count(count.seen);
          return;
        }
        this.#swept(count.seen, ms);
        for (const w of this.#wanted) if (!present(w)) this.#missed(w);
      }).finally(() => {
        this.#wanted.clear();
        this.#moved.clear();
        this.#movedTooMany = false;
        this.#sweeping = undefined;
      });
    }
    // Read when the sweep ends, never during its first, synchronous slice.
    if (this.#wanted.size < MISSES) this.#wanted.add(id);
    return this.#sweeping;
  }

  /**
   * The directory `id` was renamed: a sweep running walks it again before
   * it ends, since it may have moved from a part the sweep had not read yet
   * to one it had.
   */
  moved(id: FileId): void {
    if (this.#sweeping === undefined) return;
    if (this.#moved.size < MISSES) this.#moved.add(id);
    else this.#movedTooMany = true;
  }

  #nextMoved(): FileId | undefined {
    for (const id of this.#moved) {
      this.#moved.delete(id);
      return id;
    }
    return undefined;
  }

  #count(entries: number): void {
    walkTotals.walks++;
    walkTotals.entries += entries;
  }

  /** A walk ran to its end (or to scanLimit) in `ms` of work. */
  #swept(entries: number, ms: number): void {
    this.#count(entries);
    this.#sweptAt = performance.now();
    this.#trust = Math.min(
      MAX_TRUST_MS,
      Math.max(SWEEP_TRUST_MS, ms * TRUST_FACTOR),
    );
  }

  #missed(id: FileId): void {
    this.#misses.set(id, {
      at: performance.now(),
      rec: this.#index.records.get(id),
    });
  }
}
