/**
 * One sparse chunk store for the in-memory back ends: MemFs file data
 * (vfs/memfs/_data.ts), `MemoryDevice` and `SharedMemoryDevice` (nbd/). It lives in its own folder because both vfs/ and nbd/ use it and
 * it belongs to neither.
 *
 * A store is a sparse byte array cut into chunks of `chunkSize` bytes. Chunks
 * never written are holes and read as zeros; zeroing a whole chunk frees it.
 * The store does not own a length: its owner (a file, a device) keeps the
 * size and clips ranges to it, and passes it where a rule depends on it
 * (a chunk cut by the end of the file or device counts as whole once
 * everything up to that end is zeroed).
 *
 * Where the chunks live is a {@link ChunkBacking}, in
 * store/_chunk_backings.ts:
 * - `MapChunks`: one `Uint8Array` per allocated chunk in a `Map`, optionally
 *   starting small and doubling (MemFs: small files stay small). Freed memory
 *   goes back to the garbage collector.
 * - `FlatChunks`: one contiguous buffer with a chunk at `index * chunkSize`
 *   and a state byte per chunk. Over `SharedArrayBuffer`s this is the
 *   shared-memory device: a worker can only see buffers posted to it, so a
 *   buffer allocated after the workers started would have to be posted to
 *   each of them, asynchronously, before any could read it. Reserving the
 *   whole size once keeps every worker's view complete with no allocator to
 *   coordinate: the identity mapping needs no shared index and no lock, the
 *   state bytes are written with `Atomics`, and the operating system commits
 *   only the pages that are touched. The price: a freed chunk is zero-filled
 *   rather than handed back (a shared buffer cannot decommit pages), and the
 *   size is bounded by what one shared buffer may reserve.
 *
 * The zero-copy promise (vfs/types.ts `ReadResult`, nbd/device.ts `view`):
 * {@link ChunkStore.view} and {@link ChunkStore.bytes} return views of the
 * chunks' storage, and no backing ever reuses storage a view was taken of
 * for other offsets or another store. `MapChunks` drops freed chunks (or,
 * given `ChunkSpares`, keeps one for the same chunk's next write, and puts
 * storage no view was ever taken of on a free list for any chunk: the
 * backing is told of each view through `lend`) and grows or shrinks a chunk
 * into a new array, so an old view keeps the bytes it had; `FlatChunks`
 * reuses memory only for the same offsets. Either way a view may show a
 * later write or zeroing of its own range, as a concurrent write would, and
 * never anything else.
 *
 * The one exception to "storage is the store's own": `MapChunks` may adopt
 * a whole chunk's storage from a {@link StorageOffer} (an NFS WRITE's
 * record, store/_offers.ts) instead of copying into its own, and gives
 * such storage back to its owner when the chunk lets go of it, unless a
 * view of it was lent (then the collector takes it, as above).
 *
 * Calls never overlap within a thread (everything is synchronous); across
 * workers, `FlatChunks` gives each call the effect of its own byte copies,
 * as with any shared memory.
 *
 * @module
 */

import type { StorageOffer } from "./_offers.ts";

/** A chunk never written, or freed: reads as zeros. */
export const HOLE = 0;
/** An allocated chunk that may hold data. */
export const DATA = 1;
/** An allocated chunk known to hold only zeros (provisioned by zeroing). */
export const ZERO = 2;
/** The state of one chunk. */
export type ChunkState = typeof HOLE | typeof DATA | typeof ZERO;

/** Where a {@link ChunkStore} keeps its chunks. */
export interface ChunkBacking {
  /** Bytes per chunk. */
  readonly chunkSize: number;
  /** Bytes of storage allocated. */
  readonly allocated: number;
  /** Lets go of freed storage kept for reuse, if the backing keeps any. */
  dropSpare?(): void;
  /**
   * All chunks as one buffer (chunk `i` at `i * chunkSize`, holes zero), when
   * the backing is contiguous: reads and writes then copy in one step.
   */
  readonly flat: Uint8Array | undefined;
  /** Bytes of storage of chunk `i` (0 for a hole); bytes past it read as zeros. */
  length(i: number): number;
  /** The storage of chunk `i`, or undefined for a hole. */
  get(i: number): Uint8Array | undefined;
  /** The state of chunk `i`. */
  state(i: number): ChunkState;
  /**
   * The storage of chunk `i` holding at least `need` bytes, allocated or
   * grown (contents kept, new bytes zero); the chunk's state becomes DATA.
   */
  ensure(i: number, need: number): Uint8Array;
  /** Allocates hole `i` as a copy of `bytes`, a whole chunk (saves zero-filling). */
  put?(i: number, bytes: Uint8Array): void;
  /**
   * Bytes of storage making `bytes` of adopted storage chunk `i`'s would
   * add (negative frees), or undefined when chunk `i` should be written in
   * place instead. Absent: the backing never adopts.
   */
  adoptGrowth?(i: number, bytes: number): number | undefined;
  /** Makes `storage`, taken from `offer`, chunk `i`'s (a whole chunk). */
  adopt?(i: number, storage: Uint8Array, offer: StorageOffer): void;
  /** A view of chunk `i`'s storage leaves the store: it must never be reused elsewhere. */
  lend?(i: number): void;
  /** The storage length {@link ensure} gives chunk `i` when asked for `need` bytes. */
  sizeFor(i: number, need: number): number;
  /** Makes chunk `i` a hole. */
  free(i: number): void;
  /** Sets the state of allocated chunk `i` (DATA or ZERO). */
  mark(i: number, state: typeof DATA | typeof ZERO): void;
  /** Zeroes chunk `i` from byte `keep` on, possibly shrinking its storage. */
  cut(i: number, keep: number): void;
  /** The allocated chunks numbered `first` to `last`, ascending. */
  allocatedIn(first: number, last: number): number[];
}

