import assert from "node:assert/strict";
import {
  Grace,
  MemoryStableStorage,
} from "../../../../server/nfs4/state/leases.ts";
import {
  ShareAccess as A,
  ShareDeny as D,
} from "../../../../server/nfs4/state/opens.ts";
import type { OpenState } from "../../../../server/nfs4/state/opens.ts";
import { Nfs4Status as S } from "../../../../server/nfs4/state/status.ts";
import {
  bytes,
  client40,
  client41,
  confirmedOpen40,
  LEASE_MS,
  must,
  newState,
  open41,
  statusOf,
} from "./_helpers.ts";

type St = ReturnType<typeof newState>;

function openLock41(
  st: St,
  clientid: bigint,
  now: number,
  o: { reclaim?: boolean } = {},
) {
  const open = open41(st, clientid, { reclaim: o.reclaim, now: now });
  if ("replay" in open || open.status !== S.NFS4_OK) return open;
  return st.lock({
    minor: 1,
    clientid,
    file: "f",
    write: true,
    offset: 0n,
    length: 100n,
    reclaim: o.reclaim,
    locker: {
      newOwner: true,
      openStateid: open.stateid,
      owner: { clientid, owner: bytes("l") },
    },
  }, now);
}

function seq(st: St, sessionid: Uint8Array, seqid: number, now: number) {
  const r = st.sequence({
    sessionid,
    sequenceid: seqid,
    slotid: 0,
    highestSlotid: 0,
    cacheThis: false,
    connectionId: 1,
  }, now);
  if (r.status === S.NFS4_OK && r.kind === "new") {
    st.sessions.complete(sessionid, 0, new Uint8Array(1));
  }
  return r;
}

Deno.test("lease: expiry frees locks so another client can take them", () => {
  const st = newState();
  const a = client41(st, "a");
  const b = client41(st, "b", LEASE_MS - 1);
  must(openLock41(st, a.clientid, 0));
  assert.equal(
    statusOf(openLock41(st, b.clientid, LEASE_MS - 1)),
    S.NFS4ERR_DENIED,
    "a's lease still runs",
  );
  must(openLock41(st, b.clientid, LEASE_MS));
});

Deno.test("lease: SEQUENCE renews the lease", () => {
  const st = newState();
  const a = client41(st, "a");
  must(openLock41(st, a.clientid, 0));
  seq(st, a.sessionid, 1, LEASE_MS - 1);
  const b = client41(st, "b", LEASE_MS + 10);
  assert.equal(
    statusOf(openLock41(st, b.clientid, LEASE_MS + 10)),
    S.NFS4ERR_DENIED,
  );
});

Deno.test("lease: an expired 4.1 client's session is BADSESSION, its client ID STALE", () => {
  const st = newState();
  const a = client41(st, "a");
  assert.equal(seq(st, a.sessionid, 1, LEASE_MS).status, S.NFS4ERR_BADSESSION);
  assert.equal(
    st.clients.forCreateSession(a.clientid).status,
    S.NFS4ERR_STALE_CLIENTID,
  );
});

Deno.test("lease: a 4.0 client's expired stateid is EXPIRED, and so is RENEW", () => {
  const st = newState();
  const c = client40(st, "a");
  const oc = confirmedOpen40(st, c, A.READ);
  assert.equal(
    st.checkIo(
      { minor: 0, stateid: oc.stateid, file: "f", io: "read" },
      LEASE_MS,
    ).status,
    S.NFS4ERR_EXPIRED,
  );
  assert.equal(st.renew(c, LEASE_MS).status, S.NFS4ERR_EXPIRED);
});

Deno.test("lease: a 4.0 READ with the open stateid renews the lease", () => {
  const st = newState();
  const c = client40(st, "a");
  const oc = confirmedOpen40(st, c, A.READ);
  must(
    st.checkIo(
      { minor: 0, stateid: oc.stateid, file: "f", io: "read" },
      LEASE_MS - 1,
    ),
  );
  must(st.renew(c, 2 * LEASE_MS - 2));
  must(st.renew(c, 3 * LEASE_MS - 3));
});

