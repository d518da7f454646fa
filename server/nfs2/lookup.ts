/**
 * NFSv2 LOOKUP and READLINK.
 *
 * LOOKUP of ".." in an export's root answers the root itself: a client
 * cannot climb out of what it mounted. READLINK answers a target longer
 * than the 1024 bytes version 2 can carry with NFSERR_NAMETOOLONG.
 *
 * @module
 */

import {
  decode_diropargs,
  decode_fhandle,
  encode_diropres,
  encode_readlinkres,
  NFS_MAXPATHLEN,
  NFSPROC_LOOKUP,
  NFSPROC_READLINK,
  nfsstat,
} from "../../proto/nfs2/mod.ts";
import { utf8Length } from "../../proto/nfs3.ts";
import { findName } from "../../vfs/_find.ts";
import { fattrOf } from "./convert.ts";
import { type Nfs2Procedure, nfs2Procedure } from "./context.ts";

/**
 * The LOOKUP and READLINK procedures.
 */
export const lookupProcedures: Record<number, Nfs2Procedure<any, any>> = {
  [NFSPROC_LOOKUP]: nfs2Procedure({
    name: "LOOKUP",
    decode: decode_diropargs,
    encode: encode_diropres,
    fh: (a) => a.dir,
    run: async (a, t, nfs) => {
      const name = a.name === ".." && t.id === t.exp.root ? "." : a.name;
      const obj = await findName(t.fs, t.cred, t.id, name);
      if (obj === undefined) return { status: nfsstat.NFSERR_NOENT };
      return {
        status: nfsstat.NFS_OK,
        diropres: {
          file: nfs.handle(t.exp, obj.fileid),
          attributes: fattrOf(obj),
        },
      };
    },
  }),
  [NFSPROC_READLINK]: nfs2Procedure({
    name: "READLINK",
    decode: decode_fhandle,
    encode: encode_readlinkres,
    fh: (fh) => fh,
    run: async (_fh, t) => {
      const data = await t.fs.readlink(t.cred, t.id);
      if (utf8Length(data) > NFS_MAXPATHLEN) {
        return { status: nfsstat.NFSERR_NAMETOOLONG };
      }
      return { status: nfsstat.NFS_OK, data };
    },
  }),
};