/** An extent of {@link ChunkStore.extents}: a length and the flags of its state. */
export interface ChunkExtent {
  /** Bytes. */
  length: number;
  /** `flags[state]` from the table given to {@link ChunkStore.extents}. */
  flags: number;
}

// Extent flags that tell only holes (0) from allocated storage (1).
const DATA_OR_HOLE: readonly number[] = [0, 1, 1];

function push(out: ChunkExtent[], length: number, flags: number): void {
  const last = out[out.length - 1];
  if (last !== undefined && last.flags === flags) last.length += length;
  else out.push({ length, flags });
}

/** Options of {@link ChunkStore.zero}. */
export interface ZeroOptions {
  /** Keep the range allocated: whole chunks become ZERO instead of holes. */
  keep?: boolean;
  /**
   * Where the data ends (the file or device size): a chunk whose range is
   * zeroed from its start up to here counts as whole. Default: no end.
   */
  size?: number;
}

/** A sparse byte array over a {@link ChunkBacking}. */
export class ChunkStore {
  /** Bytes per chunk. */
  readonly chunkSize: number;
  readonly #b: ChunkBacking;

  /** A store over `backing`; what it holds already is kept. */
  constructor(backing: ChunkBacking) {
    this.#b = backing;
    this.chunkSize = backing.chunkSize;
  }

  /** Bytes of storage allocated. */
  get allocated(): number {
    return this.#b.allocated;
  }

  /** Lets go of freed storage the backing keeps for reuse (see `ChunkSpares`). */
  dropSpare(): void {
    this.#b.dropSpare?.();
  }

  /** Copies `[offset, offset + into.length)` into `into`; holes read as zeros. */
  read(offset: number, into: Uint8Array): void {
    const b = this.#b;
    const flat = b.flat;
    if (flat !== undefined) {
      const src = flat.subarray(offset, offset + into.length);
      into.set(src);
      if (src.length < into.length) into.fill(0, src.length);
      return;
    }
    const c = this.chunkSize;
    const end = into.length;
    let pos = offset;
    let at = 0;
    while (at < end) {
      const i = Math.floor(pos / c);
      const within = pos - i * c;
      const n = Math.min(c - within, end - at);
      const s = b.get(i);
      const have = s === undefined ? 0 : Math.min(n, s.length - within);
      if (have > 0) into.set(s!.subarray(within, within + have), at);
      if (have < n) into.fill(0, at + Math.max(have, 0), at + n);
      at += n;
      pos += n;
    }
  }

  /**
   * The bytes of a range: a view of the storage when the range lies within
   * one chunk's storage (or the backing is flat), else a new copy.
   */
  bytes(offset: number, length: number): Uint8Array {
    // MemFs's read path, written out rather than through `view` (one call
    // fewer; the measured difference was within this machine's noise).
    const b = this.#b;
    const flat = b.flat;
    if (flat !== undefined) return flat.subarray(offset, offset + length);
    const c = this.chunkSize;
    const i = Math.floor(offset / c);
    const within = offset - i * c;
    const stop = within + length;
    if (stop <= c) {
      const s = b.get(i);
      if (s !== undefined && s.length >= stop) {
        b.lend?.(i);
        return s.subarray(within, stop);
      }
    }
    return this.#copy(offset, length);
  }

