/**
 * Stateids (RFC 7530 section 9.1.4, RFC 5661 section 8.2): allocation,
 * seqid changes, the special stateids, checking a presented stateid, and
 * NFSv4.1 TEST_STATEID and FREE_STATEID.
 *
 * `other` is the server's 32-bit boot verifier followed by a 64-bit
 * counter, unique within the instance and never reused. A stateid from an
 * earlier instance answers NFS4ERR_STALE_STATEID in NFSv4.0 and
 * NFS4ERR_BAD_STATEID in NFSv4.1 (where a restart shows as a dead session
 * first). A presented seqid newer than the state's is NFS4ERR_BAD_STATEID,
 * an older one NFS4ERR_OLD_STATEID (compared as 32-bit serial numbers, so
 * across the wrap); in NFSv4.1 a seqid of 0 means "the current one". The
 * seqid starts at 1 and, in NFSv4.1, wraps from 2^32-1 to 1, skipping the
 * 0 that means "current"; in NFSv4.0 it wraps to 0.
 *
 * Revoked state answers NFS4ERR_EXPIRED (lease expiry), NFS4ERR_ADMIN_REVOKED
 * or NFS4ERR_DELEG_REVOKED. An NFSv4.1 client learns of it through SEQUENCE
 * flags and TEST_STATEID, and releases it with FREE_STATEID, so the entry
 * stays until then; an NFSv4.0 entry is forgotten at once and its `other`
 * remembered (the last 4096) so that a later use gets the right error.
 *
 * @module
 */

import { BoundedMap } from "../../../collections/_bounded_map.ts";
import { SetMap } from "./_index.ts";
import { Nfs4Status } from "./status.ts";
import {
  bytesEqual,
  fail,
  type Failure,
  ok,
  type Result,
  type Stateid,
} from "./types.ts";

/** What a stateid names. */
export type StateKind = "open" | "lock" | "deleg";

/** Why state was taken away. */
export type Revocation = "expired" | "admin" | "deleg";

/** The special stateids a client may present. */
export type SpecialStateid = "anonymous" | "bypass" | "current" | "invalid";

/** A stateid's entry: what it names and its current seqid. */
export interface StateEntry<T = unknown> {
  /** The stateid's `other` (12 bytes). */
  readonly other: Uint8Array;
  /** The counter inside `other`. */
  readonly id: number;
  /** The current seqid. */
  seqid: number;
  /** What it names. */
  readonly kind: StateKind;
  /** The client it belongs to. */
  readonly clientid: bigint;
  /** The file it is for (the caller's key). */
  readonly file: string;
  /** The minor version of the client that owns it. */
  readonly minor: number;
  /** Set when the state was revoked. */
  revoked?: Revocation;
  /** The open or lock state it names. */
  data: T;
}

const ZEROS = new Uint8Array(12);
const ONES = new Uint8Array(12).fill(0xff);
const TOMBSTONES = 4096;

/** The anonymous stateid: all zeros. */
export const ANONYMOUS_STATEID: Readonly<Stateid> = Object.freeze({
  seqid: 0,
  other: ZEROS,
});

/** The READ bypass stateid: all ones. */
export const READ_BYPASS_STATEID: Readonly<Stateid> = Object.freeze({
  seqid: 0xffffffff,
  other: ONES,
});

/** NFSv4.1 "current stateid": seqid 1, `other` all zeros. */
export const CURRENT_STATEID: Readonly<Stateid> = Object.freeze({
  seqid: 1,
  other: ZEROS,
});

/** NFSv4.1 invalid stateid: seqid 2^32-1, `other` all zeros. */
export const INVALID_STATEID: Readonly<Stateid> = Object.freeze({
  seqid: 0xffffffff,
  other: ZEROS,
});

/**
 * Which special stateid `s` is: `undefined` for an ordinary one, `"bad"`
 * for an `other` of all zeros or all ones with a seqid no special stateid
 * of this minor version has.
 */
