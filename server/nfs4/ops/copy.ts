/**
 * NFSv4.2 copies within the server (RFC 7862 sections 15.2, 15.8, 15.9
 * and 15.13): COPY, OFFLOAD_CANCEL, OFFLOAD_STATUS and CLONE.
 * COPY_NOTIFY and inter-server copies are left out (see `optional.ts`).
 *
 * COPY and CLONE take the source as the saved filehandle and the
 * destination as the current one, each a regular file (a directory
 * NFS4ERR_ISDIR, a symbolic link NFS4ERR_SYMLINK, anything else
 * NFS4ERR_WRONG_TYPE) of the same export (else NFS4ERR_XDEV). The source's
 * stateid must be valid for reading and the destination's for writing,
 * checked as READ's and WRITE's are. A pseudo directory or a read-only
 * export as the destination is NFS4ERR_ROFS. A count of 0 means "to the
 * source's end of file"; an offset or an offset plus count past the
 * source's end of file is NFS4ERR_INVAL, and so are overlapping ranges of
 * one file (RFC 7862 section 15.2.3).
 *
 * - COPY goes through the file system's `copy` (NFS4ERR_NOTSUPP without
 *   one), synchronously: the reply has no callback stateid, says the copy
 *   was consecutive and synchronous whatever the client asked, and counts
 *   the bytes copied. One COPY copies at most {@link MAX_COPY} bytes,
 *   since the client waits with an RPC slot held (knfsd stops at 4 MiB);
 *   a shorter count than asked tells the client to send the rest. The
 *   data is as durable as an UNSTABLE WRITE's (`wr_committed` UNSTABLE4,
 *   with the write verifier), so a client sends COMMIT, as Linux does in
 *   the COPY's own COMPOUND. A COPY naming a source server (an
 *   inter-server copy) is NFS4ERR_NOTSUPP.
 * - OFFLOAD_STATUS and OFFLOAD_CANCEL name an asynchronous copy by its
 *   callback stateid; this server makes none, so any stateid is
 *   NFS4ERR_BAD_STATEID (or NFS4ERR_STALE_STATEID from an earlier server
 *   instance), after the current filehandle is checked.
 * - CLONE goes through the file system's `clone` (NFS4ERR_NOTSUPP without
 *   one, or where the storage has no reflinks); `clone_blksize` is 0, so a
 *   file system that clones whole blocks only answers other ranges with
 *   NFS4ERR_INVAL.
 *
 * @module
 */

