/**
 * A sparse in-memory block device: storage is allocated in fixed chunks on
 * first write, trimmed or zeroed chunks are released, and block status
 * reports holes (`HOLE|ZERO`), provisioned zeroes (`ZERO`) and data (`0`).
 * The chunks are a chunk store (store/_chunks.ts) shared with MemFs and
 * `SharedMemoryDevice`; a chunk cut by the end of the device counts as
 * whole once zeroed up to the end.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryDevice, State } from "@netfs/netfs/nbd";
 * const dev = new MemoryDevice(1 << 30); // 1 GiB, nothing allocated yet
 * await dev.writeAt(4096, new Uint8Array(512).fill(7));
 * assert.deepEqual(await dev.blockStatus(0, 2 << 20), [
 *   { length: 1 << 20, flags: 0 }, // the written chunk
 *   { length: 1 << 20, flags: State.HOLE | State.ZERO },
 * ]);
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
import { ChunkStore } from "../store/_chunks.ts";
import { MapChunks } from "../store/_chunk_backings.ts";
import { WithStore } from "./_device_store.ts";

// Block status flags of a chunk state, indexed by HOLE, DATA, ZERO.
const FLAGS: readonly number[] = [State.HOLE | State.ZERO, 0, State.ZERO];

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
 * import assert from "node:assert/strict";
 * import { MemoryDevice } from "@netfs/netfs/nbd";
 * const dev = new MemoryDevice(1 << 20, { chunkSize: 4096 });
 * await dev.writeZeroes(0, 8192, { noHole: true });
 * assert.equal(dev.allocated, 8192);
 * await dev.trim(0, 4096);
 * assert.equal(dev.allocated, 4096);
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
  readonly #store: ChunkStore;
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
    this.size = size;
    this.rotational = options.rotational ?? false;
    if (options instanceof WithStore) {
      this.#store = options.store;
      return;
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
    this.#store = new ChunkStore(new MapChunks(chunk));
  }

  /** Bytes of storage currently allocated. */
  get allocated(): number {
    return this.#store.allocated;
  }

  /** Reads into `into`; holes read as zeroes. */
  readAt(offset: number, into: Uint8Array): Promise<void> {
    this.#store.read(offset, into);
    return Promise.resolve();
  }

  /** Copies `data` in, allocating chunks as needed. */
  writeAt(
    offset: number,
    data: Uint8Array,
    _options?: WriteOptions,
  ): Promise<void> {
    this.#store.write(offset, data);
    return Promise.resolve();
  }

  /** Nothing to do: memory is as durable as it gets. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Releases whole chunks in the range and zeroes partial ones. */
  trim(offset: number, length: number, _options?: WriteOptions): Promise<void> {
    this.#store.zero(offset, offset + length, { size: this.size });
    return Promise.resolve();
  }

  /** Zeroes a range: releases whole chunks unless `noHole`, which provisions them. */
  writeZeroes(
    offset: number,
    length: number,
    options: WriteZeroesOptions = {},
  ): Promise<void> {
    this.#store.zero(offset, offset + length, {
      keep: options.noHole ?? false,
      size: this.size,
    });
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
    const v = this.#store.view(offset, length, write);
    if (v !== undefined || write) return v;
    const c = this.#store.chunkSize;
    if (offset % c + length > c) return undefined;
    return (this.#zeroChunk ??= new Uint8Array(c)).subarray(0, length);
  }

  /** Holes, provisioned zeroes and data of a range, merged into extents. */
  blockStatus(
    offset: number,
    length: number,
    options: BlockStatusOptions = {},
  ): Promise<Extent[]> {
    const end = Math.min(offset + length, this.size);
    const max = options.maxExtents ?? 1 << 20;
    return Promise.resolve(
      this.#store.extents(offset, end, max, FLAGS),
    );
  }
}
