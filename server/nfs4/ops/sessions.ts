/**
 * NFSv4.1 sessions: CREATE_SESSION, DESTROY_SESSION, BIND_CONN_TO_SESSION,
 * BACKCHANNEL_CTL and SEQUENCE, over the state's session table.
 *
 * SEQUENCE, first in every 4.1 COMPOUND but the session-less ones:
 * - more operations than the session's `ca_maxoperations`:
 *   NFS4ERR_TOO_MANY_OPS, before the slot is looked at (the slot stays as
 *   it was);
 * - a retry of the slot's last request: the reply kept for it, as sent
 *   (the COMPOUND runs nothing), or NFS4ERR_RETRY_UNCACHED_REP when the
 *   request did not ask for it to be kept (`sa_cachethis`) or it did not
 *   fit `ca_maxresponsesize_cached`; NFS4ERR_DELAY while it still runs;
 * - a new request: the COMPOUND runs with the reply held to
 *   `ca_maxresponsesize` (`ca_maxresponsesize_cached` when it is to be
 *   kept), and the finished reply goes back to the slot.
 *
 * CREATE_SESSION negotiates the channel attributes down to the server's
 * limits (NFS4ERR_TOOSMALL below its minimum); RDMA and persistence are
 * never granted. No callbacks are ever sent, so the back channel's
 * attributes and security only need to be recorded.
 *
 * @module
 */

import type { XdrWriter } from "../../../rpc/xdr.ts";
import {
  type callback_sec_parms4,
  type channel_attrs4,
  type CREATE_SESSION4args,
  encode_BACKCHANNEL_CTL4res,
  encode_BIND_CONN_TO_SESSION4res,
  encode_CREATE_SESSION4res,
  encode_DESTROY_SESSION4res,
  encode_SEQUENCE4res,
  nfs_opnum4,
  nfsstat4,
  type SEQUENCE4args,
} from "../../../proto/nfs4/mod.ts";
import { type Op, ReplayReply } from "../compound.ts";
import type { CompoundState, Nfs4Server } from "../context.ts";
import { fail } from "../errors.ts";
import type { CallbackSec, ChannelAttrs } from "../state/sessions.ts";
import { principalOf } from "../state/types.ts";
import { check, sessionOf, statusAs } from "./_state.ts";
import { OK } from "./_util.ts";

function attrsIn(a: channel_attrs4): ChannelAttrs {
  return {
    headerPadSize: a.ca_headerpadsize,
    maxRequestSize: a.ca_maxrequestsize,
    maxResponseSize: a.ca_maxresponsesize,
    maxResponseSizeCached: a.ca_maxresponsesize_cached,
    maxOperations: a.ca_maxoperations,
    maxRequests: a.ca_maxrequests,
    rdmaIrd: a.ca_rdma_ird,
  };
}

function attrsOut(a: ChannelAttrs): channel_attrs4 {
  return {
    ca_headerpadsize: a.headerPadSize,
    ca_maxrequestsize: a.maxRequestSize,
    ca_maxresponsesize: a.maxResponseSize,
    ca_maxresponsesize_cached: a.maxResponseSizeCached,
    ca_maxoperations: a.maxOperations,
    ca_maxrequests: a.maxRequests,
    ca_rdma_ird: a.rdmaIrd,
  };
}

function secIn(p: callback_sec_parms4): CallbackSec {
  switch (p.cb_secflavor) {
    case 1: {
      const s = p.cbsp_sys_cred;
      return {
        flavor: 1,
        sys: {
          stamp: s.stamp,
          machineName: s.machinename,
          uid: s.uid,
          gid: s.gid,
          gids: s.gids,
        },
      };
    }
    case 6:
      return {
        flavor: 6,
        service: p.cbsp_gss_handles.gcbp_service,
        // Copies: the session keeps them, and the arguments are views of
        // the call's record, which is reused once the COMPOUND settles.
        handleFromServer: p.cbsp_gss_handles.gcbp_handle_from_server.slice(),
        handleFromClient: p.cbsp_gss_handles.gcbp_handle_from_client.slice(),
      };
    default:
      return { flavor: 0 };
  }
}

