/**
 * The two places a {@link ChunkStore} keeps its chunks (see store/_chunks.ts
 * for why there are two): `MapChunks`, one array per allocated chunk, and
 * `FlatChunks`, one contiguous buffer with a state byte per chunk, which is
 * what a store shared between workers through `SharedArrayBuffer`s needs.
 *
 * @module
 */

import {
  type ChunkBacking,
  type ChunkState,
  DATA,
  HOLE,
  ZERO,
} from "./_chunks.ts";
import type { StorageOffer } from "./_offers.ts";

/**
 * Freed chunk storage that the {@link MapChunks} sharing it may keep for
 * reuse, in two budgets.
 *
 * - A freed chunk small enough (`largest`) is kept for the same chunk of the
 *   same store, whether or not a reader was lent a view of it, within `max`
 *   bytes. A file rewritten as truncate-then-write (what NFS clients send
 *   for `writeFile`) would otherwise drop its chunk and allocate a new one
 *   each time: garbage that lives long enough to reach V8's old generation,
 *   and an RSS that grows with the write rate (measured: ~15 MiB of a
 *   64-client load's peak).
 * - A whole chunk's storage that was never lent (no view of it left the
 *   store: written, then freed unread) goes to a free list shared by every
 *   store, within `pooled` bytes, for any chunk's next whole allocation. A
 *   fresh 1 MiB array costs 256 page faults as the copy first touches it,
 *   and its external memory makes V8 run a full garbage collection every
 *   64 MiB allocated: together most of MemFs's CPU per MiB written into a
 *   file truncated first (measured: bench/RESULTS.md, issue 16, evening).
 *   No reader can see reused storage: none was given a view of it.
 * - Adopted storage (a chunk that is an NFS WRITE's record, kept rather
 *   than copied: store/_offers.ts) that no reader was lent goes, once its
 *   call is over, to a list of its own within the same `pooled` budget, and
 *   each adoption gives one back to the record pool it came from: after a
 *   file is truncated and written again, the pool serves each WRITE from
 *   storage the truncation freed, as the free list serves `put`.
 */
export class ChunkSpares {
  /** Bytes kept for their own chunk, summed over the stores. */
  bytes = 0;
  /** Bytes that may be kept for their own chunk. */
  readonly max: number;
  /** Largest chunk storage kept for its own chunk. */
  readonly largest: number;
  /** Bytes that the shared free list may hold. */
  readonly pooled: number;
  /** Storage never lent, by length. */
  readonly #free = new Map<number, Uint8Array[]>();
  #freeBytes = 0;
  /** Storage of which a view left its store: never listed. */
  readonly #lent = new WeakSet<Uint8Array>();
  /** Adopted storage no reader saw, whose call is over. */
  readonly #adopted: StorageOffer[] = [];

  constructor(max = 4 << 20, largest = 64 << 10, pooled = 0) {
    this.max = max;
    this.largest = largest;
    this.pooled = pooled;
  }

  /** Bytes on the shared free list. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** Notes that a view of `storage` left its store. */
  lend(storage: Uint8Array): void {
    this.#lent.add(storage);
  }

  /** Whether a view of `storage` left its store (known only with a free list). */
  lent(storage: Uint8Array): boolean {
    return this.pooled === 0 || this.#lent.has(storage);
  }

  /**
   * Takes adopted storage a store let go of, which no reader was lent: kept
   * for {@link ChunkSpares.swap} when its call is over and it fits the
   * budget, else released to its owner (at once, or when its call ends).
   */
  keepAdopted(offer: StorageOffer): void {
    if (!offer.closed || this.#freeBytes + offer.bytes > this.pooled) {
      offer.release();
      return;
    }
    this.#adopted.push(offer);
    this.#freeBytes += offer.bytes;
  }

  /**
   * A store adopted a record's storage: gives kept adopted storage, if
   * any, back to its record pool in exchange, for the next record.
   */
  swap(): void {
    const offer = this.#adopted.pop();
    if (offer === undefined) return;
    this.#freeBytes -= offer.bytes;
    offer.release();
  }

  /**
   * Takes freed `storage` onto the free list if no view of it was lent and
   * it fits the budget; false when it did not.
   */
  give(storage: Uint8Array): boolean {
    const n = storage.length;
    if (this.#freeBytes + n > this.pooled || this.#lent.has(storage)) {
      return false;
    }
    let list = this.#free.get(n);
    if (list === undefined) this.#free.set(n, list = []);
    list.push(storage);
    this.#freeBytes += n;
    return true;
  }