Deno.test("lease: expiry hands each open to onRelease", () => {
  const released: OpenState[] = [];
  const st = newState({ onRelease: (o) => released.push(o) });
  const a = client41(st, "a");
  const o = must(
    open41(st, a.clientid, { access: A.READ }),
  );
  o.open.context = 11;
  assert.deepEqual(st.sweep(LEASE_MS).map((c) => c.clientid), [a.clientid]);
  assert.deepEqual(released.map((x) => x.context), [11]);
  assert.equal(st.stateids.size, 0);
});

Deno.test("lease: expiry takes the client off stable storage", () => {
  const storage = new MemoryStableStorage();
  const st = newState({ storage });
  const a = client41(st, "a");
  must(
    open41(st, a.clientid, { access: A.READ }),
  );
  assert.deepEqual(storage.list(), [bytes("a")]);
  st.sweep(LEASE_MS);
  assert.deepEqual(storage.list(), []);
});

// Grace.

/** A restarted server whose storage lists client "a". */
function restarted(graceSeconds = 30) {
  const storage = new MemoryStableStorage([bytes("a")]);
  return { storage, st: newState({ storage, graceSeconds, boot: 6 }) };
}

Deno.test("grace: a new OPEN during the grace period is GRACE", () => {
  const { st } = restarted();
  const b = client41(st, "b");
  assert.equal(statusOf(openLock41(st, b.clientid, 1000)), S.NFS4ERR_GRACE);
});

Deno.test("grace: a listed client reclaims its open and lock", () => {
  const { st } = restarted();
  const a = client41(st, "a", 0, false);
  must(openLock41(st, a.clientid, 1000, { reclaim: true }));
});

Deno.test("grace: a reclaim by a client storage does not list is RECLAIM_BAD", () => {
  const { st } = restarted();
  const b = client41(st, "b", 0, false);
  assert.equal(
    statusOf(openLock41(st, b.clientid, 1000, { reclaim: true })),
    S.NFS4ERR_RECLAIM_BAD,
  );
});

Deno.test("grace: a reclaim after the grace period is NO_GRACE", () => {
  const { st } = restarted(30);
  const a = client41(st, "a", 30_000, false);
  assert.equal(
    statusOf(openLock41(st, a.clientid, 30_000, { reclaim: true })),
    S.NFS4ERR_NO_GRACE,
  );
});

Deno.test("grace: a reclaim after RECLAIM_COMPLETE is NO_GRACE", () => {
  const { st } = restarted();
  const a = client41(st, "a", 0, true);
  assert.equal(
    statusOf(openLock41(st, a.clientid, 1000, { reclaim: true })),
    S.NFS4ERR_NO_GRACE,
  );
});

Deno.test("grace: a 4.1 client's new OPEN before its RECLAIM_COMPLETE is GRACE, even after the period", () => {
  const { st } = restarted(30);
  const b = client41(st, "b", 40_000, false);
  assert.equal(statusOf(openLock41(st, b.clientid, 40_000)), S.NFS4ERR_GRACE);
  must(st.reclaimComplete(b.clientid, false, 40_000));
  must(openLock41(st, b.clientid, 40_000));
});

Deno.test("grace: a second RECLAIM_COMPLETE is COMPLETE_ALREADY; one file system's changes nothing", () => {
  const { st } = restarted();
  const a = client41(st, "a", 0, false);
  must(st.reclaimComplete(a.clientid, true, 0));
  must(st.reclaimComplete(a.clientid, false, 0));
  assert.equal(
    st.reclaimComplete(a.clientid, false, 0).status,
    S.NFS4ERR_COMPLETE_ALREADY,
  );
});

