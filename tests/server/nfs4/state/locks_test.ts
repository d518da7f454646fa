import assert from "node:assert/strict";
import {
  applyRange,
  lockRange,
  LockTable,
  LockType,
} from "../../../../server/nfs4/state/locks.ts";
import {
  OpenTable,
  ShareAccess as A,
  ShareDeny as D,
} from "../../../../server/nfs4/state/opens.ts";
import { StateidTable } from "../../../../server/nfs4/state/stateids.ts";
import { Nfs4Status as S } from "../../../../server/nfs4/state/status.ts";
import { ALL_ONES_64 } from "../../../../server/nfs4/state/types.ts";
import {
  bytes,
  client40,
  client41,
  confirmedOpen40,
  must,
  newState,
  open41,
  statusOf,
} from "./_helpers.ts";

const END = 1n << 64n;
const MAX = ALL_ONES_64;

function setup(access: number = A.BOTH) {
  const stateids = new StateidTable(5);
  const opens = new OpenTable(stateids);
  const locks = new LockTable(stateids);
  const openA = must(
    opens.open(
      opens.owner({ clientid: 1n, owner: bytes("oa") }, 1),
      "f",
      access,
      D.NONE,
    ),
  ).open;
  const openB = must(
    opens.open(
      opens.owner({ clientid: 2n, owner: bytes("ob") }, 1),
      "f",
      access,
      D.NONE,
    ),
  ).open;
  const a =
    locks.stateFor(openA, locks.owner({ clientid: 1n, owner: bytes("la") }, 1))
      .state;
  const b =
    locks.stateFor(openB, locks.owner({ clientid: 2n, owner: bytes("lb") }, 1))
      .state;
  return { stateids, opens, locks, a, b, openA };
}

const r = (start: bigint, end: bigint, write: boolean) => ({
  start,
  end,
  write,
});

Deno.test("lock range: length 0 is INVAL", () => {
  assert.equal(lockRange(0n, 0n).status, S.NFS4ERR_INVAL);
});

Deno.test("lock range: all-ones length runs to the end from any offset", () => {
  assert.deepEqual(must(lockRange(0n, MAX)), {
    status: 0,
    start: 0n,
    end: END,
  });
  assert.deepEqual(must(lockRange(MAX, MAX)), {
    status: 0,
    start: MAX,
    end: END,
  });
});

Deno.test("lock range: a last byte past 2^64-1 is INVAL", () => {
  assert.equal(
    lockRange(2n, MAX - 1n).status,
    S.NFS4ERR_INVAL,
    "offset + length = 2^64",
  );
  assert.deepEqual(must(lockRange(1n, MAX - 1n)), {
    status: 0,
    start: 1n,
    end: MAX,
  }, "offset + length = 2^64-1");
  assert.equal(lockRange(MAX, 1n).status, S.NFS4ERR_INVAL);
  assert.deepEqual(must(lockRange(MAX - 1n, 1n)), {
    status: 0,
    start: MAX - 1n,
    end: MAX,
  });
  assert.deepEqual(must(lockRange(0n, MAX - 1n)), {
    status: 0,
    start: 0n,
    end: MAX - 1n,
  });
});

Deno.test("ranges: an unlock in the middle splits a lock", () => {
  assert.deepEqual(applyRange([r(0n, 100n, true)], 10n, 20n, null), [
    r(0n, 10n, true),
    r(20n, 100n, true),
  ]);
});

Deno.test("ranges: adjacent locks of one type merge, of two types do not", () => {
  assert.deepEqual(applyRange([r(0n, 10n, false)], 10n, 20n, false), [
    r(0n, 20n, false),
  ]);
  assert.deepEqual(applyRange([r(0n, 10n, false)], 10n, 20n, true), [
    r(0n, 10n, false),
    r(10n, 20n, true),
  ]);
});

Deno.test("ranges: a lock over two locks joins them", () => {
  const held = [r(0n, 10n, true), r(20n, 30n, true)];
  assert.deepEqual(applyRange(held, 5n, 25n, true), [r(0n, 30n, true)]);
});

Deno.test("ranges: a write over the middle of a read upgrades just that part", () => {
  assert.deepEqual(
    applyRange([r(0n, 100n, false)], 40n, 60n, true),
    [r(0n, 40n, false), r(40n, 60n, true), r(60n, 100n, false)],
  );
});

