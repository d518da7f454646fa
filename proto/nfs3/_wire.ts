/**
 * The small readers and writers every NFSv3 codec module shares and
 * `proto/nfs3.ts` does not export: 64-bit numbers read without throwing,
 * names bounded by {@link NFS3_MAXPATHLEN}, and the 8-byte verifiers.
 *
 * @module
 */

import type { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import { XdrError } from "../../rpc/xdr.ts";
import { NFS3_MAXPATHLEN, NFS3_VERFSIZE } from "./types.ts";

const TWO_32 = 4294967296;

/** Reads a uint64 as a number without throwing (lossy above 2^53). */
export function u64n(r: XdrReader, field: string): number {
  const hi = r.u32(field);
  const lo = r.u32(field);
  return hi * TWO_32 + lo;
}

/** Reads a `filename3` of at most {@link NFS3_MAXPATHLEN} bytes. */
export function decodeName(r: XdrReader, field: string): string {
  return r.string(NFS3_MAXPATHLEN, field);
}

/** Reads an 8-byte verifier (cookie, create or write). */
export function decodeVerf(r: XdrReader, field: string): Uint8Array {
  return r.fixedOpaque(NFS3_VERFSIZE, field);
}

/** Writes an 8-byte verifier; any other length is an {@link XdrError}. */
export function encodeVerf(w: XdrWriter, v: Uint8Array): void {
  if (v.byteLength !== NFS3_VERFSIZE) {
    throw new XdrError(`Verifier must be 8 bytes: ${v.byteLength}`);
  }
  w.fixedOpaque(v);
}
