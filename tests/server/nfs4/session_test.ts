import assert from "node:assert/strict";
import { SequenceStatus } from "../../../server/nfs4/state/sessions.ts";
import {
  chanAttrs,
  createmode4,
  exchangeIdOp,
  nfsstat4,
  ok,
  OP,
  openArgs,
  resultOf,
  sequenceOp,
  session41,
  startState,
} from "./_clients.ts";
import type { Nfs4Harness } from "./_harness.ts";
import { attrsIn, fhIn, getattr, walk } from "./_fsops.ts";
import { ROOT } from "../../../vfs/types.ts";
import type { nfs_argop4, stateid4 } from "../../../proto/nfs4/mod.ts";

const MIB = 1 << 20;
const ANON: stateid4 = { seqid: 0, other: new Uint8Array(12) };

async function exchange(h: Nfs4Harness, name: string) {
  const res = ok(await h.compound([exchangeIdOp(name)], { minor: 1 }));
  const r = resultOf(res, OP.OP_EXCHANGE_ID).opexchange_id;
  assert.ok(r.eir_status === nfsstat4.NFS4_OK);
  return r.eir_resok4;
}

function createSession(
  clientid: bigint,
  sequence: number,
  fore = chanAttrs(),
  flags = 0,
): nfs_argop4 {
  return {
    argop: OP.OP_CREATE_SESSION,
    opcreate_session: {
      csa_clientid: clientid,
      csa_sequence: sequence,
      csa_flags: flags,
      csa_fore_chan_attrs: fore,
      csa_back_chan_attrs: chanAttrs(1, 2),
      csa_cb_program: 1,
      csa_sec_parms: [{ cb_secflavor: 0 }],
    },
  };
}

const guarded = (name: string) =>
  openArgs(name, {
    access: 3,
    how: {
      mode: createmode4.GUARDED4,
      createattrs: { attrmask: [], attr_vals: new Uint8Array() },
    },
  });

Deno.test("CREATE_SESSION: channel attributes are negotiated down to the server's", async () => {
  const h = await startState();
  try {
    const e = await exchange(h, "a");
    const res = ok(
      await h.compound([
        createSession(e.eir_clientid, e.eir_sequenceid, {
          ...chanAttrs(1000, 1000),
          ca_maxresponsesize_cached: 1 << 30,
          ca_headerpadsize: 64,
          ca_rdma_ird: [4],
        }),
      ], { minor: 1 }),
    );
    const r = resultOf(res, OP.OP_CREATE_SESSION).opcreate_session;
    assert.ok(r.csr_status === nfsstat4.NFS4_OK);
    const fore = r.csr_resok4.csr_fore_chan_attrs;
    assert.equal(fore.ca_maxrequests, 64, "slots held to the server's 64");
    assert.equal(fore.ca_maxoperations, 64);
    assert.equal(fore.ca_maxresponsesize_cached, 64 * 1024);
    assert.equal(fore.ca_headerpadsize, 0);
    assert.deepEqual(fore.ca_rdma_ird, []);
    assert.equal(r.csr_resok4.csr_sequence, e.eir_sequenceid);
    assert.equal(r.csr_resok4.csr_flags, 0, "no back channel was asked for");
    assert.equal(r.csr_resok4.csr_sessionid.byteLength, 16);
  } finally {
    await h.close();
  }
});

Deno.test("CREATE_SESSION: a retransmission gets the same session; a skipped sequence is SEQ_MISORDERED", async () => {
  const h = await startState();
  try {
    const e = await exchange(h, "a");
    const first = ok(
      await h.compound([createSession(e.eir_clientid, e.eir_sequenceid)], {
        minor: 1,
      }),
    );
    const again = ok(
      await h.compound([createSession(e.eir_clientid, e.eir_sequenceid)], {
        minor: 1,
      }),
    );
    assert.deepEqual(
      resultOf(again, OP.OP_CREATE_SESSION),
      resultOf(first, OP.OP_CREATE_SESSION),
    );
    const skipped = await h.compound([
      createSession(e.eir_clientid, e.eir_sequenceid + 2),
    ], { minor: 1 });
    assert.equal(skipped.status, nfsstat4.NFS4ERR_SEQ_MISORDERED);
    const unknown = await h.compound([createSession(77n, 1)], { minor: 1 });
    assert.equal(unknown.status, nfsstat4.NFS4ERR_STALE_CLIENTID);
  } finally {
    await h.close();
  }
});

