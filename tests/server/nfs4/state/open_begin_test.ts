import assert from "node:assert/strict";
import {
  ShareAccess as A,
  ShareDeny as D,
} from "../../../../server/nfs4/state/opens.ts";
import { MemoryStableStorage } from "../../../../server/nfs4/state/leases.ts";
import { Nfs4Status as S } from "../../../../server/nfs4/state/status.ts";
import {
  bytes,
  client40,
  client41,
  LEASE_MS,
  must,
  newState,
} from "./_helpers.ts";

const reply = (n: number) => new Uint8Array([0, 0, 0, n]);

Deno.test("openBegin: a 4.0 retransmission is a replay before the file is known", () => {
  const st = newState();
  const c = client40(st, "a");
  const args = { minor: 0, clientid: c, owner: bytes("o"), seqid: 7 };
  const b = st.openBegin(args, 0);
  assert.ok(!("replay" in b) && b.status === S.NFS4_OK && b.seq);
  // The file was not found: the seqid still moves on, and the reply is kept.
  b.seq.finish(S.NFS4ERR_NOENT, reply(2));
  const again = st.openBegin(args, 0);
  assert.ok("replay" in again, "the same seqid is a retransmission");
  assert.deepEqual(again.replay, reply(2));
  const next = st.openBegin({ ...args, seqid: 8 }, 0);
  must(next);
});

Deno.test("openBegin: an unknown client is STALE_CLIENTID and no owner is made", () => {
  const st = newState();
  const b = st.openBegin({
    minor: 0,
    clientid: 99n,
    owner: bytes("o"),
    seqid: 1,
  }, 0);
  assert.equal("replay" in b ? -1 : b.status, S.NFS4ERR_STALE_CLIENTID);
  assert.equal(
    st.opens.findOwner({ clientid: 99n, owner: bytes("o") }),
    undefined,
  );
});

Deno.test("openBegin: a new open in the grace period is GRACE, with the seqid moving on", () => {
  const storage = new MemoryStableStorage([bytes("someone")]);
  const st = newState({ graceSeconds: 90, storage });
  const c = client40(st, "a");
  const b = st.openBegin(
    { minor: 0, clientid: c, owner: bytes("o"), seqid: 1 },
    0,
  );
  assert.ok(!("replay" in b));
  assert.equal(b.status, S.NFS4ERR_GRACE);
  assert.ok(b.seq, "GRACE advances the owner's seqid");
});

Deno.test("openFinish: the share reservation after openBegin, without a second seqid check", () => {
  const st = newState();
  const c = client40(st, "a");
  const owner = bytes("o");
  const b = st.openBegin({ minor: 0, clientid: c, owner, seqid: 1 }, 0);
  assert.ok(!("replay" in b) && b.status === S.NFS4_OK);
  const r = must(st.openFinish({
    minor: 0,
    clientid: c,
    owner,
    seqid: 1,
    file: "f",
    access: A.READ,
    deny: D.NONE,
  }, 0));
  assert.equal(r.confirm, true, "a new 4.0 owner must confirm");
  b.seq!.finish(S.NFS4_OK, reply(0));
  assert.equal(st.opens.findOwner({ clientid: c, owner })?.seq.last, 1);
});

Deno.test("openFinish: a refused 4.1 open leaves no owner behind", () => {
  const st = newState();
  const a = client41(st, "a");
  const b = client41(st, "b");
  const open = (clientid: bigint) =>
    st.openFinish({
      minor: 1,
      clientid,
      owner: bytes("o"),
      file: "f",
      access: A.BOTH,
      deny: D.BOTH,
    }, 0);
  must(open(a.clientid));
  assert.equal(open(b.clientid).status, S.NFS4ERR_SHARE_DENIED);
  assert.equal(
    st.opens.findOwner({ clientid: b.clientid, owner: bytes("o") }),
    undefined,
  );
});

Deno.test("nextSweep: the earliest lease end, Infinity without clients", () => {
  const st = newState();
  assert.equal(st.nextSweep, Infinity);
  client40(st, "a", 1000);
  assert.equal(st.nextSweep, 1000 + LEASE_MS);
  st.sweep(1000 + LEASE_MS);
  assert.equal(st.nextSweep, Infinity, "the expired client is gone");
});

Deno.test("grace: with nobody in stable storage there is no grace period", () => {
  const st = newState({ graceSeconds: 90 });
  assert.equal(
    st.grace.active(0),
    false,
    "nothing to reclaim, nothing to wait for",
  );
  const c = client40(st, "a");
  const b = st.openBegin(
    { minor: 0, clientid: c, owner: bytes("o"), seqid: 1 },
    0,
  );
  must(b);
  const listed = newState({
    graceSeconds: 90,
    storage: new MemoryStableStorage([bytes("a")]),
  });
  assert.equal(listed.grace.active(0), true);
  assert.equal(listed.grace.active(90_000), false);
});
