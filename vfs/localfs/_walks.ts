// When a LocalFs engine walks its tree for a FileId it cannot find at the
// recorded place, and what those walks cost. Both engines' trees
// (./_confine.ts, ./native/_tree.ts) ask `worthWalking` before a walk and
// report it with `walked`.
//
// A walk records every object it passes in the FileId journal, and walks
// are breadth-first from the root with the same bound (scanLimit), so a
// walk that ran to its end ("a sweep") left nothing a second walk could
// find, except what the host changed since. The rules:
//
// - An id with no record (never seen, or made up: handles carry no secret)
//   is not walked for while the last sweep is trusted: anything the sweep
//   passed is recorded, and an object that appeared since was either made
//   by this LocalFs (recorded when made) or by the host, and then no client
//   can hold its handle before a lookup records it. A sweep is trusted for
//   SWEEP_TRUST_MS, or 50 times as long as it took (so walks for unknown
//   ids take at most about 2% of the server's time), at most MAX_TRUST_MS.
//   A flood of made-up handles thus costs one walk per trust period, not
//   one per handle. Ids whose record a removed hard link dropped
//   (IdIndex.homeless) are exempt: the object lives on under another name.
// - An id with a record that a walk did not find is not walked for again
//   within SWEEP_TRUST_MS while its record is the same object: recording
//   it anew (made, renamed, found by a lookup) lifts that at once.
//
// Left to host races: an object the host moves into the export from
// outside, or across a walk while it runs, with a client holding a handle
// that no record names (the journal lost it), answers ESTALE until the
// trust ends. A walk itself still runs synchronously, up to scanLimit
// entries (100,000 took 0.3 to 1.7 s on a shared 2-core machine).
import { BoundedMap } from "../../collections/_bounded_map.ts";
import type { FileId } from "../types.ts";
import type { IdIndex, IdRecord } from "./_id_index.ts";

/** How long a sweep (or a walk's miss) is trusted, at least. */
export const SWEEP_TRUST_MS = 5000;
/** A sweep is trusted this many times as long as it took... */
const TRUST_PER_WALK_MS = 50;
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

/** Decides whether a walk for an id could find it, and remembers walks. */
export class WalkPolicy {
  readonly #index: IdIndex;
  /** When the last walk that ran to its end finished. */
  #sweptAt = -Infinity;
  /** How long the last sweep is trusted. */
  #trust = SWEEP_TRUST_MS;
  /** When the walk running now began (walks are synchronous). */
  #began = 0;
  readonly #misses = new BoundedMap<FileId, Miss>(MISSES);

  constructor(index: IdIndex) {
    this.#index = index;
  }

  /**
   * Whether walking the tree for `id` could find it (see the rules above);
   * true means the caller walks now and reports it with {@link walked}.
   */
  worthWalking(id: FileId): boolean {
    const now = Date.now();
    const rec = this.#index.records.get(id);
    if (
      rec === undefined && !this.#index.homeless(id) &&
      now - this.#sweptAt < this.#trust
    ) return false;
    const miss = this.#misses.get(id);
    if (
      miss !== undefined && miss.rec === rec && now - miss.at < SWEEP_TRUST_MS
    ) return false;
    this.#began = performance.now();
    return true;
  }

  /**
   * Notes a walk for `id` that passed `entries` entries: found it (and
   * stopped there), or ran to its end or to scanLimit without it.
   */
  walked(id: FileId, found: boolean, entries: number): void {
    walkTotals.walks++;
    walkTotals.entries += entries;
    if (found) {
      this.#misses.delete(id);
      return;
    }
    const now = Date.now();
    this.#sweptAt = now;
    const took = performance.now() - this.#began;
    this.#trust = Math.min(
      MAX_TRUST_MS,
      Math.max(SWEEP_TRUST_MS, took * TRUST_PER_WALK_MS),
    );
    this.#misses.set(id, { at: now, rec: this.#index.records.get(id) });
  }
}
