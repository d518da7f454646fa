import assert from "node:assert/strict";
import { ClientTable } from "../../../../server/nfs4/state/clients.ts";
import {
  type ChannelAttrs,
  ChannelDir,
  ChannelDirFromClient as CD,
  type CreateSessionArgs,
  CreateSessionFlags,
  SequenceStatus,
  SessionTable,
} from "../../../../server/nfs4/state/sessions.ts";
import { Nfs4Status as S } from "../../../../server/nfs4/state/status.ts";

const ALICE = "sys:1000@host-a";
const enc = new TextEncoder();

function attrs(o: Partial<ChannelAttrs> = {}): ChannelAttrs {
  return {
    headerPadSize: 0,
    maxRequestSize: 1 << 20,
    maxResponseSize: 1 << 20,
    maxResponseSizeCached: 8192,
    maxOperations: 16,
    maxRequests: 8,
    rdmaIrd: [],
    ...o,
  };
}

function csArgs(o: Partial<CreateSessionArgs> = {}): CreateSessionArgs {
  return {
    sequence: 1,
    flags: CreateSessionFlags.CONN_BACK_CHAN,
    fore: attrs(),
    back: attrs({ maxRequests: 1 }),
    cbProgram: 0x40000000,
    secParms: [{ flavor: 0 }],
    principal: ALICE,
    connectionId: 1,
    ...o,
  };
}

function must<T extends { status: number }>(r: T): T & { status: 0 } {
  assert.equal(r.status, S.NFS4_OK, `expected NFS4_OK, got ${r.status}`);
  return r as T & { status: 0 };
}

function setup(limits = {}) {
  const clients = new ClientTable({
    boot: 3,
    leaseMs: 90_000,
    hasState: () => false,
  });
  const ex = must(clients.exchangeId({
    ownerId: enc.encode("owner"),
    verifier: new Uint8Array(8),
    flags: 0,
    principal: ALICE,
    minor: 1,
  }, 0));
  return { clients, client: ex.client, sessions: new SessionTable(3, limits) };
}

function session(o: Partial<CreateSessionArgs> = {}, limits = {}) {
  const s = setup(limits);
  const r = must(s.sessions.create(s.client, csArgs(o)));
  s.clients.confirm(s.client, 0);
  return { ...s, id: r.result.sessionid, result: r.result };
}

function seq(
  t: SessionTable,
  id: Uint8Array,
  o: {
    seq?: number;
    slot?: number;
    high?: number;
    cache?: boolean;
    conn?: number;
  } = {},
) {
  return t.sequence({
    sessionid: id,
    sequenceid: o.seq ?? 1,
    slotid: o.slot ?? 0,
    highestSlotid: o.high ?? 0,
    cacheThis: o.cache ?? true,
    connectionId: o.conn ?? 1,
  });
}

Deno.test("create_session: a new session with the EXCHANGE_ID sequence ID", () => {
  const { sessions, client } = setup();
  const r = must(sessions.create(client, csArgs()));
  assert.equal(r.cached, false);
  assert.equal(r.result.sessionid.length, 16);
  assert.equal(r.result.sequence, 1);
  assert.equal(r.result.flags, CreateSessionFlags.CONN_BACK_CHAN);
  assert.equal(client.csSeq, 1);
});

Deno.test("create_session: a repeat on a confirmed client replays the cached result", () => {
  const { sessions, result, client } = session();
  const r = must(sessions.create(client, csArgs()));
  assert.equal(r.cached, true);
  assert.equal(r.result, result, "the very result of the first request");
});

Deno.test("create_session: a repeat on an unconfirmed client is SEQ_MISORDERED", () => {
  const { sessions, client } = setup();
  must(sessions.create(client, csArgs()));
  assert.equal(
    sessions.create(client, csArgs()).status,
    S.NFS4ERR_SEQ_MISORDERED,
  );
});

Deno.test("create_session: a sequence ID neither last nor next is SEQ_MISORDERED", () => {
  const { sessions, client } = setup();
  assert.equal(
    sessions.create(client, csArgs({ sequence: 2 })).status,
    S.NFS4ERR_SEQ_MISORDERED,
  );
  assert.equal(
    sessions.create(client, csArgs({ sequence: 0 })).status,
    S.NFS4ERR_SEQ_MISORDERED,
  );
});