Deno.test("grace: ends early once every listed client sent RECLAIM_COMPLETE", () => {
  const { st } = restarted(30);
  const a = client41(st, "a", 0, false);
  assert.equal(st.grace.active(1000), true);
  must(st.reclaimComplete(a.clientid, false, 1000));
  assert.equal(st.grace.active(1000), false);
  const b = client41(st, "b", 1000);
  must(openLock41(st, b.clientid, 1000));
});

Deno.test("grace: a listed 4.0 client keeps the period to its end", () => {
  const storage = new MemoryStableStorage([bytes("a"), bytes("old40")]);
  const st = newState({ storage, graceSeconds: 30, boot: 6 });
  const a = client41(st, "a", 0, false);
  must(st.reclaimComplete(a.clientid, false, 0));
  assert.equal(st.grace.active(29_999), true);
  assert.equal(st.grace.active(30_000), false);
});

Deno.test("grace: length 0 means no grace period at all", () => {
  const storage = new MemoryStableStorage([bytes("a")]);
  const st = newState({ storage, graceSeconds: 0, boot: 6 });
  const a = client41(st, "a", 0, false);
  assert.equal(
    statusOf(openLock41(st, a.clientid, 0, { reclaim: true })),
    S.NFS4ERR_NO_GRACE,
  );
  must(st.reclaimComplete(a.clientid, false, 0));
  must(openLock41(st, a.clientid, 0));
});

Deno.test("grace: LOCKT during the grace period is GRACE", () => {
  const { st } = restarted();
  const b = client41(st, "b");
  const r = st.lockt({
    clientid: b.clientid,
    owner: bytes("x"),
    file: "f",
    write: true,
    offset: 0n,
    length: 1n,
  }, 0);
  assert.equal(r.status, S.NFS4ERR_GRACE);
});

Deno.test("grace: a 4.0 client reclaims, then opens anew after the period", () => {
  const storage = new MemoryStableStorage([bytes("a")]);
  const st = newState({ storage, graceSeconds: 30, boot: 6 });
  const c = client40(st, "a");
  const r = must(
    st.open({
      minor: 0,
      clientid: c,
      owner: bytes("oo"),
      seqid: 1,
      file: "f",
      access: A.READ,
      deny: D.NONE,
      reclaim: true,
    }, 0),
  );
  r.seq!.finish(0, new Uint8Array(1));
  const n = st.open({
    minor: 0,
    clientid: c,
    owner: bytes("oo"),
    seqid: 2,
    file: "g",
    access: A.READ,
    deny: D.NONE,
  }, 1000);
  assert.equal(statusOf(n), S.NFS4ERR_GRACE);
  assert.ok(
    !("replay" in n) && n.seq !== undefined,
    "GRACE advances the seqid",
  );
});

Deno.test("grace: at its end, listed clients that did not come back leave stable storage", () => {
  const storage = new MemoryStableStorage([bytes("a"), bytes("gone")]);
  const g = new Grace(storage, 0, 10_000);
  assert.equal(g.active(9_999), true);
  assert.equal(g.active(10_000), false);
  assert.deepEqual(storage.list(), []);
});

Deno.test("restart: the old instance's client IDs and stateids are stale, the client reclaims", () => {
  const storage = new MemoryStableStorage();
  const before = newState({ storage, boot: 1 });
  const c = client40(before, "a");
  const oc = confirmedOpen40(before, c, A.READ);

  const after = newState({ storage, boot: 2, graceSeconds: 90 });
  assert.equal(after.renew(c, 0).status, S.NFS4ERR_STALE_CLIENTID);
  assert.equal(
    after.checkIo({ minor: 0, stateid: oc.stateid, file: "f", io: "read" }, 0)
      .status,
    S.NFS4ERR_STALE_STATEID,
  );
  const c2 = client40(after, "a");
  must(
    after.open({
      minor: 0,
      clientid: c2,
      owner: bytes("oo"),
      seqid: 7,
      file: "f",
      access: A.READ,
      deny: D.NONE,
      reclaim: true,
    }, 0),
  );
});
