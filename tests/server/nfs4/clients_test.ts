import assert from "node:assert/strict";
import { ExchangeIdFlags } from "../../../server/nfs4/state/clients.ts";
import { state_protect_how4 } from "../../../proto/nfs4/mod.ts";
import {
  b,
  client40,
  exchangeIdOp,
  nfsstat4,
  ok,
  OP,
  open41,
  resultOf,
  session41,
  startState,
  sys,
} from "./_clients.ts";

const setClientId = (name: string, addr = "127.0.0.1.3.232") => ({
  argop: OP.OP_SETCLIENTID,
  opsetclientid: {
    client: { verifier: new Uint8Array(8), id: b(name) },
    callback: {
      cb_program: 1,
      cb_location: { na_r_netid: "tcp", na_r_addr: addr },
    },
    callback_ident: 0,
  },
} as const);

Deno.test("SETCLIENTID: a confirmed client ID renews with RENEW", async () => {
  const h = await startState();
  try {
    const id = await client40(h, "a");
    ok(await h.compound([{ argop: OP.OP_RENEW, oprenew: { clientid: id } }]));
  } finally {
    await h.close();
  }
});

Deno.test("SETCLIENTID_CONFIRM: a wrong verifier is STALE_CLIENTID", async () => {
  const h = await startState();
  try {
    const res = ok(await h.compound([setClientId("a")]));
    const r = resultOf(res, OP.OP_SETCLIENTID).opsetclientid;
    assert.ok(r.status === nfsstat4.NFS4_OK);
    const bad = await h.compound([{
      argop: OP.OP_SETCLIENTID_CONFIRM,
      opsetclientid_confirm: {
        clientid: r.resok4.clientid,
        setclientid_confirm: new Uint8Array(8).fill(9),
      },
    }]);
    assert.equal(bad.status, nfsstat4.NFS4ERR_STALE_CLIENTID);
  } finally {
    await h.close();
  }
});

Deno.test("SETCLIENTID: another principal's client in use is CLID_INUSE naming its address", async () => {
  const h = await startState();
  try {
    await client40(h, "shared", sys(1000));
    const res = await h.compound([setClientId("shared", "10.0.0.1.8.1")], {
      auth: sys(2000),
    });
    assert.equal(res.status, nfsstat4.NFS4ERR_CLID_INUSE);
    const r = resultOf(res, OP.OP_SETCLIENTID).opsetclientid;
    assert.ok(r.status === nfsstat4.NFS4ERR_CLID_INUSE);
    assert.deepEqual(r.client_using, {
      na_r_netid: "tcp",
      na_r_addr: "127.0.0.1.3.232",
    });
  } finally {
    await h.close();
  }
});

Deno.test("RENEW: an unknown client ID is STALE_CLIENTID", async () => {
  const h = await startState();
  try {
    const res = await h.compound([{
      argop: OP.OP_RENEW,
      oprenew: { clientid: 12345n },
    }]);
    assert.equal(res.status, nfsstat4.NFS4ERR_STALE_CLIENTID);
  } finally {
    await h.close();
  }
});

Deno.test("SETCLIENTID, RENEW: 4.0 only, NOTSUPP in 4.1", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const res = await s.call([{
      argop: OP.OP_RENEW,
      oprenew: { clientid: s.clientid },
    }]);
    assert.equal(res.status, nfsstat4.NFS4ERR_NOTSUPP);
  } finally {
    await h.close();
  }
});

Deno.test("EXCHANGE_ID: non-pNFS, server owner, scope and implementation", async () => {
  const h = await startState();
  try {
    const res = ok(await h.compound([exchangeIdOp("a")], { minor: 1 }));
    const r = resultOf(res, OP.OP_EXCHANGE_ID).opexchange_id;
    assert.ok(r.eir_status === nfsstat4.NFS4_OK);
    const e = r.eir_resok4;
    assert.equal(e.eir_flags, ExchangeIdFlags.USE_NON_PNFS);
    assert.equal(e.eir_sequenceid, 1);
    assert.equal(e.eir_state_protect.spr_how, state_protect_how4.SP4_NONE);
    assert.ok(e.eir_server_owner.so_major_id.byteLength > 0);
    assert.equal(new TextDecoder().decode(e.eir_server_scope), "netfs");
    assert.equal(e.eir_server_impl_id.length, 1);
    // The same owner again: the same (still unconfirmed) record.
    const again = ok(await h.compound([exchangeIdOp("a")], { minor: 1 }));
    const r2 = resultOf(again, OP.OP_EXCHANGE_ID).opexchange_id;
    assert.ok(r2.eir_status === nfsstat4.NFS4_OK);
    assert.deepEqual(
      r2.eir_resok4.eir_server_owner,
      e.eir_server_owner,
      "one server, one owner",
    );
  } finally {
    await h.close();
  }
});

