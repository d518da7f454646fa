/**
 * The duplicate-request cache: replies of non-idempotent procedures kept
 * for a while, so that a retransmitted call gets the original reply instead
 * of running twice. A REMOVE that succeeded but whose reply was lost must
 * not answer NOENT on the retry.
 *
 * A call is identified as knfsd identifies it: client address (not its
 * port: a client that lost its connection resends from a new one), xid,
 * program, version, procedure, and the length and a checksum of the
 * argument bytes (so an xid a client reuses for other arguments runs).
 *
 * @example A retransmitted call: dropped while running, then replayed
 * ```ts
 * import { DuplicateRequestCache } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const drc = new DuplicateRequestCache({ entries: 16, ttlMs: 60_000 });
 * const args = new Uint8Array([0, 0, 0, 1]);
 * const call = { xid: 1, program: 100003, version: 3, procedure: 12, args };
 * const key = DuplicateRequestCache.key({ hostname: "127.0.0.1", port: 900 }, call);
 * assert.equal(drc.begin(key, 0), undefined); // new: run it
 * assert.equal(drc.begin(key, 1), null); // still running: drop the retry
 * const reply = new Uint8Array([1]);
 * drc.finish(key, reply);
 * assert.equal(drc.begin(key, 2), reply); // done: send the same reply again
 * // The same call resent from another port of the same host is the same call.
 * const again = DuplicateRequestCache.key({ hostname: "127.0.0.1", port: 901 }, call);
 * assert.equal(drc.begin(again, 3), reply);
 * ```
 *
 * @module
 */

/**
 * A call's identity as {@link DuplicateRequestCache.id} gives it: the
 * fields of {@link DuplicateRequestCache.key}, unjoined. The server files
 * its calls under these rather than strings: an entry is found by its xid,
 * a number, and compared field by field, so no string is built and hashed
 * per call.
 */
export interface DrcId {
  /** The client's address (its port is not part of the identity). */
  readonly host: string;
  /** The transaction id. */
  readonly xid: number;
  /** Program number. */
  readonly program: number;
  /** Program version. */
  readonly version: number;
  /** Procedure number. */
  readonly procedure: number;
  /** The argument bytes' length. */
  readonly length: number;
  /** The argument bytes' FNV-1a checksum. */
  readonly sum: number;
}

/**
 * What a {@link DuplicateRequestCache} files a call under: a string (from
 * {@link DuplicateRequestCache.key}, or any) or a {@link DrcId}. A string
 * and an id never name the same entry, even for the same call.
 */
export type DrcKey = string | DrcId;

interface Entry {
  reply: Uint8Array | null;
  at: number;
  /** Who began the call (a connection id), while it runs. */
  origin: number;
  /** Retransmissions from other origins waiting for the reply. */
  waiters: ((reply: Uint8Array | undefined) => void)[] | null;
  /** What the entry is filed under. */
  key: DrcKey;
  /** The next entry filed under an id of the same xid. */
  next: Entry | null;
  /**
   * The reply is a copy in storage of the cache's own that nobody else
   * was given (see {@link DuplicateRequestCache.finishCopy}): it may hold
   * the next reply once the entry goes.
   */
  own: boolean;
  /** The entry begun before this one, in the bounds' order. */
  older: Entry | null;
  /** The entry begun after this one. */
  newer: Entry | null;
}

/** Copies of replies up to this size go to storage the cache reuses. */
const REUSE_MAX = 2048;
/** The sizes of that storage are multiples of this. */
const REUSE_STEP = 64;
/** Most bytes of storage kept for reuse, outside the replies' bound. */
const SPARE_BYTES = 64 * 1024;

/** Options of {@link DuplicateRequestCache}. */
export interface DrcOptions {
  /** Most entries kept; the oldest go first. Default 1024. */
  entries?: number;
  /** How long a reply is kept (ms). Default 120000. */
  ttlMs?: number;
  /**
   * Most reply bytes kept, summed; the oldest entries go first. Default
   * 4 MiB: 1024 NFS replies of a few hundred bytes fit many times over,
   * and a program whose cached replies are large cannot make the cache
   * hold 1024 of them.
   */
  maxBytes?: number;
}

