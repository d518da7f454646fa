/**
 * Client records: NFSv4.0 SETCLIENTID, SETCLIENTID_CONFIRM and RENEW
 * (RFC 7530 sections 16.33, 16.34, 16.29), NFSv4.1 EXCHANGE_ID and
 * DESTROY_CLIENTID (RFC 5661 sections 18.35, 18.50).
 *
 * A client is known by its owner string (`nfs_client_id4.id` or
 * `co_ownerid`), its verifier (which changes when the client restarts) and
 * the principal that created the record. Each owner has at most one
 * confirmed and one unconfirmed record.
 *
 * SETCLIENTID, for a request `{ v, x, k, s }` (verifier, owner, callback,
 * principal):
 * - a confirmed record for x from another principal that still holds
 *   state or an unexpired lease: NFS4ERR_CLID_INUSE, naming the callback
 *   address of the record in use; one without either is dropped and the
 *   request goes on as if it never existed;
 * - a confirmed record `{ v, x, c, l, s }` (same verifier and principal):
 *   a callback update; the unconfirmed record `{ v, x, c, k, s }` keeps the
 *   client ID `c` and gets a new confirm verifier;
 * - otherwise (no confirmed record, or a confirmed one with another
 *   verifier: the client restarted): any unconfirmed record for x is
 *   replaced by `{ v, x, c', k, s }` with a new client ID `c'`; a confirmed
 *   record stays until the new one is confirmed.
 *
 * SETCLIENTID_CONFIRM `{ c, verifier }`:
 * - an unconfirmed record for c with that confirm verifier: from another
 *   principal, NFS4ERR_CLID_INUSE; when a confirmed record for c exists
 *   too, its callback is replaced (callback update); otherwise the record
 *   becomes confirmed and a confirmed record for the same owner under
 *   another client ID (the client before it restarted) is dropped with its
 *   state, which the result lists in `replaced`;
 * - a confirmed record for c with that confirm verifier: a retransmission,
 *   answered NFS4_OK (NFS4ERR_CLID_INUSE from another principal);
 * - anything else: NFS4ERR_STALE_CLIENTID.
 *
 * EXCHANGE_ID, by the cases of RFC 5661 section 18.35.5:
 * - flags the server does not know, or EXCHGID4_FLAG_CONFIRMED_R in the
 *   request: NFS4ERR_INVAL;
 * - with EXCHGID4_FLAG_UPD_CONFIRMED_REC_A: no confirmed record (7)
 *   NFS4ERR_NOENT; another principal (9) NFS4ERR_PERM; another verifier (8)
 *   NFS4ERR_NOT_SAME; a record made by SETCLIENTID NFS4ERR_INVAL; else (6)
 *   the record is updated and returned confirmed;
 * - without it: a confirmed record, same verifier and principal (2): that
 *   record, confirmed; another principal (3): NFS4ERR_CLID_INUSE while the
 *   record holds state or an unexpired lease, else it is dropped and a new
 *   record made; another verifier (5, client restart): a new unconfirmed
 *   record, the confirmed one staying until CREATE_SESSION confirms the new
 *   one; an unconfirmed record only (4): replaced by a new one; nothing (1):
 *   a new unconfirmed record.
 *
 * Client IDs are the server's 32-bit boot verifier followed by a 32-bit
 * counter, so an ID from an earlier instance answers
 * NFS4ERR_STALE_CLIENTID. An expired client's ID answers NFS4ERR_EXPIRED
 * for a while (the last 1024 such IDs).
 *
 * @module
 */

import { BoundedMap } from "../../../collections/_bounded_map.ts";
import { Nfs4Status } from "./status.ts";
import {
  bytesEqual,
  fail,
  hexKey,
  ok,
  type Principal,
  type Result,
} from "./types.ts";

/** EXCHANGE_ID flags (RFC 5661 section 18.35). */
export const ExchangeIdFlags = {
  SUPP_MOVED_REFER: 0x1,
  SUPP_MOVED_MIGR: 0x2,
  SUPP_FENCE_OPS: 0x4,
  BIND_PRINC_STATEID: 0x100,
  USE_NON_PNFS: 0x10000,
  USE_PNFS_MDS: 0x20000,
  USE_PNFS_DS: 0x40000,
  MASK_PNFS: 0x70000,
  UPD_CONFIRMED_REC_A: 0x40000000,
  CONFIRMED_R: 0x80000000,
} as const;

