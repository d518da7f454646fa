import assert from "node:assert/strict";
import {
  type Callback40,
  ClientTable,
  ExchangeIdFlags as F,
} from "../../../../server/nfs4/state/clients.ts";
import { Nfs4Status as S } from "../../../../server/nfs4/state/status.ts";
import { principalOf } from "../../../../server/nfs4/state/types.ts";

const LEASE = 90_000;
const enc = new TextEncoder();
const ID = enc.encode("Linux NFSv4.0 host-a");
const V1 = new Uint8Array(8).fill(1);
const V2 = new Uint8Array(8).fill(2);
const CB_K: Callback40 = {
  program: 0x40000000,
  netid: "tcp",
  addr: "127.0.0.1.3.1",
  ident: 1,
};
const CB_L: Callback40 = {
  program: 0x40000001,
  netid: "tcp",
  addr: "127.0.0.1.3.2",
  ident: 2,
};
const ALICE = "sys:1000@host-a";
const MALLORY = "sys:666@host-b";

function table(hasState: (id: bigint) => boolean = () => false, boot = 7) {
  return new ClientTable({ boot, leaseMs: LEASE, hasState });
}

function must<T extends { status: number }>(r: T): T & { status: 0 } {
  assert.equal(r.status, S.NFS4_OK, `expected NFS4_OK, got ${r.status}`);
  return r as T & { status: 0 };
}

/** A confirmed 4.0 client {V1, ID, c, CB_K, ALICE}. */
function confirmed40(t: ClientTable, now = 0) {
  const sc = must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_K, principal: ALICE },
      now,
    ),
  );
  must(
    t.setClientIdConfirm({
      clientid: sc.clientid,
      verifier: sc.confirmVerifier,
      principal: ALICE,
    }, now),
  );
  return sc.clientid;
}

Deno.test("principal: AUTH_SYS is uid and machine, AUTH_NONE is none", () => {
  assert.equal(
    principalOf({
      flavor: 1,
      sys: { stamp: 0, machineName: "m", uid: 5, gid: 6, gids: [] },
    }),
    "sys:5@m",
  );
  assert.equal(principalOf({ flavor: 0 }), "none");
});

Deno.test("setclientid: a new owner gets an unconfirmed client ID", () => {
  const t = table();
  const r = must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_K, principal: ALICE },
      0,
    ),
  );
  assert.equal(
    r.clientid >> 32n,
    7n,
    "the client ID starts with the boot verifier",
  );
  assert.equal(
    t.lookup(r.clientid).status,
    S.NFS4ERR_STALE_CLIENTID,
    "not usable before confirm",
  );
  assert.equal(r.confirmVerifier.length, 8);
});

Deno.test("setclientid_confirm: confirms a new client", () => {
  const t = table();
  const c = confirmed40(t);
  assert.equal(must(t.lookup(c)).client.confirmed, true);
});

Deno.test("setclientid: same verifier and principal is a callback update keeping the client ID", () => {
  const t = table();
  const c = confirmed40(t);
  const r = must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_L, principal: ALICE },
      1,
    ),
  );
  assert.equal(r.clientid, c, "callback update keeps c");
  assert.equal(
    must(t.lookup(c)).client.callback?.addr,
    CB_K.addr,
    "old callback until confirmed",
  );
  const conf = must(
    t.setClientIdConfirm({
      clientid: c,
      verifier: r.confirmVerifier,
      principal: ALICE,
    }, 2),
  );
  assert.deepEqual(conf.replaced, []);
  assert.equal(
    must(t.lookup(c)).client.callback?.addr,
    CB_L.addr,
    "callback replaced on confirm",
  );
});

Deno.test("setclientid: a new verifier (client restart) gets a new client ID, the old stays until confirm", () => {
  const t = table();
  const c = confirmed40(t);
  const r = must(
    t.setClientId(
      { verifier: V2, id: ID, callback: CB_K, principal: ALICE },
      1,
    ),
  );
  assert.notEqual(r.clientid, c);
  assert.equal(t.lookup(c).status, S.NFS4_OK, "old record still confirmed");
  const conf = must(
    t.setClientIdConfirm({
      clientid: r.clientid,
      verifier: r.confirmVerifier,
      principal: ALICE,
    }, 2),
  );
  assert.deepEqual(
    conf.replaced.map((x) => x.clientid),
    [c],
    "old record replaced with its state",
  );
  assert.equal(t.lookup(c).status, S.NFS4ERR_STALE_CLIENTID);
  assert.equal(t.lookup(r.clientid).status, S.NFS4_OK);
});