  /** Storage of exactly `length` bytes from the free list (stale contents), if any. */
  take(length: number): Uint8Array | undefined {
    const s = this.#free.get(length)?.pop();
    if (s !== undefined) this.#freeBytes -= length;
    return s;
  }
}

/** A chunk's adopted storage: its offer, and whether a reader was lent a view. */
interface Adopted {
  readonly offer: StorageOffer;
  lent: boolean;
}

/**
 * Chunks in a `Map`, each its own `Uint8Array`, allocated on first write and
 * dropped when freed. With `minChunk` below `chunkSize` a chunk starts at
 * `minChunk` bytes and doubles as writes reach further into it.
 */
export class MapChunks implements ChunkBacking {
  /** Bytes per chunk. */
  readonly chunkSize: number;
  readonly #min: number;
  readonly #chunks = new Map<number, Uint8Array>();
  // Allocated chunks known to hold only zeroes; made on first use.
  #zero: Set<number> | undefined;
  #allocated = 0;
  readonly #spares: ChunkSpares | undefined;
  /**
   * The storage chunk `#spareIndex` had when it was last freed, kept for
   * that chunk only: reused for the same offsets, it may show through an
   * old view only as a later write to that range would.
   */
  #spare: Uint8Array | undefined;
  #spareIndex = -1;
  /**
   * Chunks whose storage is adopted (see `adopt`): its offer, and whether
   * a view of it was lent (then it is never given back).
   */
  readonly #adopted = new Map<number, Adopted>();

  /**
   * @param chunkSize Bytes per chunk, a power of two.
   * @param minChunk Smallest storage of a chunk, a power of two (default: `chunkSize`).
   * @param spares Budget for keeping one freed chunk's storage for reuse
   *   (default: none kept).
   */
  constructor(
    chunkSize: number,
    minChunk: number = chunkSize,
    spares?: ChunkSpares,
  ) {
    this.chunkSize = chunkSize;
    this.#min = Math.min(minChunk, chunkSize);
    this.#spares = spares;
  }

  /** Gives the kept storage, if any, back to the budget. */
  dropSpare(): void {
    if (this.#spare === undefined) return;
    this.#spares!.bytes -= this.#spare.length;
    this.#spare = undefined;
    this.#spareIndex = -1;
  }

  /** Keeps `old`, the storage of chunk `i` just freed, if the budget allows. */
  #keep(i: number, old: Uint8Array): void {
    const sp = this.#spares;
    if (sp === undefined || old.length > sp.largest) return;
    this.dropSpare();
    if (sp.bytes + old.length > sp.max) return;
    sp.bytes += old.length;
    this.#spare = old;
    this.#spareIndex = i;
  }