Deno.test("CREATE_SESSION: sizes below the server's minimum are TOOSMALL", async () => {
  const h = await startState();
  try {
    const e = await exchange(h, "a");
    const res = await h.compound([
      createSession(e.eir_clientid, e.eir_sequenceid, {
        ...chanAttrs(),
        ca_maxrequestsize: 16,
      }),
    ], { minor: 1 });
    assert.equal(res.status, nfsstat4.NFS4ERR_TOOSMALL);
  } finally {
    await h.close();
  }
});

Deno.test("SEQUENCE: the result names the session, slot and status flags", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const res = ok(await s.call([{ argop: OP.OP_PUTROOTFH }]));
    const r = resultOf(res, OP.OP_SEQUENCE).opsequence;
    assert.ok(r.sr_status === nfsstat4.NFS4_OK);
    assert.deepEqual(r.sr_resok4.sr_sessionid, s.sessionid);
    assert.equal(r.sr_resok4.sr_sequenceid, 2);
    assert.equal(r.sr_resok4.sr_slotid, 0);
    assert.equal(r.sr_resok4.sr_highest_slotid, 3);
    assert.equal(r.sr_resok4.sr_target_highest_slotid, 3);
    // No connection carries a back channel.
    assert.ok(
      (r.sr_resok4.sr_status_flags & SequenceStatus.CB_PATH_DOWN_SESSION) !==
        0,
    );
  } finally {
    await h.close();
  }
});

Deno.test("SEQUENCE: a retry is answered from the slot's cached reply, not run again", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const ops = [{ argop: OP.OP_PUTROOTFH } as const, guarded("once")];
    const first = ok(await s.call(ops, { cacheThis: true }));
    const retry = ok(await s.call(ops, { cacheThis: true, seqid: 2 }));
    assert.deepEqual(retry, first, "the cached reply, byte for byte");
    // Run again, the GUARDED create would have failed.
    const fresh = await s.call(ops);
    assert.equal(fresh.status, nfsstat4.NFS4ERR_EXIST);
  } finally {
    await h.close();
  }
});

Deno.test("SEQUENCE: a retry of a reply not cached is RETRY_UNCACHED_REP", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    ok(await s.call([{ argop: OP.OP_PUTROOTFH }]));
    const retry = await s.call([{ argop: OP.OP_PUTROOTFH }], { seqid: 2 });
    assert.equal(retry.status, nfsstat4.NFS4ERR_RETRY_UNCACHED_REP);
  } finally {
    await h.close();
  }
});

Deno.test("SEQUENCE: misordered sequence IDs, bad slots and bad highest slots", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const seq = (seqid: number, slot: number, highest = slot) =>
      h.compound([sequenceOp(s.sessionid, seqid, slot, false, highest)], {
        minor: 1,
      });
    // Slot 0 used 1 for RECLAIM_COMPLETE, so 2 comes next: 4 skips one.
    assert.equal((await seq(4, 0)).status, nfsstat4.NFS4ERR_SEQ_MISORDERED);
    assert.equal((await seq(0, 0)).status, nfsstat4.NFS4ERR_SEQ_MISORDERED);
    assert.equal((await seq(1, 4)).status, nfsstat4.NFS4ERR_BADSLOT);
    assert.equal((await seq(1, 1, 9)).status, nfsstat4.NFS4ERR_BAD_HIGH_SLOT);
    // Each slot has its own sequence: slot 1 starts at 1, slot 0 goes on.
    ok(await seq(1, 1));
    ok(await seq(2, 0));
    ok(await seq(2, 1));
  } finally {
    await h.close();
  }
});

Deno.test("SEQUENCE: more operations than the session allows is TOO_MANY_OPS, the slot untouched", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a", { fore: chanAttrs(4, 3) });
    const four = [
      { argop: OP.OP_PUTROOTFH } as const,
      { argop: OP.OP_GETFH } as const,
      { argop: OP.OP_GETFH } as const,
    ];
    const res = await s.call(four, { seqid: 2 });
    assert.equal(res.status, nfsstat4.NFS4ERR_TOO_MANY_OPS);
    assert.equal(res.resarray.length, 1);
    ok(await s.call(four.slice(0, 2), { seqid: 2 }), "the same seqid is new");
  } finally {
    await h.close();
  }
});

