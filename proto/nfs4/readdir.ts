/**
 * READDIR's paging by bytes. {@link ReaddirPage} takes entries while the
 * encoded READDIR4resok stays within `maxcount` and the cookies and names
 * within `dircount` (RFC 8881 section 18.23.3), so the server stops
 * reading the directory as soon as the reply is full.
 *
 * @example A READDIR page of at most 64 bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { XdrWriter } from "../../rpc/xdr.ts";
 * import { encode_READDIR4resok } from "./nfs4_gen.ts";
 * import { ReaddirPage } from "./readdir.ts";
 * const page = new ReaddirPage(0, 64);
 * const attrs = { attrmask: [], attr_vals: new Uint8Array(0) };
 * const name = new TextEncoder().encode("notes.txt");
 * assert.ok(page.add({ cookie: 3n, name, attrs }));
 * assert.ok(!page.add({ cookie: 4n, name, attrs }), "a second entry would pass 64 bytes");
 * const w = new XdrWriter();
 * encode_READDIR4resok(w, page.resok(new Uint8Array(8), false));
 * assert.equal(w.length, page.size);
 * ```
 *
 * @module
 */

import type { entry4, READDIR4resok } from "./nfs4_gen.ts";
import { sizeof_nfs_cookie4, sizeof_verifier4 } from "./nfs4_gen.ts";

function _padded(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}

/** Encoded size of one entry in a READDIR4resok, with its list link. */
export function entry4Size(e: entry4): number {
  // TRUE, cookie, name, bitmap, attr_vals.
  return 4 + sizeof_nfs_cookie4.max + 4 + _padded(e.name.byteLength) +
    4 + 4 * e.attrs.attrmask.length + 4 + _padded(e.attrs.attr_vals.byteLength);
}

/** What an entry counts against `dircount`: its cookie and name, encoded. */
export function entry4DirSize(e: entry4): number {
  return sizeof_nfs_cookie4.max + 4 + _padded(e.name.byteLength);
}

/** A READDIR4resok with no entries: verifier, end of list, eof. */
const EMPTY_RESOK = sizeof_verifier4.max + 4 + 4;

/**
 * Collects READDIR entries until the reply is full. `maxcount` bounds the
 * whole encoded READDIR4resok; `dircount` bounds the cookies and names
 * (0: no bound). The first entry is always taken if it fits `maxcount`,
 * since `dircount` is only a hint; if it does not fit, {@link tooSmall} is
 * true and the answer is NFS4ERR_TOOSMALL.
 */
export class ReaddirPage {
  /** The entries taken so far, in order. */
  readonly entries: entry4[] = [];
  #maxcount: number;
  #dircount: number;
  #size = EMPTY_RESOK;
  #dirSize = 0;
  #full = false;

  /** Starts an empty page for a READDIR with these limits. */
  constructor(dircount: number, maxcount: number) {
    this.#dircount = dircount === 0 ? Infinity : dircount;
    this.#maxcount = maxcount;
  }

  /**
   * Takes `e` if it fits and returns true; returns false, and takes no
   * more entries, once one does not.
   */
  add(e: entry4): boolean {
    if (this.#full) return false;
    const size = entry4Size(e);
    const dirSize = entry4DirSize(e);
    if (
      this.#size + size > this.#maxcount ||
      (this.entries.length > 0 && this.#dirSize + dirSize > this.#dircount)
    ) {
      this.#full = true;
      return false;
    }
    this.entries.push(e);
    this.#size += size;
    this.#dirSize += dirSize;
    return true;
  }

  /** True when an entry was refused (the listing continues later). */
  get full(): boolean {
    return this.#full;
  }

  /** True when not even the first entry fitted `maxcount`. */
  get tooSmall(): boolean {
    return this.#full && this.entries.length === 0;
  }

  /** The encoded size of the READDIR4resok so far. */
  get size(): number {
    return this.#size;
  }

  /** The result for these entries; `eof` when the directory ends here. */
  resok(cookieverf: Uint8Array, eof: boolean): READDIR4resok {
    return { cookieverf, reply: { entries: this.entries, eof } };
  }
}