Deno.test("EXCHANGE_ID: a confirmed client is answered CONFIRMED_R", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const res = ok(await h.compound([exchangeIdOp("a")], { minor: 1 }));
    const r = resultOf(res, OP.OP_EXCHANGE_ID).opexchange_id;
    assert.ok(r.eir_status === nfsstat4.NFS4_OK);
    assert.equal(r.eir_resok4.eir_clientid, s.clientid);
    assert.ok((r.eir_resok4.eir_flags & ExchangeIdFlags.CONFIRMED_R) !== 0);
  } finally {
    await h.close();
  }
});

Deno.test("EXCHANGE_ID: SP4_MACH_CRED is INVAL, SP4_SSV ENCR_ALG_UNSUPP, unknown flags INVAL", async () => {
  const h = await startState();
  try {
    const mach = exchangeIdOp("a");
    mach.opexchange_id.eia_state_protect = {
      spa_how: state_protect_how4.SP4_MACH_CRED,
      spa_mach_ops: { spo_must_enforce: [], spo_must_allow: [] },
    };
    assert.equal(
      (await h.compound([mach], { minor: 1 })).status,
      nfsstat4.NFS4ERR_INVAL,
    );
    const ssv = exchangeIdOp("a");
    ssv.opexchange_id.eia_state_protect = {
      spa_how: state_protect_how4.SP4_SSV,
      spa_ssv_parms: {
        ssp_ops: { spo_must_enforce: [], spo_must_allow: [] },
        ssp_hash_algs: [],
        ssp_encr_algs: [],
        ssp_window: 1,
        ssp_num_gss_handles: 0,
      },
    };
    assert.equal(
      (await h.compound([ssv], { minor: 1 })).status,
      nfsstat4.NFS4ERR_ENCR_ALG_UNSUPP,
    );
    assert.equal(
      (await h.compound([exchangeIdOp("a", 0x8)], { minor: 1 })).status,
      nfsstat4.NFS4ERR_INVAL,
    );
  } finally {
    await h.close();
  }
});

Deno.test("DESTROY_CLIENTID: CLIENTID_BUSY with a session, then gone after DESTROY_SESSION", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const destroy = {
      argop: OP.OP_DESTROY_CLIENTID,
      opdestroy_clientid: { dca_clientid: s.clientid },
    } as const;
    assert.equal(
      (await h.compound([destroy], { minor: 1 })).status,
      nfsstat4.NFS4ERR_CLIENTID_BUSY,
    );
    ok(
      await h.compound([{
        argop: OP.OP_DESTROY_SESSION,
        opdestroy_session: { dsa_sessionid: s.sessionid },
      }], { minor: 1 }),
    );
    ok(await h.compound([destroy], { minor: 1 }));
    assert.equal(
      (await h.compound([destroy], { minor: 1 })).status,
      nfsstat4.NFS4ERR_STALE_CLIENTID,
    );
  } finally {
    await h.close();
  }
});

Deno.test("RECLAIM_COMPLETE: a second one is COMPLETE_ALREADY", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const res = await s.call([{
      argop: OP.OP_RECLAIM_COMPLETE,
      opreclaim_complete: { rca_one_fs: false },
    }]);
    assert.equal(res.status, nfsstat4.NFS4ERR_COMPLETE_ALREADY);
  } finally {
    await h.close();
  }
});

Deno.test("RECLAIM_COMPLETE: one file system needs a current filehandle", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a", { reclaim: false });
    const res = await s.call([{
      argop: OP.OP_RECLAIM_COMPLETE,
      opreclaim_complete: { rca_one_fs: true },
    }]);
    assert.equal(res.status, nfsstat4.NFS4ERR_NOFILEHANDLE);
  } finally {
    await h.close();
  }
});