export function specialStateid(
  s: Stateid,
  minor: number,
): SpecialStateid | "bad" | undefined {
  if (bytesEqual(s.other, ZEROS)) {
    if (s.seqid === 0) return "anonymous";
    if (minor >= 1 && s.seqid === 1) return "current";
    if (minor >= 1 && s.seqid === 0xffffffff) return "invalid";
    return "bad";
  }
  if (bytesEqual(s.other, ONES)) {
    return s.seqid === 0xffffffff ? "bypass" : "bad";
  }
  return undefined;
}

/** The seqid after `seqid`: 2^32-1 wraps to 1 in NFSv4.1, to 0 in 4.0. */
export function nextSeqid(seqid: number, minor: number): number {
  const n = (seqid + 1) >>> 0;
  return n === 0 && minor >= 1 ? 1 : n;
}

/** Whether seqid `a` comes after `b` (32-bit serial number order). */
export function seqidAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** What {@link StateidTable.check} verifies besides the seqid. */
export interface CheckOptions {
  /** The minor version of the request. */
  minor: number;
  /** The client the state must belong to (NFSv4.1: the session's). */
  clientid?: bigint;
  /** The file the state must be for (the current filehandle). */
  file?: string;
  /** The kinds of state allowed. */
  kinds?: readonly StateKind[];
}

/** Every stateid of one server instance. */
export class StateidTable {
  readonly #boot: number;
  readonly #entries = new Map<number, StateEntry>();
  readonly #byClient = new SetMap<bigint, StateEntry>();
  readonly #tombstones = new BoundedMap<number, Revocation>(TOMBSTONES);
  readonly #revoked = new SetMap<bigint, StateEntry>();
  #next = 1;

