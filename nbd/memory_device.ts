/**
 * A sparse in-memory block device: storage is allocated in fixed chunks on
 * first write, trimmed or zeroed chunks are released, and block status
 * reports holes (`HOLE|ZERO`), provisioned zeroes (`ZERO`) and data (`0`).
 *
 * @example
 * ```ts
 * import { MemoryDevice } from "./memory_device.ts";
 * const dev = new MemoryDevice(1 << 30); // 1 GiB, nothing allocated yet
 * await dev.writeAt(4096, new Uint8Array(512).fill(7));
 * console.log(await dev.blockStatus(0, 1 << 20));
 * ```
 *
 * @module
 */

import type {
  BlockStatusOptions,
  Device,
  ViewOptions,
  WriteOptions,
  WriteZeroesOptions,
} from "./device.ts";
import { type Extent, State } from "./protocol.ts";

/** Options of {@link MemoryDevice}. */
export interface MemoryDeviceOptions {
  /**
   * Allocation unit in bytes, a power of two (default 1 MiB: requests within
   * one chunk are served from and into its memory without copying, and the
   * operating system only commits the pages actually touched).
   */
  chunkSize?: number;
  /** Advertise `NBD_FLAG_ROTATIONAL` (for testing clients). */
  rotational?: boolean;
}

/**
 * A sparse RAM disk. All connections share one store and writes are visible
 * at once, so it supports multiple connections (`multiConn`) and flush is a
 * no-op.
 *
 * @example
 * ```ts
 * import { MemoryDevice } from "./memory_device.ts";
 * const dev = new MemoryDevice(1 << 20, { chunkSize: 4096 });
 * await dev.writeZeroes(0, 8192, { noHole: true });
 * console.log(dev.allocated); // 8192
 * ```
 */
export class MemoryDevice implements Device {
  /** Size in bytes. */
  readonly size: number;
  /** Always true: one shared store. */
  readonly multiConn = true;
  /** Calls may overlap. */
  readonly concurrency = "parallel" as const;
  /** As given in the options. */
  readonly rotational: boolean;
  readonly #chunk: number;
  readonly #shift: number;
  readonly #chunks = new Map<number, Uint8Array>();
  // Allocated chunks known to hold only zeroes (written by NO_HOLE zeroing).
  readonly #zero = new Set<number>();
  // Read-only source for views of holes.
  #zeroChunk: Uint8Array | undefined;