  #copy(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.read(offset, out);
    return out;
  }

  /**
   * The storage of a range as one view, or undefined when it is not one
   * piece of storage (it spans chunks, or for reading, touches a hole).
   * With `write`, the range is allocated and marked DATA first.
   */
  view(
    offset: number,
    length: number,
    write = false,
  ): Uint8Array | undefined {
    const b = this.#b;
    const c = this.chunkSize;
    const flat = b.flat;
    if (flat !== undefined) {
      if (write && length > 0) this.#markData(offset, offset + length);
      return flat.subarray(offset, offset + length);
    }
    const i = Math.floor(offset / c);
    const within = offset - i * c;
    const stop = within + length;
    if (stop > c) return undefined;
    const s = write ? b.ensure(i, stop) : b.get(i);
    if (s === undefined || s.length < stop) return undefined;
    b.lend?.(i);
    return s.subarray(within, stop);
  }

  /** Copies `data` in at `offset`, allocating chunks as needed. */
  write(offset: number, data: Uint8Array): void {
    const b = this.#b;
    const end = offset + data.length;
    const flat = b.flat;
    if (flat !== undefined) {
      flat.set(data, offset);
      if (end > offset) this.#markData(offset, end);
      return;
    }
    const c = this.chunkSize;
    let pos = offset;
    while (pos < end) {
      const i = Math.floor(pos / c);
      const base = i * c;
      const stop = Math.min(end, base + c);
      const part = stop - pos === data.length
        ? data
        : data.subarray(pos - offset, stop - offset);
      if (stop - base === c && pos === base && b.put && b.length(i) === 0) {
        b.put(i, part); // a whole new chunk: one copy, no zero fill
      } else {
        b.ensure(i, stop - base).set(part, pos - base);
      }
      pos = stop;
    }
  }

  /**
   * Bytes of storage {@link ChunkStore.adopt} of `offer`'s storage as the
   * chunk at `offset` would add (negative frees), or undefined when it
   * would not: the backing never adopts, `offset` is not a chunk's start,
   * or that chunk is better written in place (see `MapChunks`).
   */
  adoptGrowth(offset: number, offer: StorageOffer): number | undefined {
    const b = this.#b;
    const c = this.chunkSize;
    if (b.adoptGrowth === undefined || offset % c !== 0) return undefined;
    return b.adoptGrowth(offset / c, offer.bytes);
  }

  /**
   * Keeps `data` as the whole chunk at `offset` instead of copying it: its
   * storage, which the caller took from `offer`, becomes the chunk's (see
   * {@link ChunkStore.adoptGrowth}, which must have allowed it).
   */
  adopt(offset: number, data: Uint8Array, offer: StorageOffer): void {
    const c = this.chunkSize;
    const adopt = this.#b.adopt;
    if (adopt === undefined || data.length !== c || offset % c !== 0) {
      throw new RangeError(
        `Not a whole chunk to adopt: ${data.length} bytes at ${offset}`,
      );
    }
    adopt.call(this.#b, offset / c, data, offer);
  }

  #markData(offset: number, end: number): void {
    const b = this.#b;
    const c = this.chunkSize;
    const last = Math.floor((end - 1) / c);
    for (let i = Math.floor(offset / c); i <= last; i++) {
      if (b.state(i) !== DATA) b.mark(i, DATA);
    }
  }

  /** Allocates storage for `[offset, end)` without changing what it reads as. */
  reserve(offset: number, end: number): void {
    const b = this.#b;
    const c = this.chunkSize;
    for (let i = Math.floor(offset / c); i * c < end; i++) {
      const need = Math.min(c, end - i * c);
      if (b.length(i) < need) b.ensure(i, need);
    }
  }

  /**
   * Bytes of storage a write or reservation of `[offset, end)` would add;
   * the cost grows with the allocated chunks in the range, not its length.
   */
  growth(offset: number, end: number): number {
    if (end <= offset) return 0;
    const b = this.#b;
    const c = this.chunkSize;
    const first = Math.floor(offset / c);
    const last = Math.floor((end - 1) / c);
    const lastNeed = end - last * c;
    // A few chunks are asked one by one; a long range walks only the allocated ones.
    const chunks = last - first < 64 ? undefined : b.allocatedIn(first, last);
    const count = chunks === undefined ? last - first + 1 : chunks.length;
    let more = 0;
    let lastSeen = false;
    for (let k = 0; k < count; k++) {
      const i = chunks === undefined ? first + k : chunks[k];
      const need = i === last ? lastNeed : c;
      const have = b.length(i);
      if (need > have) more += b.sizeFor(i, need) - have;
      if (i === last) lastSeen = true;
    }
    if (chunks === undefined) return more;
    // The holes the walk skipped: whole chunks, and the last chunk's need.
    more += (last - first + 1 - count - (lastSeen ? 0 : 1)) * c;
    return lastSeen ? more : more + b.sizeFor(last, lastNeed);
  }

  /**
   * Makes `[offset, end)` read as zeros: whole chunks are freed (or with
   * `keep`, kept and marked ZERO), parts of chunks are zero-filled, and with
   * `keep` holes in the range are allocated. Holes are never touched
   * otherwise, so zeroing a fresh range commits no memory.
   */
  zero(offset: number, end: number, options: ZeroOptions = {}): void {
    const b = this.#b;
    const c = this.chunkSize;
    const keep = options.keep ?? false;
    const size = options.size ?? Infinity;
    if (end > size) end = size;
    if (end <= offset) return;
    const first = Math.floor(offset / c);
    const last = Math.floor((end - 1) / c);
    // Without `keep` holes stay as they are: visit only allocated chunks.
    const chunks = keep ? undefined : b.allocatedIn(first, last);
    const count = chunks === undefined ? last - first + 1 : chunks.length;
    for (let k = 0; k < count; k++) {
      const i = chunks === undefined ? first + k : chunks[k];
      const base = i * c;
      const from = Math.max(offset, base) - base;
      const to = Math.min(end, base + c) - base;
      const len = b.length(i);
      // Past `size` every chunk reads as zeros already.
      const whole = from === 0 &&
        (to >= (len === 0 ? c : len) || base + to >= size);
      if (len === 0) {
        b.ensure(i, to);
        if (whole) b.mark(i, ZERO);
      } else if (whole && !keep) {
        b.free(i);
      } else {
        if (from < len) b.get(i)!.fill(0, from, Math.min(to, len));
        if (whole) b.mark(i, ZERO);
      }
    }
  }

  /** Drops everything at and past `size`: later growth reads zeros there. */
  truncate(size: number): void {
    const b = this.#b;
    const c = this.chunkSize;
    const keep = Math.ceil(size / c);
    const last = Math.floor(Number.MAX_SAFE_INTEGER / c);
    for (const i of b.allocatedIn(keep, last)) b.free(i);
    const within = size - (keep - 1) * c;
    if (keep > 0 && within < c && b.length(keep - 1) > within) {
      b.cut(keep - 1, within);
    }
  }

  /**
   * The states of `[offset, end)` as consecutive extents (holes included),
   * merged where the flags agree, at most `max` of them (the last one whole).
   * It walks the allocated chunks only, so a huge sparse range is cheap.
   *
   * @param flags What to report for each state: `flags[HOLE]`, `flags[DATA]`, `flags[ZERO]`.
   */
  extents(
    offset: number,
    end: number,
    max: number,
    flags: readonly number[],
  ): ChunkExtent[] {
    const out: ChunkExtent[] = [];
    if (end <= offset) return out;
    const b = this.#b;
    const c = this.chunkSize;
    const first = Math.floor(offset / c);
    let pos = offset;
    for (const i of b.allocatedIn(first, Math.floor((end - 1) / c))) {
      const start = Math.max(i * c, offset);
      const stop = Math.min(i * c + b.length(i), end);
      if (stop <= start) continue;
      if (start > pos) push(out, start - pos, flags[HOLE]);
      push(out, stop - start, flags[b.state(i)]);
      pos = stop;
      if (out.length > max) break;
    }
    if (pos < end && out.length <= max) push(out, end - pos, flags[HOLE]);
    if (out.length > max) out.length = max;
    return out;
  }

  /** The first allocated byte in `[offset, end)`, or undefined if it is all hole. */
  nextData(offset: number, end: number): number | undefined {
    const [a, b] = this.extents(offset, end, 2, DATA_OR_HOLE);
    if (a === undefined) return undefined;
    if (a.flags === 1) return offset;
    return b === undefined ? undefined : offset + a.length;
  }

  /** The first byte of a hole in `[offset, end)`, or `end` if there is none. */
  nextHole(offset: number, end: number): number {
    const [a] = this.extents(offset, end, 1, DATA_OR_HOLE);
    return a === undefined || a.flags === 0 ? offset : offset + a.length;
  }

  /**
   * Copies `length` bytes from `src` at `srcOffset` to `dstOffset`, keeping
   * holes holes; `size` is this store's data size before the copy (see
   * {@link ZeroOptions.size}). The ranges must not overlap if `src` is this
   * store. Returns the size after the copy.
   */
  copyFrom(
    src: ChunkStore,
    srcOffset: number,
    dstOffset: number,
    length: number,
    size: number,
  ): number {
    const shift = dstOffset - srcOffset;
    const c = src.chunkSize;
    let pos = srcOffset;
    for (
      const e of src.extents(
        srcOffset,
        srcOffset + length,
        Infinity,
        DATA_OR_HOLE,
      )
    ) {
      const stop = pos + e.length;
      if (e.flags === 0) {
        this.zero(pos + shift, stop + shift, { size });
      } else {
        // One chunk at a time, so that `bytes` is a view, not a copy.
        for (let at = pos; at < stop;) {
          const n = Math.min(c - (at % c), stop - at);
          this.write(at + shift, src.bytes(at, n));
          at += n;
        }
        if (stop + shift > size) size = stop + shift;
      }
      pos = stop;
    }
    return Math.max(size, dstOffset + length);
  }
}