Deno.test("create_session: the next sequence ID makes another session", () => {
  const { sessions, client, id } = session();
  const r = must(sessions.create(client, csArgs({ sequence: 2 })));
  assert.equal(r.cached, false);
  assert.notDeepEqual(r.result.sessionid, id);
  assert.equal(sessions.ofClient(client.clientid).length, 2);
});

Deno.test("create_session: the sequence ID wraps at 2^32", () => {
  const { sessions, client } = setup();
  client.csSeq = 0xffffffff;
  must(sessions.create(client, csArgs({ sequence: 0 })));
  assert.equal(client.csSeq, 0);
});

Deno.test("create_session: another principal on an unconfirmed client is CLID_INUSE", () => {
  const { sessions, client } = setup();
  assert.equal(
    sessions.create(client, csArgs({ principal: "sys:2@elsewhere" })).status,
    S.NFS4ERR_CLID_INUSE,
  );
});

Deno.test("create_session: channel attributes are clamped to the server's limits", () => {
  const { result } = session({
    fore: attrs({
      headerPadSize: 64,
      maxRequestSize: 1 << 30,
      maxResponseSize: 1 << 30,
      maxResponseSizeCached: 1 << 30,
      maxOperations: 1000,
      maxRequests: 1000,
      rdmaIrd: [4],
    }),
    flags: CreateSessionFlags.PERSIST | CreateSessionFlags.CONN_RDMA,
  }, {
    maxRequestSize: 4096,
    maxResponseSize: 8192,
    maxResponseSizeCached: 1024,
    maxOperations: 8,
    maxSlots: 16,
  });
  assert.deepEqual(result.fore, {
    headerPadSize: 0,
    maxRequestSize: 4096,
    maxResponseSize: 8192,
    maxResponseSizeCached: 1024,
    maxOperations: 8,
    maxRequests: 16,
    rdmaIrd: [],
  });
  assert.equal(
    result.flags,
    0,
    "no persistence, no RDMA, no back channel asked",
  );
});

Deno.test("create_session: zero slots become one", () => {
  const { result } = session({ fore: attrs({ maxRequests: 0 }) });
  assert.equal(result.fore.maxRequests, 1);
});

Deno.test("create_session: the cached reply size never exceeds the reply size", () => {
  const { result } = session({
    fore: attrs({ maxResponseSize: 300, maxResponseSizeCached: 5000 }),
  });
  assert.equal(result.fore.maxResponseSizeCached, 300);
});

Deno.test("create_session: a request size below the minimum is TOOSMALL, the sequence not used", () => {
  const { sessions, client } = setup();
  assert.equal(
    sessions.create(client, csArgs({ fore: attrs({ maxRequestSize: 255 }) }))
      .status,
    S.NFS4ERR_TOOSMALL,
  );
  assert.equal(
    sessions.create(client, csArgs({ back: attrs({ maxResponseSize: 10 }) }))
      .status,
    S.NFS4ERR_TOOSMALL,
  );
  assert.equal(client.csSeq, 0);
  must(sessions.create(client, csArgs()));
});

Deno.test("sequence: an unknown session is BADSESSION", () => {
  const { sessions } = session();
  assert.equal(seq(sessions, new Uint8Array(16)).status, S.NFS4ERR_BADSESSION);
});

Deno.test("sequence: the first request on a slot carries 1", () => {
  const { sessions, id } = session();
  const r = seq(sessions, id, { seq: 1 });
  assert.equal(r.status === S.NFS4_OK && r.kind, "new");
});

Deno.test("sequence: 0 on a fresh slot is SEQ_MISORDERED", () => {
  const { sessions, id } = session();
  assert.equal(seq(sessions, id, { seq: 0 }).status, S.NFS4ERR_SEQ_MISORDERED);
});

Deno.test("sequence: slot 0 and the highest slot are usable, one past is BADSLOT", () => {
  const { sessions, id } = session();
  assert.equal(seq(sessions, id, { slot: 0, high: 7 }).status, S.NFS4_OK);
  assert.equal(seq(sessions, id, { slot: 7, high: 7 }).status, S.NFS4_OK);
  assert.equal(
    seq(sessions, id, { slot: 8, high: 7 }).status,
    S.NFS4ERR_BADSLOT,
  );
  assert.equal(
    seq(sessions, id, { slot: 2 ** 32 - 1, high: 7 }).status,
    S.NFS4ERR_BADSLOT,
  );
});

