import assert from "node:assert/strict";
import {
  type LOCK4args,
  type nfs_argop4,
  nfs_lock_type4 as LT,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import { MemoryStableStorage } from "../../../server/nfs4/state/leases.ts";
import { ROOT } from "../../../vfs/types.ts";
import {
  b,
  client40,
  nfsstat4,
  ok,
  OP,
  open40,
  open41,
  resultOf,
  session41,
  startState,
} from "./_clients.ts";
import type { COMPOUND4res } from "../../../proto/nfs4/mod.ts";
import type { Nfs4Harness } from "./_harness.ts";

const ALL = 0xffffffffffffffffn;
const putfh = (fh: Uint8Array): nfs_argop4 => ({
  argop: OP.OP_PUTFH,
  opputfh: { object: fh },
});

/** LOCK by a lock-owner new to the open. */
function lockNew(
  o: {
    open: stateid4;
    openSeqid?: number;
    clientid?: bigint;
    owner: string;
    type?: number;
    offset: bigint;
    length: bigint;
  },
): nfs_argop4 {
  const args: LOCK4args = {
    locktype: (o.type ?? LT.WRITE_LT) as LT,
    reclaim: false,
    offset: o.offset,
    length: o.length,
    locker: {
      new_lock_owner: true,
      open_owner: {
        open_seqid: o.openSeqid ?? 0,
        open_stateid: o.open,
        lock_seqid: 0,
        lock_owner: { clientid: o.clientid ?? 0n, owner: b(o.owner) },
      },
    },
  };
  return { argop: OP.OP_LOCK, oplock: args };
}

/** LOCK by a lock-owner that has its lock stateid. */
function lockMore(
  lock: stateid4,
  offset: bigint,
  length: bigint,
  seqid = 0,
  type: number = LT.WRITE_LT,
): nfs_argop4 {
  return {
    argop: OP.OP_LOCK,
    oplock: {
      locktype: type as LT,
      reclaim: false,
      offset,
      length,
      locker: {
        new_lock_owner: false,
        lock_owner: { lock_stateid: lock, lock_seqid: seqid },
      },
    },
  };
}

function locku(
  lock: stateid4,
  offset: bigint,
  length: bigint,
  seqid = 0,
): nfs_argop4 {
  return {
    argop: OP.OP_LOCKU,
    oplocku: {
      locktype: LT.WRITE_LT,
      seqid,
      lock_stateid: lock,
      offset,
      length,
    },
  };
}

function lockt(
  owner: string,
  offset: bigint,
  length: bigint,
  clientid = 0n,
  type: number = LT.WRITE_LT,
): nfs_argop4 {
  return {
    argop: OP.OP_LOCKT,
    oplockt: {
      locktype: type as LT,
      offset,
      length,
      owner: { clientid, owner: b(owner) },
    },
  };
}

function lockStateid(res: COMPOUND4res): stateid4 {
  const r = resultOf(res, OP.OP_LOCK).oplock;
  assert.ok(r.status === nfsstat4.NFS4_OK, `LOCK: status ${r.status}`);
  return r.resok4.lock_stateid;
}

/** A 4.0 client's first lock on its confirmed open `o` by lock-owner `owner`. */
async function lock40(
  h: Nfs4Harness,
  clientid: bigint,
  o: { stateid: stateid4; fh: Uint8Array; seqid: number },
  owner: string,
  offset: bigint,
  length: bigint,
): Promise<stateid4> {
  return lockStateid(ok(
    await h.compound([
      putfh(o.fh),
      lockNew({
        open: o.stateid,
        openSeqid: o.seqid,
        clientid,
        owner,
        offset,
        length,
      }),
    ]),
  ));
}

function deniedOf(
  res: COMPOUND4res,
  op: typeof OP.OP_LOCK | typeof OP.OP_LOCKT,
) {
  assert.equal(res.status, nfsstat4.NFS4ERR_DENIED);
  const r = op === OP.OP_LOCK
    ? resultOf(res, OP.OP_LOCK).oplock
    : resultOf(res, OP.OP_LOCKT).oplockt;
  assert.ok(r.status === nfsstat4.NFS4ERR_DENIED);
  return r.denied;
}

Deno.test("LOCK: another client's conflicting lock is DENIED with the holder's range, type and owner", async () => {
  const h = await startState();
  try {
    const a = await client40(h, "a");
    const oa = await open40(h, a, "f");
    const la = await lock40(h, a, oa, "la", 0n, 100n);
    const s = await session41(h, "b");
    const ob = await open41(s, "f", { create: false });
    const want = {
      offset: 0n,
      length: 100n,
      locktype: LT.WRITE_LT,
      owner: { clientid: a, owner: b("la") },
    };
    const denied = await s.call([
      putfh(ob.fh),
      lockNew({
        open: ob.stateid,
        owner: "lb",
        type: LT.READ_LT,
        offset: 50n,
        length: 10n,
      }),
    ]);
    assert.deepEqual(deniedOf(denied, OP.OP_LOCK), want);
    const tested = await s.call([putfh(ob.fh), lockt("lb", 99n, ALL)]);
    assert.deepEqual(deniedOf(tested, OP.OP_LOCKT), want);
    ok(await s.call([putfh(ob.fh), lockt("lb", 100n, ALL)]), "past the range");
    // A unlocks; B gets it.
    const u = resultOf(
      ok(await h.compound([putfh(oa.fh), locku(la, 0n, 100n, 1)])),
      OP.OP_LOCKU,
    ).oplocku;
    assert.ok(u.status === nfsstat4.NFS4_OK);
    assert.equal(u.lock_stateid.seqid, la.seqid + 1);
    lockStateid(ok(
      await s.call([
        putfh(ob.fh),
        lockNew({
          open: ob.stateid,
          owner: "lb",
          offset: 50n,
          length: 10n,
        }),
      ]),
    ));
  } finally {
    await h.close();
  }
});

Deno.test("LOCK: read locks share; a write lock over them is DENIED", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const o = await open41(s, "r");
    const read = (owner: string, type: number = LT.READ_LT) =>
      s.call([
        putfh(o.fh),
        lockNew({
          open: o.stateid,
          owner,
          type,
          offset: 0n,
          length: ALL,
        }),
      ]);
    lockStateid(ok(await read("one")));
    lockStateid(ok(await read("two")));
    const w = await read("three", LT.WRITEW_LT);
    const d = deniedOf(w, OP.OP_LOCK);
    assert.equal(d.length, ALL, "to the end of the file");
    assert.equal(d.locktype, LT.READ_LT);
  } finally {
    await h.close();
  }
});