Deno.test("ranges: edges at 0 and at 2^64", () => {
  const whole = [r(0n, END, true)];
  assert.deepEqual(applyRange(whole, 0n, 1n, null), [r(1n, END, true)]);
  assert.deepEqual(applyRange(whole, MAX, END, null), [r(0n, MAX, true)]);
  assert.deepEqual(applyRange(whole, 0n, END, null), []);
  assert.deepEqual(applyRange([r(0n, MAX, true)], MAX, END, true), [
    r(0n, END, true),
  ], "the last byte joins");
});

Deno.test("ranges: unlocking what is not held changes nothing", () => {
  assert.deepEqual(applyRange([r(10n, 20n, false)], 30n, 40n, null), [
    r(10n, 20n, false),
  ]);
  assert.deepEqual(applyRange([], 0n, END, null), []);
});

Deno.test("lock: read locks of two owners coexist", () => {
  const { locks, a, b } = setup();
  must(locks.lock(a, false, 0n, 100n));
  must(locks.lock(b, false, 50n, 150n));
});

Deno.test("lock: a write lock conflicts, reporting the other lock's range, type and owner", () => {
  const { locks, a, b } = setup();
  must(locks.lock(a, false, 10n, 20n));
  const d = locks.lock(b, true, 15n, 30n);
  assert.ok(d.status === S.NFS4ERR_DENIED && "denied" in d);
  assert.deepEqual(d.denied, {
    offset: 10n,
    length: 10n,
    type: LockType.READ_LT,
    owner: { clientid: 1n, owner: bytes("la") },
  });
});

Deno.test("lock: a conflict with a lock to the end reports length 2^64-1", () => {
  const { locks, a, b } = setup();
  must(locks.lock(a, true, 100n, END));
  const d = locks.lock(b, false, MAX - 1n, MAX);
  assert.ok(d.status === S.NFS4ERR_DENIED && "denied" in d);
  assert.equal(d.denied.offset, 100n);
  assert.equal(d.denied.length, MAX);
  assert.equal(d.denied.type, LockType.WRITE_LT);
});

Deno.test("lock: touching ranges do not conflict", () => {
  const { locks, a, b } = setup();
  must(locks.lock(a, true, 0n, 10n));
  must(locks.lock(b, true, 10n, 20n));
});

Deno.test("lock: the seqid of the lock stateid moves on", () => {
  const { locks, a } = setup();
  assert.equal(must(locks.lock(a, true, 0n, 10n)).stateid.seqid, 2);
  assert.equal(must(locks.unlock(a, 0n, 10n)).stateid.seqid, 3);
});

Deno.test("lock: an upgrade that conflicts is DENIED and changes nothing", () => {
  const { locks, a, b } = setup();
  must(locks.lock(a, false, 0n, 100n));
  must(locks.lock(b, false, 50n, 60n));
  assert.equal(locks.lock(a, true, 0n, 100n).status, S.NFS4ERR_DENIED);
  assert.deepEqual(a.ranges, [r(0n, 100n, false)]);
});

Deno.test("lock: an upgrade without conflict and a downgrade", () => {
  const { locks, a, b } = setup();
  must(locks.lock(a, false, 0n, 100n));
  must(locks.lock(a, true, 0n, 100n));
  assert.equal(locks.lock(b, false, 0n, 1n).status, S.NFS4ERR_DENIED);
  must(locks.lock(a, false, 0n, 100n));
  must(locks.lock(b, false, 0n, 1n));
});

Deno.test("lock: a write lock on a read-only open is OPENMODE, a read lock on write-only too", () => {
  const ro = setup(A.READ);
  assert.equal(ro.locks.lock(ro.a, true, 0n, 1n).status, S.NFS4ERR_OPENMODE);
  const wo = setup(A.WRITE);
  assert.equal(wo.locks.lock(wo.a, false, 0n, 1n).status, S.NFS4ERR_OPENMODE);
});

Deno.test("lockt: tests without locking, the owner's own locks do not count", () => {
  const { locks, a } = setup();
  must(locks.lock(a, true, 0n, 10n));
  assert.equal(
    locks.test("f", { clientid: 2n, owner: bytes("x") }, false, 5n, 6n).status,
    S.NFS4ERR_DENIED,
  );
  must(locks.test("f", { clientid: 1n, owner: bytes("la") }, true, 0n, 10n));
  must(locks.test("g", { clientid: 2n, owner: bytes("x") }, true, 0n, 10n));
});