Deno.test("SEQUENCE: a cached reply over ca_maxresponsesize_cached is REP_TOO_BIG_TO_CACHE", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a", {
      fore: { ...chanAttrs(), ca_maxresponsesize_cached: 80 },
    });
    const ops = [
      { argop: OP.OP_PUTROOTFH } as const,
      { argop: OP.OP_GETFH } as const,
      { argop: OP.OP_GETFH } as const,
    ];
    const cached = await s.call(ops, { cacheThis: true });
    assert.equal(cached.status, nfsstat4.NFS4ERR_REP_TOO_BIG_TO_CACHE);
    ok(await s.call(ops), "without caching it fits");
  } finally {
    await h.close();
  }
});

Deno.test("READ: a maxread READ in SEQUENCE, PUTFH, READ fits the session and comes back whole", async () => {
  const h = await startState();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    await h.fs.write(ROOT, f.fileid, 0, new Uint8Array(MIB + 1000).fill(7));
    // What Linux asks for: rsize plus its estimate of the COMPOUND around
    // a READ (nfs41_maxread_overhead, 904 bytes in one x86 build).
    const maxResponse = MIB + 904;
    const s = await session41(h, "a", {
      fore: { ...chanAttrs(), ca_maxresponsesize: maxResponse },
    });
    const look = ok(
      await s.call([...walk("f"), getattr("maxread"), {
        argop: OP.OP_GETFH,
      }]),
    );
    const maxread = Number(attrsIn(look).maxread);
    assert.equal(maxread, MIB);
    const fh = fhIn(look);
    const read = (count: number) =>
      s.call([{ argop: OP.OP_PUTFH, opputfh: { object: fh } }, {
        argop: OP.OP_READ,
        opread: { stateid: ANON, offset: 0, count },
      }]);
    const r = resultOf(ok(await read(maxread)), OP.OP_READ).opread;
    assert.ok(r.status === nfsstat4.NFS4_OK);
    assert.equal(r.resok4.data.byteLength, maxread, "the full count");
    assert.equal(r.resok4.eof, false);
    // The rest of the file, then past its end.
    const rest = resultOf(ok(await read(maxread)), OP.OP_READ).opread;
    assert.ok(rest.status === nfsstat4.NFS4_OK);
    assert.equal(rest.resok4.data.byteLength, MIB);
  } finally {
    await h.close();
  }
});

Deno.test("CREATE_SESSION: a maxIo above 1 MiB raises the session's sizes with it", async () => {
  const h = await startState({ nfs4: { maxIo: 2 * MIB } });
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    await h.fs.write(ROOT, f.fileid, 0, new Uint8Array(2 * MIB));
    const fore = { ...chanAttrs(), ca_maxresponsesize: 2 * MIB + 904 };
    const e = await exchange(h, "a");
    const cr = ok(
      await h.compound([
        createSession(e.eir_clientid, e.eir_sequenceid, fore),
      ], { minor: 1 }),
    );
    const r = resultOf(cr, OP.OP_CREATE_SESSION).opcreate_session;
    assert.ok(r.csr_status === nfsstat4.NFS4_OK);
    assert.equal(
      r.csr_resok4.csr_fore_chan_attrs.ca_maxresponsesize,
      2 * MIB + 904,
    );
    const s = await session41(h, "b", { fore });
    const fh = fhIn(ok(await s.call([...walk("f"), { argop: OP.OP_GETFH }])));
    const read = resultOf(
      ok(
        await s.call([{ argop: OP.OP_PUTFH, opputfh: { object: fh } }, {
          argop: OP.OP_READ,
          opread: { stateid: ANON, offset: 0, count: 2 * MIB },
        }]),
      ),
      OP.OP_READ,
    ).opread;
    assert.ok(read.status === nfsstat4.NFS4_OK);
    assert.equal(read.resok4.data.byteLength, 2 * MIB);
  } finally {
    await h.close();
  }
});

