/**
 * All NFSv4.0 and 4.1 server state in one object, {@link Nfs4State}, with
 * one method per state-changing operation for the COMPOUND handlers to
 * call. Each method takes the decoded arguments and the time (`now`, ms),
 * and returns a decision or an nfsstat4; the caller does the I/O and the
 * encoding. Nothing here touches XDR, sockets or the file system.
 *
 * The parts, each a plain table testable alone: {@link ClientTable},
 * {@link SessionTable}, {@link StateidTable}, {@link OpenTable},
 * {@link LockTable} and {@link Grace}. This object adds what spans them:
 * lease renewal by every stateful request, NFSv4.0 owner sequencing
 * around OPEN, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE, LOCK and LOCKU (their
 * results carry a ticket to hand the encoded reply back with, or are a
 * replay), the grace period rules, and releasing a client's state when its
 * lease runs out, it restarts or it is replaced.
 *
 * Expiry is exact without a timer: every call first sweeps if the earliest
 * lease may have run out. Every open that goes away (CLOSE, expiry, a
 * client restart) is handed to `onRelease`, so the file system's close
 * hook runs once per open whatever ended it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Nfs4State } from "./state.ts";
 * const state = new Nfs4State({ now: 0, boot: 1, graceSeconds: 0 });
 * const id = new TextEncoder().encode("client-a");
 * const ex = state.exchangeId({
 *   ownerId: id, verifier: new Uint8Array(8), flags: 0, principal: "none", minor: 1,
 * }, 0);
 * assert.equal(ex.status, 0);
 * ```
 *
 * @module
 */

import {
  type ClientRecord,
  ClientTable,
  type ExchangeIdArgs,
  type SetClientIdArgs,
} from "./clients.ts";
import {
  expiredClients,
  Grace,
  MemoryStableStorage,
  type StableStorage,
} from "./leases.ts";
import {
  checkIo,
  closeFile,
  type IoArgs,
  type LockArgs,
  lockRangeOp,
  type LocktArgs,
  lockTest,
  type LockuArgs,
  type OpenArgs,
  openBegin,
  openConfirm,
  openDowngrade,
  openFile,
  openFinish,
  releaseLockOwner,
  type StateidArgs,
  unlockRange,
} from "./locking.ts";
import { type Denied, type LockState, LockTable } from "./locks.ts";
import {
  type CloseOk,
  type OpenOk,
  type OpenState,
  OpenTable,
} from "./opens.ts";
import type { Sequenced } from "./seqid.ts";
import {
  type CreateSessionArgs,
  type SequenceArgs,
  type SequenceDecision,
  SequenceStatus,
  type SessionLimits,
  SessionTable,
} from "./sessions.ts";
import { StateidTable } from "./stateids.ts";
import { Nfs4Status } from "./status.ts";
import { ok, type Result, type Stateid, type StateOwner } from "./types.ts";

/** Options of {@link Nfs4State}. */
export interface Nfs4StateOptions {
  /** When the server starts (ms): the grace period starts here. */
  now: number;
  /**
   * The instance's 32-bit boot verifier, in every client ID, session ID
   * and stateid. It must differ from every earlier instance's. Default:
   * `now` in seconds.
   */
  boot?: number;
  /** The lease time in seconds. Default 90. */
  leaseSeconds?: number;
  /** The grace period in seconds; 0 for none. Default the lease time. */
  graceSeconds?: number;
  /** What survives restarts. Default in memory (nothing survives). */
  storage?: StableStorage;
  /** Session limits. */
  sessions?: SessionLimits;
  /** The server's EXCHANGE_ID flags. */
  serverFlags?: number;
  /** Called for each open that goes away, with its `context`. */
  onRelease?: (open: OpenState) => void;
}

/** NFSv4.0 and 4.1 server state. */
export class Nfs4State {
  /** Client records. */
  readonly clients: ClientTable;
  /** Sessions. */
  readonly sessions: SessionTable;
  /** Stateids. */
  readonly stateids: StateidTable;
  /** Opens and share reservations. */
  readonly opens: OpenTable;
  /** Byte-range locks. */
  readonly locks: LockTable;
  /** The grace period and stable storage. */
  readonly grace: Grace;
  /** The lease time in seconds (the `lease_time` attribute). */
  readonly leaseSeconds: number;
  readonly #onRelease: (open: OpenState) => void;
  #nextSweep = Infinity;

