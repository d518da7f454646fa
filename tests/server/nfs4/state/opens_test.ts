import assert from "node:assert/strict";
import {
  OpenTable,
  ShareAccess as A,
  ShareDeny as D,
} from "../../../../server/nfs4/state/opens.ts";
import {
  ANONYMOUS_STATEID,
  INVALID_STATEID,
  READ_BYPASS_STATEID,
  StateidTable,
} from "../../../../server/nfs4/state/stateids.ts";
import { Nfs4Status as S } from "../../../../server/nfs4/state/status.ts";
import type { OpenState } from "../../../../server/nfs4/state/opens.ts";
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

function tables() {
  const stateids = new StateidTable(5);
  return { stateids, opens: new OpenTable(stateids) };
}

const OWNER_A = { clientid: 1n, owner: bytes("a") };
const OWNER_A2 = { clientid: 1n, owner: bytes("a2") };
const OWNER_B = { clientid: 2n, owner: bytes("b") };

Deno.test("share: another client's write is denied by deny-write", () => {
  const { opens } = tables();
  must(opens.open(opens.owner(OWNER_A, 1), "f", A.READ, D.WRITE));
  assert.equal(
    opens.open(opens.owner(OWNER_B, 1), "f", A.WRITE, D.NONE).status,
    S.NFS4ERR_SHARE_DENIED,
  );
  assert.equal(
    opens.open(opens.owner(OWNER_B, 1), "f", A.BOTH, D.NONE).status,
    S.NFS4ERR_SHARE_DENIED,
  );
  must(opens.open(opens.owner(OWNER_B, 1), "f", A.READ, D.NONE));
});

Deno.test("share: denying what another client holds is denied", () => {
  const { opens } = tables();
  must(opens.open(opens.owner(OWNER_A, 1), "f", A.READ, D.NONE));
  assert.equal(
    opens.open(opens.owner(OWNER_B, 1), "f", A.WRITE, D.READ).status,
    S.NFS4ERR_SHARE_DENIED,
  );
  must(opens.open(opens.owner(OWNER_B, 1), "f", A.WRITE, D.WRITE));
});

Deno.test("share: two owners of one client conflict too", () => {
  const { opens } = tables();
  must(opens.open(opens.owner(OWNER_A, 1), "f", A.BOTH, D.BOTH));
  assert.equal(
    opens.open(opens.owner(OWNER_A2, 1), "f", A.READ, D.NONE).status,
    S.NFS4ERR_SHARE_DENIED,
  );
});

Deno.test("share: other files do not conflict", () => {
  const { opens } = tables();
  must(opens.open(opens.owner(OWNER_A, 1), "f", A.BOTH, D.BOTH));
  must(opens.open(opens.owner(OWNER_B, 1), "g", A.BOTH, D.BOTH));
});

Deno.test("open: one owner's opens accumulate on one stateid, its seqid moving on", () => {
  const { opens } = tables();
  const oo = opens.owner(OWNER_A, 1);
  const first = must(opens.open(oo, "f", A.READ, D.WRITE));
  const second = must(opens.open(oo, "f", A.WRITE, D.NONE));
  assert.equal(second.open, first.open);
  assert.deepEqual(second.stateid.other, first.stateid.other);
  assert.equal(second.stateid.seqid, 2);
  assert.equal(second.open.access, A.BOTH);
  assert.equal(
    second.open.deny,
    D.WRITE,
    "its own deny does not stop the owner",
  );
  assert.equal(second.created, false);
});

Deno.test("open: access 0 or past BOTH, or deny past BOTH, is INVAL", () => {
  const { opens } = tables();
  const oo = opens.owner(OWNER_A, 1);
  assert.equal(opens.open(oo, "f", 0, D.NONE).status, S.NFS4ERR_INVAL);
  assert.equal(opens.open(oo, "f", 4, D.NONE).status, S.NFS4ERR_INVAL);
  assert.equal(opens.open(oo, "f", A.READ, 4).status, S.NFS4ERR_INVAL);
});

Deno.test("open_downgrade: to an access an OPEN used is allowed", () => {
  const { opens } = tables();
  const oo = opens.owner(OWNER_A, 1);
  must(opens.open(oo, "f", A.READ, D.NONE));
  const o = must(opens.open(oo, "f", A.WRITE, D.WRITE)).open;
  const r = must(opens.downgrade(o, A.READ, D.NONE));
  assert.equal(r.stateid.seqid, 3);
  assert.equal(o.access, A.READ);
  assert.equal(o.deny, D.NONE);
});