Deno.test("READ: a session too small for the count gets what fits, never REP_TOO_BIG", async () => {
  const h = await startState();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    await h.fs.write(ROOT, f.fileid, 0, new Uint8Array(20_000));
    const s = await session41(h, "a", {
      fore: { ...chanAttrs(), ca_maxresponsesize: 8191 },
    });
    const fh = fhIn(ok(await s.call([...walk("f"), { argop: OP.OP_GETFH }])));
    const res = ok(
      await s.call([{ argop: OP.OP_PUTFH, opputfh: { object: fh } }, {
        argop: OP.OP_READ,
        opread: { stateid: ANON, offset: 0, count: 16384 },
      }]),
    );
    const r = resultOf(res, OP.OP_READ).opread;
    assert.ok(r.status === nfsstat4.NFS4_OK);
    const n = r.resok4.data.byteLength;
    // 12 (COMPOUND header) + 44 (SEQUENCE) + 8 (PUTFH) + 16 (READ's head).
    assert.equal(n, 8108, "8191 - 80 bytes, down to a multiple of 4");
  } finally {
    await h.close();
  }
});

Deno.test("SEQUENCE: an unknown or destroyed session is BADSESSION", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    ok(
      await s.call([{
        argop: OP.OP_DESTROY_SESSION,
        opdestroy_session: { dsa_sessionid: s.sessionid },
      }]),
      "a session may destroy itself",
    );
    const res = await s.call([{ argop: OP.OP_PUTROOTFH }]);
    assert.equal(res.status, nfsstat4.NFS4ERR_BADSESSION);
    const again = await h.compound([{
      argop: OP.OP_DESTROY_SESSION,
      opdestroy_session: { dsa_sessionid: s.sessionid },
    }], { minor: 1 });
    assert.equal(again.status, nfsstat4.NFS4ERR_BADSESSION);
  } finally {
    await h.close();
  }
});

Deno.test("BIND_CONN_TO_SESSION: fore-or-both binds both; then SEQUENCE sees a back channel", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const res = ok(
      await h.compound([{
        argop: OP.OP_BIND_CONN_TO_SESSION,
        opbind_conn_to_session: {
          bctsa_sessid: s.sessionid,
          bctsa_dir: 3,
          bctsa_use_conn_in_rdma_mode: true,
        },
      }], { minor: 1 }),
    );
    const r = resultOf(res, OP.OP_BIND_CONN_TO_SESSION).opbind_conn_to_session;
    assert.ok(r.bctsr_status === nfsstat4.NFS4_OK);
    assert.equal(r.bctsr_resok4.bctsr_dir, 3);
    assert.equal(r.bctsr_resok4.bctsr_use_conn_in_rdma_mode, false);
    const seq = ok(await s.call([]));
    const q = resultOf(seq, OP.OP_SEQUENCE).opsequence;
    assert.ok(q.sr_status === nfsstat4.NFS4_OK);
    assert.equal(q.sr_resok4.sr_status_flags, 0);
    const bad = await h.compound([{
      argop: OP.OP_BIND_CONN_TO_SESSION,
      opbind_conn_to_session: {
        bctsa_sessid: new Uint8Array(16),
        bctsa_dir: 1,
        bctsa_use_conn_in_rdma_mode: false,
      },
    }], { minor: 1 });
    assert.equal(bad.status, nfsstat4.NFS4ERR_BADSESSION);
  } finally {
    await h.close();
  }
});

Deno.test("BACKCHANNEL_CTL: recorded; without SEQUENCE it is OP_NOT_IN_SESSION", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const ctl: nfs_argop4 = {
      argop: OP.OP_BACKCHANNEL_CTL,
      opbackchannel_ctl: {
        bca_cb_program: 7,
        bca_sec_parms: [{
          cb_secflavor: 1,
          cbsp_sys_cred: {
            stamp: 1,
            machinename: "m",
            uid: 0,
            gid: 0,
            gids: [],
          },
        }],
      },
    };
    ok(await s.call([ctl]));
    const alone = await h.compound([ctl], { minor: 1 });
    assert.equal(alone.status, nfsstat4.NFS4ERR_OP_NOT_IN_SESSION);
  } finally {
    await h.close();
  }
});

Deno.test("EXCHANGE_ID: without SEQUENCE it must come alone (NOT_ONLY_OP)", async () => {
  const h = await startState();
  try {
    const res = await h.compound([exchangeIdOp("a"), {
      argop: OP.OP_PUTROOTFH,
    }], { minor: 1 });
    assert.equal(res.status, nfsstat4.NFS4ERR_NOT_ONLY_OP);
  } finally {
    await h.close();
  }
});
