/**
 * NFSv2 on the wire (RFC 1094), with MOUNT v1's MNT reply, for the server
 * and the client alike.
 *
 * - `nfs2_gen.ts`, generated from `nfs2.x` by `deno task gen`: every
 *   constant, type, encoder (`encode_X`), decoder (`decode_X`) and encoded
 *   size (`sizeof_X`). Names are the RFC's.
 * - `data.ts`: `nfsdata` encoded uncopied.
 * - `readdir.ts`: READDIR's entry sizes, for paging by bytes.
 * - `fields.ts`: what attribute fields mean beyond their XDR (type bits in
 *   `mode`, packed device numbers, "unchanged" and "server time" in
 *   `sattr`).
 *
 * The rest of MOUNT v1 (the path argument, the mount and export lists) is
 * MOUNT v3's as well: `proto/mount.ts`.
 *
 * @example A LOOKUP's arguments and reply, both ways
 * ```ts
 * import assert from "node:assert/strict";
 * import { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
 * import {
 *   decode_diropargs,
 *   decode_diropres,
 *   encode_diropargs,
 *   encode_diropres,
 *   ftype,
 *   nfsstat,
 *   sizeof_diropres,
 *   type diropres,
 * } from "./mod.ts";
 * const args = { dir: new Uint8Array(32), name: "notes.txt" };
 * const w = new XdrWriter();
 * encode_diropargs(w, args);
 * assert.deepEqual(decode_diropargs(new XdrReader(w.bytes())), args);
 *
 * const time = { seconds: 1, useconds: 0 };
 * const res: diropres = {
 *   status: nfsstat.NFS_OK,
 *   diropres: {
 *     file: new Uint8Array(32),
 *     attributes: {
 *       type: ftype.NFREG, mode: 0o100644, nlink: 1, uid: 0, gid: 0, size: 5,
 *       blocksize: 512, rdev: 0, blocks: 1, fsid: 1, fileid: 7,
 *       atime: time, mtime: time, ctime: time,
 *     },
 *   },
 * };
 * const reply = new XdrWriter();
 * encode_diropres(reply, res);
 * assert.equal(reply.length, sizeof_diropres.max); // 4 + 32 + 68
 * assert.deepEqual(decode_diropres(new XdrReader(reply.bytes())), res);
 * // A failure is the status alone.
 * const fail = new XdrWriter();
 * encode_diropres(fail, { status: nfsstat.NFSERR_NOENT });
 * assert.equal(fail.length, 4);
 * ```
 *
 * @module
 */

export * from "./nfs2_gen.ts";
export * from "./data.ts";
export * from "./readdir.ts";
export * from "./fields.ts";