Deno.test("open_downgrade: to the access held is allowed", () => {
  const { opens } = tables();
  const oo = opens.owner(OWNER_A, 1);
  must(opens.open(oo, "f", A.READ, D.NONE));
  const o = must(opens.open(oo, "f", A.WRITE, D.NONE)).open;
  must(opens.downgrade(o, A.BOTH, D.NONE));
});

Deno.test("open_downgrade: to an access no OPEN used is INVAL", () => {
  const { opens } = tables();
  const o = must(opens.open(opens.owner(OWNER_A, 1), "f", A.BOTH, D.NONE)).open;
  assert.equal(opens.downgrade(o, A.READ, D.NONE).status, S.NFS4ERR_INVAL);
});

Deno.test("open_downgrade: beyond what is held is INVAL", () => {
  const { opens } = tables();
  const o = must(opens.open(opens.owner(OWNER_A, 1), "f", A.READ, D.NONE)).open;
  assert.equal(opens.downgrade(o, A.BOTH, D.NONE).status, S.NFS4ERR_INVAL);
  assert.equal(opens.downgrade(o, A.READ, D.WRITE).status, S.NFS4ERR_INVAL);
});

Deno.test("open_downgrade: forgets the values it dropped", () => {
  const { opens } = tables();
  const oo = opens.owner(OWNER_A, 1);
  must(opens.open(oo, "f", A.READ, D.NONE));
  const o = must(opens.open(oo, "f", A.WRITE, D.NONE)).open;
  must(opens.downgrade(o, A.READ, D.NONE));
  must(opens.open(oo, "f", A.READ, D.NONE));
  assert.equal(opens.downgrade(o, A.WRITE, D.NONE).status, S.NFS4ERR_INVAL);
});

Deno.test("open_downgrade: frees the share for another client", () => {
  const { opens } = tables();
  const oo = opens.owner(OWNER_A, 1);
  must(opens.open(oo, "f", A.READ, D.NONE));
  const o = must(opens.open(oo, "f", A.READ, D.WRITE)).open;
  assert.equal(
    opens.open(opens.owner(OWNER_B, 1), "f", A.WRITE, D.NONE).status,
    S.NFS4ERR_SHARE_DENIED,
  );
  must(opens.downgrade(o, A.READ, D.NONE));
  must(opens.open(opens.owner(OWNER_B, 1), "f", A.WRITE, D.NONE));
});

Deno.test("close: 4.0 with locks held is LOCKS_HELD", () => {
  const { opens } = tables();
  const o = must(opens.open(opens.owner(OWNER_A, 0), "f", A.BOTH, D.NONE)).open;
  o.locks.add({ ranges: [{}] });
  assert.equal(opens.close(o).status, S.NFS4ERR_LOCKS_HELD);
});

Deno.test("close: 4.1 with locks held closes and hands the locks back", () => {
  const { opens } = tables();
  const o = must(opens.open(opens.owner(OWNER_A, 1), "f", A.BOTH, D.NONE)).open;
  const lock = { ranges: [{}] };
  o.locks.add(lock);
  const r = must(opens.close(o));
  assert.deepEqual(r.locks, [lock]);
  assert.deepEqual(
    r.stateid,
    INVALID_STATEID,
    "4.1 CLOSE answers the invalid stateid",
  );
});

Deno.test("close: frees the share reservation", () => {
  const { opens, stateids } = tables();
  const o = must(opens.open(opens.owner(OWNER_A, 1), "f", A.BOTH, D.BOTH)).open;
  must(opens.close(o));
  assert.equal(stateids.size, 0);
  must(opens.open(opens.owner(OWNER_B, 1), "f", A.BOTH, D.BOTH));
});

Deno.test("io: WRITE needs write access, READ any", () => {
  const { opens } = tables();
  const r = must(opens.open(opens.owner(OWNER_A, 1), "f", A.READ, D.NONE)).open;
  const w =
    must(opens.open(opens.owner(OWNER_B, 1), "f", A.WRITE, D.NONE)).open;
  assert.equal(opens.checkAccess(r, "write").status, S.NFS4ERR_OPENMODE);
  must(opens.checkAccess(r, "read"));
  must(opens.checkAccess(w, "read"));
  must(opens.checkAccess(w, "write"));
});

Deno.test("io: special stateids obey deny bits", () => {
  const { opens } = tables();
  must(opens.open(opens.owner(OWNER_A, 1), "f", A.READ, D.WRITE));
  assert.equal(opens.checkDeny("f", "write").status, S.NFS4ERR_LOCKED);
  must(opens.checkDeny("f", "read"));
  must(opens.checkDeny("g", "write"));
});

