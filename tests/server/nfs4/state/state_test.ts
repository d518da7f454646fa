import assert from "node:assert/strict";
import { ShareDeny as D } from "../../../../server/nfs4/state/opens.ts";
import type { OpenState } from "../../../../server/nfs4/state/opens.ts";
import { SequenceStatus } from "../../../../server/nfs4/state/sessions.ts";
import { Nfs4Status as S } from "../../../../server/nfs4/state/status.ts";
import {
  bytes,
  client40,
  client41,
  confirmedOpen40,
  must,
  newState,
  open41,
  sessionArgs,
} from "./_helpers.ts";

type St = ReturnType<typeof newState>;

function newSeq(
  st: St,
  sessionid: Uint8Array,
  seqid: number,
  connectionId = 1,
) {
  const r = st.sequence({
    sessionid,
    sequenceid: seqid,
    slotid: 0,
    highestSlotid: 0,
    cacheThis: false,
    connectionId,
  }, 0);
  assert.ok(
    r.status === S.NFS4_OK && r.kind === "new",
    `sequence ${seqid}: ${r.status}`,
  );
  st.sessions.complete(sessionid, 0, new Uint8Array(1));
  return r;
}

Deno.test("state: a 4.0 client restart drops its old opens on SETCLIENTID_CONFIRM", () => {
  const released: OpenState[] = [];
  const st = newState({ onRelease: (o) => released.push(o) });
  const c = client40(st, "a");
  const o = confirmedOpen40(st, c);
  const sc = st.setClientId({
    verifier: new Uint8Array(8).fill(9),
    id: bytes("a"),
    callback: { program: 1, netid: "tcp", addr: "127.0.0.1.0.1", ident: 0 },
    principal: "sys:0@a",
  }, 1);
  assert.ok(sc.status === S.NFS4_OK && "confirmVerifier" in sc);
  assert.equal(released.length, 0, "nothing goes before the confirm");
  must(
    st.setClientIdConfirm({
      clientid: sc.clientid,
      verifier: sc.confirmVerifier,
      principal: "sys:0@a",
    }, 1),
  );
  assert.deepEqual(released, [o.open]);
  assert.equal(st.renew(c, 1).status, S.NFS4ERR_STALE_CLIENTID);
});

Deno.test("state: a 4.1 client restart drops its old state on CREATE_SESSION", () => {
  const released: OpenState[] = [];
  const st = newState({ onRelease: (o) => released.push(o) });
  const a = client41(st, "a");
  must(open41(st, a.clientid, { deny: D.BOTH }));
  const ex = must(
    st.exchangeId({
      ownerId: bytes("a"),
      verifier: new Uint8Array(8).fill(3),
      flags: 0,
      principal: "sys:0@a",
      minor: 1,
    }, 1),
  );
  assert.notEqual(ex.clientid, a.clientid);
  must(st.createSession(
    ex.clientid,
    sessionArgs(ex.sequenceid, "sys:0@a", { connectionId: 2 }),
    1,
  ));
  assert.equal(released.length, 1);
  assert.equal(
    st.sessions.get(a.sessionid),
    undefined,
    "the old session went too",
  );
  const b = client41(st, "b", 1);
  must(open41(st, b.clientid, { deny: D.BOTH }));
});

Deno.test("state: EXCHANGE_ID from another principal of a live client is CLID_INUSE", () => {
  const st = newState();
  client41(st, "a");
  const r = st.exchangeId({
    ownerId: bytes("a"),
    verifier: new Uint8Array(8),
    flags: 0,
    principal: "sys:9@elsewhere",
    minor: 1,
  }, 1000);
  assert.equal(r.status, S.NFS4ERR_CLID_INUSE);
});

Deno.test("state: DESTROY_CLIENTID is CLIENTID_BUSY until the session goes", () => {
  const st = newState();
  const a = client41(st, "a");
  assert.equal(
    st.destroyClientId(a.clientid, 0).status,
    S.NFS4ERR_CLIENTID_BUSY,
  );
  must(st.destroySession(a.sessionid, 0));
  must(st.destroyClientId(a.clientid, 0));
  assert.equal(
    st.destroyClientId(a.clientid, 0).status,
    S.NFS4ERR_STALE_CLIENTID,
  );
});

Deno.test("state: DESTROY_CLIENTID is CLIENTID_BUSY while opens remain", () => {
  const st = newState();
  const a = client41(st, "a");
  must(open41(st, a.clientid, { deny: D.BOTH }));
  must(st.destroySession(a.sessionid, 0));
  assert.equal(
    st.destroyClientId(a.clientid, 0).status,
    S.NFS4ERR_CLIENTID_BUSY,
  );
});

Deno.test("state: an administrative revoke shows in SEQUENCE until FREE_STATEID", () => {
  const st = newState();
  const a = client41(st, "a");
  const o = must(open41(st, a.clientid, { deny: D.BOTH }));
  st.revokeOpen(o.open);
  assert.equal(
    newSeq(st, a.sessionid, 1).statusFlags & SequenceStatus.ADMIN_STATE_REVOKED,
    SequenceStatus.ADMIN_STATE_REVOKED,
  );
  assert.deepEqual(st.testStateids(a.clientid, [o.stateid]), [
    S.NFS4ERR_ADMIN_REVOKED,
  ]);
  assert.equal(
    st.checkIo({
      minor: 1,
      clientid: a.clientid,
      stateid: o.stateid,
      file: "f",
      io: "read",
    }, 0).status,
    S.NFS4ERR_ADMIN_REVOKED,
  );
  must(st.freeStateid(a.clientid, o.stateid, 0));
  assert.equal(newSeq(st, a.sessionid, 2).statusFlags, 0);
  const b = client41(st, "b");
  must(open41(st, b.clientid, { deny: D.BOTH }));
});

Deno.test("state: losing the back channel connection sets CB_PATH_DOWN", () => {
  const st = newState();
  const a = client41(st, "a");
  assert.equal(newSeq(st, a.sessionid, 1).statusFlags, 0);
  st.connectionClosed(1);
  const flags = newSeq(st, a.sessionid, 2, 2).statusFlags;
  assert.equal(
    flags,
    SequenceStatus.CB_PATH_DOWN | SequenceStatus.CB_PATH_DOWN_SESSION,
  );
  must(st.bindConnToSession(a.sessionid, 2, 3, 0));
  assert.equal(newSeq(st, a.sessionid, 3, 2).statusFlags, 0);
});

Deno.test("state: CREATE_SESSION for an unknown client ID is STALE_CLIENTID", () => {
  const st = newState();
  const r = st.createSession(77n, sessionArgs(1, "none"), 0);
  assert.equal(r.status, S.NFS4ERR_STALE_CLIENTID);
});

Deno.test("state: the lease time is an option in seconds", () => {
  const st = newState({ leaseSeconds: 5 });
  assert.equal(st.leaseSeconds, 5);
  const a = client41(st, "a");
  assert.equal(st.sweep(4_999).length, 0);
  assert.deepEqual(st.sweep(5_000).map((c) => c.clientid), [a.clientid]);
});
