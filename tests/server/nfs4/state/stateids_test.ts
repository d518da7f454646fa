import assert from "node:assert/strict";
import { OwnerSeqid } from "../../../../server/nfs4/state/seqid.ts";
import {
  ANONYMOUS_STATEID,
  CURRENT_STATEID,
  INVALID_STATEID,
  nextSeqid,
  READ_BYPASS_STATEID,
  specialStateid,
  StateidTable,
} from "../../../../server/nfs4/state/stateids.ts";
import { Nfs4Status as S } from "../../../../server/nfs4/state/status.ts";

const C1 = 1n;
const C2 = 2n;

function entry(
  t: StateidTable,
  o: { minor?: number; kind?: "open" | "lock"; clientid?: bigint } = {},
) {
  return t.allocate(o.kind ?? "open", {
    clientid: o.clientid ?? C1,
    file: "f",
    minor: o.minor ?? 1,
  }, null);
}

Deno.test("stateids: special stateids are recognised by minor version", () => {
  assert.equal(specialStateid(ANONYMOUS_STATEID, 0), "anonymous");
  assert.equal(specialStateid(READ_BYPASS_STATEID, 0), "bypass");
  assert.equal(specialStateid(CURRENT_STATEID, 1), "current");
  assert.equal(specialStateid(INVALID_STATEID, 1), "invalid");
  assert.equal(
    specialStateid(CURRENT_STATEID, 0),
    "bad",
    "no current stateid in 4.0",
  );
  assert.equal(specialStateid(INVALID_STATEID, 0), "bad");
  assert.equal(
    specialStateid({ seqid: 5, other: new Uint8Array(12) }, 1),
    "bad",
  );
  assert.equal(
    specialStateid({ seqid: 0, other: new Uint8Array(12).fill(0xff) }, 1),
    "bad",
  );
  assert.equal(
    specialStateid({ seqid: 0, other: new Uint8Array(12).fill(1) }, 1),
    undefined,
  );
});

Deno.test("stateids: a new stateid has seqid 1 and a unique other with the boot verifier", () => {
  const t = new StateidTable(0x01020304);
  const a = entry(t);
  const b = entry(t);
  assert.equal(a.seqid, 1);
  assert.deepEqual([...a.other.subarray(0, 4)], [1, 2, 3, 4]);
  assert.notDeepEqual(a.other, b.other);
});

Deno.test("stateids: the seqid wraps to 1 in 4.1 and to 0 in 4.0", () => {
  assert.equal(nextSeqid(1, 1), 2);
  assert.equal(nextSeqid(0xffffffff, 1), 1, "0 means current in 4.1");
  assert.equal(nextSeqid(0xffffffff, 0), 0);
  const t = new StateidTable(9);
  const e = entry(t);
  e.seqid = 0xffffffff;
  assert.equal(t.bump(e).seqid, 1);
});

Deno.test("stateids: the current seqid checks OK", () => {
  const t = new StateidTable(9);
  const e = entry(t);
  assert.equal(t.check(t.stateid(e), { minor: 1 }).status, S.NFS4_OK);
});

Deno.test("stateids: an older seqid is OLD_STATEID, a newer one BAD_STATEID", () => {
  const t = new StateidTable(9);
  const e = entry(t);
  const first = t.stateid(e);
  t.bump(e);
  assert.equal(t.check(first, { minor: 1 }).status, S.NFS4ERR_OLD_STATEID);
  assert.equal(
    t.check({ seqid: 3, other: e.other }, { minor: 1 }).status,
    S.NFS4ERR_BAD_STATEID,
  );
});

Deno.test("stateids: seqid order holds across the 2^32 wrap", () => {
  const t = new StateidTable(9);
  const e = entry(t);
  e.seqid = 0xffffffff;
  const before = t.stateid(e);
  t.bump(e);
  assert.equal(t.check(before, { minor: 1 }).status, S.NFS4ERR_OLD_STATEID);
  assert.equal(
    t.check({ seqid: 2, other: e.other }, { minor: 1 }).status,
    S.NFS4ERR_BAD_STATEID,
  );
});