Deno.test("TEST_STATEID: each stateid's status, in order", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const { stateid } = await open41(s, "f");
    const res = ok(
      await s.call([{
        argop: OP.OP_TEST_STATEID,
        optest_stateid: {
          ts_stateids: [
            stateid,
            { seqid: 0, other: new Uint8Array(12).fill(7) },
          ],
        },
      }]),
    );
    const r = resultOf(res, OP.OP_TEST_STATEID).optest_stateid;
    assert.ok(r.tsr_status === nfsstat4.NFS4_OK);
    assert.deepEqual(r.tsr_resok4.tsr_status_codes, [
      nfsstat4.NFS4_OK,
      nfsstat4.NFS4ERR_BAD_STATEID,
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("FREE_STATEID: an open stateid is LOCKS_HELD, an unknown one BAD_STATEID", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const { stateid } = await open41(s, "f");
    const free = (st: typeof stateid) =>
      s.call([{
        argop: OP.OP_FREE_STATEID,
        opfree_stateid: { fsa_stateid: st },
      }]);
    assert.equal((await free(stateid)).status, nfsstat4.NFS4ERR_LOCKS_HELD);
    assert.equal(
      (await free({ seqid: 1, other: new Uint8Array(12).fill(3) })).status,
      nfsstat4.NFS4ERR_BAD_STATEID,
    );
  } finally {
    await h.close();
  }
});

Deno.test("DELEGRETURN: no delegation was granted, so any stateid is BAD_STATEID", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const { stateid, fh } = await open41(s, "f");
    const res = await s.call([
      { argop: OP.OP_PUTFH, opputfh: { object: fh } },
      { argop: OP.OP_DELEGRETURN, opdelegreturn: { deleg_stateid: stateid } },
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_BAD_STATEID);
    const none = await s.call([
      { argop: OP.OP_DELEGRETURN, opdelegreturn: { deleg_stateid: stateid } },
    ]);
    assert.equal(none.status, nfsstat4.NFS4ERR_NOFILEHANDLE);
  } finally {
    await h.close();
  }
});

Deno.test("DELEGPURGE, LAYOUTGET, WANT_DELEGATION: NOTSUPP; SET_SSV: INVAL", async () => {
  const h = await startState();
  try {
    const id = await client40(h, "a");
    const purge = await h.compound([{
      argop: OP.OP_DELEGPURGE,
      opdelegpurge: { clientid: id },
    }]);
    assert.equal(purge.status, nfsstat4.NFS4ERR_NOTSUPP);
    const s = await session41(h, "b");
    const layout = await s.call([{ argop: OP.OP_PUTROOTFH }, {
      argop: OP.OP_LAYOUTGET,
      oplayoutget: {
        loga_signal_layout_avail: false,
        loga_layout_type: 1,
        loga_iomode: 1,
        loga_offset: 0n,
        loga_length: 0xffffffffffffffffn,
        loga_minlength: 0n,
        loga_stateid: { seqid: 0, other: new Uint8Array(12) },
        loga_maxcount: 4096,
      },
    }]);
    assert.equal(layout.status, nfsstat4.NFS4ERR_NOTSUPP);
    const want = await s.call([{ argop: OP.OP_PUTROOTFH }, {
      argop: OP.OP_WANT_DELEGATION,
      opwant_delegation: { wda_want: 0x300, wda_claim: { dc_claim: 4 } },
    }]);
    assert.equal(want.status, nfsstat4.NFS4ERR_NOTSUPP);
    const ssv = await s.call([{
      argop: OP.OP_SET_SSV,
      opset_ssv: { ssa_ssv: new Uint8Array(4), ssa_digest: new Uint8Array(4) },
    }]);
    assert.equal(ssv.status, nfsstat4.NFS4ERR_INVAL);
  } finally {
    await h.close();
  }
});

Deno.test("GET_DIR_DELEGATION: answered GDD4_UNAVAIL, so the COMPOUND goes on", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const res = ok(
      await s.call([{ argop: OP.OP_PUTROOTFH }, {
        argop: OP.OP_GET_DIR_DELEGATION,
        opget_dir_delegation: {
          gdda_signal_deleg_avail: false,
          gdda_notification_types: [],
          gdda_child_attr_delay: { seconds: 0, nseconds: 0 },
          gdda_dir_attr_delay: { seconds: 0, nseconds: 0 },
          gdda_child_attributes: [],
          gdda_dir_attributes: [],
        },
      }, { argop: OP.OP_GETFH }]),
    );
    const r = resultOf(res, OP.OP_GET_DIR_DELEGATION).opget_dir_delegation;
    assert.ok(r.gddr_status === nfsstat4.NFS4_OK);
    assert.deepEqual(r.gddr_res_non_fatal4, {
      gddrnf_status: 1,
      gddrnf_will_signal_deleg_avail: false,
    });
  } finally {
    await h.close();
  }
});