Deno.test("sequence: a highest slot past the table is BAD_HIGH_SLOT", () => {
  const { sessions, id } = session();
  assert.equal(
    seq(sessions, id, { slot: 0, high: 8 }).status,
    S.NFS4ERR_BAD_HIGH_SLOT,
  );
});

Deno.test("sequence: reports the highest and target highest slot", () => {
  const { sessions, id } = session();
  const r = seq(sessions, id);
  assert.ok(r.status === S.NFS4_OK && r.kind === "new");
  assert.equal(r.highestSlotid, 7);
  assert.equal(r.targetHighestSlotid, 7);
});

Deno.test("sequence: the same sequence ID replays the cached reply", () => {
  const { sessions, id } = session();
  seq(sessions, id, { seq: 1 });
  const reply = new Uint8Array([1, 2, 3]);
  assert.equal(sessions.complete(id, 0, reply), true);
  const r = seq(sessions, id, { seq: 1 });
  assert.ok(r.status === S.NFS4_OK && r.kind === "replay");
  assert.equal(r.reply, reply);
});

Deno.test("sequence: a retry of an uncached reply is RETRY_UNCACHED_REP", () => {
  const { sessions, id } = session();
  seq(sessions, id, { seq: 1, cache: false });
  assert.equal(sessions.complete(id, 0, new Uint8Array(4)), false);
  assert.equal(
    seq(sessions, id, { seq: 1 }).status,
    S.NFS4ERR_RETRY_UNCACHED_REP,
  );
});

Deno.test("sequence: a reply larger than the cached-reply size is not kept", () => {
  const { sessions, id } = session({
    fore: attrs({ maxResponseSizeCached: 300 }),
  });
  seq(sessions, id, { seq: 1, cache: true });
  assert.equal(sessions.complete(id, 0, new Uint8Array(301)), false);
  assert.equal(
    seq(sessions, id, { seq: 1 }).status,
    S.NFS4ERR_RETRY_UNCACHED_REP,
  );
});

Deno.test("sequence: a retry while the original runs is DELAY", () => {
  const { sessions, id } = session();
  seq(sessions, id, { seq: 1 });
  assert.equal(seq(sessions, id, { seq: 1 }).status, S.NFS4ERR_DELAY);
});

Deno.test("sequence: seqid + 1 is new, anything else SEQ_MISORDERED", () => {
  const { sessions, id } = session();
  seq(sessions, id, { seq: 1 });
  sessions.complete(id, 0, new Uint8Array(1));
  assert.equal(seq(sessions, id, { seq: 3 }).status, S.NFS4ERR_SEQ_MISORDERED);
  assert.equal(seq(sessions, id, { seq: 0 }).status, S.NFS4ERR_SEQ_MISORDERED);
  const r = seq(sessions, id, { seq: 2 });
  assert.ok(r.status === S.NFS4_OK && r.kind === "new");
});

Deno.test("sequence: the slot sequence ID wraps from 2^32-1 to 0", () => {
  const { sessions, id } = session();
  sessions.get(id)!.slots[0].seqid = 0xffffffff;
  sessions.get(id)!.slots[0].used = true;
  const r = seq(sessions, id, { seq: 0 });
  assert.ok(r.status === S.NFS4_OK && r.kind === "new");
  sessions.complete(id, 0, new Uint8Array(1));
  assert.equal(
    seq(sessions, id, { seq: 0xffffffff }).status,
    S.NFS4ERR_SEQ_MISORDERED,
  );
});

Deno.test("sequence: slots are independent", () => {
  const { sessions, id } = session();
  seq(sessions, id, { slot: 0, seq: 1, high: 1 });
  const r = seq(sessions, id, { slot: 1, seq: 1, high: 1 });
  assert.ok(r.status === S.NFS4_OK && r.kind === "new");
});

Deno.test("sequence: no back channel sets CB_PATH_DOWN and CB_PATH_DOWN_SESSION", () => {
  const { sessions, id } = session({ flags: 0 });
  const r = seq(sessions, id);
  assert.ok(r.status === S.NFS4_OK && r.kind === "new");
  assert.equal(
    r.statusFlags,
    SequenceStatus.CB_PATH_DOWN | SequenceStatus.CB_PATH_DOWN_SESSION,
  );
});

