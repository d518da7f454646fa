// A bounded LRU of open host file descriptors, so sequential READs and WRITEs
// of one file do not reopen it. A descriptor in use by an in-flight call is
// never closed under it: eviction marks it and the last user closes it.
// Both engines keep their files here, each with its own close (Deno's
// node:fs closes only descriptors it opened). The portable engine does its
// large reads and writes and its fsyncs through node:fs's thread pool with
// the helpers below; the native engine has its own in ./_libc.ts.
import * as nfs from "node:fs";
import type { FileId } from "../types.ts";

export interface OpenFile {
  fd: number;
  writable: boolean;
  users: number;
  closing: boolean;
  /** When the object was last seen where its FileId is recorded (native engine). */
  checked: number;
}

export class FdCache {
  readonly #max: number;
  readonly #open = new Map<FileId, OpenFile>();
  readonly #close: (fd: number) => void;
  /** Calls in flight holding a file, and what to run when none is left. */
  #busy = 0;
  #idle: (() => void) | undefined;

  /** At most `max` files stay open; `close` closes one (node:fs's by default). */
  constructor(max: number, close: (fd: number) => void = nfs.closeSync) {
    this.#max = Math.max(1, max);
    this.#close = close;
  }

  /** The cached file for `id`, marked in use and most recently used. */
  take(id: FileId, writable: boolean): OpenFile | undefined {
    const f = this.#open.get(id);
    if (f === undefined || (writable && !f.writable)) return undefined;
    this.#open.delete(id);
    this.#open.set(id, f);
    f.users++;
    this.#busy++;
    return f;
  }

  /** Adds a freshly opened file (in use by the caller), evicting the oldest idle ones. */
  add(id: FileId, fd: number, writable: boolean): OpenFile {
    this.drop(id);
    const f: OpenFile = {
      fd,
      writable,
      users: 1,
      closing: false,
      checked: Date.now(),
    };
    this.#open.set(id, f);
    this.#busy++;
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
    if (f.closing && f.users === 0) this.#close(f.fd);
    this.unhold();
  }

  /**
   * Counts a call in flight that holds a descriptor of its own (a
   * directory's fsync), so that `whenIdle` waits for it too; `unhold` ends it.
   */
  hold(): void {
    this.#busy++;
  }

  /** Ends what `hold` (or `take` and `add`) began. */
  unhold(): void {
    if (--this.#busy === 0 && this.#idle !== undefined) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }

  /** Runs `fn` once no call holds a file: now, or when the last one ends. */
  whenIdle(fn: () => void): void {
    if (this.#busy === 0) fn();
    else this.#idle = fn;
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
    if (f.users === 0) this.#close(f.fd);
  }

  /** Closes every idle file and marks the busy ones to close. */
  clear(): void {
    for (const id of [...this.#open.keys()]) this.drop(id);
  }
}

/**
 * Reads into all of `buf` from `offset` through the thread pool; fewer
 * bytes only at end of file. Returns the bytes read.
 */
export async function readFull(
  fd: number,
  buf: Uint8Array,
  offset: number,
): Promise<number> {
  const n = buf.length;
  let got = 0;
  while (got < n) {
    const r = await new Promise<number>((resolve, reject) =>
      nfs.read(
        fd,
        buf,
        got,
        n - got,
        offset + got,
        (e, k) => e ? reject(e) : resolve(k),
      )
    );
    if (r === 0) break;
    got += r;
  }
  return got;
}

/** Writes `data` from its byte `done` on, at `offset` + `done`, through the thread pool. */
export async function writeFull(
  fd: number,
  data: Uint8Array,
  offset: number,
  done: number,
): Promise<void> {
  while (done < data.length) {
    done += await new Promise<number>((resolve, reject) =>
      nfs.write(
        fd,
        data,
        done,
        data.length - done,
        offset + done,
        (e, k) => e ? reject(e) : resolve(k),
      )
    );
  }
}

/** fsync, or fdatasync when `dataOnly`, through the thread pool. */
export function syncFd(fd: number, dataOnly: boolean): Promise<void> {
  return new Promise((resolve, reject) =>
    (dataOnly ? nfs.fdatasync : nfs.fsync)(
      fd,
      (e) => e ? reject(e) : resolve(),
    )
  );
}