Deno.test("LOCK: an owner's further locks use its lock stateid; LOCKU splits a range", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const o = await open41(s, "m");
    const other = await session41(h, "b");
    const ob = await open41(other, "m", { create: false });
    let l = lockStateid(ok(
      await s.call([
        putfh(o.fh),
        lockNew({
          open: o.stateid,
          owner: "x",
          offset: 0n,
          length: 10n,
        }),
      ]),
    ));
    l = lockStateid(ok(await s.call([putfh(o.fh), lockMore(l, 10n, 10n)])));
    ok(await s.call([putfh(o.fh), locku(l, 5n, 10n)]));
    const probe = (off: bigint) =>
      other.call([putfh(ob.fh), lockt("y", off, 1n)]);
    assert.deepEqual(deniedOf(await probe(0n), OP.OP_LOCKT).length, 5n);
    ok(await probe(7n), "the middle was unlocked");
    const tail = deniedOf(await probe(16n), OP.OP_LOCKT);
    assert.equal(tail.offset, 15n);
    assert.equal(tail.length, 5n);
  } finally {
    await h.close();
  }
});

Deno.test("LOCK 4.0: a retransmission gets the same reply; the lock stateid then moves on", async () => {
  const h = await startState();
  try {
    const a = await client40(h, "a");
    const o = await open40(h, a, "q");
    const op = lockNew({
      open: o.stateid,
      openSeqid: o.seqid,
      clientid: a,
      owner: "lo",
      offset: 0n,
      length: 1n,
    });
    const first = lockStateid(ok(await h.compound([putfh(o.fh), op])));
    const again = lockStateid(ok(await h.compound([putfh(o.fh), op])));
    assert.deepEqual(again, first);
    const more = lockStateid(
      ok(await h.compound([putfh(o.fh), lockMore(first, 5n, 1n, 1)])),
    );
    assert.equal(more.seqid, first.seqid + 1);
    const stale = await h.compound([putfh(o.fh), lockMore(first, 9n, 1n, 2)]);
    assert.equal(stale.status, nfsstat4.NFS4ERR_OLD_STATEID);
  } finally {
    await h.close();
  }
});

Deno.test("RELEASE_LOCKOWNER and 4.0 CLOSE: LOCKS_HELD while the owner holds locks", async () => {
  const h = await startState();
  try {
    const a = await client40(h, "a");
    const o = await open40(h, a, "h");
    const l = await lock40(h, a, o, "lo", 0n, 1n);
    const release: nfs_argop4 = {
      argop: OP.OP_RELEASE_LOCKOWNER,
      oprelease_lockowner: { lock_owner: { clientid: a, owner: b("lo") } },
    };
    assert.equal(
      (await h.compound([release])).status,
      nfsstat4.NFS4ERR_LOCKS_HELD,
    );
    const close = await h.compound([putfh(o.fh), {
      argop: OP.OP_CLOSE,
      opclose: { seqid: o.seqid + 1, open_stateid: o.stateid },
    }]);
    assert.equal(close.status, nfsstat4.NFS4ERR_LOCKS_HELD);
    ok(await h.compound([putfh(o.fh), locku(l, 0n, 1n, 1)]));
    ok(await h.compound([release]));
    const s = await session41(h, "b");
    const in41 = await s.call([release]);
    assert.equal(in41.status, nfsstat4.NFS4ERR_NOTSUPP, "4.0 only");
  } finally {
    await h.close();
  }
});