Deno.test("setclientid: another principal while the confirmed client holds state is CLID_INUSE", () => {
  const t = table(() => true);
  confirmed40(t);
  const r = t.setClientId({
    verifier: V2,
    id: ID,
    callback: CB_L,
    principal: MALLORY,
  }, 200_000);
  assert.equal(r.status, S.NFS4ERR_CLID_INUSE);
  assert.deepEqual("clientUsing" in r && r.clientUsing, {
    netid: "tcp",
    addr: CB_K.addr,
  });
});

Deno.test("setclientid: another principal within the confirmed client's lease is CLID_INUSE", () => {
  const t = table();
  confirmed40(t, 0);
  const r = t.setClientId({
    verifier: V1,
    id: ID,
    callback: CB_L,
    principal: MALLORY,
  }, LEASE - 1);
  assert.equal(r.status, S.NFS4ERR_CLID_INUSE);
});

Deno.test("setclientid: another principal after a stateless lease ran out takes the owner over", () => {
  const t = table();
  const c = confirmed40(t, 0);
  const r = must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_L, principal: MALLORY },
      LEASE,
    ),
  );
  assert.deepEqual(r.dropped.map((x) => x.clientid), [c]);
  assert.notEqual(r.clientid, c);
});

Deno.test("setclientid: an unconfirmed record is replaced with a new client ID", () => {
  const t = table();
  const a = must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_K, principal: ALICE },
      0,
    ),
  );
  const b = must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_K, principal: ALICE },
      1,
    ),
  );
  assert.notEqual(a.clientid, b.clientid);
  const r = t.setClientIdConfirm({
    clientid: a.clientid,
    verifier: a.confirmVerifier,
    principal: ALICE,
  }, 2);
  assert.equal(
    r.status,
    S.NFS4ERR_STALE_CLIENTID,
    "the replaced record cannot be confirmed",
  );
  must(
    t.setClientIdConfirm({
      clientid: b.clientid,
      verifier: b.confirmVerifier,
      principal: ALICE,
    }, 2),
  );
});

Deno.test("setclientid: an unconfirmed record of another principal is simply replaced", () => {
  const t = table();
  must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_K, principal: MALLORY },
      0,
    ),
  );
  must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_K, principal: ALICE },
      1,
    ),
  );
});

Deno.test("setclientid_confirm: a retransmitted confirm answers OK", () => {
  const t = table();
  const sc = must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_K, principal: ALICE },
      0,
    ),
  );
  must(
    t.setClientIdConfirm({
      clientid: sc.clientid,
      verifier: sc.confirmVerifier,
      principal: ALICE,
    }, 0),
  );
  const again = must(
    t.setClientIdConfirm({
      clientid: sc.clientid,
      verifier: sc.confirmVerifier,
      principal: ALICE,
    }, 1),
  );
  assert.deepEqual(again.replaced, []);
});

Deno.test("setclientid_confirm: a wrong confirm verifier is STALE_CLIENTID", () => {
  const t = table();
  const sc = must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_K, principal: ALICE },
      0,
    ),
  );
  const r = t.setClientIdConfirm({
    clientid: sc.clientid,
    verifier: V2,
    principal: ALICE,
  }, 0);
  assert.equal(r.status, S.NFS4ERR_STALE_CLIENTID);
});

Deno.test("setclientid_confirm: an unknown client ID is STALE_CLIENTID", () => {
  const t = table();
  const r = t.setClientIdConfirm({
    clientid: (7n << 32n) | 99n,
    verifier: V1,
    principal: ALICE,
  }, 0);
  assert.equal(r.status, S.NFS4ERR_STALE_CLIENTID);
});

Deno.test("setclientid_confirm: another principal is CLID_INUSE", () => {
  const t = table();
  const sc = must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_K, principal: ALICE },
      0,
    ),
  );
  const r = t.setClientIdConfirm({
    clientid: sc.clientid,
    verifier: sc.confirmVerifier,
    principal: MALLORY,
  }, 0);
  assert.equal(r.status, S.NFS4ERR_CLID_INUSE);
  must(
    t.setClientIdConfirm({
      clientid: sc.clientid,
      verifier: sc.confirmVerifier,
      principal: ALICE,
    }, 0),
  );
  const again = t.setClientIdConfirm({
    clientid: sc.clientid,
    verifier: sc.confirmVerifier,
    principal: MALLORY,
  }, 0);
  assert.equal(again.status, S.NFS4ERR_CLID_INUSE, "also on a retransmission");
});

Deno.test("clients: a client ID from another boot is STALE_CLIENTID", () => {
  const before = table(() => false, 7);
  const c = confirmed40(before);
  const after = table(() => false, 8);
  assert.equal(after.renewClientId(c, 0).status, S.NFS4ERR_STALE_CLIENTID);
  assert.equal(
    after.setClientIdConfirm({ clientid: c, verifier: V1, principal: ALICE }, 0)
      .status,
    S.NFS4ERR_STALE_CLIENTID,
  );
});

