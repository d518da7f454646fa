/**
 * What servers do with `concurrency: "serialize"`: one queue per object, so
 * that calls on it run one at a time, across every connection and export.
 *
 * @module
 */

import { PassthroughFs } from "./passthrough.ts";
import type { Credentials, FileSystem } from "./types.ts";

/** Runs calls one at a time, in the order they were made. */
export class CallQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `call` once every call queued before it has settled. */
  run<T>(call: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(() => call());
    this.#tail = result.catch(() => {});
    return result;
  }
}

class SerializedFs extends PassthroughFs {
  readonly #queue = new CallQueue();

  protected override forward<T>(
    _cred: Credentials,
    op: (fs: FileSystem) => Promise<T>,
  ): Promise<T> {
    return this.#queue.run(() => op(this.inner));
  }

  // The server does not own the file system: whoever made it closes it.
  override close(): Promise<void> {
    return Promise.resolve();
  }
}

const serialized = new WeakMap<FileSystem, FileSystem>();

/**
 * `fs` itself unless it declares `concurrency: "serialize"`; then the one
 * wrapper that queues its calls (the same wrapper for every caller).
 */
export function servedFs(fs: FileSystem): FileSystem {
  if (fs.concurrency !== "serialize") return fs;
  let s = serialized.get(fs);
  if (s === undefined) {
    s = new SerializedFs(fs);
    serialized.set(fs, s);
  }
  return s;
}
