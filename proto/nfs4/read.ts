/**
 * READ's result and READ_PLUS's data segments, written by hand because
 * their data goes out uncopied (the exclusions are listed in
 * `tools/xdrgen/config.ts`).
 *
 * {@link encode_READ4resok} ends the result with `XdrWriter.opaqueRef`, so
 * a writer made with `refMin` (the RPC server's) hands data of 64 KiB and
 * more to the socket apart from the reply buffer, as NFSv3 READ does
 * (`proto/nfs3.ts` encodeReadRes). The caller must not change the data
 * until the reply is sent. When more results follow in the COMPOUND, the
 * writer copies the data in first, so the encoding is the same either way.
 *
 * The generated module imports this one, so it imports nothing from there
 * but types: a value would not be initialised yet when this module loads.
 *
 * @example The data is kept by reference when the writer allows it
 * ```ts
 * import assert from "node:assert/strict";
 * import { XdrWriter } from "../../rpc/xdr.ts";
 * import { encode_READ4resok } from "./read.ts";
 * const data = new Uint8Array(65536);
 * const w = new XdrWriter({ reserve: 4, refMin: 65536 });
 * encode_READ4resok(w, { eof: false, data });
 * const { head, tail } = w.framed((view, n) => view.setUint32(0, n));
 * assert.equal(head.length, 4 + 4 + 4); // record mark, eof, length
 * assert.equal(tail, data);
 * ```
 *
 * @module
 */

import type { XdrWriter } from "../../rpc/xdr.ts";
import type { data4, READ4resok } from "./nfs4_gen.ts";

/**
 * Encodes a READ4resok: `eof`, then `data` kept by reference when the
 * writer allows it (see the module documentation).
 */
export function encode_READ4resok(w: XdrWriter, v: READ4resok): void {
  w.bool(v.eof);
  w.opaqueRef(v.data);
}

/**
 * Encodes a data4 (a READ_PLUS data segment): `d_offset`, then `d_data`
 * kept by reference when the writer allows it, as
 * {@link encode_READ4resok} does.
 */
export function encode_data4(w: XdrWriter, v: data4): void {
  w.u64(v.d_offset);
  w.opaqueRef(v.d_data);
}
