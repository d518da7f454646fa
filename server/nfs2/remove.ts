/**
 * NFSv2 REMOVE, RMDIR, RENAME and LINK: the procedures that change
 * directory entries of existing objects. Each answers its status alone.
 *
 * All four go through the duplicate-request cache (a retransmitted REMOVE
 * gets the first reply, not NFSERR_NOENT) and answer NFSERR_ROFS on a
 * read-only export without changing anything. RENAME and LINK name two
 * handles; when they belong to different exports the answer is
 * NFSERR_XDEV, even over one file system.
 *
 * @module
 */

import {
  decode_diropargs,
  decode_linkargs,
  decode_renameargs,
  type diropargs,
  NFSPROC_LINK,
  NFSPROC_REMOVE,
  NFSPROC_RENAME,
  NFSPROC_RMDIR,
  nfsstat,
} from "../../proto/nfs2/mod.ts";
import type { Target } from "../_targets.ts";
import {
  encodeStatus,
  type Nfs2Procedure,
  nfs2Procedure,
  type StatusRes,
} from "./context.ts";

/** NFSERR_XDEV or NFSERR_ROFS when a two-handle call may not go ahead. */
function refusal(a: Target, b: Target): number {
  if (a.exp !== b.exp) return nfsstat.NFSERR_XDEV;
  return a.exp.readOnly ? nfsstat.NFSERR_ROFS : nfsstat.NFS_OK;
}

function unlink(rmdir: boolean): Nfs2Procedure<diropargs, StatusRes> {
  return {
    name: rmdir ? "RMDIR" : "REMOVE",
    cached: true,
    decode: decode_diropargs,
    encode: encodeStatus,
    fh: (a) => a.dir,
    run: async (a, t) => {
      if (t.exp.readOnly) return { status: nfsstat.NFSERR_ROFS };
      if (rmdir) await t.fs.rmdir(t.cred, t.id, a.name);
      else await t.fs.remove(t.cred, t.id, a.name);
      return { status: nfsstat.NFS_OK };
    },
  };
}

/**
 * The REMOVE, RMDIR, RENAME and LINK procedures.
 */
export const removeProcedures: Record<number, Nfs2Procedure<any, any>> = {
  [NFSPROC_REMOVE]: unlink(false),
  [NFSPROC_RMDIR]: unlink(true),
  [NFSPROC_RENAME]: nfs2Procedure({
    name: "RENAME",
    cached: true,
    decode: decode_renameargs,
    encode: encodeStatus,
    fh: (a) => a.from.dir,
    fh2: (a) => a.to.dir,
    run: async (a, from, _nfs, second): Promise<StatusRes> => {
      const to = second!;
      const status = refusal(from, to);
      if (status !== nfsstat.NFS_OK) return { status };
      await from.fs.rename(from.cred, from.id, a.from.name, to.id, a.to.name);
      return { status };
    },
  }),
  [NFSPROC_LINK]: nfs2Procedure({
    name: "LINK",
    cached: true,
    decode: decode_linkargs,
    encode: encodeStatus,
    fh: (a) => a.from,
    fh2: (a) => a.to.dir,
    run: async (a, file, _nfs, second): Promise<StatusRes> => {
      const dir = second!;
      const status = refusal(file, dir);
      if (status !== nfsstat.NFS_OK) return { status };
      await dir.fs.link(dir.cred, file.id, dir.id, a.to.name);
      return { status };
    },
  }),
};