Deno.test("locku: unlocking splits, and the freed part is free for others", () => {
  const { locks, a, b } = setup();
  must(locks.lock(a, true, 0n, 100n));
  must(locks.unlock(a, 40n, 60n));
  must(locks.lock(b, true, 40n, 60n));
  assert.equal(locks.lock(b, true, 39n, 40n).status, S.NFS4ERR_DENIED);
});

Deno.test("release_lockowner: with locks held is LOCKS_HELD", () => {
  const { locks, a } = setup();
  must(locks.lock(a, true, 0n, 1n));
  assert.equal(
    locks.releaseOwner({ clientid: 1n, owner: bytes("la") }).status,
    S.NFS4ERR_LOCKS_HELD,
  );
});

Deno.test("release_lockowner: without locks forgets the owner and its stateids", () => {
  const { locks, a, stateids } = setup();
  must(locks.lock(a, true, 0n, 1n));
  must(locks.unlock(a, 0n, 1n));
  must(locks.releaseOwner({ clientid: 1n, owner: bytes("la") }));
  assert.equal(stateids.find(a.entry.other), undefined);
  must(locks.releaseOwner({ clientid: 9n, owner: bytes("unknown") }));
});

Deno.test("lock stateids: one per open and lock-owner", () => {
  const { locks, openA, a } = setup();
  const again = locks.stateFor(openA, a.owner);
  assert.equal(again.state, a);
  assert.equal(again.created, false);
});

// Through Nfs4State.

function lock41(
  st: ReturnType<typeof newState>,
  clientid: bigint,
  openStateid: { seqid: number; other: Uint8Array },
  o: { offset?: bigint; length?: bigint; write?: boolean; now?: number } = {},
) {
  return st.lock({
    minor: 1,
    clientid,
    file: "f",
    write: o.write ?? true,
    offset: o.offset ?? 0n,
    length: o.length ?? 10n,
    locker: {
      newOwner: true,
      openStateid,
      owner: { clientid, owner: bytes("lo") },
    },
  }, o.now ?? 0);
}

Deno.test("lock 4.1: two clients, the second DENIED with the first's range", () => {
  const st = newState();
  const a = client41(st, "a");
  const b = client41(st, "b");
  must(
    lock41(st, a.clientid, must(open41(st, a.clientid)).stateid, {
      offset: 5n,
      length: 10n,
    }),
  );
  const d = lock41(st, b.clientid, must(open41(st, b.clientid)).stateid, {
    offset: 0n,
    length: 6n,
  });
  assert.ok(!("replay" in d) && d.status === S.NFS4ERR_DENIED && "denied" in d);
  assert.deepEqual(d.denied.owner, {
    clientid: a.clientid,
    owner: bytes("lo"),
  });
  assert.equal(d.denied.offset, 5n);
  assert.equal(d.denied.length, 10n);
  assert.equal(
    st.locks.findOwner({ clientid: b.clientid, owner: bytes("lo") }),
    undefined,
    "a denied new owner leaves nothing",
  );
});

Deno.test("lock 4.1: a zero length is INVAL", () => {
  const st = newState();
  const a = client41(st, "a");
  assert.equal(
    statusOf(
      lock41(st, a.clientid, must(open41(st, a.clientid)).stateid, {
        length: 0n,
      }),
    ),
    S.NFS4ERR_INVAL,
  );
});

Deno.test("close 4.1: frees the open's locks for others", () => {
  const st = newState();
  const a = client41(st, "a");
  const b = client41(st, "b");
  const oa = must(open41(st, a.clientid));
  const l = must(lock41(st, a.clientid, oa.stateid));
  must(
    st.close(
      { minor: 1, clientid: a.clientid, stateid: oa.stateid, file: "f" },
      0,
    ),
  );
  assert.equal(
    st.stateids.find(l.stateid.other),
    undefined,
    "the lock stateid went with it",
  );
  must(lock41(st, b.clientid, must(open41(st, b.clientid)).stateid));
});

Deno.test("free_stateid 4.1: a lock stateid with locks is LOCKS_HELD, after LOCKU it frees", () => {
  const st = newState();
  const a = client41(st, "a");
  const l = must(lock41(st, a.clientid, must(open41(st, a.clientid)).stateid));
  assert.equal(
    st.freeStateid(a.clientid, l.stateid, 0).status,
    S.NFS4ERR_LOCKS_HELD,
  );
  const u = must(
    st.locku({
      minor: 1,
      clientid: a.clientid,
      stateid: l.stateid,
      file: "f",
      offset: 0n,
      length: 10n,
    }, 0),
  );
  must(st.freeStateid(a.clientid, u.stateid, 0));
  assert.equal(
    st.testStateids(a.clientid, [u.stateid])[0],
    S.NFS4ERR_BAD_STATEID,
  );
});

