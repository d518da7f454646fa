/**
 * NFSv4.2 space and sparse-file operations (RFC 7862 sections 15.1, 15.4,
 * 15.5 and 15.11): ALLOCATE, DEALLOCATE, SEEK and IO_ADVISE. READ_PLUS is
 * in `read_plus.ts`.
 *
 * Each works on the current filehandle, a regular file: a directory is
 * NFS4ERR_ISDIR, a symbolic link NFS4ERR_SYMLINK, anything else
 * NFS4ERR_WRONG_TYPE (as READ and WRITE answer in 4.1). Stateids go
 * through `nfs.state.checkIo` as READ's and WRITE's do: SEEK and IO_ADVISE
 * need one valid for reading, ALLOCATE and DEALLOCATE one valid for
 * writing.
 *
 * - ALLOCATE reserves storage through the file system's `allocate`,
 *   growing the file to cover the range; DEALLOCATE punches a hole
 *   through `deallocate`, leaving the size alone, so a range past the end
 *   of file frees nothing and succeeds. Either on a file system without
 *   the capability: NFS4ERR_NOTSUPP. A pseudo directory or a read-only
 *   export: NFS4ERR_ROFS. A length of 0 is NFS4ERR_INVAL, a range past the
 *   largest file size NFS4ERR_FBIG (the file system's EINVAL and EFBIG).
 * - SEEK answers the next data or hole at or after `sa_offset` through the
 *   file system's `seek`; without one, every byte is data and the only
 *   hole is the one at the end of file. An offset at or past the end of
 *   file is NFS4ERR_NXIO. When nothing of the kind follows, the answer is
 *   `sr_eof` with the file's size as the offset (the Linux client turns
 *   that into ENXIO for SEEK_DATA); the hole at the end of file has
 *   `sr_eof` too.
 * - IO_ADVISE accepts every hint and acts on none: its reply's bitmap is
 *   empty (RFC 7862 section 15.5.3 lets a server ignore hints).
 *
 * @module
 */

import {
  data_content4,
  encode_ALLOCATE4res,
  encode_DEALLOCATE4res,
  encode_IO_ADVISE4res,
  encode_SEEK4res,
  nfs_opnum4,
  nfsstat4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import type { Op } from "../compound.ts";
import type { CompoundState, Nfs4Server, Target } from "../context.ts";
import { fail } from "../errors.ts";
import { statusAs } from "./_state.ts";
import { checkStateid, requireRegular } from "./io.ts";

/**
 * The current file, a regular file the stateid lets the caller read or
 * write: its target and size.
 */
export async function regularFile(
  cs: CompoundState,
  nfs: Nfs4Server,
  stateid: stateid4,
  io: "read" | "write",
): Promise<{ t: Target; size: number }> {
  const t = cs.target(
    io === "write" ? nfsstat4.NFS4ERR_ROFS : nfsstat4.NFS4ERR_ISDIR,
  );
  if (io === "write" && t.exp.readOnly) fail(nfsstat4.NFS4ERR_ROFS);
  checkStateid(cs, nfs, t, stateid, io);
  const a = await t.fs.getattr(t.cred, t.id);
  requireRegular(a.type, cs.minor);
  return { t, size: a.size };
}

/** SEEK's answer: the next data or hole at or after `offset`. */
async function seek(
  t: Target,
  size: number,
  offset: number,
  what: "data" | "hole",
): Promise<{ offset: number; eof: boolean }> {
  if (offset >= size) fail(nfsstat4.NFS4ERR_NXIO, "Offset past end of file");
  if (t.fs.seek !== undefined) {
    return await t.fs.seek(t.cred, t.id, offset, what);
  }
  return what === "data" ? { offset, eof: false } : { offset: size, eof: true };
}

/** ALLOCATE or DEALLOCATE through the file system's capability. */
async function space(
  cs: CompoundState,
  nfs: Nfs4Server,
  a: { stateid: stateid4; offset: number; length: number },
  which: "allocate" | "deallocate",
): Promise<{ status: typeof nfsstat4.NFS4_OK }> {
  const { t } = await regularFile(cs, nfs, a.stateid, "write");
  const call = t.fs[which];
  if (call === undefined) fail(nfsstat4.NFS4ERR_NOTSUPP);
  await call.call(t.fs, t.cred, t.id, a.offset, a.length);
  return { status: nfsstat4.NFS4_OK };
}

/** The space and sparse-file operations by number. */
export const sparseOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_ALLOCATE, {
    name: "ALLOCATE",
    encode: statusAs("ar_status", encode_ALLOCATE4res),
    run: (a, cs, nfs) =>
      space(cs, nfs, {
        stateid: a.aa_stateid,
        offset: a.aa_offset,
        length: a.aa_length,
      }, "allocate"),
  }],
  [nfs_opnum4.OP_DEALLOCATE, {
    name: "DEALLOCATE",
    encode: statusAs("dr_status", encode_DEALLOCATE4res),
    run: (a, cs, nfs) =>
      space(cs, nfs, {
        stateid: a.da_stateid,
        offset: a.da_offset,
        length: a.da_length,
      }, "deallocate"),
  }],
  [nfs_opnum4.OP_SEEK, {
    name: "SEEK",
    encode: statusAs("sa_status", encode_SEEK4res),
    run: async (a, cs, nfs) => {
      const { t, size } = await regularFile(cs, nfs, a.sa_stateid, "read");
      const what = a.sa_what === data_content4.NFS4_CONTENT_HOLE
        ? "hole"
        : "data";
      const r = await seek(t, size, a.sa_offset, what);
      return {
        status: nfsstat4.NFS4_OK,
        resok4: { sr_eof: r.eof, sr_offset: r.offset },
      };
    },
  }],
  [nfs_opnum4.OP_IO_ADVISE, {
    name: "IO_ADVISE",
    encode: statusAs("ior_status", encode_IO_ADVISE4res),
    run: async (a, cs, nfs) => {
      await regularFile(cs, nfs, a.iaa_stateid, "read");
      return { status: nfsstat4.NFS4_OK, resok4: { ior_hints: [] } };
    },
  }],
]);
