/**
 * READDIR's sizes, for paging by bytes: a server adds entries while the
 * encoded `readdirok` stays within the client's `count`.
 *
 * @example The size of a page, computed and encoded
 * ```ts
 * import assert from "node:assert/strict";
 * import { XdrWriter } from "../../rpc/xdr.ts";
 * import { encode_readdirok } from "./nfs2_gen.ts";
 * import { EMPTY_READDIROK, entrySize } from "./readdir.ts";
 * const cookie = new Uint8Array([0, 0, 0, 3]);
 * const w = new XdrWriter();
 * encode_readdirok(w, { entries: [{ fileid: 7, name: "notes.txt", cookie }], eof: true });
 * assert.equal(w.length, EMPTY_READDIROK + entrySize(9));
 * ```
 *
 * @module
 */

import { sizeof_nfscookie } from "./nfs2_gen.ts";

function _padded(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}

/**
 * Encoded size of one entry in a `readdirok`, with its list link, for a
 * name of `nameBytes` bytes of UTF-8.
 */
export function entrySize(nameBytes: number): number {
  // TRUE, fileid, name length and bytes, cookie.
  return 4 + 4 + 4 + _padded(nameBytes) + sizeof_nfscookie.max;
}

/** A `readdirok` with no entries: the end of the list and eof. */
export const EMPTY_READDIROK = 4 + 4;
