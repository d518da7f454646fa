import assert from "node:assert/strict";
import {
  Nfs4State,
  type Nfs4StateOptions,
} from "../../../../server/nfs4/state/state.ts";
import type { Replay } from "../../../../server/nfs4/state/seqid.ts";
import type { CreateSessionArgs } from "../../../../server/nfs4/state/sessions.ts";
import { Nfs4Status as S } from "../../../../server/nfs4/state/status.ts";

export const LEASE_MS = 90_000;
const enc = new TextEncoder();

/** Asserts NFS4_OK and narrows. */
export function must<T extends { status: number } | Replay>(
  r: T,
): Exclude<T, Replay> & { status: 0 } {
  assert.ok(!("replay" in r), "expected a result, got a replay");
  assert.equal(
    (r as { status: number }).status,
    S.NFS4_OK,
    `expected NFS4_OK, got ${(r as { status: number }).status}`,
  );
  return r as Exclude<T, Replay> & { status: 0 };
}

/** The status of a result (a replay has none: -1). */
export function statusOf(r: { status: number } | Replay): number {
  return "replay" in r ? -1 : r.status;
}

/** A state with no grace period unless asked. */
export function newState(o: Partial<Nfs4StateOptions> = {}): Nfs4State {
  return new Nfs4State({ now: 0, boot: 5, graceSeconds: 0, ...o });
}

/** A confirmed NFSv4.0 client. */
export function client40(st: Nfs4State, name: string, now = 0): bigint {
  const sc = st.setClientId({
    verifier: new Uint8Array(8),
    id: enc.encode(name),
    callback: { program: 1, netid: "tcp", addr: "127.0.0.1.0.1", ident: 0 },
    principal: `sys:0@${name}`,
  }, now);
  assert.ok(sc.status === S.NFS4_OK && "confirmVerifier" in sc);
  must(
    st.setClientIdConfirm({
      clientid: sc.clientid,
      verifier: sc.confirmVerifier,
      principal: `sys:0@${name}`,
    }, now),
  );
  return sc.clientid;
}

/** A confirmed NFSv4.1 client with a session, after RECLAIM_COMPLETE. */
export function client41(
  st: Nfs4State,
  name: string,
  now = 0,
  reclaimComplete = true,
) {
  const ex = must(st.exchangeId({
    ownerId: enc.encode(name),
    verifier: new Uint8Array(8),
    flags: 0,
    principal: `sys:0@${name}`,
    minor: 1,
  }, now));
  const cs = must(st.createSession(
    ex.clientid,
    sessionArgs(ex.sequenceid, `sys:0@${name}`, { flags: 2, slots: 4 }),
    now,
  ));
  if (reclaimComplete) must(st.reclaimComplete(ex.clientid, false, now));
  return { clientid: ex.clientid, sessionid: cs.result.sessionid };
}

/** Bytes of a string. */
export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

/**
 * A confirmed NFSv4.0 open by owner "oo" of file "f": OPEN with seqid 1,
 * OPEN_CONFIRM with seqid 2, both finished. Returns the open and its
 * confirmed stateid; the owner's next seqid is 3.
 */
export function confirmedOpen40(st: Nfs4State, clientid: bigint, access = 3) {
  const o = must(
    st.open({
      minor: 0,
      clientid,
      owner: bytes("oo"),
      seqid: 1,
      file: "f",
      access,
      deny: 0,
    }, 0),
  );
  o.seq!.finish(S.NFS4_OK, new Uint8Array(1));
  const oc = must(
    st.openConfirm({ minor: 0, stateid: o.stateid, seqid: 2, file: "f" }, 0),
  );
  oc.seq!.finish(S.NFS4_OK, new Uint8Array(1));
  return { open: o.open, stateid: oc.stateid };
}

/** CREATE_SESSION arguments on connection 1 (by default). */
export function sessionArgs(
  sequence: number,
  principal: string,
  o: { flags?: number; slots?: number; connectionId?: number } = {},
): CreateSessionArgs {
  const attrs = (maxRequests: number) => ({
    headerPadSize: 0,
    maxRequestSize: 65536,
    maxResponseSize: 65536,
    maxResponseSizeCached: 4096,
    maxOperations: 16,
    maxRequests,
    rdmaIrd: [],
  });
  return {
    sequence,
    flags: o.flags ?? 0,
    fore: attrs(o.slots ?? 1),
    back: attrs(1),
    cbProgram: 1,
    secParms: [{ flavor: 0 }],
    principal,
    connectionId: o.connectionId ?? 1,
  };
}

/** An NFSv4.1 OPEN by owner "o" (of file "f", both access, no deny by default). */
export function open41(
  st: Nfs4State,
  clientid: bigint,
  o: {
    file?: string;
    access?: number;
    deny?: number;
    reclaim?: boolean;
    now?: number;
  } = {},
) {
  return st.open({
    minor: 1,
    clientid,
    owner: bytes("o"),
    file: o.file ?? "f",
    access: o.access ?? 3,
    deny: o.deny ?? 0,
    reclaim: o.reclaim,
  }, o.now ?? 0);
}