/** An NFSv4.0 LOCK of file "f" by lock-owner "lo", new to the open (open seqid 3). */
function lockNew40(
  st: ReturnType<typeof newState>,
  openStateid: { seqid: number; other: Uint8Array },
  o: {
    write: boolean;
    offset: bigint;
    length: bigint;
    lockSeqid: number;
    owner: bigint;
  },
) {
  return st.lock({
    minor: 0,
    clientid: o.owner,
    file: "f",
    write: o.write,
    offset: o.offset,
    length: o.length,
    locker: {
      newOwner: true,
      openStateid,
      openSeqid: 3,
      lockSeqid: o.lockSeqid,
      owner: { clientid: o.owner, owner: bytes("lo") },
    },
  }, 0);
}

Deno.test("lock 4.0: new lock-owner, then an existing one, with seqids and a replay", () => {
  const st = newState();
  const c = client40(st, "a");
  const oc = confirmedOpen40(st, c, A.BOTH);
  const first = lockNew40(st, oc.stateid, {
    write: true,
    offset: 0n,
    length: 10n,
    lockSeqid: 100,
    owner: c,
  });
  const l = must(first);
  const reply = new Uint8Array([5]);
  l.seq!.finish(0, reply);
  assert.equal(
    st.opens.findOwner({ clientid: c, owner: bytes("oo") })!.seq.last,
    3,
    "the open-owner's seqid moved",
  );
  assert.equal(
    st.locks.findOwner({ clientid: c, owner: bytes("lo") })!.seq.last,
    100,
    "the lock-owner starts at lock_seqid",
  );
  const again = st.lock({
    minor: 0,
    clientid: c,
    file: "f",
    write: true,
    offset: 20n,
    length: 10n,
    locker: { newOwner: false, lockStateid: l.stateid, lockSeqid: 100 },
  }, 0);
  assert.ok(
    "replay" in again && again.replay === reply,
    "same lock seqid: a replay",
  );
  const next = must(st.lock({
    minor: 0,
    clientid: c,
    file: "f",
    write: true,
    offset: 20n,
    length: 10n,
    locker: { newOwner: false, lockStateid: l.stateid, lockSeqid: 101 },
  }, 0));
  assert.equal(next.stateid.seqid, 3);
  next.seq!.finish(0, new Uint8Array(1));
  const u = must(
    st.locku({
      minor: 0,
      stateid: next.stateid,
      seqid: 102,
      file: "f",
      offset: 0n,
      length: MAX,
    }, 0),
  );
  u.seq!.finish(0, new Uint8Array(1));
  must(st.releaseLockOwner({ clientid: c, owner: bytes("lo") }, 0));
});

Deno.test("lock 4.0: a lock-owner of another client is BAD_STATEID", () => {
  const st = newState();
  const c = client40(st, "a");
  const oc = confirmedOpen40(st, c, A.BOTH);
  const r = lockNew40(st, oc.stateid, {
    write: true,
    offset: 0n,
    length: 1n,
    lockSeqid: 0,
    owner: c + 1n,
  });
  assert.equal(statusOf(r), S.NFS4ERR_BAD_STATEID);
});

Deno.test("close 4.0: with locks held is LOCKS_HELD through Nfs4State", () => {
  const st = newState();
  const c = client40(st, "a");
  const oc = confirmedOpen40(st, c, A.BOTH);
  const l = must(
    lockNew40(st, oc.stateid, {
      write: false,
      offset: 0n,
      length: 1n,
      lockSeqid: 0,
      owner: c,
    }),
  );
  l.seq!.finish(0, new Uint8Array(1));
  const r = st.close({ minor: 0, stateid: oc.stateid, seqid: 4, file: "f" }, 0);
  assert.equal(statusOf(r), S.NFS4ERR_LOCKS_HELD);
});

Deno.test("lockt: a stale 4.0 client ID is STALE_CLIENTID", () => {
  const st = newState();
  const r = st.lockt({
    clientid: (9n << 32n) | 1n,
    owner: bytes("x"),
    file: "f",
    write: true,
    offset: 0n,
    length: 1n,
  }, 0);
  assert.equal(r.status, S.NFS4ERR_STALE_CLIENTID);
});
