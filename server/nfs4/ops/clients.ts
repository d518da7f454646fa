/**
 * NFSv4 client IDs and stateids as such: 4.0 SETCLIENTID,
 * SETCLIENTID_CONFIRM and RENEW; 4.1 EXCHANGE_ID, DESTROY_CLIENTID,
 * RECLAIM_COMPLETE, TEST_STATEID and FREE_STATEID. The rules are the
 * state's ({@link Nfs4State}); these rows translate arguments and results.
 *
 * What they answer beyond the state's statuses:
 * - SETCLIENTID's NFS4ERR_CLID_INUSE names the address of the client in
 *   use (`client_using`).
 * - EXCHANGE_ID: state protection SP4_NONE only; SP4_MACH_CRED is
 *   NFS4ERR_INVAL (it needs an integrity-protecting RPC flavour, and the
 *   server has AUTH_SYS and AUTH_NONE), SP4_SSV NFS4ERR_ENCR_ALG_UNSUPP.
 *   The server owner's major ID is random per server instance, so two
 *   servers never look like one to a client's trunking detection; the scope
 *   is fixed, so a client may reclaim after a restart.
 * - RECLAIM_COMPLETE for one file system needs a current filehandle.
 *
 * @module
 */

import {
  encode_DESTROY_CLIENTID4res,
  encode_EXCHANGE_ID4res,
  encode_FREE_STATEID4res,
  encode_RECLAIM_COMPLETE4res,
  encode_RENEW4res,
  encode_SETCLIENTID4res,
  encode_SETCLIENTID_CONFIRM4res,
  encode_TEST_STATEID4res,
  type EXCHANGE_ID4args,
  type EXCHANGE_ID4res,
  nfs_opnum4,
  nfsstat4,
  type SETCLIENTID4args,
  type SETCLIENTID4res,
  state_protect_how4,
} from "../../../proto/nfs4/mod.ts";
import type { Op } from "../compound.ts";
import type { CompoundState, Nfs4Server } from "../context.ts";
import { fail } from "../errors.ts";
import { principalOf } from "../state/types.ts";
import { check, sessionOf, stateidArg, statusAs } from "./_state.ts";
import { OK } from "./_util.ts";

const enc = new TextEncoder();

/** `eir_server_scope`: the same for every instance, so reclaims may follow. */
const SERVER_SCOPE = enc.encode("netfs");

/** `eir_server_impl_id`. */
const IMPL_ID = {
  nii_domain: enc.encode("netfs"),
  nii_name: enc.encode("netfs NFSv4.1 server (Deno)"),
  nii_date: { seconds: 0, nseconds: 0 },
};

const majorIds = new WeakMap<Nfs4Server, Uint8Array>();