const F = ExchangeIdFlags;
const CLIENT_FLAGS = F.SUPP_MOVED_REFER | F.SUPP_MOVED_MIGR |
  F.SUPP_FENCE_OPS | F.BIND_PRINC_STATEID | F.MASK_PNFS |
  F.UPD_CONFIRMED_REC_A;
const EXPIRED_KEPT = 1024;

/** An NFSv4.0 callback address (`cb_client4` plus `callback_ident`). */
export interface Callback40 {
  /** The callback RPC program. */
  program: number;
  /** `r_netid`, e.g. `tcp`. */
  netid: string;
  /** `r_addr`, a universal address. */
  addr: string;
  /** `callback_ident`. */
  ident: number;
}

/** A client record, confirmed or not. */
export interface ClientRecord {
  /** The client ID. */
  readonly clientid: bigint;
  /** The client's owner string. */
  readonly ownerId: Uint8Array;
  /** The owner string as a map key. */
  readonly ownerKey: string;
  /** The client's verifier (8 bytes); a new one means it restarted. */
  readonly verifier: Uint8Array;
  /** Who created the record. */
  readonly principal: Principal;
  /** 0 for a record made by SETCLIENTID, else the minor version. */
  readonly minor: number;
  /** Whether SETCLIENTID_CONFIRM or CREATE_SESSION confirmed it. */
  confirmed: boolean;
  /** NFSv4.0: the callback address. */
  callback?: Callback40;
  /** NFSv4.0: the verifier SETCLIENTID_CONFIRM must present (8 bytes). */
  confirmVerifier: Uint8Array;
  /** NFSv4.1: the flags the client asked for. */
  flags: number;
  /** NFSv4.1: the sequence ID of the last CREATE_SESSION. */
  csSeq: number;
  /** NFSv4.1: the result of the last CREATE_SESSION, for its replay. */
  csCache?: unknown;
  /** When the lease was last renewed (ms). */
  lastRenew: number;
  /** NFSv4.1: whether the client sent RECLAIM_COMPLETE. */
  reclaimComplete: boolean;
  /** Whether stable storage lists this client's owner. */
  recorded: boolean;
}

/** Arguments of SETCLIENTID. */
export interface SetClientIdArgs {
  /** `nfs_client_id4.verifier`. */
  verifier: Uint8Array;
  /** `nfs_client_id4.id`. */
  id: Uint8Array;
  /** The callback address. */
  callback: Callback40;
  /** The caller. */
  principal: Principal;
}

/** SETCLIENTID's NFS4ERR_CLID_INUSE, with the address of the record in use. */
export interface ClidInUse {
  /** NFS4ERR_CLID_INUSE. */
  status: typeof Nfs4Status.NFS4ERR_CLID_INUSE;
  /** `client_using`: the netid and address of the confirmed record. */
  clientUsing: { netid: string; addr: string };
}

/** Arguments of EXCHANGE_ID. */
export interface ExchangeIdArgs {
  /** `co_ownerid`. */
  ownerId: Uint8Array;
  /** `co_verifier`. */
  verifier: Uint8Array;
  /** `eia_flags`. */
  flags: number;
  /** The caller. */
  principal: Principal;
  /** The COMPOUND's minor version (1 or more). */
  minor: number;
}

/** What EXCHANGE_ID answers. */
export interface ExchangeIdOk {
  /** The record answered. */
  client: ClientRecord;
  /** `eir_clientid`. */
  clientid: bigint;
  /** `eir_sequenceid`: what the first CREATE_SESSION must carry. */
  sequenceid: number;
  /** `eir_flags`. */
  flags: number;
  /** Records dropped on the way, whose state the caller releases. */
  dropped: ClientRecord[];
}

/** Options of {@link ClientTable}. */
export interface ClientTableOptions {
  /** The server instance's 32-bit boot verifier. */
  boot: number;
  /** The lease time (ms). */
  leaseMs: number;
  /** Whether a client holds sessions, opens or locks. */
  hasState(clientid: bigint): boolean;
  /**
   * The server's EXCHANGE_ID flags. Default
   * `ExchangeIdFlags.USE_NON_PNFS`.
   */
  serverFlags?: number;
}

