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
//   is not walked for within SWEEP_TRUST_MS after a sweep ended: anything
//   the sweep passed is recorded, and an object that appeared since was
//   either made by this LocalFs (recorded when made) or by the host, and
//   then no client can hold its handle before a lookup records it. So a
//   flood of made-up handles costs one walk per SWEEP_TRUST_MS, not one per
//   handle. Ids whose record a removed hard link dropped (IdIndex.homeless)
//   are exempt: the object lives on under another name.
// - An id with a record that a walk did not find is not walked for again
//   within SWEEP_TRUST_MS while its record is the same object: recording
//   it anew (made, renamed, found by a lookup) lifts that at once.
//
// Left to host races: an object the host moves into the export from
// outside, or across a walk while it runs, with a client holding a handle
// that no record names, answers ESTALE until the trust ends.
import { BoundedMap } from "../../collections/_bounded_map.ts";
import type { FileId } from "../types.ts";
import type { IdIndex, IdRecord } from "./_id_index.ts";

/** How long a sweep (or a walk's miss) is trusted. */
export const SWEEP_TRUST_MS = 5000;
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
  readonly #misses = new BoundedMap<FileId, Miss>(MISSES);

  constructor(index: IdIndex) {
    this.#index = index;
  }

  /** Whether walking the tree for `id` could find it (see the rules above). */
  worthWalking(id: FileId): boolean {
    const now = Date.now();
    const rec = this.#index.records.get(id);
    if (
      rec === undefined && !this.#index.homeless(id) &&
      now - this.#sweptAt < SWEEP_TRUST_MS
    ) return false;
    const miss = this.#misses.get(id);
    return miss === undefined || miss.rec !== rec ||
      now - miss.at >= SWEEP_TRUST_MS;
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
    this.#misses.set(id, { at: now, rec: this.#index.records.get(id) });
  }
}