  /** Creates an empty table for the instance with boot verifier `boot`. */
  constructor(boot: number) {
    this.#boot = boot >>> 0;
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Makes a new stateid with seqid 1. */
  allocate<T>(
    kind: StateKind,
    owner: { clientid: bigint; file: string; minor: number },
    data: T,
  ): StateEntry<T> {
    const id = this.#next++;
    const other = new Uint8Array(12);
    const view = new DataView(other.buffer);
    view.setUint32(0, this.#boot);
    view.setBigUint64(4, BigInt(id));
    const e: StateEntry<T> = {
      other,
      id,
      seqid: 1,
      kind,
      clientid: owner.clientid,
      file: owner.file,
      minor: owner.minor,
      data,
    };
    this.#entries.set(id, e);
    this.#byClient.add(owner.clientid, e);
    return e;
  }

  /** The current stateid of an entry, as a fresh copy. */
  stateid(e: StateEntry): Stateid {
    return { seqid: e.seqid, other: e.other.slice() };
  }

  /** Moves an entry to its next seqid and returns the new stateid. */
  bump(e: StateEntry): Stateid {
    e.seqid = nextSeqid(e.seqid, e.minor);
    return this.stateid(e);
  }

  /** The entry a stateid's `other` names, whatever its seqid. */
  find(other: Uint8Array): StateEntry | undefined {
    const id = this.#idOf(other);
    return id === undefined ? undefined : this.#entries.get(id);
  }

  /** A client's entries. */
  ofClient(clientid: bigint): StateEntry[] {
    return [...this.#byClient.get(clientid)];
  }

  /**
   * Checks a presented stateid. Special stateids are the caller's to
   * handle first; here they are NFS4ERR_BAD_STATEID.
   */
  check(s: Stateid, opts: CheckOptions): Result<{ entry: StateEntry }> {
    if (specialStateid(s, opts.minor) !== undefined) {
      return fail(Nfs4Status.NFS4ERR_BAD_STATEID);
    }
    const e = this.#resolve(s.other, opts.minor);
    if (!("id" in e)) return e;
    if (
      (opts.clientid !== undefined && e.clientid !== opts.clientid) ||
      (opts.file !== undefined && e.file !== opts.file) ||
      (opts.kinds !== undefined && !opts.kinds.includes(e.kind))
    ) {
      return fail(Nfs4Status.NFS4ERR_BAD_STATEID);
    }
    if (e.revoked !== undefined) return fail(_revokedStatus(e.revoked));
    return this.checkSeqid(e, s.seqid, opts.minor);
  }

  /** Checks only the seqid of a presented stateid against its entry. */
  checkSeqid(
    e: StateEntry,
    seqid: number,
    minor: number,
  ): Result<{ entry: StateEntry }> {
    if (seqid === e.seqid || (minor >= 1 && seqid === 0)) {
      return ok({ entry: e });
    }
    return fail(
      seqidAfter(seqid, e.seqid)
        ? Nfs4Status.NFS4ERR_BAD_STATEID
        : Nfs4Status.NFS4ERR_OLD_STATEID,
    );
  }

  /**
   * Marks state revoked. An NFSv4.1 entry stays (revoked) until
   * FREE_STATEID; an NFSv4.0 entry goes, and its `other` is remembered.
   */
  revoke(e: StateEntry, why: Revocation): void {
    if (this.#entries.get(e.id) !== e) return;
    e.revoked = why;
    if (e.minor === 0) {
      this.remove(e);
      this.#tombstones.set(e.id, why);
      return;
    }
    this.#revoked.add(e.clientid, e);
  }

  /** Forgets an entry. */
  remove(e: StateEntry): void {
    if (this.#entries.get(e.id) !== e) return;
    this.#entries.delete(e.id);
    this.#byClient.delete(e.clientid, e);
    this.#revoked.delete(e.clientid, e);
  }

  /** The revoked entries of a client (NFSv4.1). */
  revokedOf(clientid: bigint): StateEntry[] {
    return [...this.#revoked.get(clientid)];
  }

  /**
   * TEST_STATEID for one stateid of the client `clientid`: NFS4_OK, or the
   * error using it would give (special stateids are NFS4ERR_BAD_STATEID).
   */
  test(s: Stateid, clientid: bigint): number {
    return this.check(s, { minor: 1, clientid }).status;
  }

  /**
   * FREE_STATEID: forgets a stateid of the client `clientid` that holds
   * nothing. Revoked state is always freed; open and delegation stateids
   * that are not revoked, and lock stateids for which `hasLocks` says so,
   * are NFS4ERR_LOCKS_HELD. Returns the entry freed, whose state the
   * caller drops.
   */
  free(
    s: Stateid,
    clientid: bigint,
    hasLocks: (e: StateEntry) => boolean,
  ): Result<{ entry: StateEntry }> {
    if (specialStateid(s, 1) !== undefined) {
      return fail(Nfs4Status.NFS4ERR_BAD_STATEID);
    }
    const e = this.find(s.other);
    if (e === undefined || e.clientid !== clientid) {
      return fail(Nfs4Status.NFS4ERR_BAD_STATEID);
    }
    if (e.revoked === undefined && (e.kind !== "lock" || hasLocks(e))) {
      return fail(Nfs4Status.NFS4ERR_LOCKS_HELD);
    }
    this.remove(e);
    return ok({ entry: e });
  }

  #idOf(other: Uint8Array): number | undefined {
    if (other.length !== 12) return undefined;
    const view = new DataView(other.buffer, other.byteOffset, 12);
    if (view.getUint32(0) !== this.#boot) return undefined;
    const id = view.getBigUint64(4);
    return id < BigInt(this.#next) ? Number(id) : undefined;
  }

  /** The live entry for `other`, or the error naming it gives. */
  #resolve(other: Uint8Array, minor: number): StateEntry | Failure {
    if (other.length !== 12) return fail(Nfs4Status.NFS4ERR_BAD_STATEID);
    const view = new DataView(other.buffer, other.byteOffset, 12);
    if (view.getUint32(0) !== this.#boot) {
      return fail(
        minor === 0
          ? Nfs4Status.NFS4ERR_STALE_STATEID
          : Nfs4Status.NFS4ERR_BAD_STATEID,
      );
    }
    const id = this.#idOf(other);
    const e = id === undefined ? undefined : this.#entries.get(id);
    if (e !== undefined) return e;
    const why = id === undefined ? undefined : this.#tombstones.get(id);
    return fail(
      why === undefined ? Nfs4Status.NFS4ERR_BAD_STATEID : _revokedStatus(why),
    );
  }
}

function _revokedStatus(why: Revocation) {
  return why === "expired"
    ? Nfs4Status.NFS4ERR_EXPIRED
    : why === "admin"
    ? Nfs4Status.NFS4ERR_ADMIN_REVOKED
    : Nfs4Status.NFS4ERR_DELEG_REVOKED;
}
