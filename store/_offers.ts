/**
 * Storage a caller offers with the data it writes, for a file system to
 * keep instead of copying: how a 1 MiB NFS WRITE's record becomes a MemFs
 * chunk, and the chunk it replaces goes back to the RPC server's record pool
 * for the next WRITE (a swap: no copy, no allocation, no zero-fill).
 *
 * `FileSystem.write` (vfs/types.ts) lends `data` for the call only. An
 * offer is the one exception, and it is made by the owner of the storage,
 * not by the data: the RPC dispatcher (rpc/_dispatch.ts) offers a call's
 * record while the call runs, when its row borrows its arguments and is
 * not cached, so that nothing but the call holds a view of the record. The
 * offer is found from the data's `ArrayBuffer`, so wrappers that pass
 * `data` through (PassthroughFs, PerUserFs, ReadOnlyFs) pass the offer with
 * it, and one that copies the data or writes other bytes does not match.
 *
 * The rules that keep a view of pooled storage from escaping:
 * - {@link StorageOffer.take} succeeds once, while the call runs: the
 *   dispatcher then does not give the record back to its pool.
 * - A taker keeps only the range it was given (the data's own view) and
 *   writes only inside it; the rest of the record (headers, other
 *   arguments) stays as the call decoded it.
 * - A taker that lets the storage go calls {@link StorageOffer.release}
 *   only if no view of it ever left its hands (no READ was lent one); else
 *   it drops it for the garbage collector. Released while the call still
 *   runs, the storage goes back when the call ends (its `data` may still be
 *   read until then); released after, it goes back at once.
 * - {@link closeOffer} ends the offer with the call: `data` passed to a
 *   write later (a wrapper that writes again after settling) finds none.
 *
 * Until the call ends, `data` may thus be a view of a file's storage: it
 * reads what the file holds in that range (a later overlapping write shows
 * there, as in a READ's view), and never anything else.
 *
 * @module
 */

/** Storage offered for the length of one call (see the module header). */
export class StorageOffer {
  /** Bytes the taker holds: the whole storage, not just the data's view. */
  readonly bytes: number;
  readonly #record: Uint8Array;
  readonly #giveBack: (record: Uint8Array) => void;
  #taken = false;
  #open = true;
  #released = false;

  /**
   * @param record The storage, as its owner will give it back.
   * @param giveBack Where it goes once taken, released and the call over.
   */
  constructor(record: Uint8Array, giveBack: (record: Uint8Array) => void) {
    this.#record = record;
    this.#giveBack = giveBack;
    this.bytes = record.buffer.byteLength;
  }

  /** True while the call runs and nobody has taken the storage. */
  get available(): boolean {
    return this.#open && !this.#taken;
  }

  /** True once the call is over. */
  get closed(): boolean {
    return !this.#open;
  }

  /** Claims the storage: true once, while the call runs. */
  take(): boolean {
    if (!this.available) return false;
    this.#taken = true;
    return true;
  }

  /**
   * The taker no longer holds the storage, and no view of it left the
   * taker: it goes back to its owner when the call is over.
   */
  release(): void {
    if (!this.#taken || this.#released) return;
    this.#released = true;
    if (!this.#open) this.#giveBack(this.#record);
  }

  /**
   * Ends the call: true when the storage is the caller's again (never
   * taken, or taken and already released).
   */
  close(): boolean {
    this.#open = false;
    return !this.#taken || this.#released;
  }
}

const offers = new WeakMap<ArrayBufferLike, StorageOffer>();

/**
 * Offers `record` (storage nothing else holds a view of) to the file
 * systems its call writes to, until {@link closeOffer}.
 */
export function offerStorage(
  record: Uint8Array,
  giveBack: (record: Uint8Array) => void,
): void {
  offers.set(record.buffer, new StorageOffer(record, giveBack));
}

/**
 * Ends the offer of `record`, if any: true when the storage is the
 * caller's again (no offer, not taken, or taken and already released).
 */
export function closeOffer(record: Uint8Array): boolean {
  const offer = offers.get(record.buffer);
  if (offer === undefined) return true;
  offers.delete(record.buffer);
  return offer.close();
}

/** The offer `data`'s storage is under, if it is still available. */
export function offered(data: Uint8Array): StorageOffer | undefined {
  const offer = offers.get(data.buffer);
  return offer?.available === true ? offer : undefined;
}