// Through Nfs4State.

function open40(
  st: ReturnType<typeof newState>,
  clientid: bigint,
  seqid: number,
  o: { owner?: string; file?: string; access?: number; deny?: number } = {},
) {
  return st.open({
    minor: 0,
    clientid,
    owner: bytes(o.owner ?? "oo"),
    seqid,
    file: o.file ?? "f",
    access: o.access ?? A.BOTH,
    deny: o.deny ?? D.NONE,
  }, 0);
}

Deno.test("open 4.0: a stale client ID is STALE_CLIENTID", () => {
  const st = newState();
  assert.equal(
    statusOf(open40(st, (5n << 32n) | 77n, 1)),
    S.NFS4ERR_STALE_CLIENTID,
  );
});

Deno.test("open_confirm: confirms the owner and moves the seqid on", () => {
  const st = newState();
  const { open, stateid } = confirmedOpen40(st, client40(st, "a"));
  assert.equal(stateid.seqid, 2);
  assert.equal(open.owner.confirmed, true);
});

Deno.test("open 4.0: the stateid is BAD_STATEID for I/O until OPEN_CONFIRM", () => {
  const st = newState();
  const r = must(open40(st, client40(st, "a"), 1));
  assert.equal(r.confirm, true, "a new 4.0 owner must confirm");
  assert.equal(
    st.checkIo({ minor: 0, stateid: r.stateid, file: "f", io: "read" }, 0)
      .status,
    S.NFS4ERR_BAD_STATEID,
  );
});

Deno.test("open_confirm: on a confirmed owner is BAD_STATEID", () => {
  const st = newState();
  const { stateid } = confirmedOpen40(st, client40(st, "a"));
  assert.equal(
    statusOf(st.openConfirm({ minor: 0, stateid, seqid: 3, file: "f" }, 0)),
    S.NFS4ERR_BAD_STATEID,
  );
});

Deno.test("open 4.0: a confirmed owner's next OPEN needs no confirm", () => {
  const st = newState();
  const c = client40(st, "a");
  confirmedOpen40(st, c);
  const r = must(open40(st, c, 3, { file: "g" }));
  assert.equal(r.confirm, false);
});

Deno.test("open 4.0: a retransmitted OPEN replays the kept reply", () => {
  const st = newState();
  const c = client40(st, "a");
  confirmedOpen40(st, c);
  const reply = new Uint8Array([42]);
  must(open40(st, c, 3, { file: "g" })).seq!.finish(S.NFS4_OK, reply);
  const again = open40(st, c, 3, { file: "g" });
  assert.ok("replay" in again && again.replay === reply);
});

Deno.test("open 4.0: a seqid neither last nor next is BAD_SEQID", () => {
  const st = newState();
  const c = client40(st, "a");
  confirmedOpen40(st, c);
  assert.equal(statusOf(open40(st, c, 20)), S.NFS4ERR_BAD_SEQID);
});

Deno.test("open 4.0: a share conflict advances the seqid", () => {
  const st = newState();
  const a = client40(st, "a");
  const b = client40(st, "b");
  confirmedOpen40(st, a);
  must(open40(st, a, 3, { deny: D.BOTH, file: "f" })).seq!.finish(
    0,
    new Uint8Array(1),
  );
  const r = open40(st, b, 1, { owner: "ob" });
  assert.equal(statusOf(r), S.NFS4ERR_SHARE_DENIED);
  assert.ok(!("replay" in r) && r.seq !== undefined);
  r.seq.finish(S.NFS4ERR_SHARE_DENIED, new Uint8Array([3]));
  assert.equal(
    st.opens.findOwner({ clientid: b, owner: bytes("ob") })!.seq.last,
    1,
  );
});

Deno.test("open 4.0: an OPEN by an unconfirmed owner starts it afresh", () => {
  const released: OpenState[] = [];
  const st = newState({ onRelease: (o) => released.push(o) });
  const c = client40(st, "a");
  const first = must(open40(st, c, 1));
  first.seq!.finish(0, new Uint8Array(1));
  const second = must(open40(st, c, 7, { file: "g" }));
  assert.equal(second.confirm, true);
  assert.deepEqual(released, [first.open], "the unconfirmed open is dropped");
  assert.equal(
    st.checkIo({ minor: 0, stateid: first.stateid, file: "f", io: "read" }, 0)
      .status,
    S.NFS4ERR_BAD_STATEID,
  );
});