/** `so_major_id`: random per server instance. */
function majorId(nfs: Nfs4Server): Uint8Array {
  let id = majorIds.get(nfs);
  if (id === undefined) {
    const hex = [...crypto.getRandomValues(new Uint8Array(8))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    majorIds.set(nfs, id = enc.encode(`netfs-${hex}`));
  }
  return id;
}

function setClientId(
  a: SETCLIENTID4args,
  cs: CompoundState,
  nfs: Nfs4Server,
): SETCLIENTID4res {
  const r = nfs.state.setClientId({
    verifier: a.client.verifier,
    id: a.client.id,
    callback: {
      program: a.callback.cb_program,
      netid: a.callback.cb_location.na_r_netid,
      addr: a.callback.cb_location.na_r_addr,
      ident: a.callback_ident,
    },
    principal: principalOf(cs.call.auth),
  }, nfs.now());
  if ("clientUsing" in r) {
    return {
      status: nfsstat4.NFS4ERR_CLID_INUSE,
      client_using: {
        na_r_netid: r.clientUsing.netid,
        na_r_addr: r.clientUsing.addr,
      },
    };
  }
  check(r);
  return {
    status: nfsstat4.NFS4_OK,
    resok4: {
      clientid: r.clientid,
      setclientid_confirm: r.confirmVerifier,
    },
  };
}

function exchangeId(
  a: EXCHANGE_ID4args,
  cs: CompoundState,
  nfs: Nfs4Server,
): EXCHANGE_ID4res & { status: nfsstat4 } {
  const how = a.eia_state_protect.spa_how;
  if (how === state_protect_how4.SP4_MACH_CRED) fail(nfsstat4.NFS4ERR_INVAL);
  if (how === state_protect_how4.SP4_SSV) {
    fail(nfsstat4.NFS4ERR_ENCR_ALG_UNSUPP);
  }
  const r = nfs.state.exchangeId({
    ownerId: a.eia_clientowner.co_ownerid,
    verifier: a.eia_clientowner.co_verifier,
    flags: a.eia_flags,
    principal: principalOf(cs.call.auth),
    minor: cs.minor,
  }, nfs.now());
  check(r);
  return {
    status: nfsstat4.NFS4_OK,
    eir_status: nfsstat4.NFS4_OK,
    eir_resok4: {
      eir_clientid: r.clientid,
      eir_sequenceid: r.sequenceid,
      eir_flags: r.flags,
      eir_state_protect: { spr_how: state_protect_how4.SP4_NONE },
      eir_server_owner: { so_minor_id: 0n, so_major_id: majorId(nfs) },
      eir_server_scope: SERVER_SCOPE,
      eir_server_impl_id: [IMPL_ID],
    },
  };
}

/** The client ID and stateid operations by number. */
export const clientOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_SETCLIENTID, {
    name: "SETCLIENTID",
    encode: encode_SETCLIENTID4res,
    until: 0,
    run: setClientId,
  }],
  [nfs_opnum4.OP_SETCLIENTID_CONFIRM, {
    name: "SETCLIENTID_CONFIRM",
    encode: encode_SETCLIENTID_CONFIRM4res,
    until: 0,
    run: (a, cs, nfs) => {
      check(nfs.state.setClientIdConfirm({
        clientid: a.clientid,
        verifier: a.setclientid_confirm,
        principal: principalOf(cs.call.auth),
      }, nfs.now()));
      return OK;
    },
  }],
  [nfs_opnum4.OP_RENEW, {
    name: "RENEW",
    encode: encode_RENEW4res,
    until: 0,
    // No delegations are granted, so no callback path is needed: never
    // NFS4ERR_CB_PATH_DOWN.
    run: (a, _cs, nfs) => (check(nfs.state.renew(a.clientid, nfs.now())), OK),
  }],
  [nfs_opnum4.OP_EXCHANGE_ID, {
    name: "EXCHANGE_ID",
    encode: statusAs("eir_status", encode_EXCHANGE_ID4res),
    sessionless: true,
    run: exchangeId,
  }],
  [nfs_opnum4.OP_DESTROY_CLIENTID, {
    name: "DESTROY_CLIENTID",
    encode: statusAs("dcr_status", encode_DESTROY_CLIENTID4res),
    sessionless: true,
    run: (a, _cs, nfs) => {
      check(nfs.state.destroyClientId(a.dca_clientid, nfs.now()));
      return OK;
    },
  }],
  [nfs_opnum4.OP_RECLAIM_COMPLETE, {
    name: "RECLAIM_COMPLETE",
    encode: statusAs("rcr_status", encode_RECLAIM_COMPLETE4res),
    run: (a, cs, nfs) => {
      if (a.rca_one_fs) cs.current();
      check(nfs.state.reclaimComplete(
        sessionOf(cs).clientid,
        a.rca_one_fs,
        nfs.now(),
      ));
      return OK;
    },
  }],
  [nfs_opnum4.OP_TEST_STATEID, {
    name: "TEST_STATEID",
    encode: statusAs("tsr_status", encode_TEST_STATEID4res),
    run: (a, cs, nfs) => ({
      status: nfsstat4.NFS4_OK,
      tsr_resok4: {
        tsr_status_codes: nfs.state.testStateids(
          sessionOf(cs).clientid,
          a.ts_stateids,
        ),
      },
    }),
  }],
  [nfs_opnum4.OP_FREE_STATEID, {
    name: "FREE_STATEID",
    encode: statusAs("fsr_status", encode_FREE_STATEID4res),
    run: (a, cs, nfs) => {
      check(nfs.state.freeStateid(
        sessionOf(cs).clientid,
        stateidArg(cs, a.fsa_stateid),
        nfs.now(),
      ));
      return OK;
    },
  }],
]);