function createSession(
  a: CREATE_SESSION4args,
  cs: CompoundState,
  nfs: Nfs4Server,
) {
  const r = nfs.state.createSession(a.csa_clientid, {
    sequence: a.csa_sequence,
    flags: a.csa_flags,
    fore: attrsIn(a.csa_fore_chan_attrs),
    back: attrsIn(a.csa_back_chan_attrs),
    cbProgram: a.csa_cb_program,
    secParms: a.csa_sec_parms.map(secIn),
    principal: principalOf(cs.call.auth),
    connectionId: cs.call.connectionId,
  }, nfs.now());
  check(r);
  const { result } = r;
  return {
    status: nfsstat4.NFS4_OK,
    csr_resok4: {
      csr_sessionid: result.sessionid,
      csr_sequence: result.sequence,
      csr_flags: result.flags,
      csr_fore_chan_attrs: attrsOut(result.fore),
      csr_back_chan_attrs: attrsOut(result.back),
    },
  };
}

function sequence(a: SEQUENCE4args, cs: CompoundState, nfs: Nfs4Server) {
  const known = nfs.state.sessions.get(a.sa_sessionid);
  if (known !== undefined && cs.opCount > known.fore.maxOperations) {
    fail(nfsstat4.NFS4ERR_TOO_MANY_OPS);
  }
  const d = nfs.state.sequence({
    sessionid: a.sa_sessionid,
    sequenceid: a.sa_sequenceid,
    slotid: a.sa_slotid,
    highestSlotid: a.sa_highest_slotid,
    cacheThis: a.sa_cachethis,
    connectionId: cs.call.connectionId,
  }, nfs.now());
  check(d);
  if (d.kind === "replay") throw new ReplayReply(d.reply);
  const s = d.session;
  cs.session = s;
  cs.cacheThis = a.sa_cachethis;
  cs.maxResponse = a.sa_cachethis
    ? s.fore.maxResponseSizeCached
    : s.fore.maxResponseSize;
  const slot = a.sa_slotid;
  cs.finish = (w: XdrWriter, start: number) => {
    if (!a.sa_cachethis) {
      nfs.state.sessions.complete(s.id, slot, EMPTY);
      return;
    }
    // `bytes()` starts after the writer's reserved header, which `offset`
    // counts: the COMPOUND4res is what follows `start` in absolute terms.
    // The writer is reused for later replies, so the slot keeps a copy.
    const all = w.bytes();
    const header = w.offset - all.byteLength;
    nfs.state.sessions.complete(s.id, slot, all.slice(start - header));
  };
  return {
    status: nfsstat4.NFS4_OK,
    sr_resok4: {
      sr_sessionid: s.id,
      sr_sequenceid: a.sa_sequenceid,
      sr_slotid: slot,
      sr_highest_slotid: d.highestSlotid,
      sr_target_highest_slotid: d.targetHighestSlotid,
      sr_status_flags: d.statusFlags,
    },
  };
}

const EMPTY = new Uint8Array(0);

/** The session operations by number. */
export const sessionOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_CREATE_SESSION, {
    name: "CREATE_SESSION",
    encode: statusAs("csr_status", encode_CREATE_SESSION4res),
    sessionless: true,
    run: createSession,
  }],
  [nfs_opnum4.OP_DESTROY_SESSION, {
    name: "DESTROY_SESSION",
    encode: statusAs("dsr_status", encode_DESTROY_SESSION4res),
    sessionless: true,
    run: (a, cs, nfs) => {
      check(nfs.state.destroySession(
        a.dsa_sessionid,
        nfs.now(),
        cs.session?.id,
      ));
      return OK;
    },
  }],
  [nfs_opnum4.OP_BIND_CONN_TO_SESSION, {
    name: "BIND_CONN_TO_SESSION",
    encode: statusAs("bctsr_status", encode_BIND_CONN_TO_SESSION4res),
    sessionless: true,
    run: (a, cs, nfs) => {
      // RDMA mode is never used: the server serves TCP only.
      const r = nfs.state.bindConnToSession(
        a.bctsa_sessid,
        cs.call.connectionId,
        a.bctsa_dir,
        nfs.now(),
      );
      check(r);
      const { session, dir } = r;
      return {
        status: nfsstat4.NFS4_OK,
        bctsr_resok4: {
          bctsr_sessid: session.id,
          bctsr_dir: dir,
          bctsr_use_conn_in_rdma_mode: false,
        },
      };
    },
  }],
  [nfs_opnum4.OP_BACKCHANNEL_CTL, {
    name: "BACKCHANNEL_CTL",
    encode: statusAs("bcr_status", encode_BACKCHANNEL_CTL4res),
    run: (a, cs, nfs) => {
      nfs.state.sessions.backchannelCtl(
        sessionOf(cs),
        a.bca_cb_program,
        a.bca_sec_parms.map(secIn),
      );
      return OK;
    },
  }],
  [nfs_opnum4.OP_SEQUENCE, {
    name: "SEQUENCE",
    encode: statusAs("sr_status", encode_SEQUENCE4res),
    run: sequence,
  }],
]);