Deno.test("stateids: seqid 0 means the current one in 4.1 only", () => {
  const t = new StateidTable(9);
  const e = entry(t, { minor: 0 });
  t.bump(e);
  assert.equal(
    t.check({ seqid: 0, other: e.other }, { minor: 1 }).status,
    S.NFS4_OK,
  );
  assert.equal(
    t.check({ seqid: 0, other: e.other }, { minor: 0 }).status,
    S.NFS4ERR_OLD_STATEID,
  );
});

Deno.test("stateids: a previous instance's stateid is STALE_STATEID in 4.0, BAD_STATEID in 4.1", () => {
  const before = new StateidTable(1);
  const s = before.stateid(entry(before));
  const after = new StateidTable(2);
  assert.equal(after.check(s, { minor: 0 }).status, S.NFS4ERR_STALE_STATEID);
  assert.equal(after.check(s, { minor: 1 }).status, S.NFS4ERR_BAD_STATEID);
});

Deno.test("stateids: an unknown, special or short stateid is BAD_STATEID", () => {
  const t = new StateidTable(9);
  const e = entry(t);
  const unknown = e.other.slice();
  unknown[11] = 77;
  assert.equal(
    t.check({ seqid: 1, other: unknown }, { minor: 0 }).status,
    S.NFS4ERR_BAD_STATEID,
  );
  assert.equal(
    t.check(ANONYMOUS_STATEID, { minor: 0 }).status,
    S.NFS4ERR_BAD_STATEID,
  );
  assert.equal(
    t.check({ seqid: 1, other: new Uint8Array(3) }, { minor: 0 }).status,
    S.NFS4ERR_BAD_STATEID,
  );
});

Deno.test("stateids: another client's, file's or kind's stateid is BAD_STATEID", () => {
  const t = new StateidTable(9);
  const s = t.stateid(entry(t));
  assert.equal(
    t.check(s, { minor: 1, clientid: C2 }).status,
    S.NFS4ERR_BAD_STATEID,
  );
  assert.equal(
    t.check(s, { minor: 1, file: "g" }).status,
    S.NFS4ERR_BAD_STATEID,
  );
  assert.equal(
    t.check(s, { minor: 1, kinds: ["lock"] }).status,
    S.NFS4ERR_BAD_STATEID,
  );
  assert.equal(
    t.check(s, { minor: 1, clientid: C1, file: "f", kinds: ["open"] }).status,
    S.NFS4_OK,
  );
});

Deno.test("stateids: revoked 4.1 state answers EXPIRED or ADMIN_REVOKED until freed", () => {
  const t = new StateidTable(9);
  const a = entry(t);
  const b = entry(t);
  t.revoke(a, "expired");
  t.revoke(b, "admin");
  assert.equal(t.check(t.stateid(a), { minor: 1 }).status, S.NFS4ERR_EXPIRED);
  assert.equal(
    t.check(t.stateid(b), { minor: 1 }).status,
    S.NFS4ERR_ADMIN_REVOKED,
  );
  assert.equal(t.revokedOf(C1).length, 2);
  assert.equal(
    t.free(t.stateid(a), C1, () => true).status,
    S.NFS4_OK,
    "revoked state is freed",
  );
  assert.equal(
    t.check(t.stateid(a), { minor: 1 }).status,
    S.NFS4ERR_BAD_STATEID,
  );
  assert.equal(t.revokedOf(C1).length, 1);
});

Deno.test("stateids: revoked 4.0 state is forgotten but still answers EXPIRED", () => {
  const t = new StateidTable(9);
  const e = entry(t, { minor: 0 });
  const s = t.stateid(e);
  t.revoke(e, "expired");
  assert.equal(t.size, 0);
  assert.equal(t.check(s, { minor: 0 }).status, S.NFS4ERR_EXPIRED);
});

Deno.test("test_stateid: answers each stateid's status for the client", () => {
  const t = new StateidTable(9);
  const a = entry(t);
  const old = t.stateid(a);
  t.bump(a);
  const mine = t.stateid(a);
  const theirs = t.stateid(entry(t, { clientid: C2 }));
  const r = entry(t);
  t.revoke(r, "admin");
  assert.deepEqual(
    [mine, old, theirs, t.stateid(r), ANONYMOUS_STATEID].map((s) =>
      t.test(s, C1)
    ),
    [
      S.NFS4_OK,
      S.NFS4ERR_OLD_STATEID,
      S.NFS4ERR_BAD_STATEID,
      S.NFS4ERR_ADMIN_REVOKED,
      S.NFS4ERR_BAD_STATEID,
    ],
  );
});

