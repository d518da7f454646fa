/**
 * NFSv4.0, 4.1 and 4.2 (with RFC 8276's extended attributes) on the wire,
 * for the server and the client alike.
 *
 * - `nfs4_gen.ts`, generated from `nfs4.x` by `deno task gen`: every
 *   constant, type, encoder (`encode_X`), decoder (`decode_X`) and encoded
 *   size (`sizeof_X`) of RFC 7531, RFC 5662, RFC 7863 and RFC 8276, the
 *   callback program included. Names are the RFCs'.
 * - `read.ts`: READ4resok and READ_PLUS's data4 encoded with their data
 *   uncopied.
 * - `readdir.ts`: READDIR paged by bytes.
 * - `fattr4.ts`: the attribute table and the `fattr4` codec.
 * - `bitmap4.ts`: `bitmap4` helpers.
 * - `compound.ts`: COMPOUND arguments decoded one operation at a time, as
 *   a server answers them.
 *
 * @example A COMPOUND of PUTROOTFH and GETFH, both ways
 * ```ts
 * import assert from "node:assert/strict";
 * import { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
 * import {
 *   decode_COMPOUND4args,
 *   encode_COMPOUND4args,
 *   nfs_opnum4,
 *   type COMPOUND4args,
 * } from "./mod.ts";
 * const args: COMPOUND4args = {
 *   tag: new Uint8Array(0),
 *   minorversion: 1,
 *   argarray: [{ argop: nfs_opnum4.OP_PUTROOTFH }, { argop: nfs_opnum4.OP_GETFH }],
 * };
 * const w = new XdrWriter();
 * encode_COMPOUND4args(w, args);
 * assert.equal(w.length, 4 + 4 + 4 + 4 + 4);
 * assert.deepEqual(decode_COMPOUND4args(new XdrReader(w.bytes())), args);
 * ```
 *
 * @module
 */

export * from "./nfs4_gen.ts";
export * from "./read.ts";
export * from "./readdir.ts";
export * from "./fattr4.ts";
export * from "./bitmap4.ts";
export * from "./compound.ts";
