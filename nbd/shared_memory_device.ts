/**
 * An in-memory block device in a `SharedArrayBuffer`, so that servers in
 * several worker threads can serve the same disk ({@link serveNbdCluster}).
 *
 * It is a {@link MemoryDevice} whose chunk store lives in shared memory
 * (store/_chunks.ts explains the layout): the whole size is reserved as one
 * shared buffer, and the operating system commits pages only when they are
 * first written, so an untouched device costs (almost) nothing. A per-chunk
 * state array, also shared, records holes, provisioned zeroes and data for
 * block status. Trimmed and zeroed chunks are zero-filled (memory cannot be
 * handed back), but chunks that are still holes are never touched, so
 * trimming a fresh device is free.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedMemoryDevice } from "@netfs/netfs/nbd";
 * const dev = new SharedMemoryDevice(64 << 20);
 * await dev.writeAt(0, new Uint8Array([1, 2, 3]));
 * const again = SharedMemoryDevice.fromHandle(dev.handle); // e.g. in a worker
 * const b = new Uint8Array(3);
 * await again.readAt(0, b);
 * assert.deepEqual([...b], [1, 2, 3]);
 * ```
 *
 * @module
 */

import { ChunkStore } from "../store/_chunks.ts";
import { FlatChunks } from "../store/_chunk_backings.ts";
import { WithStore } from "./_device_store.ts";
import { MemoryDevice } from "./memory_device.ts";

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
 * so it supports multiple connections (`multiConn`); flush is a no-op. Any
 * range is one contiguous {@link MemoryDevice.view}, and
 * {@link MemoryDevice.allocated} scans the state array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedMemoryDevice, State } from "@netfs/netfs/nbd";
 * const dev = new SharedMemoryDevice(1 << 20, { chunkSize: 4096 });
 * await dev.writeZeroes(0, 8192, { noHole: true });
 * assert.deepEqual(await dev.blockStatus(0, 16384), [
 *   { length: 8192, flags: State.ZERO },
 *   { length: 8192, flags: State.HOLE | State.ZERO },
 * ]);
 * ```
 */
export class SharedMemoryDevice extends MemoryDevice {
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
    const h = typeof size === "number" ? reserve(size, options) : size;
    const chunks = new FlatChunks(
      new Uint8Array(h.memory),
      new Uint8Array(h.state),
      h.chunkSize,
    );
    super(h.memory.byteLength, new WithStore(new ChunkStore(chunks)));
    this.#handle = h;
  }

  /** Opens the device another thread created, from its {@link handle}. */
  static fromHandle(handle: SharedMemoryHandle): SharedMemoryDevice {
    return new SharedMemoryDevice(handle);
  }

  /** The shared buffers, to post to a worker. */
  get handle(): SharedMemoryHandle {
    return this.#handle;
  }
}

function reserve(
  size: number,
  options: { chunkSize?: number },
): SharedMemoryHandle {
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
  return {
    memory,
    state: new SharedArrayBuffer(Math.ceil(size / chunkSize)),
    chunkSize,
  };
}
