/**
 * NFSv4 security negotiation: SECINFO and 4.1's SECINFO_NO_NAME, and
 * OPENATTR (named attributes are not offered: NFS4ERR_NOTSUPP).
 *
 * Every object is served with AUTH_SYS, the flavor this server checks
 * (AUTH_NONE calls are taken too, as the export's anonymous user, but are
 * not advertised, so a negotiating client picks AUTH_SYS). SECINFO looks
 * the name up as LOOKUP does (NFS4ERR_NOENT for a missing or hidden
 * name); SECINFO_NO_NAME answers for the current filehandle or its parent
 * (NFS4ERR_NOENT above the root). In 4.1 both consume the current
 * filehandle (RFC 8881 section 2.6.3.1.1.8); in 4.0 SECINFO keeps it.
 *
 * @module
 */

import {
  AUTH_SYS,
  encode_OPENATTR4res,
  encode_SECINFO4res,
  encode_SECINFO_NO_NAME4res,
  nfs_opnum4,
  nfsstat4,
  type SECINFO4res,
  secinfo_style4,
} from "../../../proto/nfs4/mod.ts";
import type { Op } from "../compound.ts";
import type { CompoundState } from "../context.ts";
import { fail } from "../errors.ts";
import { lookup, lookupp } from "./fh.ts";

/** The answer for every object (the encoder only reads it). */
const FLAVORS: SECINFO4res = {
  status: nfsstat4.NFS4_OK,
  resok4: [{ flavor: AUTH_SYS }],
};

/** After a successful SECINFO: 4.1 leaves no current filehandle. */
function consume(cs: CompoundState): SECINFO4res {
  if (cs.minor >= 1) {
    cs.cfh = undefined;
    cs.currentStateid = undefined;
  }
  return FLAVORS;
}

/** The security operations by number. */
export const secinfoOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_SECINFO, {
    name: "SECINFO",
    encode: encode_SECINFO4res,
    run: async (a, cs, nfs) => {
      const had = cs.current();
      const stateid = cs.currentStateid;
      try {
        await lookup(cs, nfs, a.name);
      } finally {
        // The lookup only checks the name: the current filehandle stays
        // (4.0) or goes (4.1), never becomes the child.
        cs.cfh = had;
        cs.currentStateid = stateid;
      }
      return consume(cs);
    },
  }],
  [nfs_opnum4.OP_SECINFO_NO_NAME, {
    name: "SECINFO_NO_NAME",
    encode: encode_SECINFO_NO_NAME4res,
    run: async (style, cs, nfs) => {
      cs.current();
      if (style === secinfo_style4.SECINFO_STYLE4_PARENT) {
        await lookupp(cs, nfs);
      }
      return consume(cs);
    },
  }],
  [nfs_opnum4.OP_OPENATTR, {
    name: "OPENATTR",
    encode: encode_OPENATTR4res,
    run: (_, cs) => {
      cs.current();
      fail(nfsstat4.NFS4ERR_NOTSUPP, "Named attributes are not supported");
    },
  }],
]);
