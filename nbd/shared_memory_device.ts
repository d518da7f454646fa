/**
 * An in-memory block device in a `SharedArrayBuffer`, so that servers in
 * several worker threads can serve the same disk ({@link serveNbdCluster}).
 *
 * The whole size is reserved as one shared buffer; the operating system
 * commits pages only when they are first written, so an untouched device
 * costs (almost) nothing. A per-chunk state array, also shared, records
 * holes, provisioned zeroes and data for block status. Trimmed and zeroed
 * chunks are zero-filled (memory cannot be handed back), but chunks that
 * are still holes are never touched, so trimming a fresh device is free.
 *
 * @example
 * ```ts
 * import { SharedMemoryDevice } from "./shared_memory_device.ts";
 * const dev = new SharedMemoryDevice(64 << 20);
 * await dev.writeAt(0, new Uint8Array([1, 2, 3]));
 * const again = SharedMemoryDevice.fromHandle(dev.handle); // e.g. in a worker
 * const b = new Uint8Array(3);
 * await again.readAt(0, b);
 * console.log(b); // Uint8Array(3) [ 1, 2, 3 ]
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

// Chunk states in the shared state array.
const HOLE = 0;
const DATA = 1;
const ZERO = 2;

/** What a worker needs to open the same device: plain shared buffers. */
export interface SharedMemoryHandle {
  /** The device's bytes. */
  memory: SharedArrayBuffer;
  /** One state byte per chunk. */
  state: SharedArrayBuffer;
  /** Chunk size in bytes. */
  chunkSize: number;
}

/**
 * A RAM disk shared between threads. Every thread sees every write at once,
 * so it supports multiple connections (`multiConn`); flush is a no-op.
 *
 * @example
 * ```ts
 * import { SharedMemoryDevice } from "./shared_memory_device.ts";
 * const dev = new SharedMemoryDevice(1 << 20, { chunkSize: 4096 });
 * await dev.writeZeroes(0, 8192, { noHole: true });
 * console.log(await dev.blockStatus(0, 16384)); // ZERO, then HOLE|ZERO
 * ```
 */
export class SharedMemoryDevice implements Device {
  /** Size in bytes. */
  readonly size: number;
  /** Always true: one shared store. */
  readonly multiConn = true;
  /** Calls may overlap. */
  readonly concurrency = "parallel" as const;
  readonly #mem: Uint8Array;
  readonly #state: Uint8Array;
  readonly #chunk: number;
  readonly #handle: SharedMemoryHandle;

  /**
   * Reserves a device of `size` bytes (all holes).
   *
   * @param size Size in bytes; the platform limits how much one shared buffer may reserve.
   * @param options Chunk size (a power of two, default 64 KiB).
   */
  constructor(size: number, options?: { chunkSize?: number });
  /** Opens an existing handle (see {@link fromHandle}). */
  constructor(size: SharedMemoryHandle);
  constructor(
    size: number | SharedMemoryHandle,
    options: { chunkSize?: number } = {},
  ) {
    let h: SharedMemoryHandle;
    if (typeof size === "number") {
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new RangeError(
          `Device size must be a non-negative safe integer: ${size}`,
        );
      }
      const chunkSize = options.chunkSize ?? 65536;
      if (
        !Number.isInteger(chunkSize) || chunkSize < 512 ||
        (chunkSize & (chunkSize - 1)) !== 0
      ) {
        throw new RangeError(
          `Chunk size must be a power of two of at least 512: ${chunkSize}`,
        );
      }
      let memory: SharedArrayBuffer;
      try {
        memory = new SharedArrayBuffer(size);
      } catch (e) {
        throw new RangeError(
          `Cannot reserve a shared buffer of ${size} bytes: ${
            (e as Error).message
          }`,
        );
      }
      h = {
        memory,
        state: new SharedArrayBuffer(Math.ceil(size / chunkSize)),
        chunkSize,
      };
    } else h = size;
    this.#handle = h;
    this.#mem = new Uint8Array(h.memory);
    this.#state = new Uint8Array(h.state);
    this.#chunk = h.chunkSize;
    this.size = h.memory.byteLength;
  }

  /** Opens the device another thread created, from its {@link handle}. */
  static fromHandle(handle: SharedMemoryHandle): SharedMemoryDevice {
    return new SharedMemoryDevice(handle);
  }

  /** The shared buffers, to post to a worker. */
  get handle(): SharedMemoryHandle {
    return this.#handle;
  }

  /** Copies out of shared memory (holes are zero there). */
  readAt(offset: number, into: Uint8Array): Promise<void> {
    into.set(this.#mem.subarray(offset, offset + into.length));
    return Promise.resolve();
  }

  /** Copies into shared memory and marks the chunks as data. */
  writeAt(
    offset: number,
    data: Uint8Array,
    _options?: WriteOptions,
  ): Promise<void> {
    this.#mem.set(data, offset);
    if (data.length) this.#mark(offset, data.length);
    return Promise.resolve();
  }

  /** Nothing to do. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Zeroes the range; whole chunks become holes. */
  trim(offset: number, length: number, _options?: WriteOptions): Promise<void> {
    this.#zero(offset, length, HOLE);
    return Promise.resolve();
  }

  /** Zeroes the range; whole chunks become holes, or provisioned zeroes with `noHole`. */
  writeZeroes(
    offset: number,
    length: number,
    options: WriteZeroesOptions = {},
  ): Promise<void> {
    this.#zero(offset, length, options.noHole ? ZERO : HOLE);
    return Promise.resolve();
  }

  /** Nothing to prefetch. */
  cache(_offset: number, _length: number): Promise<void> {
    return Promise.resolve();
  }

  /** Shared memory is contiguous: any range is one view. */
  view(offset: number, length: number, options: ViewOptions = {}): Uint8Array {
    const write = options.write ?? false;
    if (write && length) this.#mark(offset, length);
    return this.#mem.subarray(offset, offset + length);
  }

  #mark(offset: number, length: number): void {
    const last = Math.floor((offset + length - 1) / this.#chunk);
    for (let i = Math.floor(offset / this.#chunk); i <= last; i++) {
      if (this.#state[i] !== DATA) Atomics.store(this.#state, i, DATA);
    }
  }

  #zero(offset: number, length: number, whole: number): void {
    const c = this.#chunk;
    const end = Math.min(offset + length, this.size);
    let pos = offset;
    while (pos < end) {
      const idx = Math.floor(pos / c);
      const start = idx * c;
      const stop = Math.min(start + c, end);
      const st = this.#state[idx];
      // Hole chunks are all zero already: never touch (and commit) their pages.
      if (st !== HOLE) this.#mem.fill(0, pos, stop);
      if (pos === start && (stop === start + c || stop === this.size)) {
        Atomics.store(this.#state, idx, whole);
      } else if (st === HOLE && whole === ZERO) {
        Atomics.store(this.#state, idx, DATA); // partly provisioned: report as allocated
      }
      pos = stop;
    }
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
    const c = this.#chunk;
    let pos = offset;
    while (pos < end && out.length <= max) {
      const idx = Math.floor(pos / c);
      const stop = Math.min((idx + 1) * c, end);
      const st = this.#state[idx];
      const flags = st === HOLE
        ? State.HOLE | State.ZERO
        : st === ZERO
        ? State.ZERO
        : 0;
      const last = out[out.length - 1];
      if (last && last.flags === flags) last.length += stop - pos;
      else out.push({ length: stop - pos, flags });
      pos = stop;
    }
    if (out.length > max) out.length = max;
    return Promise.resolve(out);
  }
}
