/**
 * The duplicate-request cache: replies of non-idempotent procedures kept
 * for a while, so that a retransmitted call (same peer, xid and procedure)
 * gets the original reply instead of running twice. A REMOVE that succeeded
 * but whose reply was lost must not answer NOENT on the retry.
 *
 * @example A retransmitted call: dropped while running, then replayed
 * ```ts
 * import { DuplicateRequestCache } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const drc = new DuplicateRequestCache({ entries: 16, ttlMs: 60_000 });
 * const key = DuplicateRequestCache.key(
 *   { hostname: "127.0.0.1", port: 900 },
 *   { xid: 1, program: 100003, version: 3, procedure: 12 },
 * );
 * assert.equal(drc.begin(key, 0), undefined); // new: run it
 * assert.equal(drc.begin(key, 1), null); // still running: drop the retry
 * const reply = new Uint8Array([1]);
 * drc.finish(key, reply);
 * assert.equal(drc.begin(key, 2), reply); // done: send the same reply again
 * ```
 *
 * @module
 */

interface Entry {
  reply: Uint8Array | null;
  at: number;
}

/** Options of {@link DuplicateRequestCache}. */
export interface DrcOptions {
  /** Most entries kept; the oldest go first. Default 1024. */
  entries?: number;
  /** How long a reply is kept (ms). Default 120000. */
  ttlMs?: number;
}

/**
 * A bounded, age-limited map from call identity to reply bytes. Entries are
 * kept in insertion order, so the oldest is always first: eviction by size
 * and by age are both O(1) per entry.
 *
 * @example Bounded by count and by age
 * ```ts
 * import { DuplicateRequestCache } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const drc = new DuplicateRequestCache({ entries: 2, ttlMs: 1000 });
 * for (const key of ["a", "b", "c"]) drc.begin(key, 0);
 * assert.equal(drc.size, 2); // "a", the oldest, was evicted
 * assert.equal(drc.begin("a", 0), undefined); // so it counts as new again
 * drc.begin("d", 1000); // everything from time 0 has expired
 * assert.equal(drc.size, 1);
 * ```
 */
export class DuplicateRequestCache {
  readonly #map = new Map<string, Entry>();
  readonly #entries: number;
  readonly #ttl: number;

  /**
   * Creates an empty cache.
   *
   * @param options Size and age bounds.
   */
  constructor(options: DrcOptions = {}) {
    this.#entries = Math.max(1, options.entries ?? 1024);
    this.#ttl = Math.max(0, options.ttlMs ?? 120_000);
  }

  /**
   * The cache key of a call: peer address and port, xid, program, version,
   * procedure.
   */
  static key(
    remote: { hostname: string; port: number },
    call: { xid: number; program: number; version: number; procedure: number },
  ): string {
    return `${remote.hostname}|${remote.port}|${call.xid}|${call.program}|${call.version}|${call.procedure}`;
  }

  /** Entries held, in progress or done. */
  get size(): number {
    return this.#map.size;
  }

  /**
   * Looks a call up at time `now` (ms). `undefined`: not seen, now recorded
   * as in progress, so run it; `null`: the original is still running, so
   * drop the retransmission; bytes: the reply to send again.
   */
  begin(key: string, now: number): Uint8Array | null | undefined {
    this.#expire(now);
    const hit = this.#map.get(key);
    if (hit !== undefined) return hit.reply;
    this.#map.set(key, { reply: null, at: now });
    while (this.#map.size > this.#entries) {
      this.#map.delete(this.#map.keys().next().value!);
    }
    return undefined;
  }

  /** Records the reply of a call that {@link begin} let through. */
  finish(key: string, reply: Uint8Array): void {
    const e = this.#map.get(key);
    if (e !== undefined) e.reply = reply;
  }

  /** Forgets a call (its reply could not be produced). */
  forget(key: string): void {
    this.#map.delete(key);
  }

  #expire(now: number): void {
    for (const [k, e] of this.#map) {
      if (now - e.at < this.#ttl) return;
      this.#map.delete(k);
    }
  }
}
