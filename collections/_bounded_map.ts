// A map bounded in entries that evicts its oldest entry first, shared by
// rpc/ (the duplicate-request cache), server/ (handle, verifier, mount,
// id-map and stateid caches) and vfs/ (LocalFs's caches). It lives in a
// folder of its own because all three use it and it belongs to none.
//
// Why not a plain Map with `map.delete(map.keys().next().value)` per
// insertion: V8 keeps a deleted entry's slot in the hash table until the
// table is rebuilt, and a new iterator starts at the first slot, so every
// `keys().next()` walks over all the slots deleted since the last rebuild.
// On a full map that is O(size) per insertion: 18-22 µs per new entry in a
// full 10,000-entry LocalFs map, 35-45 µs per new handle past 65,536 in the
// NFS handle cache against 1.6-2.6 µs with this class, and 37-42 µs against
// 0.2-0.4 µs for a bare map of 65,536 numbers (bench/bounded_map_bench.ts).
//
// Here one iterator lives as long as the map has entries and only moves
// forward, so each deleted slot is walked once: finding the oldest entry is
// O(1), amortised, and the bound is exact. Iteration over a Map is defined
// in the face of deletion and insertion (entries deleted before the
// iterator reaches them are skipped, entries added are visited), so the
// iterator stays correct whatever else the map does; the class only has to
// know when the entry it last returned is deleted, which is why the Map is
// private and every deletion goes through `delete`.
//
// What it promises:
// - Order is insertion order, oldest first. `set` of a new key makes it the
//   newest; `set` of a key already held replaces its value in place, as
//   Map.set does; `touch` (or delete and set) makes a held key the newest,
//   for least-recently-used caches.
// - After every `set`, `size <= max`: the oldest entries are evicted, each
//   passed to `onEvict` after it has left the map.
// - `oldestKey`, `evictOldest` and therefore `set` cost O(1) amortised, on
//   a full map as on a growing one.
// - Keys must not be `undefined` (`oldestKey` uses it for "empty").

/** Options of {@link BoundedMap}. */
export interface BoundedMapOptions<K, V> {
  /** Called with each entry evicted (not deleted) after it has left the map. */
  onEvict?: (key: K, value: V) => void;
}

/** A Map of at most `max` entries in insertion order, the oldest evicted first. */
export class BoundedMap<K, V> implements Iterable<[K, V]> {
  /** Most entries held after any `set`. */
  readonly max: number;
  readonly #map = new Map<K, V>();
  readonly #onEvict: ((key: K, value: V) => void) | undefined;
  /**
   * An iterator over `#map` that has passed only deleted keys and `#head`:
   * everything before it is gone, so the next live key it gives is the
   * oldest. Dropped when the map is empty (a finished iterator stays done).
   */
  #cursor: MapIterator<K> | undefined;
  /** The oldest key, when `#hasHead`: the key the cursor gave last. */
  #head: K | undefined;
  #hasHead = false;

  /**
   * An empty map holding at most `max` entries (at least 0).
   *
   * @param max The bound, in entries.
   * @param options What to call on eviction.
   */
  constructor(max: number, options: BoundedMapOptions<K, V> = {}) {
    this.max = Math.max(0, max);
    this.#onEvict = options.onEvict;
  }

  /** Entries held. */
  get size(): number {
    return this.#map.size;
  }

  /** Whether `key` is held. */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** The value of `key`, without changing its place. */
  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  /**
   * Sets `key` to `value`: a new key becomes the newest, a held one keeps
   * its place. Then evicts the oldest entries while more than `max` are held
   * (with `max` 0, the entry just set too).
   */
  set(key: K, value: V): this {
    this.#map.set(key, value);
    while (this.#map.size > this.max) this.evictOldest();
    return this;
  }

  /** Makes a held `key` the newest and returns its value (LRU hit). */
  touch(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined && !this.#map.has(key)) return undefined;
    this.delete(key);
    this.#map.set(key, value as V);
    return value;
  }

  /** Deletes `key` (not an eviction: `onEvict` is not called). */
  delete(key: K): boolean {
    if (!this.#map.delete(key)) return false;
    if (this.#hasHead && sameValueZero(key, this.#head)) {
      this.#hasHead = false;
      this.#head = undefined;
    }
    return true;
  }

  /** Deletes everything (no `onEvict` calls). */
  clear(): void {
    this.#map.clear();
    this.#cursor = undefined;
    this.#hasHead = false;
    this.#head = undefined;
  }

  /** The oldest key, or `undefined` when empty. O(1) amortised. */
  oldestKey(): K | undefined {
    if (this.#hasHead) return this.#head;
    if (this.#map.size === 0) {
      this.#cursor = undefined;
      return undefined;
    }
    this.#cursor ??= this.#map.keys();
    let next = this.#cursor.next();
    if (next.done) {
      // Cannot happen while the invariant holds (a non-empty map has a live
      // key after the cursor); restart rather than lose the bound.
      this.#cursor = this.#map.keys();
      next = this.#cursor.next();
    }
    this.#head = next.value;
    this.#hasHead = true;
    return next.value;
  }

  /** Evicts the oldest entry, calling `onEvict`; false when empty. */
  evictOldest(): boolean {
    const key = this.oldestKey();
    if (!this.#hasHead) return false;
    const value = this.#map.get(key as K) as V;
    this.delete(key as K);
    this.#onEvict?.(key as K, value);
    return true;
  }

  /** The keys, oldest first. */
  keys(): MapIterator<K> {
    return this.#map.keys();
  }

  /** The values, oldest first. */
  values(): MapIterator<V> {
    return this.#map.values();
  }

  /** The entries, oldest first. */
  entries(): MapIterator<[K, V]> {
    return this.#map.entries();
  }

  /** The entries, oldest first. */
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map.entries();
  }
}

/** Map's key equality: `===`, except that NaN equals NaN. */
function sameValueZero(a: unknown, b: unknown): boolean {
  return a === b || (a !== a && b !== b);
}
