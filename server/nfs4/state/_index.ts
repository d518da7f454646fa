/**
 * The two indexes the state tables keep: sets of values by key (opens by
 * file, stateids by client) and owners by name and by client.
 *
 * @module
 */

import { ownerKey, type StateOwner } from "./types.ts";

/** Sets of values by key; a key whose set empties goes. */
export class SetMap<K, V> {
  readonly #map = new Map<K, Set<V>>();

  /** Adds `value` under `key`. */
  add(key: K, value: V): void {
    let set = this.#map.get(key);
    if (set === undefined) this.#map.set(key, set = new Set());
    set.add(value);
  }

  /** Removes `value` from under `key`. */
  delete(key: K, value: V): void {
    const set = this.#map.get(key);
    set?.delete(value);
    if (set?.size === 0) this.#map.delete(key);
  }

  /** The values under `key` (live: copy before changing the index). */
  get(key: K): ReadonlySet<V> {
    return this.#map.get(key) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<never> = new Set();

/** Owners (open- or lock-owners) by name and by client. */
export class OwnerIndex<
  T extends { readonly key: string; readonly owner: StateOwner },
> {
  readonly #byKey = new Map<string, T>();
  readonly #byClient = new SetMap<bigint, T>();

  /** The owner named `o`, if known. */
  find(o: StateOwner): T | undefined {
    return this.#byKey.get(ownerKey(o));
  }

  /** The owner named `o`, made by `make` (given its key) when missing. */
  getOrAdd(o: StateOwner, make: (key: string) => T): T {
    const key = ownerKey(o);
    let t = this.#byKey.get(key);
    if (t === undefined) {
      t = make(key);
      this.#byKey.set(key, t);
      this.#byClient.add(o.clientid, t);
    }
    return t;
  }

  /** A client's owners, as a copy. */
  ofClient(clientid: bigint): T[] {
    return [...this.#byClient.get(clientid)];
  }

  /** Forgets an owner. */
  delete(t: T): void {
    if (this.#byKey.get(t.key) === t) this.#byKey.delete(t.key);
    this.#byClient.delete(t.owner.clientid, t);
  }
}
