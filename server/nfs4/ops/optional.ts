/**
 * The OPTIONAL features this server leaves out, answered as RFC 7530,
 * RFC 8881 and RFC 7862 have a server without them answer: it grants no
 * delegations, offers no pNFS layouts, no SSV state protection, no
 * inter-server copies and no application data blocks.
 *
 * - DELEGPURGE: NFS4ERR_NOTSUPP (no CLAIM_DELEGATE_PREV to purge for).
 * - DELEGRETURN: the stateid is checked as a delegation stateid, and since
 *   none was granted the answer is that check's error (NFS4ERR_BAD_STATEID,
 *   or STALE/OLD/EXPIRED where the state says so).
 * - GET_DIR_DELEGATION: NFS4_OK with GDD4_UNAVAIL, the non-fatal "not now",
 *   as knfsd answers: recent Linux clients add it to COMPOUNDs whose other
 *   operations would fail with the whole COMPOUND on NFS4ERR_NOTSUPP.
 * - WANT_DELEGATION, GETDEVICEINFO, GETDEVICELIST, LAYOUTGET, LAYOUTCOMMIT,
 *   LAYOUTRETURN: NFS4ERR_NOTSUPP (EXCHANGE_ID never offers pNFS, so a
 *   client has no reason to send them).
 * - SET_SSV: NFS4ERR_INVAL, since no client ID was made with SP4_SSV.
 * - 4.2: COPY_NOTIFY (the source side of an inter-server copy),
 *   WRITE_SAME (application data blocks), LAYOUTERROR and LAYOUTSTATS
 *   (flexible-files layout reports): NFS4ERR_NOTSUPP.
 *
 * @module
 */

import {
  encode_COPY_NOTIFY4res,
  encode_DELEGPURGE4res,
  encode_DELEGRETURN4res,
  encode_GET_DIR_DELEGATION4res,
  encode_GETDEVICEINFO4res,
  encode_GETDEVICELIST4res,
  encode_LAYOUTCOMMIT4res,
  encode_LAYOUTERROR4res,
  encode_LAYOUTGET4res,
  encode_LAYOUTRETURN4res,
  encode_LAYOUTSTATS4res,
  encode_SET_SSV4res,
  encode_WANT_DELEGATION4res,
  encode_WRITE_SAME4res,
  gddrnf4_status,
  nfs_opnum4,
  nfsstat4,
} from "../../../proto/nfs4/mod.ts";
import type { Op } from "../compound.ts";
import { fail } from "../errors.ts";
import { noDelegation, sessionOf, stateidArg, statusAs } from "./_state.ts";

/** A row that answers NFS4ERR_NOTSUPP, its result's status field `key`. */
function notSupported(
  name: string,
  key: string,
  // deno-lint-ignore no-explicit-any
  encode: (w: any, res: any) => void,
): Op {
  return {
    name,
    encode: statusAs(key, encode),
    run: () => fail(nfsstat4.NFS4ERR_NOTSUPP),
  };
}

/**
 * The operations answered NFS4ERR_NOTSUPP alone: name, the status field of
 * the result, and its encoder.
 */
const NOT_SUPPORTED = [
  ["WANT_DELEGATION", "wdr_status", encode_WANT_DELEGATION4res],
  ["GETDEVICEINFO", "gdir_status", encode_GETDEVICEINFO4res],
  ["GETDEVICELIST", "gdlr_status", encode_GETDEVICELIST4res],
  ["LAYOUTGET", "logr_status", encode_LAYOUTGET4res],
  ["LAYOUTCOMMIT", "locr_status", encode_LAYOUTCOMMIT4res],
  ["LAYOUTRETURN", "lorr_status", encode_LAYOUTRETURN4res],
  ["COPY_NOTIFY", "cnr_status", encode_COPY_NOTIFY4res],
  ["WRITE_SAME", "wsr_status", encode_WRITE_SAME4res],
  ["LAYOUTERROR", "ler_status", encode_LAYOUTERROR4res],
  ["LAYOUTSTATS", "lsr_status", encode_LAYOUTSTATS4res],
] as const;

/** The rows of the features this server leaves out, by number. */
export const optionalOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_DELEGPURGE, {
    name: "DELEGPURGE",
    encode: encode_DELEGPURGE4res,
    run: () => fail(nfsstat4.NFS4ERR_NOTSUPP),
  }],
  [nfs_opnum4.OP_DELEGRETURN, {
    name: "DELEGRETURN",
    encode: encode_DELEGRETURN4res,
    run: (a, cs, nfs) => {
      cs.current();
      noDelegation(stateidArg(cs, a.deleg_stateid), cs, nfs);
    },
  }],
  [nfs_opnum4.OP_GET_DIR_DELEGATION, {
    name: "GET_DIR_DELEGATION",
    encode: statusAs("gddr_status", encode_GET_DIR_DELEGATION4res),
    run: (_, cs) => {
      sessionOf(cs);
      cs.current();
      return {
        status: nfsstat4.NFS4_OK,
        gddr_res_non_fatal4: {
          gddrnf_status: gddrnf4_status.GDD4_UNAVAIL,
          gddrnf_will_signal_deleg_avail: false,
        },
      };
    },
  }],
  ...NOT_SUPPORTED.map(([name, key, encode]) =>
    [
      nfs_opnum4[`OP_${name}` as const],
      notSupported(name, key, encode),
    ] as const
  ),
  [nfs_opnum4.OP_SET_SSV, {
    name: "SET_SSV",
    encode: statusAs("ssr_status", encode_SET_SSV4res),
    run: (_, cs) => {
      sessionOf(cs);
      fail(nfsstat4.NFS4ERR_INVAL);
    },
  }],
]);