Deno.test("close 4.0: moves the seqid on, hands the open to onRelease", () => {
  const released: OpenState[] = [];
  const st = newState({ onRelease: (o) => released.push(o) });
  const { open, stateid } = confirmedOpen40(st, client40(st, "a"));
  open.context = "fd 7";
  const r = must(st.close({ minor: 0, stateid, seqid: 3, file: "f" }, 0));
  assert.equal(r.stateid.seqid, 3);
  assert.deepEqual(released.map((o) => o.context), ["fd 7"]);
});

Deno.test("close 4.0: a retransmitted CLOSE replays, the stateid being gone", () => {
  const st = newState();
  const { stateid } = confirmedOpen40(st, client40(st, "a"));
  const reply = new Uint8Array([9]);
  must(st.close({ minor: 0, stateid, seqid: 3, file: "f" }, 0)).seq!.finish(
    0,
    reply,
  );
  const again = st.close({ minor: 0, stateid, seqid: 3, file: "f" }, 0);
  assert.ok("replay" in again && again.replay === reply);
  assert.equal(
    statusOf(st.close({ minor: 0, stateid, seqid: 4, file: "f" }, 0)),
    S.NFS4ERR_BAD_STATEID,
  );
});

Deno.test("close 4.0: an old stateid is OLD_STATEID", () => {
  const st = newState();
  const { stateid } = confirmedOpen40(st, client40(st, "a"));
  const old = { seqid: 1, other: stateid.other };
  assert.equal(
    statusOf(st.close({ minor: 0, stateid: old, seqid: 3, file: "f" }, 0)),
    S.NFS4ERR_OLD_STATEID,
  );
});

Deno.test("close: another file's stateid is BAD_STATEID", () => {
  const st = newState();
  const { stateid } = confirmedOpen40(st, client40(st, "a"));
  assert.equal(
    statusOf(st.close({ minor: 0, stateid, seqid: 3, file: "g" }, 0)),
    S.NFS4ERR_BAD_STATEID,
  );
});

Deno.test("open 4.1: no confirm, no seqid; another client's stateid is BAD_STATEID", () => {
  const st = newState();
  const a = client41(st, "a");
  const b = client41(st, "b");
  const r = must(
    open41(st, a.clientid, { access: A.READ }),
  );
  assert.equal(r.confirm, false);
  assert.equal(r.seq, undefined);
  must(
    st.checkIo({
      minor: 1,
      clientid: a.clientid,
      stateid: r.stateid,
      file: "f",
      io: "read",
    }, 0),
  );
  assert.equal(
    st.checkIo({
      minor: 1,
      clientid: b.clientid,
      stateid: r.stateid,
      file: "f",
      io: "read",
    }, 0).status,
    S.NFS4ERR_BAD_STATEID,
  );
});

Deno.test("io: WRITE under the bypass stateid is BAD_STATEID, READ passes", () => {
  const st = newState();
  must(
    st.checkIo({
      minor: 0,
      stateid: READ_BYPASS_STATEID,
      file: "f",
      io: "read",
    }, 0),
  );
  assert.equal(
    st.checkIo({
      minor: 0,
      stateid: READ_BYPASS_STATEID,
      file: "f",
      io: "write",
    }, 0).status,
    S.NFS4ERR_BAD_STATEID,
  );
  must(
    st.checkIo(
      { minor: 0, stateid: ANONYMOUS_STATEID, file: "f", io: "write" },
      0,
    ),
  );
});

Deno.test("io: WRITE through a read-only open is OPENMODE", () => {
  const st = newState();
  const a = client41(st, "a");
  const r = must(
    open41(st, a.clientid, { access: A.READ }),
  );
  assert.equal(
    st.checkIo({
      minor: 1,
      clientid: a.clientid,
      stateid: r.stateid,
      file: "f",
      io: "write",
    }, 0).status,
    S.NFS4ERR_OPENMODE,
  );
});

Deno.test("share: two 4.1 clients through Nfs4State", () => {
  const st = newState();
  const a = client41(st, "a");
  const b = client41(st, "b");
  must(
    open41(st, a.clientid, { deny: D.WRITE }),
  );
  const r = open41(st, b.clientid, { access: A.WRITE });
  assert.equal(statusOf(r), S.NFS4ERR_SHARE_DENIED);
  assert.equal(
    st.opens.findOwner({ clientid: b.clientid, owner: bytes("o") }),
    undefined,
    "no empty 4.1 owner left behind",
  );
});
