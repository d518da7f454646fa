/**
 * COMPOUND arguments decoded the way a server must answer them: one
 * operation at a time, stopping at the first that cannot be decoded,
 * instead of refusing the whole request.
 *
 * RFC 8881 section 15.2 and RFC 7530 section 15.2: an operation number
 * outside `nfs_opnum4` is answered with an `OP_ILLEGAL` result and
 * NFS4ERR_OP_ILLEGAL, and arguments that do not decode with
 * NFS4ERR_BADXDR; the operations before it run. Only a malformed header
 * (tag, minor version, operation count) is garbage for the RPC layer.
 *
 * @example An unknown operation stops decoding, the ones before it stay
 * ```ts
 * import assert from "node:assert/strict";
 * import { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
 * import { nfs_opnum4, nfsstat4 } from "./nfs4_gen.ts";
 * import { decodeCompoundArgs } from "./compound.ts";
 * const w = new XdrWriter();
 * w.opaque(new Uint8Array(0)).u32(1).u32(2); // tag, minor version, 2 ops
 * w.u32(nfs_opnum4.OP_PUTROOTFH).u32(99);
 * const args = decodeCompoundArgs(new XdrReader(w.bytes()));
 * assert.deepEqual(args.argarray, [{ argop: nfs_opnum4.OP_PUTROOTFH }]);
 * assert.deepEqual(args.stopped, { index: 1, opnum: 99, status: nfsstat4.NFS4ERR_OP_ILLEGAL });
 * ```
 *
 * @module
 */

import { XdrError, type XdrReader } from "../../rpc/xdr.ts";
import {
  decode_nfs_argop4,
  type nfs_argop4,
  nfs_opnum4,
  nfsstat4,
  sizeof_nfs_argop4,
} from "./nfs4_gen.ts";

const OPNUMS: ReadonlySet<number> = new Set(Object.values(nfs_opnum4));

/** Where and why {@link decodeCompoundArgs} stopped early. */
export interface CompoundStop {
  /** Position of the operation in the request (0-based). */
  index: number;
  /** Its operation number as sent. */
  opnum: number;
  /** The status to answer it with. */
  status:
    | typeof nfsstat4.NFS4ERR_OP_ILLEGAL
    | typeof nfsstat4.NFS4ERR_BADXDR;
}

/** COMPOUND4args as far as it could be decoded. */
export interface CompoundArgs {
  /** The request's tag, echoed in the reply. */
  tag: Uint8Array;
  /** The minor version asked for. */
  minorversion: number;
  /** The operations decoded, in order. */
  argarray: nfs_argop4[];
  /** Set when an operation could not be decoded; later ones are not. */
  stopped?: CompoundStop;
}

/**
 * Decodes COMPOUND4args operation by operation.
 *
 * @throws {XdrError} when the header itself is malformed, or the count
 * of operations cannot fit in the bytes left.
 */
export function decodeCompoundArgs(r: XdrReader): CompoundArgs {
  const tag = r.opaque(0xffffffff, "COMPOUND4args.tag");
  const minorversion = r.u32("COMPOUND4args.minorversion");
  const count = r.u32("COMPOUND4args.argarray");
  if (count * sizeof_nfs_argop4.min > r.remaining) {
    throw new XdrError(
      `Array length ${count} cannot fit in ${r.remaining} bytes`,
      "COMPOUND4args.argarray",
    );
  }
  const argarray: nfs_argop4[] = [];
  for (let index = 0; index < count; index++) {
    const at = r.pos;
    const opnum = r.u32("nfs_argop4.argop");
    if (!OPNUMS.has(opnum)) {
      return {
        tag,
        minorversion,
        argarray,
        stopped: { index, opnum, status: nfsstat4.NFS4ERR_OP_ILLEGAL },
      };
    }
    r.pos = at;
    try {
      argarray.push(decode_nfs_argop4(r));
    } catch (e) {
      if (!(e instanceof XdrError)) throw e;
      return {
        tag,
        minorversion,
        argarray,
        stopped: { index, opnum, status: nfsstat4.NFS4ERR_BADXDR },
      };
    }
  }
  return { tag, minorversion, argarray };
}