/** What identifies a call in {@link DuplicateRequestCache.key}. */
export interface DrcCall {
  /** The transaction id. */
  xid: number;
  /** Program number. */
  program: number;
  /** Program version. */
  version: number;
  /** Procedure number. */
  procedure: number;
  /** The argument bytes (after the verifier); none means empty. */
  args?: Uint8Array;
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
 *
 * @example Calls filed by id, as the server files them
 * ```ts
 * import { DuplicateRequestCache } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const drc = new DuplicateRequestCache();
 * const call = { xid: 7, program: 100003, version: 3, procedure: 12 };
 * const id = DuplicateRequestCache.id({ hostname: "::1", port: 900 }, call);
 * assert.equal(drc.begin(id, 0), undefined);
 * const reply = new Uint8Array([1]);
 * drc.finish(id, reply);
 * // An equal id (another object, another port) finds the same entry.
 * const again = DuplicateRequestCache.id({ hostname: "::1", port: 901 }, call);
 * assert.equal(drc.begin(again, 1), reply);
 * // Another procedure with the same xid is another call.
 * const other = DuplicateRequestCache.id({ hostname: "::1" }, { ...call, procedure: 13 });
 * assert.equal(drc.begin(other, 2), undefined);
 * ```
 */
export class DuplicateRequestCache {
  /**
   * Every entry, oldest first (the bounds' order), as a list through the
   * entries themselves: a Map keyed by entry cost a hash, an iterator
   * result per eviction and an entry in a table per call.
   */
  #oldest: Entry | null = null;
  #newest: Entry | null = null;
  #size = 0;
  readonly #max: number;
  /** Entries filed under strings. */
  readonly #strings = new Map<string, Entry>();
  /** Entries filed under ids, by xid, chained through `next`. */
  readonly #ids = new Map<number, Entry>();
  readonly #ttl: number;
  readonly #maxBytes: number;
  /** Reply bytes held. */
  #bytes = 0;
  /**
   * Storage of replies that left the cache, by size in REUSE_STEPs: a
   * reply copied into an array of its own costs an ArrayBuffer per cached
   * call (about 0.4 µs in Deno, however small), a view of reused storage
   * a tenth of that.
   */
  readonly #spares: ArrayBuffer[][] = [];
  #spareBytes = 0;

  /**
   * Creates an empty cache.
   *
   * @param options Size, bytes and age bounds.
   */
  constructor(options: DrcOptions = {}) {
    this.#max = Math.max(1, options.entries ?? 1024);
    this.#ttl = Math.max(0, options.ttlMs ?? 120_000);
    this.#maxBytes = Math.max(0, options.maxBytes ?? 4 * 1024 * 1024);
  }

  /**
   * The identity of a call: client address (its port is ignored), xid,
   * program, version, procedure, and the arguments' length and FNV-1a
   * checksum.
   */
  static id(remote: { hostname: string; port?: number }, call: DrcCall): DrcId {
    const args = call.args ?? NO_ARGS;
    return {
      host: remote.hostname,
      xid: call.xid,
      program: call.program,
      version: call.version,
      procedure: call.procedure,
      length: args.byteLength,
      sum: fnv1a(args),
    };
  }

  /** {@link DuplicateRequestCache.id} as one string. */
  static key(
    remote: { hostname: string; port?: number },
    call: DrcCall,
  ): string {
    const i = DuplicateRequestCache.id(remote, call);
    return `${i.host}|${i.xid}|${i.program}|${i.version}|${i.procedure}|${i.length}|${i.sum}`;
  }

  /** Entries held, in progress or done. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of the replies held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Bytes of storage kept to copy the next replies into (see
   * {@link finishCopy}): at most 64 KiB, beside the replies' `maxBytes`.
   */
  get spareBytes(): number {
    return this.#spareBytes;
  }

