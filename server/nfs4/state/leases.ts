/**
 * Leases, the grace period and the little the server keeps across
 * restarts (RFC 7530 sections 9.5-9.6, RFC 5661 sections 8.3-8.4).
 *
 * A client's lease is renewed by any stateful request (NFSv4.0: RENEW and
 * every operation naming its client ID or one of its stateids; NFSv4.1:
 * SEQUENCE). A client whose lease ran out loses its sessions, opens and
 * locks at the next sweep, which {@link expiredClients} selects for.
 *
 * After a restart the server grants a grace period (its length an option;
 * 0 means none) in which clients that held state before may reclaim it:
 * - a reclaim (OPEN with CLAIM_PREVIOUS, LOCK with `reclaim`) outside the
 *   grace period, or after the client's RECLAIM_COMPLETE, is
 *   NFS4ERR_NO_GRACE; from a client stable storage does not list, it is
 *   NFS4ERR_RECLAIM_BAD;
 * - a new OPEN or LOCK during the grace period is NFS4ERR_GRACE, and so is
 *   one from an NFSv4.1 client before its RECLAIM_COMPLETE;
 * - a second RECLAIM_COMPLETE is NFS4ERR_COMPLETE_ALREADY;
 * - the period ends early once every listed client sent RECLAIM_COMPLETE
 *   (so never while an NFSv4.0 client is listed), and at once when stable
 *   storage lists nobody (a first start, or the in-memory default).
 *
 * Stable storage lists the owner strings of clients holding state. A
 * client is added when it first gets state (or sends RECLAIM_COMPLETE) and
 * removed when its state goes (lease expiry, a restart of the client,
 * DESTROY_CLIENTID). At the end of the grace period the clients listed at
 * startup that did not come back are removed: after another restart they
 * have nothing to reclaim.
 *
 * @module
 */

import type { ClientRecord, ClientTable } from "./clients.ts";
import { Nfs4Status } from "./status.ts";
import { fail, hexKey, ok, type Result } from "./types.ts";

/**
 * What the server keeps across restarts: the owner strings of clients that
 * hold state. Each change must be durable when the call returns.
 */
export interface StableStorage {
  /** Every owner recorded. */
  list(): Uint8Array[];
  /** Records an owner (a no-op when recorded already). */
  add(owner: Uint8Array): void;
  /** Forgets an owner (a no-op when not recorded). */
  remove(owner: Uint8Array): void;
}

/** {@link StableStorage} in memory: survives nothing, for tests and demos. */
export class MemoryStableStorage implements StableStorage {
  readonly #owners = new Map<string, Uint8Array>();

  /** Creates a storage listing `owners`. */
  constructor(owners: Iterable<Uint8Array> = []) {
    for (const o of owners) this.add(o);
  }

  /** Every owner recorded. */
  list(): Uint8Array[] {
    return [...this.#owners.values()].map((o) => o.slice());
  }

  /** Records an owner. */
  add(owner: Uint8Array): void {
    this.#owners.set(hexKey(owner), owner.slice());
  }

  /** Forgets an owner. */
  remove(owner: Uint8Array): void {
    this.#owners.delete(hexKey(owner));
  }
}

/** The confirmed clients whose lease ran out at `now`. */
export function expiredClients(
  clients: ClientTable,
  now: number,
): ClientRecord[] {
  return clients.confirmedRecords().filter((c) => clients.leaseExpired(c, now));
}

/** The grace period of one server instance and its stable storage. */
export class Grace {
  readonly #storage: StableStorage;
  readonly #end: number;
  readonly #previous = new Map<string, Uint8Array>();
  readonly #back = new Set<string>();
  readonly #completed = new Set<string>();
  #over = false;

  /**
   * Starts the grace period at `start` (ms) for `graceMs`, allowing
   * reclaims by the clients `storage` lists.
   */
  constructor(storage: StableStorage, start: number, graceMs: number) {
    this.#storage = storage;
    this.#end = start + Math.max(0, graceMs);
    for (const o of storage.list()) this.#previous.set(hexKey(o), o);
  }

  /** Whether the grace period still runs at `now`. */
  active(now: number): boolean {
    if (this.#over) return false;
    // With nobody listed there is nothing to reclaim, so nothing to wait for.
    if (now < this.#end && this.#completed.size < this.#previous.size) {
      return true;
    }
    this.#over = true;
    for (const [key, owner] of this.#previous) {
      if (!this.#back.has(key)) this.#storage.remove(owner);
    }
    return false;
  }

  /** Whether a reclaim by `client` is allowed at `now`. */
  checkReclaim(client: ClientRecord, now: number): Result {
    if (!this.active(now) || client.reclaimComplete) {
      return fail(Nfs4Status.NFS4ERR_NO_GRACE);
    }
    if (!this.#previous.has(client.ownerKey)) {
      return fail(Nfs4Status.NFS4ERR_RECLAIM_BAD);
    }
    return ok({});
  }

  /** Whether a new (non-reclaim) OPEN or LOCK by `client` is allowed. */
  checkNew(client: ClientRecord, now: number): Result {
    if (this.active(now) || (client.minor >= 1 && !client.reclaimComplete)) {
      return fail(Nfs4Status.NFS4ERR_GRACE);
    }
    return ok({});
  }

  /** NFSv4.1 RECLAIM_COMPLETE (for all file systems) by `client`. */
  reclaimComplete(client: ClientRecord, now: number): Result {
    if (client.reclaimComplete) {
      return fail(Nfs4Status.NFS4ERR_COMPLETE_ALREADY);
    }
    client.reclaimComplete = true;
    this.record(client);
    if (this.#previous.has(client.ownerKey)) {
      this.#completed.add(client.ownerKey);
    }
    this.active(now);
    return ok({});
  }

  /** Lists `client` in stable storage (once). */
  record(client: ClientRecord): void {
    this.#back.add(client.ownerKey);
    if (client.recorded) return;
    this.#storage.add(client.ownerId);
    client.recorded = true;
  }

  /** Takes `client` off stable storage: its state is gone. */
  forget(client: ClientRecord): void {
    if (!client.recorded) return;
    this.#storage.remove(client.ownerId);
    client.recorded = false;
  }
}