Deno.test("renew: renews a confirmed client's lease", () => {
  const t = table();
  const c = confirmed40(t, 0);
  const r = must(t.renewClientId(c, 50_000));
  assert.equal(r.client.lastRenew, 50_000);
  assert.equal(t.leaseExpired(r.client, 50_000 + LEASE - 1), false);
  assert.equal(t.leaseExpired(r.client, 50_000 + LEASE), true);
});

Deno.test("renew: an expired client's ID is EXPIRED", () => {
  const t = table();
  const c = confirmed40(t, 0);
  t.remove(must(t.lookup(c)).client, true);
  assert.equal(t.renewClientId(c, LEASE).status, S.NFS4ERR_EXPIRED);
});

Deno.test("clients: unconfirmed records go after a lease", () => {
  const t = table();
  const sc = must(
    t.setClientId(
      { verifier: V1, id: ID, callback: CB_K, principal: ALICE },
      0,
    ),
  );
  t.sweepUnconfirmed(LEASE - 1);
  assert.equal(t.unconfirmedRecords().length, 1);
  t.sweepUnconfirmed(LEASE);
  assert.equal(t.unconfirmedRecords().length, 0);
  const r = t.setClientIdConfirm({
    clientid: sc.clientid,
    verifier: sc.confirmVerifier,
    principal: ALICE,
  }, LEASE);
  assert.equal(r.status, S.NFS4ERR_STALE_CLIENTID);
});

// EXCHANGE_ID: the cases of RFC 5661 section 18.35.5.

const OWNER41 = enc.encode("Linux NFSv4.1 host-a");

function exchange(
  t: ClientTable,
  o: { v?: Uint8Array; p?: string; flags?: number; now?: number } = {},
) {
  return t.exchangeId(
    {
      ownerId: OWNER41,
      verifier: o.v ?? V1,
      flags: o.flags ?? 0,
      principal: o.p ?? ALICE,
      minor: 1,
    },
    o.now ?? 0,
  );
}

/** A confirmed 4.1 record, as CREATE_SESSION would leave it. */
function confirmed41(t: ClientTable, now = 0) {
  const r = must(exchange(t, { now }));
  t.confirm(r.client, now);
  return r.client;
}

Deno.test("exchange_id: case 1, a new owner gets an unconfirmed record and sequence ID 1", () => {
  const t = table();
  const r = must(exchange(t));
  assert.equal(r.client.confirmed, false);
  assert.equal(r.sequenceid, 1);
  assert.equal(r.flags & F.CONFIRMED_R, 0);
  assert.equal(r.flags & F.MASK_PNFS, F.USE_NON_PNFS);
  assert.equal(must(t.forCreateSession(r.clientid)).client, r.client);
});

Deno.test("exchange_id: case 2, same owner, verifier and principal answers the confirmed record", () => {
  const t = table();
  const c = confirmed41(t);
  const r = must(exchange(t, { now: 5 }));
  assert.equal(r.clientid, c.clientid);
  assert.equal(
    r.flags,
    (F.CONFIRMED_R | F.USE_NON_PNFS) >>> 0,
    "confirmed, unsigned",
  );
  assert.equal(c.lastRenew, 5, "renews the lease");
});

Deno.test("exchange_id: case 3, another principal while the record holds state is CLID_INUSE", () => {
  const t = table(() => true);
  confirmed41(t);
  assert.equal(
    exchange(t, { p: MALLORY, now: 200_000 }).status,
    S.NFS4ERR_CLID_INUSE,
  );
});

Deno.test("exchange_id: case 3, another principal after a stateless lease ran out makes a new record", () => {
  const t = table();
  const c = confirmed41(t, 0);
  const r = must(exchange(t, { p: MALLORY, now: LEASE }));
  assert.notEqual(r.clientid, c.clientid);
  assert.deepEqual(r.dropped, [c]);
  assert.equal(t.lookup(c.clientid).status, S.NFS4ERR_STALE_CLIENTID);
});

Deno.test("exchange_id: case 4, an unconfirmed record is replaced by a new one", () => {
  const t = table();
  const a = must(exchange(t));
  const b = must(exchange(t, { v: V2 }));
  assert.notEqual(a.clientid, b.clientid);
  assert.equal(t.forCreateSession(a.clientid).status, S.NFS4ERR_STALE_CLIENTID);
  assert.equal(t.forCreateSession(b.clientid).status, S.NFS4_OK);
});