  /**
   * Looks a call up at time `now` (ms). `undefined`: not seen, now recorded
   * as in progress (begun by `origin`, a connection id), so run it; `null`:
   * the original is still running, so drop the retransmission (or
   * {@link follow} it); bytes: the reply to send again.
   */
  begin(key: DrcKey, now: number, origin = 0): Uint8Array | null | undefined {
    this.#expire(now);
    const hit = this.#find(key);
    if (hit !== undefined) {
      // The caller sends these bytes: they are no longer ours to reuse.
      if (hit.reply !== null) hit.own = false;
      return hit.reply;
    }
    const e: Entry = {
      reply: null,
      at: now,
      origin,
      waiters: null,
      key,
      next: null,
      own: false,
      older: this.#newest,
      newer: null,
    };
    if (typeof key === "string") this.#strings.set(key, e);
    else {
      e.next = this.#ids.get(key.xid) ?? null;
      this.#ids.set(key.xid, e);
    }
    // Past `entries`, the oldest entry is evicted (and its followers told).
    if (this.#newest === null) this.#oldest = e;
    else this.#newest.newer = e;
    this.#newest = e;
    if (++this.#size > this.#max) this.#evict(this.#oldest!);
    return undefined;
  }

  /**
   * For a retransmission of a call still running: when it came from
   * another `origin` than the original (a new connection, which the
   * original's reply will not reach), a promise of the reply, resolving to
   * `undefined` if the call is forgotten or evicted first; `undefined` when
   * the origin is the same (the original's reply answers it) or the call is
   * not running.
   */
  follow(
    key: DrcKey,
    origin: number,
  ): Promise<Uint8Array | undefined> | undefined {
    const e = this.#find(key);
    if (e === undefined || e.reply !== null || e.origin === origin) {
      return undefined;
    }
    const { promise, resolve } = Promise.withResolvers<
      Uint8Array | undefined
    >();
    (e.waiters ??= []).push(resolve);
    return promise;
  }

  /**
   * Records the reply of a call that {@link begin} let through; then, while
   * the replies held exceed `maxBytes`, drops the oldest entries (this one
   * too, when it is larger than `maxBytes` alone).
   */
  finish(key: DrcKey, reply: Uint8Array): void {
    const e = this.#find(key);
    if (e !== undefined) this.#finish(e, reply, false);
  }

  /**
   * As {@link finish}, with a copy of the reply `head` followed by `tail`
   * (bytes the caller goes on using): the copy is made in storage the
   * cache reuses once the entry goes, unless it was handed out by
   * {@link begin} or {@link follow} meanwhile.
   */
  finishCopy(
    key: DrcKey,
    head: Uint8Array,
    tail: Uint8Array | null = null,
  ): void {
    const e = this.#find(key);
    if (e === undefined) return;
    const n = head.byteLength + (tail === null ? 0 : tail.byteLength);
    const copy = this.#storage(n);
    copy.set(head);
    if (tail !== null) copy.set(tail, head.byteLength);
    this.#finish(e, copy, n <= REUSE_MAX);
  }

  #finish(e: Entry, reply: Uint8Array, own: boolean): void {
    this.#bytes += reply.byteLength - (e.reply?.byteLength ?? 0);
    const replaced = e.own ? e.reply : null;
    e.reply = reply;
    e.own = own;
    if (replaced !== null) this.#spare(replaced);
    const waiters = e.waiters;
    e.waiters = null;
    if (waiters !== null) {
      e.own = false; // the followers send these bytes
      for (const w of waiters) w(reply);
    }
    while (this.#bytes > this.#maxBytes && this.#oldest !== null) {
      this.#evict(this.#oldest);
    }
  }

  /** `n` bytes to copy a reply into: reused storage when there is some. */
  #storage(n: number): Uint8Array {
    if (n > REUSE_MAX) return new Uint8Array(n);
    const steps = Math.max(1, Math.ceil(n / REUSE_STEP));
    const buf = this.#spares[steps]?.pop();
    if (buf === undefined) {
      return new Uint8Array(new ArrayBuffer(steps * REUSE_STEP), 0, n);
    }
    this.#spareBytes -= buf.byteLength;
    return new Uint8Array(buf, 0, n);
  }

