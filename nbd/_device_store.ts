/**
 * How {@link SharedMemoryDevice} gives {@link MemoryDevice} a chunk store over
 * shared memory without a public option: it passes its options as a
 * `WithStore`, which MemoryDevice recognises and uses instead of making a
 * store of its own. Everything else about the two devices is one code path.
 *
 * @module
 */

import type { ChunkStore } from "../store/_chunks.ts";
import type { MemoryDeviceOptions } from "./memory_device.ts";

/** Options for MemoryDevice that carry the store to use. */
export class WithStore implements MemoryDeviceOptions {
  /** The store, already holding whatever it holds. */
  readonly store: ChunkStore;
  /** Its chunk size. */
  readonly chunkSize: number;

  constructor(store: ChunkStore) {
    this.store = store;
    this.chunkSize = store.chunkSize;
  }
}