  /** Starts the state of a server instance. */
  constructor(options: Nfs4StateOptions) {
    const boot = (options.boot ?? Math.floor(options.now / 1000)) >>> 0;
    this.leaseSeconds = options.leaseSeconds ?? 90;
    this.clients = new ClientTable({
      boot,
      leaseMs: this.leaseSeconds * 1000,
      hasState: (id) => this.#hasState(id),
      serverFlags: options.serverFlags,
    });
    this.sessions = new SessionTable(boot, options.sessions);
    this.stateids = new StateidTable(boot);
    this.opens = new OpenTable(this.stateids);
    this.locks = new LockTable(this.stateids);
    this.grace = new Grace(
      options.storage ?? new MemoryStableStorage(),
      options.now,
      (options.graceSeconds ?? this.leaseSeconds) * 1000,
    );
    this.#onRelease = options.onRelease ?? (() => {});
  }

  /**
   * When the earliest lease may run out (ms); `Infinity` with no clients.
   * A timer that sweeps then frees an idle client's state.
   */
  get nextSweep(): number {
    return this.#nextSweep;
  }

  /** Releases the state of every client whose lease ran out at `now`. */
  sweep(now: number): ClientRecord[] {
    const gone = expiredClients(this.clients, now);
    for (const c of gone) this.releaseClient(c, true);
    this.clients.sweepUnconfirmed(now);
    let next = Infinity;
    for (const c of this.clients.confirmedRecords()) {
      next = Math.min(next, c.lastRenew);
    }
    for (const c of this.clients.unconfirmedRecords()) {
      next = Math.min(next, c.lastRenew);
    }
    this.#nextSweep = next + this.clients.leaseMs;
    this.grace.active(now);
    return gone;
  }

  /**
   * Drops a client with all its state: sessions, opens (handed to
   * `onRelease`), locks, stateids and its stable storage entry. With
   * `expired`, its NFSv4.0 stateids and client ID answer NFS4ERR_EXPIRED
   * afterwards.
   */
  releaseClient(client: ClientRecord, expired = false): void {
    const id = client.clientid;
    const revoke = expired && client.minor === 0 ? "expired" : undefined;
    this.locks.releaseClient(id, revoke);
    const opens = this.opens.releaseClient(id, revoke);
    for (const e of this.stateids.ofClient(id)) this.stateids.remove(e);
    this.sessions.destroyClient(id);
    this.clients.remove(client, expired);
    this.grace.forget(client);
    for (const o of opens) this.#onRelease(o);
  }

  // NFSv4.0 client ID operations.

  /** SETCLIENTID. */
  setClientId(
    args: SetClientIdArgs,
    now: number,
  ): ReturnType<ClientTable["setClientId"]> {
    this.#tick(now);
    const r = this.clients.setClientId(args, now);
    if (r.status === Nfs4Status.NFS4_OK) this.#created(r.dropped, now);
    return r;
  }

  /** SETCLIENTID_CONFIRM; a client that restarted loses its old state. */
  setClientIdConfirm(
    args: Parameters<ClientTable["setClientIdConfirm"]>[0],
    now: number,
  ): Result<{ client: ClientRecord }> {
    this.#tick(now);
    const r = this.clients.setClientIdConfirm(args, now);
    if (r.status !== Nfs4Status.NFS4_OK) return r;
    for (const old of r.replaced) this.releaseClient(old);
    return ok({ client: r.client });
  }

  /** RENEW. */
  renew(clientid: bigint, now: number): Result {
    this.#tick(now);
    return this.clients.renewClientId(clientid, now);
  }

  // NFSv4.1 client ID and session operations.

  /** EXCHANGE_ID. */
  exchangeId(
    args: ExchangeIdArgs,
    now: number,
  ): ReturnType<ClientTable["exchangeId"]> {
    this.#tick(now);
    const r = this.clients.exchangeId(args, now);
    if (r.status === Nfs4Status.NFS4_OK) this.#created(r.dropped, now);
    return r;
  }