Deno.test("free_stateid: a lock stateid with locks is LOCKS_HELD, without them freed", () => {
  const t = new StateidTable(9);
  const e = entry(t, { kind: "lock" });
  assert.equal(
    t.free(t.stateid(e), C1, () => true).status,
    S.NFS4ERR_LOCKS_HELD,
  );
  assert.equal(t.free(t.stateid(e), C1, () => false).status, S.NFS4_OK);
  assert.equal(t.find(e.other), undefined);
});

Deno.test("free_stateid: an open stateid is LOCKS_HELD", () => {
  const t = new StateidTable(9);
  const e = entry(t);
  assert.equal(
    t.free(t.stateid(e), C1, () => false).status,
    S.NFS4ERR_LOCKS_HELD,
  );
});

Deno.test("free_stateid: another client's or a special stateid is BAD_STATEID", () => {
  const t = new StateidTable(9);
  const e = entry(t, { kind: "lock" });
  assert.equal(
    t.free(t.stateid(e), C2, () => false).status,
    S.NFS4ERR_BAD_STATEID,
  );
  assert.equal(
    t.free(CURRENT_STATEID, C1, () => false).status,
    S.NFS4ERR_BAD_STATEID,
  );
});

// NFSv4.0 owner seqids.

function newTicket(s: OwnerSeqid, seqid: number) {
  const r = s.check(seqid);
  assert.ok("ticket" in r, `seqid ${seqid} should be new`);
  return r.ticket;
}

Deno.test("owner seqid: a new owner takes any seqid", () => {
  const s = new OwnerSeqid();
  newTicket(s, 0x12345678).finish(S.NFS4_OK, new Uint8Array([1]));
  assert.equal(s.last, 0x12345678);
});

Deno.test("owner seqid: last + 1 is new, last is a replay of the kept reply", () => {
  const s = new OwnerSeqid();
  const reply = new Uint8Array([7]);
  newTicket(s, 4).finish(S.NFS4_OK, reply);
  const r = s.check(4);
  assert.ok("replay" in r && r.replay === reply);
  newTicket(s, 5);
});

Deno.test("owner seqid: anything else is BAD_SEQID", () => {
  const s = new OwnerSeqid();
  newTicket(s, 4).finish(S.NFS4_OK, new Uint8Array(1));
  for (const n of [3, 6, 0, 0xffffffff]) {
    const r = s.check(n);
    assert.ok("status" in r && r.status === S.NFS4ERR_BAD_SEQID, `seqid ${n}`);
  }
});

Deno.test("owner seqid: wraps from 2^32-1 to 0", () => {
  const s = new OwnerSeqid();
  newTicket(s, 0xffffffff).finish(S.NFS4_OK, new Uint8Array(1));
  newTicket(s, 0).finish(S.NFS4_OK, new Uint8Array(1));
  assert.equal(s.last, 0);
});

Deno.test("owner seqid: most errors advance the seqid and are replayed", () => {
  const s = new OwnerSeqid();
  newTicket(s, 1).finish(S.NFS4_OK, new Uint8Array(1));
  const denied = new Uint8Array([9]);
  newTicket(s, 2).finish(S.NFS4ERR_SHARE_DENIED, denied);
  assert.equal(s.last, 2);
  const r = s.check(2);
  assert.ok("replay" in r && r.replay === denied);
});

Deno.test("owner seqid: stale, bad-stateid and bad-seqid errors do not advance", () => {
  const s = new OwnerSeqid();
  newTicket(s, 1).finish(S.NFS4_OK, new Uint8Array(1));
  for (
    const st of [
      S.NFS4ERR_BAD_STATEID,
      S.NFS4ERR_STALE_STATEID,
      S.NFS4ERR_STALE_CLIENTID,
      S.NFS4ERR_BAD_SEQID,
      S.NFS4ERR_BADXDR,
      S.NFS4ERR_RESOURCE,
      S.NFS4ERR_NOFILEHANDLE,
      S.NFS4ERR_MOVED,
    ]
  ) {
    newTicket(s, 2).finish(st, new Uint8Array(1));
    assert.equal(s.last, 1, `status ${st}`);
  }
});