Deno.test("LOCK: a length of 0 is INVAL; a write lock on a read-only open is OPENMODE", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const o = await open41(s, "v", { access: 1 });
    const lock = (type: number, length: bigint) =>
      s.call([
        putfh(o.fh),
        lockNew({
          open: o.stateid,
          owner: "x",
          type,
          offset: 0n,
          length,
        }),
      ]);
    assert.equal((await lock(LT.READ_LT, 0n)).status, nfsstat4.NFS4ERR_INVAL);
    assert.equal(
      (await lock(LT.WRITE_LT, 1n)).status,
      nfsstat4.NFS4ERR_OPENMODE,
    );
    lockStateid(ok(await lock(LT.READ_LT, 1n)));
  } finally {
    await h.close();
  }
});

Deno.test("LOCK: the stateid must be of the current file", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const o = await open41(s, "one");
    const two = await open41(s, "two");
    const res = await s.call([
      putfh(two.fh),
      lockNew({
        open: o.stateid,
        owner: "x",
        offset: 0n,
        length: 1n,
      }),
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_BAD_STATEID);
  } finally {
    await h.close();
  }
});

Deno.test("LOCKT: a directory is ISDIR; in the grace period GRACE", async () => {
  const h = await startState({
    nfs4: {
      graceTime: 60,
      stableStorage: new MemoryStableStorage([b("before")]),
    },
  });
  try {
    await h.fs.create(ROOT, h.fs.root, "g");
    const a = await client40(h, "a");
    const dir = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      lockt("x", 0n, 1n, a),
    ]);
    assert.equal(dir.status, nfsstat4.NFS4ERR_ISDIR);
    const grace = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_LOOKUP, oplookup: { objname: b("g") } },
      lockt("x", 0n, 1n, a),
    ]);
    assert.equal(grace.status, nfsstat4.NFS4ERR_GRACE);
  } finally {
    await h.close();
  }
});

Deno.test("lease expiry: a silent client's locks go and another client gets them", async () => {
  const h = await startState({ nfs4: { leaseTime: 1 } });
  try {
    const a = await client40(h, "a");
    const oa = await open40(h, a, "e");
    await lock40(h, a, oa, "la", 0n, ALL);
    await new Promise((r) => setTimeout(r, 1300));
    const s = await session41(h, "b");
    const ob = await open41(s, "e", { create: false });
    lockStateid(ok(
      await s.call([
        putfh(ob.fh),
        lockNew({
          open: ob.stateid,
          owner: "lb",
          offset: 0n,
          length: ALL,
        }),
      ]),
      "A's lock went with its lease",
    ));
    const renew = await h.compound([{
      argop: OP.OP_RENEW,
      oprenew: { clientid: a },
    }]);
    assert.equal(renew.status, nfsstat4.NFS4ERR_EXPIRED);
  } finally {
    await h.close();
  }
});

Deno.test("lease expiry: the timer frees an idle client's state with no request coming", async () => {
  const storage = new MemoryStableStorage();
  const h = await startState({
    nfs4: { leaseTime: 1, stableStorage: storage },
  });
  try {
    const s = await session41(h, "idle");
    await open41(s, "t");
    assert.equal(storage.list().length, 1, "the client holds state");
    const deadline = Date.now() + 3000;
    while (storage.list().length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(storage.list().length, 0, "expired without traffic");
  } finally {
    await h.close();
  }
});

Deno.test("LOCK 4.0: a lock-owner left holding nothing starts afresh, its seqids at 0 again", async () => {
  // The Linux client frees a lock-owner whose LOCK was denied and gives its
  // name to the next one, whose lock seqid starts at 0 again.
  const h = await startState();
  try {
    const c = await client40(h, "c");
    const a = await open40(h, c, "f", { owner: "oa" });
    const put = { argop: OP.OP_PUTFH, opputfh: { object: a.fh } } as nfs_argop4;
    ok(
      await h.compound([
        put,
        lockNew({
          open: a.stateid,
          openSeqid: a.seqid,
          clientid: c,
          owner: "A",
          offset: 0n,
          length: 100n,
        }),
      ]),
    );
    const b = await open40(h, c, "f", { owner: "ob", create: false });
    const putB = {
      argop: OP.OP_PUTFH,
      opputfh: { object: b.fh },
    } as nfs_argop4;
    const denied = await h.compound([
      putB,
      lockNew({
        open: b.stateid,
        openSeqid: b.seqid,
        clientid: c,
        owner: "B",
        offset: 50n,
        length: 10n,
      }),
    ]);
    assert.equal(denied.status, nfsstat4.NFS4ERR_DENIED);
    const again = await h.compound([
      putB,
      lockNew({
        open: b.stateid,
        openSeqid: b.seqid + 1,
        clientid: c,
        owner: "B",
        offset: 300n,
        length: 10n,
      }),
    ]);
    assert.equal(
      again.status,
      nfsstat4.NFS4_OK,
      "lock seqid 0 of a new owner by that name",
    );
  } finally {
    await h.close();
  }
});