  /**
   * CREATE_SESSION for `clientid`. The first one confirms the client and
   * drops the record it replaces (the client before its restart).
   */
  createSession(
    clientid: bigint,
    args: CreateSessionArgs,
    now: number,
  ): ReturnType<SessionTable["create"]> {
    this.#tick(now);
    const c = this.clients.forCreateSession(clientid);
    if (c.status !== Nfs4Status.NFS4_OK) return c;
    const r = this.sessions.create(c.client, args);
    if (r.status !== Nfs4Status.NFS4_OK || r.cached) return r;
    for (const old of this.clients.confirm(c.client, now)) {
      this.releaseClient(old);
    }
    this.clients.renew(c.client, now);
    return r;
  }

  /**
   * SEQUENCE: renews the client's lease and adds the revocation flags to
   * the session's. After a new request, the caller hands the reply to
   * `sessions.complete`.
   */
  sequence(args: SequenceArgs, now: number): SequenceDecision {
    this.#tick(now);
    const d = this.sessions.sequence(args);
    if (d.status !== Nfs4Status.NFS4_OK) return d;
    const c = this.clients.lookup(d.session.clientid);
    if (c.status === Nfs4Status.NFS4_OK) this.clients.renew(c.client, now);
    if (d.kind === "new") {
      for (const e of this.stateids.revokedOf(d.session.clientid)) {
        d.statusFlags |= e.revoked === "admin"
          ? SequenceStatus.ADMIN_STATE_REVOKED
          : e.revoked === "expired"
          ? SequenceStatus.EXPIRED_SOME_STATE_REVOKED
          : SequenceStatus.RECALLABLE_STATE_REVOKED;
      }
    }
    return d;
  }

  /** BIND_CONN_TO_SESSION; renews the lease. */
  bindConnToSession(
    sessionid: Uint8Array,
    connectionId: number,
    dir: number,
    now: number,
  ): ReturnType<SessionTable["bindConnection"]> {
    this.#tick(now);
    const r = this.sessions.bindConnection(sessionid, connectionId, dir);
    if (r.status === Nfs4Status.NFS4_OK) this.#renew(r.session.clientid, now);
    return r;
  }

  /** DESTROY_SESSION; `current` is the session of the COMPOUND asking. */
  destroySession(
    sessionid: Uint8Array,
    now: number,
    current?: Uint8Array,
  ): Result {
    this.#tick(now);
    return this.sessions.destroy(sessionid, current);
  }

  /** DESTROY_CLIENTID. */
  destroyClientId(clientid: bigint, now: number): Result {
    this.#tick(now);
    const r = this.clients.destroyClientId(clientid);
    if (r.status === Nfs4Status.NFS4_OK) this.grace.forget(r.client);
    return r;
  }

  /** RECLAIM_COMPLETE; one file system (`oneFs`) changes nothing here. */
  reclaimComplete(clientid: bigint, oneFs: boolean, now: number): Result {
    this.#tick(now);
    const c = this.clients.lookup(clientid);
    if (c.status !== Nfs4Status.NFS4_OK) return c;
    if (oneFs) return ok({});
    return this.grace.reclaimComplete(c.client, now);
  }

  /** A connection closed: it leaves every session. */
  connectionClosed(connectionId: number): void {
    this.sessions.connectionClosed(connectionId);
  }

  // NFSv4.1 stateid operations.

  /** TEST_STATEID for the session's client. */
  testStateids(
    clientid: bigint,
    stateids: readonly { seqid: number; other: Uint8Array }[],
  ): number[] {
    return stateids.map((s) => this.stateids.test(s, clientid));
  }

  /** FREE_STATEID for the session's client. */
  freeStateid(
    clientid: bigint,
    stateid: { seqid: number; other: Uint8Array },
    now: number,
  ): Result {
    this.#tick(now);
    const r = this.stateids.free(
      stateid,
      clientid,
      (e) => (e.data as LockState).ranges.length > 0,
    );
    if (r.status !== Nfs4Status.NFS4_OK) return r;
    if (r.entry.kind === "lock" && r.entry.revoked === undefined) {
      this.locks.release(r.entry.data as LockState);
    }
    return ok({});
  }