import {
  encode_CLONE4res,
  encode_COPY4res,
  encode_OFFLOAD_CANCEL4res,
  encode_OFFLOAD_STATUS4res,
  nfs_opnum4,
  nfsstat4,
  stable_how4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import type { Op } from "../compound.ts";
import type { CompoundState, Fh, Nfs4Server, Target } from "../context.ts";
import { fail } from "../errors.ts";
import { check, sessionClient, stateidArg, statusAs } from "./_state.ts";
import { checkStateid, requireRegular } from "./io.ts";

/** Most bytes one synchronous COPY copies. */
export const MAX_COPY = 64 << 20;

/** A COPY's or CLONE's files and its range, checked. */
interface Transfer {
  /** The destination (the caller's view of the export). */
  dst: Target;
  /** The source's FileId, in the same export. */
  src: number;
  srcOffset: number;
  dstOffset: number;
  /** Bytes to move: the count asked, or to the source's end for 0. */
  length: number;
}

/** Checks the files, stateids and range of a COPY or CLONE. */
async function transfer(
  cs: CompoundState,
  nfs: Nfs4Server,
  a: {
    srcStateid: stateid4;
    dstStateid: stateid4;
    srcOffset: number;
    dstOffset: number;
    count: number;
  },
): Promise<Transfer> {
  const dstFh: Fh = cs.current();
  const srcFh: Fh = cs.saved();
  const dst = cs.target(nfsstat4.NFS4ERR_ROFS, dstFh);
  const src = cs.target(nfsstat4.NFS4ERR_ISDIR, srcFh);
  if (src.exp !== dst.exp) fail(nfsstat4.NFS4ERR_XDEV);
  if (dst.exp.readOnly) fail(nfsstat4.NFS4ERR_ROFS);
  checkStateid(cs, nfs, src, a.srcStateid, "read");
  checkStateid(cs, nfs, dst, a.dstStateid, "write");
  const [sa, da] = await Promise.all([
    src.fs.getattr(src.cred, src.id),
    dst.fs.getattr(dst.cred, dst.id),
  ]);
  requireRegular(sa.type, cs.minor);
  requireRegular(da.type, cs.minor);
  const { srcOffset, dstOffset } = a;
  if (srcOffset > sa.size) {
    fail(nfsstat4.NFS4ERR_INVAL, "Source offset past end of file");
  }
  const length = a.count === 0 ? sa.size - srcOffset : a.count;
  if (srcOffset + length > sa.size) {
    fail(nfsstat4.NFS4ERR_INVAL, "Source range past end of file");
  }
  if (
    src.id === dst.id && srcOffset < dstOffset + length &&
    dstOffset < srcOffset + length
  ) {
    fail(nfsstat4.NFS4ERR_INVAL, "Overlapping ranges of one file");
  }
  return { dst, src: src.id, srcOffset, dstOffset, length };
}

/**
 * Refuses an asynchronous copy's stateid: this server makes none. A
 * stateid of an earlier instance says so (NFS4ERR_STALE_STATEID).
 */
function noCopy(s: stateid4, cs: CompoundState, nfs: Nfs4Server): never {
  cs.current();
  check(nfs.state.stateids.check(stateidArg(cs, s), {
    minor: cs.minor,
    clientid: sessionClient(cs),
    kinds: [],
  }));
  fail(nfsstat4.NFS4ERR_BAD_STATEID);
}

/** The copy operations by number. */
export const copyOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_COPY, {
    name: "COPY",
    encode: statusAs("cr_status", encode_COPY4res),
    // Never answered here, but its arm carries the requirements.
    failure: (status) =>
      status === nfsstat4.NFS4ERR_OFFLOAD_NO_REQS
        ? {
          status,
          cr_requirements: { cr_consecutive: true, cr_synchronous: true },
        }
        : { status },
    run: async (a, cs, nfs) => {
      if (a.ca_source_server.length > 0) {
        fail(nfsstat4.NFS4ERR_NOTSUPP, "Inter-server copies are not offered");
      }
      const x = await transfer(cs, nfs, {
        srcStateid: a.ca_src_stateid,
        dstStateid: a.ca_dst_stateid,
        srcOffset: a.ca_src_offset,
        dstOffset: a.ca_dst_offset,
        count: a.ca_count,
      });
      const { fs, cred, id } = x.dst;
      if (fs.copy === undefined) fail(nfsstat4.NFS4ERR_NOTSUPP);
      const length = Math.min(x.length, MAX_COPY);
      const copied = length === 0 ? 0 : await fs.copy(cred, x.src, id, {
        srcOffset: x.srcOffset,
        dstOffset: x.dstOffset,
        length,
      });
      return {
        status: nfsstat4.NFS4_OK,
        cr_resok4: {
          cr_response: {
            wr_callback_id: [],
            wr_count: copied,
            wr_committed: stable_how4.UNSTABLE4,
            wr_writeverf: nfs.writeVerf,
          },
          cr_requirements: { cr_consecutive: true, cr_synchronous: true },
        },
      };
    },
  }],
  [nfs_opnum4.OP_OFFLOAD_CANCEL, {
    name: "OFFLOAD_CANCEL",
    encode: statusAs("ocr_status", encode_OFFLOAD_CANCEL4res),
    run: (a, cs, nfs) => noCopy(a.oca_stateid, cs, nfs),
  }],
  [nfs_opnum4.OP_OFFLOAD_STATUS, {
    name: "OFFLOAD_STATUS",
    encode: statusAs("osr_status", encode_OFFLOAD_STATUS4res),
    run: (a, cs, nfs) => noCopy(a.osa_stateid, cs, nfs),
  }],
  [nfs_opnum4.OP_CLONE, {
    name: "CLONE",
    encode: statusAs("cl_status", encode_CLONE4res),
    run: async (a, cs, nfs) => {
      const x = await transfer(cs, nfs, {
        srcStateid: a.cl_src_stateid,
        dstStateid: a.cl_dst_stateid,
        srcOffset: a.cl_src_offset,
        dstOffset: a.cl_dst_offset,
        count: a.cl_count,
      });
      const { fs, cred, id } = x.dst;
      if (fs.clone === undefined) fail(nfsstat4.NFS4ERR_NOTSUPP);
      if (x.length > 0) {
        await fs.clone(cred, x.src, id, {
          srcOffset: x.srcOffset,
          dstOffset: x.dstOffset,
          length: x.length,
        });
      }
      return { status: nfsstat4.NFS4_OK };
    },
  }],
]);