  /**
   * Creates an empty (all-hole) device of `size` bytes.
   *
   * @param size Size in bytes, a non-negative safe integer.
   * @param options Chunk size and flags.
   */
  constructor(size: number, options: MemoryDeviceOptions = {}) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(
        `Device size must be a non-negative safe integer: ${size}`,
      );
    }
    const chunk = options.chunkSize ?? 1 << 20;
    if (
      !Number.isInteger(chunk) || chunk < 512 || (chunk & (chunk - 1)) !== 0 ||
      chunk > 1 << 24
    ) {
      throw new RangeError(
        `Chunk size must be a power of two from 512 to 16 MiB: ${chunk}`,
      );
    }
    this.size = size;
    this.#chunk = chunk;
    this.#shift = Math.log2(chunk);
    this.rotational = options.rotational ?? false;
  }

  /** Bytes of storage currently allocated. */
  get allocated(): number {
    return this.#chunks.size * this.#chunk;
  }

  /** Reads into `into`; holes read as zeroes. */
  readAt(offset: number, into: Uint8Array): Promise<void> {
    const c = this.#chunk;
    let pos = offset;
    let at = 0;
    const end = into.length;
    while (at < end) {
      const idx = Math.floor(pos / c);
      const within = pos - idx * c;
      const n = Math.min(c - within, end - at);
      const chunk = this.#chunks.get(idx);
      if (chunk) into.set(chunk.subarray(within, within + n), at);
      else into.fill(0, at, at + n);
      at += n;
      pos += n;
    }
    return Promise.resolve();
  }

  /** Copies `data` in, allocating chunks as needed. */
  writeAt(
    offset: number,
    data: Uint8Array,
    _options?: WriteOptions,
  ): Promise<void> {
    const c = this.#chunk;
    let pos = offset;
    let at = 0;
    const end = data.length;
    while (at < end) {
      const idx = Math.floor(pos / c);
      const within = pos - idx * c;
      const n = Math.min(c - within, end - at);
      let chunk = this.#chunks.get(idx);
      if (!chunk) {
        chunk = new Uint8Array(c);
        this.#chunks.set(idx, chunk);
      } else if (this.#zero.size) this.#zero.delete(idx);
      chunk.set(n === end ? data : data.subarray(at, at + n), within);
      at += n;
      pos += n;
    }
    return Promise.resolve();
  }

  /** Nothing to do: memory is as durable as it gets. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Releases whole chunks in the range and zeroes partial ones. */
  trim(offset: number, length: number, _options?: WriteOptions): Promise<void> {
    this.#zeroRange(offset, length, false);
    return Promise.resolve();
  }

  /** Zeroes a range: releases whole chunks unless `noHole`, which provisions them. */
  writeZeroes(
    offset: number,
    length: number,
    options: WriteZeroesOptions = {},
  ): Promise<void> {
    this.#zeroRange(offset, length, options.noHole ?? false);
    return Promise.resolve();
  }

  /** Nothing to prefetch. */
  cache(_offset: number, _length: number): Promise<void> {
    return Promise.resolve();
  }

  /**
   * The storage of a range that lies within one chunk (holes read from a
   * shared zero chunk); undefined when the range spans chunks.
   */
  view(
    offset: number,
    length: number,
    options: ViewOptions = {},
  ): Uint8Array | undefined {
    const write = options.write ?? false;
    const c = this.#chunk;
    const idx = Math.floor(offset / c);
    const within = offset - idx * c;
    if (within + length > c) return undefined;
    let chunk = this.#chunks.get(idx);
    if (!write) {
      return (chunk ?? (this.#zeroChunk ??= new Uint8Array(c))).subarray(
        within,
        within + length,
      );
    }
    if (!chunk) {
      chunk = new Uint8Array(c);
      this.#chunks.set(idx, chunk);
    } else if (this.#zero.size) this.#zero.delete(idx);
    return chunk.subarray(within, within + length);
  }

  #zeroRange(offset: number, length: number, provision: boolean): void {
    const c = this.#chunk;
    const end = Math.min(offset + length, this.size);
    let pos = offset;
    while (pos < end) {
      const idx = Math.floor(pos / c);
      const within = pos - idx * c;
      const n = Math.min(c - within, end - pos);
      const chunk = this.#chunks.get(idx);
      if (n === c && !provision) {
        this.#chunks.delete(idx);
        this.#zero.delete(idx);
      } else if (n === c) {
        if (chunk) chunk.fill(0);
        else this.#chunks.set(idx, new Uint8Array(c));
        this.#zero.add(idx);
      } else if (chunk) {
        chunk.fill(0, within, within + n);
      } else if (provision) {
        this.#chunks.set(idx, new Uint8Array(c));
      }
      pos += n;
    }
  }

  #state(idx: number): number {
    if (!this.#chunks.has(idx)) return State.HOLE | State.ZERO;
    return this.#zero.has(idx) ? State.ZERO : 0;
  }

  /** Holes, provisioned zeroes and data of a range, merged into extents. */
  blockStatus(
    offset: number,
    length: number,
    options: BlockStatusOptions = {},
  ): Promise<Extent[]> {
    const max = options.maxExtents ?? 1 << 20;
    const end = Math.min(offset + length, this.size);
    const out: Extent[] = [];
    if (end <= offset) return Promise.resolve(out);
    const c = this.#chunk;
    const push = (len: number, flags: number) => {
      const last = out[out.length - 1];
      if (last && last.flags === flags) last.length += len;
      else out.push({ length: len, flags });
    };
    const first = Math.floor(offset / c);
    const lastIdx = Math.floor((end - 1) / c);
    const span = lastIdx - first + 1;
    if (span > 4 * this.#chunks.size + 64) {
      // Sparse: walk the allocated chunks in the range instead of every index.
      const keys = [...this.#chunks.keys()].filter((k) =>
        k >= first && k <= lastIdx
      )
        .sort((a, b) => a - b);
      let pos = offset;
      for (const k of keys) {
        const start = Math.max(k * c, offset);
        if (start > pos) push(start - pos, State.HOLE | State.ZERO);
        const stop = Math.min((k + 1) * c, end);
        push(stop - start, this.#state(k));
        pos = stop;
        if (out.length > max) break;
      }
      if (pos < end && out.length <= max) {
        push(end - pos, State.HOLE | State.ZERO);
      }
    } else {
      let pos = offset;
      while (pos < end && out.length <= max) {
        const idx = Math.floor(pos / c);
        const stop = Math.min((idx + 1) * c, end);
        push(stop - pos, this.#state(idx));
        pos = stop;
      }
    }
    if (out.length > max) out.length = max;
    return Promise.resolve(out);
  }
}
