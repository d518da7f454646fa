// A bounded LRU of open host file descriptors, so sequential READs and WRITEs
// of one file do not reopen it. A descriptor in use by an in-flight call is
// never closed under it: eviction marks it and the last user closes it.
import * as nfs from "node:fs";
import type { FileId } from "../types.ts";

export interface OpenFile {
  fd: number;
  writable: boolean;
  users: number;
  closing: boolean;
}

export class FdCache {
  readonly #max: number;
  readonly #open = new Map<FileId, OpenFile>();

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  /** The cached file for `id`, marked in use and most recently used. */
  take(id: FileId, writable: boolean): OpenFile | undefined {
    const f = this.#open.get(id);
    if (f === undefined || (writable && !f.writable)) return undefined;
    this.#open.delete(id);
    this.#open.set(id, f);
    f.users++;
    return f;
  }

  /** Adds a freshly opened file (in use by the caller), evicting the oldest idle ones. */
  add(id: FileId, fd: number, writable: boolean): OpenFile {
    this.drop(id);
    const f: OpenFile = { fd, writable, users: 1, closing: false };
    this.#open.set(id, f);
    if (this.#open.size > this.#max) {
      for (const [old, g] of this.#open) {
        if (this.#open.size <= this.#max) break;
        if (old === id) continue;
        this.#open.delete(old);
        this.#retire(g);
      }
    }
    return f;
  }

  /** Ends one use. */
  release(f: OpenFile): void {
    f.users--;
    if (f.closing && f.users === 0) nfs.closeSync(f.fd);
  }

  /** Closes the file of `id` (now, or when its last user finishes). */
  drop(id: FileId): void {
    const f = this.#open.get(id);
    if (f === undefined) return;
    this.#open.delete(id);
    this.#retire(f);
  }

  #retire(f: OpenFile): void {
    f.closing = true;
    if (f.users === 0) nfs.closeSync(f.fd);
  }

  /** Closes every idle file and marks the busy ones to close. */
  clear(): void {
    for (const id of [...this.#open.keys()]) this.drop(id);
  }
}