  /**
   * New zeroed storage of at least `size` bytes for chunk `i`: the spare
   * if it fits, else for a whole chunk from the shared free list
   * (zero-filled: warm memory costs less to clear than fresh memory to
   * fault in).
   */
  #fresh(i: number, size: number): Uint8Array {
    const spare = this.#spare;
    if (
      spare !== undefined && this.#spareIndex === i &&
      spare.length >= size && spare.length <= 2 * size
    ) {
      this.dropSpare();
      return spare.fill(0);
    }
    const listed = size === this.chunkSize
      ? this.#spares?.take(size)
      : undefined;
    return listed?.fill(0) ?? new Uint8Array(size);
  }

  /**
   * A view of chunk `i`'s storage is leaving the store (a read handed out
   * without copying): the storage is never put on the shared free list.
   */
  lend(i: number): void {
    const a = this.#adopted.get(i);
    if (a !== undefined) {
      a.lent = true;
      return;
    }
    const sp = this.#spares;
    // Without a free list nothing is reused elsewhere: nothing to note.
    if (sp === undefined || sp.pooled === 0) return;
    const s = this.#chunks.get(i);
    if (s !== undefined) sp.lend(s);
  }

  /** Bytes of storage allocated. */
  get allocated(): number {
    return this.#allocated;
  }

  /** Never contiguous. */
  get flat(): undefined {
    return undefined;
  }

  /** Storage bytes of chunk `i`. */
  length(i: number): number {
    return this.#chunks.get(i)?.length ?? 0;
  }

  /** Storage of chunk `i`. */
  get(i: number): Uint8Array | undefined {
    return this.#chunks.get(i);
  }

  /** State of chunk `i`. */
  state(i: number): ChunkState {
    if (!this.#chunks.has(i)) return HOLE;
    return this.#zero?.has(i) ? ZERO : DATA;
  }

  /** Storage of chunk `i` of at least `need` bytes; grows into a new array. */
  ensure(i: number, need: number): Uint8Array {
    const old = this.#chunks.get(i);
    if (this.#zero !== undefined && this.#zero.size > 0) this.#zero.delete(i);
    if (old !== undefined && old.length >= need) return old;
    const grown = old === undefined
      ? this.#fresh(i, this.sizeFor(i, need))
      : new Uint8Array(this.sizeFor(i, need));
    if (old !== undefined) grown.set(old);
    this.#allocated += grown.length - (old?.length ?? 0);
    this.#chunks.set(i, grown);
    return grown;
  }

  /** Allocates hole `i` as a copy of a whole chunk. */
  put(i: number, bytes: Uint8Array): void {
    // The constructor copies into storage it does not zero first; `slice`
    // zero-fills, then copies (a 1 MiB memset per chunk, measured).
    const reused = this.#spares?.take(bytes.length);
    if (reused !== undefined) reused.set(bytes);
    this.#chunks.set(i, reused ?? new Uint8Array(bytes));
    this.#allocated += bytes.length;
  }

  /** The power of two from `minChunk` to `chunkSize` that holds `need` bytes. */
  sizeFor(_i: number, need: number): number {
    let n = this.#min;
    while (n < need) n *= 2;
    return n;
  }

  /** Drops chunk `i`. */
  free(i: number): void {
    const old = this.#chunks.get(i);
    if (old === undefined) return;
    this.#chunks.delete(i);
    this.#zero?.delete(i);
    const a = this.#adopted.get(i);
    if (a !== undefined) {
      this.#letGo(i, a);
      return;
    }
    this.#allocated -= old.length;
    // Only whole chunks are listed: smaller storage is cheap to allocate,
    // and a tree of small files removed would fill the list with pieces.
    const listed = old.length === this.chunkSize && this.#spares?.give(old);
    if (!listed) this.#keep(i, old);
  }

  /** Marks allocated chunk `i` as DATA or ZERO. */
  mark(i: number, state: typeof DATA | typeof ZERO): void {
    if (state === ZERO) (this.#zero ??= new Set()).add(i);
    else this.#zero?.delete(i);
  }

  /** Zeroes chunk `i` from `keep` on, shrinking it into a new array when smaller storage holds `keep`. */
  cut(i: number, keep: number): void {
    const old = this.#chunks.get(i);
    if (old === undefined || keep >= old.length) return;
    const len = this.sizeFor(i, keep);
    const next = len < old.length ? old.slice(0, len) : old;
    next.fill(0, keep);
    const a = this.#adopted.get(i);
    if (a !== undefined && next !== old) this.#letGo(i, a);
    else this.#allocated -= old.length;
    this.#allocated += next.length;
    this.#chunks.set(i, next);
  }

  /**
   * Bytes of storage adopting `bytes` of storage as chunk `i` would add
   * (negative frees), or undefined when chunk `i` is better written in
   * place: its storage was lent to a reader (it cannot be reused, so the
   * record pool would have to allocate a new record for it), or it is
   * plain storage whose loans are not known.
   */
  adoptGrowth(i: number, bytes: number): number | undefined {
    const a = this.#adopted.get(i);
    if (a !== undefined) return a.lent ? undefined : bytes - a.offer.bytes;
    const old = this.#chunks.get(i);
    if (old === undefined) return bytes;
    const sp = this.#spares;
    if (sp === undefined || sp.lent(old)) return undefined;
    return bytes - old.length;
  }

  /**
   * Makes `storage`, a whole chunk's view of storage the caller took from
   * `offer`, chunk `i`'s storage (see `adoptGrowth`); what chunk `i` had
   * is freed, and kept adopted storage goes back to its record pool.
   */
  adopt(i: number, storage: Uint8Array, offer: StorageOffer): void {
    this.free(i);
    this.#chunks.set(i, storage);
    this.#adopted.set(i, { offer, lent: false });
    this.#allocated += offer.bytes;
    this.#spares?.swap();
  }

  /** Chunk `i`'s adopted storage leaves it: back to its owner unless lent. */
  #letGo(i: number, a: Adopted): void {
    this.#adopted.delete(i);
    this.#allocated -= a.offer.bytes;
    if (a.lent) return; // a reader may still hold a view: the collector's
    if (this.#spares === undefined) a.offer.release();
    else this.#spares.keepAdopted(a.offer);
  }

  /** Allocated chunk numbers from `first` to `last`, ascending. */
  allocatedIn(first: number, last: number): number[] {
    const chunks = this.#chunks;
    const out: number[] = [];
    if (last - first < 4 * chunks.size + 64) {
      for (let i = first; i <= last; i++) if (chunks.has(i)) out.push(i);
      return out;
    }
    // Sparse: walk the allocated chunks instead of every number in the range.
    for (const i of chunks.keys()) if (i >= first && i <= last) out.push(i);
    return out.sort((a, b) => a - b);
  }
}

/**
 * Chunks laid out in one buffer, chunk `i` at `i * chunkSize` (the last one
 * may be shorter), with one state byte per chunk written through `Atomics`
 * so that threads sharing both buffers agree. Holes are zero in the buffer
 * and never touched; a freed chunk is zero-filled.
 */
export class FlatChunks implements ChunkBacking {
  /** Bytes per chunk. */
  readonly chunkSize: number;
  /** The whole buffer. */
  readonly flat: Uint8Array;
  readonly #state: Uint8Array;
  readonly #count: number;

  /**
   * @param memory The chunks' bytes (zero where the state says HOLE).
   * @param state One byte per chunk (`ceil(memory.length / chunkSize)`), HOLE, DATA or ZERO.
   * @param chunkSize Bytes per chunk.
   */
  constructor(memory: Uint8Array, state: Uint8Array, chunkSize: number) {
    this.flat = memory;
    this.#state = state;
    this.chunkSize = chunkSize;
    this.#count = Math.ceil(memory.length / chunkSize);
    if (state.length < this.#count) {
      throw new RangeError(
        `State array too short: ${state.length} bytes for ${this.#count} chunks`,
      );
    }
  }

  /** Bytes of storage allocated: a scan of the state bytes. */
  get allocated(): number {
    let n = 0;
    for (let i = 0; i < this.#count; i++) n += this.length(i);
    return n;
  }

  /** Storage bytes of chunk `i` (0 for a hole). */
  length(i: number): number {
    if (i >= this.#count || this.#state[i] === HOLE) return 0;
    const base = i * this.chunkSize;
    return Math.min(this.chunkSize, this.flat.length - base);
  }

  /** Storage of chunk `i`, a view of the buffer. */
  get(i: number): Uint8Array | undefined {
    const len = this.length(i);
    if (len === 0) return undefined;
    const base = i * this.chunkSize;
    return this.flat.subarray(base, base + len);
  }

  /** State of chunk `i`. */
  state(i: number): ChunkState {
    return i < this.#count ? this.#state[i] as ChunkState : HOLE;
  }

  /** Marks chunk `i` as DATA and returns its storage (already zero if it was a hole). */
  ensure(i: number, need: number): Uint8Array {
    if (i >= this.#count || need > this.sizeFor(i, need)) {
      throw new RangeError(`Chunk out of range: ${i}`);
    }
    if (this.#state[i] !== DATA) Atomics.store(this.#state, i, DATA);
    const base = i * this.chunkSize;
    return this.flat.subarray(base, base + this.sizeFor(i, need));
  }

  /** Every chunk has its full storage from the start. */
  sizeFor(i: number, _need: number): number {
    return Math.min(this.chunkSize, this.flat.length - i * this.chunkSize);
  }

  /** Zero-fills chunk `i` (unless a hole) and makes it a hole. */
  free(i: number): void {
    const len = this.length(i);
    if (len === 0) return;
    const base = i * this.chunkSize;
    this.flat.fill(0, base, base + len);
    Atomics.store(this.#state, i, HOLE);
  }

  /** Sets the state byte of chunk `i`. */
  mark(i: number, state: typeof DATA | typeof ZERO): void {
    Atomics.store(this.#state, i, state);
  }

  /** Zero-fills chunk `i` from `keep` on. */
  cut(i: number, keep: number): void {
    const len = this.length(i);
    const base = i * this.chunkSize;
    if (keep < len) this.flat.fill(0, base + keep, base + len);
  }

  /** Allocated chunk numbers from `first` to `last`, ascending (a scan). */
  allocatedIn(first: number, last: number): number[] {
    const out: number[] = [];
    const stop = Math.min(last, this.#count - 1);
    for (let i = first; i <= stop; i++) {
      if (this.#state[i] !== HOLE) out.push(i);
    }
    return out;
  }
}