Deno.test("exchange_id: case 5, a new verifier (client restart) makes a new record; confirming it drops the old", () => {
  const t = table();
  const c = confirmed41(t);
  const r = must(exchange(t, { v: V2, now: 1 }));
  assert.notEqual(r.clientid, c.clientid);
  assert.equal(r.flags & F.CONFIRMED_R, 0);
  assert.equal(
    t.lookup(c.clientid).status,
    S.NFS4_OK,
    "old record kept until CREATE_SESSION",
  );
  assert.deepEqual(t.confirm(r.client, 2), [c]);
  assert.equal(t.lookup(c.clientid).status, S.NFS4ERR_STALE_CLIENTID);
});

Deno.test("exchange_id: case 6, an update with same verifier and principal updates the record", () => {
  const t = table();
  const c = confirmed41(t);
  const r = must(
    exchange(t, { flags: F.UPD_CONFIRMED_REC_A | F.SUPP_MOVED_REFER }),
  );
  assert.equal(r.clientid, c.clientid);
  assert.equal(
    r.flags,
    (F.CONFIRMED_R | F.USE_NON_PNFS) >>> 0,
    "confirmed, unsigned",
  );
  assert.equal(c.flags, F.SUPP_MOVED_REFER);
});

Deno.test("exchange_id: case 7, an update without a confirmed record is NOENT", () => {
  const t = table();
  assert.equal(
    exchange(t, { flags: F.UPD_CONFIRMED_REC_A }).status,
    S.NFS4ERR_NOENT,
  );
  must(exchange(t));
  assert.equal(
    exchange(t, { flags: F.UPD_CONFIRMED_REC_A }).status,
    S.NFS4ERR_NOENT,
    "an unconfirmed record does not count",
  );
});

Deno.test("exchange_id: case 8, an update with another verifier is NOT_SAME", () => {
  const t = table();
  confirmed41(t);
  assert.equal(
    exchange(t, { flags: F.UPD_CONFIRMED_REC_A, v: V2 }).status,
    S.NFS4ERR_NOT_SAME,
  );
});

Deno.test("exchange_id: case 9, an update from another principal is PERM", () => {
  const t = table();
  confirmed41(t);
  assert.equal(
    exchange(t, { flags: F.UPD_CONFIRMED_REC_A, p: MALLORY }).status,
    S.NFS4ERR_PERM,
  );
});

Deno.test("exchange_id: CONFIRMED_R or an unknown flag in the request is INVAL", () => {
  const t = table();
  assert.equal(exchange(t, { flags: F.CONFIRMED_R }).status, S.NFS4ERR_INVAL);
  assert.equal(exchange(t, { flags: 0x8 }).status, S.NFS4ERR_INVAL);
});

Deno.test("exchange_id: updating a record made by SETCLIENTID is INVAL", () => {
  const t = table();
  const sc = must(
    t.setClientId({
      verifier: V1,
      id: OWNER41,
      callback: CB_K,
      principal: ALICE,
    }, 0),
  );
  must(
    t.setClientIdConfirm({
      clientid: sc.clientid,
      verifier: sc.confirmVerifier,
      principal: ALICE,
    }, 0),
  );
  assert.equal(
    exchange(t, { flags: F.UPD_CONFIRMED_REC_A }).status,
    S.NFS4ERR_INVAL,
  );
});

Deno.test("exchange_id: the sequence ID follows the last CREATE_SESSION", () => {
  const t = table();
  const c = confirmed41(t);
  c.csSeq = 0xffffffff;
  assert.equal(must(exchange(t)).sequenceid, 0, "wraps at 2^32");
});

Deno.test("create_session lookup: a SETCLIENTID client ID is STALE_CLIENTID", () => {
  const t = table();
  const c = confirmed40(t);
  assert.equal(t.forCreateSession(c).status, S.NFS4ERR_STALE_CLIENTID);
});

Deno.test("destroy_clientid: a client with state is CLIENTID_BUSY", () => {
  const t = table(() => true);
  const c = confirmed41(t);
  assert.equal(t.destroyClientId(c.clientid).status, S.NFS4ERR_CLIENTID_BUSY);
});

Deno.test("destroy_clientid: a client without state goes", () => {
  const t = table();
  const c = confirmed41(t);
  must(t.destroyClientId(c.clientid));
  assert.equal(t.lookup(c.clientid).status, S.NFS4ERR_STALE_CLIENTID);
  assert.equal(t.destroyClientId(c.clientid).status, S.NFS4ERR_STALE_CLIENTID);
});

Deno.test("destroy_clientid: an unconfirmed record goes", () => {
  const t = table(() => true);
  const r = must(exchange(t));
  must(t.destroyClientId(r.clientid));
  assert.equal(t.forCreateSession(r.clientid).status, S.NFS4ERR_STALE_CLIENTID);
});