  /**
   * Revokes an open and its locks by the administrator's decision: the
   * share reservation and locks go, the stateids answer
   * NFS4ERR_ADMIN_REVOKED.
   */
  revokeOpen(open: OpenState): void {
    for (const l of [...open.locks]) {
      this.locks.release(l as LockState, "admin");
    }
    this.opens.release(open, "admin");
    this.#onRelease(open);
  }

  // OPEN, LOCK and their kin: bodies in locking.ts.

  /** OPEN. */
  open(args: OpenArgs, now: number): Sequenced<Result<OpenOk>> {
    return openFile(this, args, now);
  }

  /**
   * OPEN's first half, before the file is looked at: the client, the
   * lease, NFSv4.0 owner sequencing and the grace period. A result of
   * NFS4_OK lets the caller find the file and call
   * {@link Nfs4State.openFinish}.
   */
  openBegin(
    args: Omit<OpenArgs, "file" | "access" | "deny">,
    now: number,
  ): Sequenced<Result> {
    return openBegin(this, args, now);
  }

  /** OPEN's second half: the share reservation on `args.file`. */
  openFinish(args: OpenArgs, now: number): Result<OpenOk> {
    return openFinish(this, args, now);
  }

  /** NFSv4.0 OPEN_CONFIRM. */
  openConfirm(
    args: StateidArgs,
    now: number,
  ): Sequenced<Result<{ stateid: Stateid }>> {
    return openConfirm(this, args, now);
  }

  /** OPEN_DOWNGRADE. */
  openDowngrade(
    args: StateidArgs & { access: number; deny: number },
    now: number,
  ): Sequenced<Result<{ stateid: Stateid }>> {
    return openDowngrade(this, args, now);
  }

  /** CLOSE. */
  close(args: StateidArgs, now: number): Sequenced<Result<CloseOk>> {
    return closeFile(this, args, now);
  }

  /** LOCK. */
  lock(
    args: LockArgs,
    now: number,
  ): Sequenced<Result<{ stateid: Stateid }> | Denied> {
    return lockRangeOp(this, args, now);
  }

  /** LOCKT. */
  lockt(args: LocktArgs, now: number): Result | Denied {
    return lockTest(this, args, now);
  }

  /** LOCKU. */
  locku(args: LockuArgs, now: number): Sequenced<Result<{ stateid: Stateid }>> {
    return unlockRange(this, args, now);
  }

  /** NFSv4.0 RELEASE_LOCKOWNER. */
  releaseLockOwner(owner: StateOwner, now: number): Result {
    return releaseLockOwner(this, owner, now);
  }

  /** The stateid check of READ, WRITE and SETATTR of size. */
  checkIo(
    args: IoArgs,
    now: number,
  ): Result<{ open?: OpenState; lock?: LockState }> {
    return checkIo(this, args, now);
  }

  // Shared with locking.ts.

  /** @internal Sweeps when the earliest lease may have run out. */
  tick(now: number): void {
    this.#tick(now);
  }

  /** @internal Renews the lease of a confirmed client. */
  renewClient(clientid: bigint, now: number): void {
    this.#renew(clientid, now);
  }

  /** @internal Hands a released open to `onRelease`. */
  released(open: OpenState): void {
    this.#onRelease(open);
  }

  /** @internal Whether a new OPEN or LOCK (or a reclaim) is allowed. */
  checkGrace(client: ClientRecord, reclaim: boolean, now: number): Result {
    return reclaim
      ? this.grace.checkReclaim(client, now)
      : this.grace.checkNew(client, now);
  }

  #tick(now: number): void {
    if (now >= this.#nextSweep) this.sweep(now);
  }

  #created(dropped: ClientRecord[], now: number): void {
    for (const d of dropped) this.releaseClient(d);
    this.#nextSweep = Math.min(this.#nextSweep, now + this.clients.leaseMs);
  }

  #renew(clientid: bigint, now: number): void {
    const c = this.clients.lookup(clientid);
    if (c.status === Nfs4Status.NFS4_OK) this.clients.renew(c.client, now);
  }

  #hasState(clientid: bigint): boolean {
    return this.sessions.ofClient(clientid).length > 0 ||
      this.opens.clientHasOpens(clientid) ||
      this.locks.clientHasLocks(clientid);
  }
}
