// Bounding the maps LocalFs keeps in insertion (least recently used)
// order. Evicting the first entry on every insertion past the bound is
// quadratic in V8: a map keeps deleted slots until it rehashes, and an
// iterator from the start walks over all of them, so `keys().next()` on a
// full 10,000-entry map cost about 27 µs per insertion here. Trimming in
// batches walks those slots once per batch instead.

/**
 * Drops the oldest entries of `map` once it holds more than `max` and a
 * sixteenth, down to `max`: the map stays within about 6% over its bound,
 * and eviction costs O(1) per entry, amortised.
 */
export function trimOldest<K, V>(map: Map<K, V>, max: number): void {
  if (map.size <= max + (max >>> 4)) return;
  for (const k of map.keys()) {
    if (map.size <= max) break;
    map.delete(k);
  }
}