  /**
   * Keeps the storage of a reply of ours that left the cache. Past
   * SPARE_BYTES, storage of the size holding the most bytes goes first:
   * when the replies change size (a run of REMOVEs after a run of
   * CREATEs), the old size's storage must not crowd out the new one's.
   */
  #spare(reply: Uint8Array): void {
    const buf = reply.buffer as ArrayBuffer;
    const size = buf.byteLength;
    const steps = size / REUSE_STEP;
    const spares = this.#spares;
    while (this.#spareBytes + size > SPARE_BYTES) {
      let most = 0;
      for (let i = 1; i < spares.length; i++) {
        const n = (spares[i]?.length ?? 0) * i;
        if (i !== steps && n > (spares[most]?.length ?? 0) * most) most = i;
      }
      if (most === 0) return;
      spares[most].pop();
      this.#spareBytes -= most * REUSE_STEP;
    }
    (spares[steps] ??= []).push(buf);
    this.#spareBytes += size;
  }

  /** Forgets a call (its reply could not be produced). */
  forget(key: DrcKey): void {
    const e = this.#find(key);
    if (e === undefined) return;
    this.#evict(e);
  }

  /** The entry filed under `key`. */
  #find(key: DrcKey): Entry | undefined {
    if (typeof key === "string") return this.#strings.get(key);
    for (
      let e = this.#ids.get(key.xid);
      e !== undefined;
      e = e.next ?? undefined
    ) {
      if (sameCall(e.key as DrcId, key)) return e;
    }
    return undefined;
  }

  /**
   * Unfiles an entry that has left the bounds' order (forgotten, evicted or
   * expired), accounts for it and tells whoever follows it that no reply
   * will come.
   */
  #release(e: Entry): void {
    const key = e.key;
    if (typeof key === "string") this.#strings.delete(key);
    else {
      let head = this.#ids.get(key.xid)!;
      if (head === e) {
        if (e.next === null) this.#ids.delete(key.xid);
        else this.#ids.set(key.xid, e.next);
      } else {
        while (head.next !== e) head = head.next!;
        head.next = e.next;
      }
    }
    if (e.reply !== null) {
      this.#bytes -= e.reply.byteLength;
      if (e.own) this.#spare(e.reply);
      e.own = false;
    }
    const waiters = e.waiters;
    if (waiters !== null) { for (const w of waiters) w(undefined); }
  }

  /** Evicts the entries older than the TTL: they are the oldest ones. */
  #expire(now: number): void {
    for (;;) {
      const e = this.#oldest;
      if (e === null || now - e.at < this.#ttl) return;
      this.#evict(e);
    }
  }

  /** Takes `e` out of the bounds' order, then releases it. */
  #evict(e: Entry): void {
    if (e.older === null) this.#oldest = e.newer;
    else e.older.newer = e.newer;
    if (e.newer === null) this.#newest = e.older;
    else e.newer.older = e.older;
    e.older = e.newer = null;
    this.#size--;
    this.#release(e);
  }
}

const NO_ARGS = new Uint8Array(0);

/** Whether two ids name the same call. */
function sameCall(a: DrcId, b: DrcId): boolean {
  return a.xid === b.xid && a.host === b.host && a.program === b.program &&
    a.version === b.version && a.procedure === b.procedure &&
    a.length === b.length && a.sum === b.sum;
}

/** FNV-1a, 32 bits: cheap, and a retransmission is byte-identical. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.byteLength; i++) {
    h = Math.imul(h ^ bytes[i], 0x01000193);
  }
  return h >>> 0;
}
