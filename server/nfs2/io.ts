/**
 * NFSv2 READ and WRITE: the data path.
 *
 * - READ returns at most 8192 bytes (NFS_MAXDATA), whatever the client
 *   asked for, with the file's attributes; the data goes out uncopied.
 * - WRITE is synchronous: version 2 has no COMMIT, so the data and the
 *   file's metadata are durable (the file system's "file" stability)
 *   before the reply, which carries the attributes after the write. It
 *   answers NFSERR_ROFS on a read-only export and NFSERR_FBIG for data
 *   that would end beyond 2^32 − 1 bytes, the largest size version 2 can
 *   express, writing nothing either way. `beginoffset` and `totalcount`
 *   are unused, as RFC 1094 says.
 *
 * @module
 */

import {
  decode_readargs,
  decode_writeargs,
  encode_attrstat,
  encode_readres,
  NFS_MAXDATA,
  NFSPROC_READ,
  NFSPROC_WRITE,
  nfsstat,
} from "../../proto/nfs2/mod.ts";
import { fattrOf } from "./convert.ts";
import { type Nfs2Procedure, nfs2Procedure } from "./context.ts";

/** The end of the largest file version 2 can describe. */
const MAX_END = 0xffffffff;

/**
 * The READ and WRITE procedures.
 */
export const ioProcedures: Record<number, Nfs2Procedure<any, any>> = {
  [NFSPROC_READ]: nfs2Procedure({
    name: "READ",
    decode: decode_readargs,
    encode: encode_readres,
    fh: (a) => a.file,
    run: async (a, t) => {
      const count = Math.min(a.count, NFS_MAXDATA);
      // The attributes and the data are independent: fetch both at once.
      const [attrs, res] = await Promise.all([
        t.fs.getattr(t.cred, t.id),
        t.fs.read(t.cred, t.id, a.offset, count),
      ]);
      return {
        status: nfsstat.NFS_OK,
        reply: { attributes: fattrOf(attrs), data: res.data },
      };
    },
  }),
  [NFSPROC_WRITE]: nfs2Procedure({
    name: "WRITE",
    decode: decode_writeargs,
    encode: encode_attrstat,
    fh: (a) => a.file,
    run: async (a, t) => {
      if (t.exp.readOnly) return { status: nfsstat.NFSERR_ROFS };
      if (a.offset + a.data.byteLength > MAX_END) {
        return { status: nfsstat.NFSERR_FBIG };
      }
      const res = await t.fs.write(t.cred, t.id, a.offset, a.data, "file");
      return { status: nfsstat.NFS_OK, attributes: fattrOf(res.attrs) };
    },
  }),
};