Deno.test("sequence: a back channel clears the path-down flags", () => {
  const { sessions, id } = session();
  const r = seq(sessions, id);
  assert.ok(r.status === S.NFS4_OK && r.kind === "new");
  assert.equal(r.statusFlags, 0);
});

Deno.test("sequence: another session's back channel leaves only CB_PATH_DOWN_SESSION", () => {
  const { sessions, client } = session();
  const other = must(
    sessions.create(client, csArgs({ sequence: 2, flags: 0, connectionId: 2 })),
  );
  const r = seq(sessions, other.result.sessionid, { conn: 2 });
  assert.ok(r.status === S.NFS4_OK && r.kind === "new");
  assert.equal(r.statusFlags, SequenceStatus.CB_PATH_DOWN_SESSION);
});

Deno.test("sequence: a new connection joins the fore channel", () => {
  const { sessions, id } = session();
  seq(sessions, id, { conn: 9 });
  assert.equal(sessions.get(id)!.connections.get(9), ChannelDir.FORE);
});

Deno.test("connections: closing the back channel connection sets CB_PATH_DOWN", () => {
  const { sessions, id } = session();
  sessions.connectionClosed(1);
  const r = seq(sessions, id, { conn: 2 });
  assert.ok(r.status === S.NFS4_OK && r.kind === "new");
  assert.equal(
    r.statusFlags & SequenceStatus.CB_PATH_DOWN,
    SequenceStatus.CB_PATH_DOWN,
  );
});

Deno.test("bind_conn_to_session: binds by direction asked", () => {
  const { sessions, id } = session({ flags: 0 });
  assert.equal(
    must(sessions.bindConnection(id, 2, CD.FORE)).dir,
    ChannelDir.FORE,
  );
  assert.equal(
    must(sessions.bindConnection(id, 3, CD.BACK)).dir,
    ChannelDir.BACK,
  );
  assert.equal(
    must(sessions.bindConnection(id, 4, CD.FORE_OR_BOTH)).dir,
    ChannelDir.BOTH,
  );
  assert.equal(
    must(sessions.bindConnection(id, 5, CD.BACK_OR_BOTH)).dir,
    ChannelDir.BOTH,
  );
  assert.equal(sessions.hasBackchannel(sessions.get(id)!.clientid), true);
  assert.equal(sessions.bindConnection(id, 6, 0).status, S.NFS4ERR_INVAL);
  assert.equal(
    sessions.bindConnection(new Uint8Array(16), 6, CD.FORE).status,
    S.NFS4ERR_BADSESSION,
  );
});

Deno.test("backchannel_ctl: stores the callback program and security", () => {
  const { sessions, id } = session();
  const sys = { stamp: 1, machineName: "srv", uid: 0, gid: 0, gids: [] };
  sessions.backchannelCtl(sessions.get(id)!, 0x40000009, [{ flavor: 1, sys }]);
  assert.equal(sessions.get(id)!.cbProgram, 0x40000009);
  assert.deepEqual(sessions.get(id)!.cbSec, [{ flavor: 1, sys }]);
});

Deno.test("destroy_session: forgets the session", () => {
  const { sessions, id } = session();
  must(sessions.destroy(id));
  assert.equal(seq(sessions, id).status, S.NFS4ERR_BADSESSION);
  assert.equal(sessions.destroy(id).status, S.NFS4ERR_BADSESSION);
});

Deno.test("destroy_session: DELAY while another request runs; its own slot does not count", () => {
  const { sessions, id } = session();
  seq(sessions, id, { slot: 0, high: 1 });
  assert.equal(sessions.destroy(id).status, S.NFS4ERR_DELAY);
  must(sessions.destroy(id, id));
});

Deno.test("sessions: session IDs carry the boot verifier and differ", () => {
  const { sessions, client, id } = session();
  const other =
    must(sessions.create(client, csArgs({ sequence: 2 }))).result.sessionid;
  assert.deepEqual([...id.subarray(0, 4)], [0, 0, 0, 3]);
  assert.notDeepEqual(id, other);
});
