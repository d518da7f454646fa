/**
 * NFSv2 GETATTR, SETATTR and STATFS.
 *
 * - GETATTR answers the object's attributes in their 32-bit form
 *   (convert.ts).
 * - SETATTR changes what the `sattr` sets (all ones: unchanged) and
 *   answers the attributes after; NFSERR_ROFS on a read-only export,
 *   changing nothing.
 * - STATFS answers 8192 as the transfer size and the file system's space
 *   in blocks of 4096 bytes, or of the smallest larger power of two that
 *   keeps the total within 32 bits.
 *
 * @module
 */

import {
  decode_fhandle,
  decode_sattrargs,
  encode_attrstat,
  encode_statfsres,
  NFS_MAXDATA,
  NFSPROC_GETATTR,
  NFSPROC_SETATTR,
  NFSPROC_STATFS,
  nfsstat,
} from "../../proto/nfs2/mod.ts";
import { fattrOf, saturate32, setAttributesOf } from "./convert.ts";
import { type Nfs2Procedure, nfs2Procedure } from "./context.ts";

/** The largest block size STATFS reports. */
const MAX_BSIZE = 2 ** 30;

/**
 * The GETATTR, SETATTR and STATFS procedures.
 */
export const attrProcedures: Record<number, Nfs2Procedure<any, any>> = {
  [NFSPROC_GETATTR]: nfs2Procedure({
    name: "GETATTR",
    decode: decode_fhandle,
    encode: encode_attrstat,
    fh: (fh) => fh,
    run: async (_fh, t) => ({
      status: nfsstat.NFS_OK,
      attributes: fattrOf(await t.fs.getattr(t.cred, t.id)),
    }),
  }),
  [NFSPROC_SETATTR]: nfs2Procedure({
    name: "SETATTR",
    decode: decode_sattrargs,
    encode: encode_attrstat,
    fh: (a) => a.file,
    run: async (a, t) => {
      if (t.exp.readOnly) return { status: nfsstat.NFSERR_ROFS };
      const attrs = setAttributesOf(a.attributes);
      return {
        status: nfsstat.NFS_OK,
        attributes: fattrOf(await t.fs.setattr(t.cred, t.id, attrs)),
      };
    },
  }),
  [NFSPROC_STATFS]: nfs2Procedure({
    name: "STATFS",
    decode: decode_fhandle,
    encode: encode_statfsres,
    fh: (fh) => fh,
    run: async (_fh, t) => {
      const s = await t.fs.statfs(t.cred, t.id);
      let bsize = 4096;
      while (s.totalBytes / bsize > 0xffffffff && bsize < MAX_BSIZE) bsize *= 2;
      return {
        status: nfsstat.NFS_OK,
        info: {
          tsize: NFS_MAXDATA,
          bsize,
          blocks: saturate32(s.totalBytes / bsize),
          bfree: saturate32(s.freeBytes / bsize),
          bavail: saturate32(s.availBytes / bsize),
        },
      };
    },
  }),
};
