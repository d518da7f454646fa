/**
 * NFSv2 file data (`nfsdata`), encoded by hand because it goes out
 * uncopied (the exclusion is listed in `tools/xdrgen/config.ts`).
 *
 * {@link encode_nfsdata} writes with `XdrWriter.opaqueRef`, so a writer
 * made with `refMin` (the RPC server's) hands a READ's data to the socket
 * apart from the reply buffer, as NFSv3 READ does. The caller must not
 * change the data until the reply is sent. The generated module imports
 * this one, so it imports nothing from there: a value would not be
 * initialised yet when this module loads.
 *
 * @example At most 8192 bytes, kept by reference when the writer allows it
 * ```ts
 * import assert from "node:assert/strict";
 * import { XdrError, XdrWriter } from "../../rpc/xdr.ts";
 * import { encode_nfsdata } from "./data.ts";
 * const data = new Uint8Array(8192);
 * const w = new XdrWriter({ reserve: 4, refMin: 4096 });
 * encode_nfsdata(w, data);
 * const { head, tail } = w.framed((view, n) => view.setUint32(0, n));
 * assert.equal(head.length, 4 + 4); // record mark, length
 * assert.equal(tail, data);
 * assert.throws(() => encode_nfsdata(new XdrWriter(), new Uint8Array(8193)), XdrError);
 * ```
 *
 * @module
 */

import { XdrError, type XdrWriter } from "../../rpc/xdr.ts";

/** NFS_MAXDATA, repeated here so this module imports no value from the generated one. */
const MAXDATA = 8192;

/**
 * Encodes an `nfsdata`: its length, then the bytes, kept by reference when
 * the writer allows it (see the module documentation). Refuses more than
 * 8192 bytes.
 */
export function encode_nfsdata(w: XdrWriter, v: Uint8Array): void {
  if (v.byteLength > MAXDATA) {
    throw new XdrError(
      `Length ${v.byteLength} exceeds maximum ${MAXDATA}`,
      "nfsdata",
    );
  }
  w.opaqueRef(v);
}
