import assert from "node:assert/strict";
import {
  Nfs4State,
  type Nfs4StateOptions,
} from "../../../../server/nfs4/state/state.ts";
import type { Replay } from "../../../../server/nfs4/state/seqid.ts";
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
  const cs = must(st.createSession(ex.clientid, {
    sequence: ex.sequenceid,
    flags: 2,
    fore: {
      headerPadSize: 0,
      maxRequestSize: 65536,
      maxResponseSize: 65536,
      maxResponseSizeCached: 4096,
      maxOperations: 16,
      maxRequests: 4,
      rdmaIrd: [],
    },
    back: {
      headerPadSize: 0,
      maxRequestSize: 4096,
      maxResponseSize: 4096,
      maxResponseSizeCached: 0,
      maxOperations: 2,
      maxRequests: 1,
      rdmaIrd: [],
    },
    cbProgram: 1,
    secParms: [{ flavor: 0 }],
    principal: `sys:0@${name}`,
    connectionId: 1,
  }, now));
  if (reclaimComplete) must(st.reclaimComplete(ex.clientid, false, now));
  return { clientid: ex.clientid, sessionid: cs.result.sessionid };
}

/** Bytes of a string. */
export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}
