/**
 * {@link FileStableStorage}: the NFSv4 clients that hold state, kept in a
 * file so that a restarted server can tell which clients may reclaim their
 * opens and locks during the grace period.
 *
 * The file holds one client owner per line, in hex. Every change rewrites
 * it whole (a few hundred bytes for a few clients) to a temporary file that
 * is flushed to disk and renamed over the old one, so a crash leaves either
 * the old list or the new one, never a torn file.
 *
 * @module
 */

import type { StableStorage } from "./state/leases.ts";

/** Stable storage in a file (needs read and write permission for it). */
export class FileStableStorage implements StableStorage {
  readonly #path: string;
  readonly #owners = new Map<string, Uint8Array>();

  /**
   * Opens the list at `path`, creating it on the first change. A line that
   * is not hex is skipped (a file edited by hand still loads).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { FileStableStorage } from "@netfs/netfs/server";
   * const path = await Deno.makeTempFile();
   * new FileStableStorage(path).add(new Uint8Array([1, 2, 3]));
   * assert.deepEqual(new FileStableStorage(path).list(), [new Uint8Array([1, 2, 3])]);
   * await Deno.remove(path);
   * ```
   */
  constructor(path: string) {
    this.#path = path;
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    for (const line of text.split("\n")) {
      const hex = line.trim();
      if (
        hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-f]+$/.test(hex)
      ) {
        continue;
      }
      const owner = new Uint8Array(hex.length / 2);
      for (let i = 0; i < owner.length; i++) {
        owner[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
      }
      this.#owners.set(hex, owner);
    }
  }

  /** Every owner recorded. */
  list(): Uint8Array[] {
    return [...this.#owners.values()].map((o) => o.slice());
  }

  /** Records an owner, durably before returning. */
  add(owner: Uint8Array): void {
    const key = toHex(owner);
    if (this.#owners.has(key)) return;
    this.#owners.set(key, owner.slice());
    this.#save();
  }

  /** Forgets an owner, durably before returning. */
  remove(owner: Uint8Array): void {
    if (this.#owners.delete(toHex(owner))) this.#save();
  }

  #save(): void {
    const tmp = `${this.#path}.tmp`;
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      const data = new TextEncoder().encode(
        [...this.#owners.keys()].map((k) => k + "\n").join(""),
      );
      let off = 0;
      while (off < data.length) off += f.writeSync(data.subarray(off));
      f.syncSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, this.#path);
  }
}

function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