/** The client records of one server instance. */
export class ClientTable {
  readonly #boot: bigint;
  readonly #lease: number;
  readonly #hasState: (clientid: bigint) => boolean;
  readonly #serverFlags: number;
  readonly #confirmed = new Map<bigint, ClientRecord>();
  readonly #unconfirmed = new Map<bigint, ClientRecord>();
  readonly #confirmedByOwner = new Map<string, ClientRecord>();
  readonly #unconfirmedByOwner = new Map<string, ClientRecord>();
  readonly #expired = new BoundedMap<bigint, true>(EXPIRED_KEPT);
  #next = 1;
  #nextVerifier = 1;

  /** Creates an empty table. */
  constructor(options: ClientTableOptions) {
    this.#boot = BigInt(options.boot >>> 0);
    this.#lease = options.leaseMs;
    this.#hasState = options.hasState;
    this.#serverFlags = options.serverFlags ?? F.USE_NON_PNFS;
  }

  /** The lease time (ms). */
  get leaseMs(): number {
    return this.#lease;
  }

  /** Every confirmed record. */
  confirmedRecords(): ClientRecord[] {
    return [...this.#confirmed.values()];
  }

  /** Every unconfirmed record. */
  unconfirmedRecords(): ClientRecord[] {
    return [...this.#unconfirmed.values()];
  }

  /** Whether the record's lease has run out at `now`. */
  leaseExpired(rec: ClientRecord, now: number): boolean {
    return now - rec.lastRenew >= this.#lease;
  }

  /** Renews a record's lease at `now`. */
  renew(rec: ClientRecord, now: number): void {
    if (now > rec.lastRenew) rec.lastRenew = now;
  }

  /**
   * The confirmed record of a client ID: NFS4ERR_STALE_CLIENTID when the
   * server does not know it (or it is from another instance),
   * NFS4ERR_EXPIRED when its lease ran out.
   */
  lookup(clientid: bigint): Result<{ client: ClientRecord }> {
    const rec = this.#confirmed.get(clientid);
    if (rec !== undefined) return ok({ client: rec });
    if (this.#expired.has(clientid)) return fail(Nfs4Status.NFS4ERR_EXPIRED);
    return fail(Nfs4Status.NFS4ERR_STALE_CLIENTID);
  }

  /** NFSv4.0 RENEW: renews the lease of a confirmed client. */
  renewClientId(
    clientid: bigint,
    now: number,
  ): Result<{ client: ClientRecord }> {
    const r = this.lookup(clientid);
    if (r.status === Nfs4Status.NFS4_OK) this.renew(r.client, now);
    return r;
  }

  /** NFSv4.0 SETCLIENTID. */
  setClientId(
    args: SetClientIdArgs,
    now: number,
  ):
    | Result<
      { clientid: bigint; confirmVerifier: Uint8Array; dropped: ClientRecord[] }
    >
    | ClidInUse {
    const key = hexKey(args.id);
    let conf = this.#confirmedByOwner.get(key);
    const dropped: ClientRecord[] = [];
    if (conf !== undefined && conf.principal !== args.principal) {
      if (this.#inUse(conf, now)) {
        const cb = conf.callback;
        return {
          status: Nfs4Status.NFS4ERR_CLID_INUSE,
          clientUsing: { netid: cb?.netid ?? "", addr: cb?.addr ?? "" },
        };
      }
      this.remove(conf);
      dropped.push(conf);
      conf = undefined;
    }
    const old = this.#unconfirmedByOwner.get(key);
    if (old !== undefined) this.#drop(old);
    const update = conf !== undefined && conf.minor === 0 &&
      bytesEqual(conf.verifier, args.verifier);
    const rec = this.#create({
      clientid: update ? conf!.clientid : this.#newId(),
      ownerId: args.id,
      verifier: args.verifier,
      principal: args.principal,
      minor: 0,
      now,
    });
    rec.callback = { ...args.callback };
    return ok({
      clientid: rec.clientid,
      confirmVerifier: rec.confirmVerifier,
      dropped,
    });
  }

  /** NFSv4.0 SETCLIENTID_CONFIRM. */
  setClientIdConfirm(
    args: { clientid: bigint; verifier: Uint8Array; principal: Principal },
    now: number,
  ): Result<{ client: ClientRecord; replaced: ClientRecord[] }> {
    const conf = this.#confirmed.get(args.clientid);
    const unconf = this.#unconfirmed.get(args.clientid);
    if (
      unconf !== undefined && bytesEqual(unconf.confirmVerifier, args.verifier)
    ) {
      if (unconf.principal !== args.principal) {
        return fail(Nfs4Status.NFS4ERR_CLID_INUSE);
      }
      this.#drop(unconf);
      if (conf !== undefined) {
        conf.callback = unconf.callback;
        conf.confirmVerifier = unconf.confirmVerifier;
        this.renew(conf, now);
        return ok({ client: conf, replaced: [] });
      }
      return ok({ client: unconf, replaced: this.#promote(unconf, now) });
    }
    if (conf !== undefined && bytesEqual(conf.confirmVerifier, args.verifier)) {
      if (conf.principal !== args.principal) {
        return fail(Nfs4Status.NFS4ERR_CLID_INUSE);
      }
      this.renew(conf, now);
      return ok({ client: conf, replaced: [] });
    }
    return fail(Nfs4Status.NFS4ERR_STALE_CLIENTID);
  }

  /** NFSv4.1 EXCHANGE_ID. */
  exchangeId(args: ExchangeIdArgs, now: number): Result<ExchangeIdOk> {
    if ((args.flags & ~CLIENT_FLAGS) !== 0) {
      return fail(Nfs4Status.NFS4ERR_INVAL);
    }
    const key = hexKey(args.ownerId);
    const conf = this.#confirmedByOwner.get(key);
    if ((args.flags & F.UPD_CONFIRMED_REC_A) !== 0) {
      if (conf === undefined) return fail(Nfs4Status.NFS4ERR_NOENT); // case 7
      if (conf.minor === 0) return fail(Nfs4Status.NFS4ERR_INVAL);
      if (conf.principal !== args.principal) {
        return fail(Nfs4Status.NFS4ERR_PERM); // case 9
      }
      if (!bytesEqual(conf.verifier, args.verifier)) {
        return fail(Nfs4Status.NFS4ERR_NOT_SAME); // case 8
      }
      conf.flags = args.flags & ~F.UPD_CONFIRMED_REC_A; // case 6
      this.renew(conf, now);
      return ok(this.#exchangeOk(conf, []));
    }
    const dropped: ClientRecord[] = [];
    if (conf !== undefined) {
      if (conf.principal !== args.principal) {
        if (this.#inUse(conf, now)) {
          return fail(Nfs4Status.NFS4ERR_CLID_INUSE); // case 3
        }
        this.remove(conf);
        dropped.push(conf);
      } else if (
        conf.minor !== 0 && bytesEqual(conf.verifier, args.verifier)
      ) {
        this.renew(conf, now); // case 2
        return ok(this.#exchangeOk(conf, []));
      }
      // Otherwise case 5: the confirmed record waits for CREATE_SESSION.
    }
    const unconf = this.#unconfirmedByOwner.get(key);
    if (unconf !== undefined) this.#drop(unconf); // case 4
    const rec = this.#create({
      clientid: this.#newId(),
      ownerId: args.ownerId,
      verifier: args.verifier,
      principal: args.principal,
      minor: Math.max(1, args.minor),
      now,
    });
    rec.flags = args.flags;
    return ok(this.#exchangeOk(rec, dropped)); // case 1
  }

  /**
   * The record CREATE_SESSION names, confirmed or not:
   * NFS4ERR_STALE_CLIENTID for none (or one made by SETCLIENTID).
   */
  forCreateSession(clientid: bigint): Result<{ client: ClientRecord }> {
    const rec = this.#confirmed.get(clientid) ??
      this.#unconfirmed.get(clientid);
    if (rec === undefined || rec.minor === 0) {
      return fail(Nfs4Status.NFS4ERR_STALE_CLIENTID);
    }
    return ok({ client: rec });
  }

  /**
   * Confirms an NFSv4.1 record (its first CREATE_SESSION). Returns the
   * confirmed record of the same owner it replaces, whose state the caller
   * releases.
   */
  confirm(rec: ClientRecord, now: number): ClientRecord[] {
    if (rec.confirmed) return [];
    this.#drop(rec);
    return this.#promote(rec, now);
  }

  /**
   * NFSv4.1 DESTROY_CLIENTID: NFS4ERR_STALE_CLIENTID for an unknown ID,
   * NFS4ERR_CLIENTID_BUSY while the client has sessions or state.
   */
  destroyClientId(clientid: bigint): Result<{ client: ClientRecord }> {
    const rec = this.#confirmed.get(clientid) ??
      this.#unconfirmed.get(clientid);
    if (rec === undefined) return fail(Nfs4Status.NFS4ERR_STALE_CLIENTID);
    if (rec.confirmed && this.#hasState(clientid)) {
      return fail(Nfs4Status.NFS4ERR_CLIENTID_BUSY);
    }
    if (rec.confirmed) this.remove(rec);
    else this.#drop(rec);
    return ok({ client: rec });
  }

  /**
   * Forgets a confirmed record. With `expired`, its ID answers
   * NFS4ERR_EXPIRED from then on instead of NFS4ERR_STALE_CLIENTID.
   */
  remove(rec: ClientRecord, expired = false): void {
    if (this.#confirmed.get(rec.clientid) !== rec) return;
    this.#confirmed.delete(rec.clientid);
    if (this.#confirmedByOwner.get(rec.ownerKey) === rec) {
      this.#confirmedByOwner.delete(rec.ownerKey);
    }
    if (expired) {
      this.#expired.set(rec.clientid, true);
    }
  }

  /** Drops unconfirmed records older than a lease at `now`. */
  sweepUnconfirmed(now: number): void {
    for (const rec of this.#unconfirmed.values()) {
      if (this.leaseExpired(rec, now)) this.#drop(rec);
    }
  }

  #inUse(rec: ClientRecord, now: number): boolean {
    return this.#hasState(rec.clientid) || !this.leaseExpired(rec, now);
  }

  #exchangeOk(rec: ClientRecord, dropped: ClientRecord[]): ExchangeIdOk {
    return {
      client: rec,
      clientid: rec.clientid,
      sequenceid: (rec.csSeq + 1) >>> 0,
      flags: (this.#serverFlags | (rec.confirmed ? F.CONFIRMED_R : 0)) >>> 0,
      dropped,
    };
  }

  #newId(): bigint {
    const id = (this.#boot << 32n) | BigInt(this.#next);
    this.#next = (this.#next + 1) >>> 0 || 1;
    return id;
  }

  #create(
    a: {
      clientid: bigint;
      ownerId: Uint8Array;
      verifier: Uint8Array;
      principal: Principal;
      minor: number;
      now: number;
    },
  ): ClientRecord {
    const cv = new Uint8Array(8);
    const view = new DataView(cv.buffer);
    view.setUint32(0, Number(this.#boot));
    view.setUint32(4, this.#nextVerifier);
    this.#nextVerifier = (this.#nextVerifier + 1) >>> 0 || 1;
    const rec: ClientRecord = {
      clientid: a.clientid,
      ownerId: a.ownerId.slice(),
      ownerKey: hexKey(a.ownerId),
      verifier: a.verifier.slice(),
      principal: a.principal,
      minor: a.minor,
      confirmed: false,
      confirmVerifier: cv,
      flags: 0,
      csSeq: 0,
      lastRenew: a.now,
      reclaimComplete: false,
      recorded: false,
    };
    this.#unconfirmed.set(rec.clientid, rec);
    this.#unconfirmedByOwner.set(rec.ownerKey, rec);
    return rec;
  }

  #drop(rec: ClientRecord): void {
    if (this.#unconfirmed.get(rec.clientid) === rec) {
      this.#unconfirmed.delete(rec.clientid);
    }
    if (this.#unconfirmedByOwner.get(rec.ownerKey) === rec) {
      this.#unconfirmedByOwner.delete(rec.ownerKey);
    }
  }

  #promote(rec: ClientRecord, now: number): ClientRecord[] {
    const old = this.#confirmedByOwner.get(rec.ownerKey);
    const replaced: ClientRecord[] = [];
    if (old !== undefined && old !== rec) {
      this.remove(old);
      replaced.push(old);
    }
    rec.confirmed = true;
    rec.lastRenew = now;
    this.#confirmed.set(rec.clientid, rec);
    this.#confirmedByOwner.set(rec.ownerKey, rec);
    return replaced;
  }
}
