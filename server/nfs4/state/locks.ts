/**
 * Byte-range locks (RFC 7530 sections 9.2-9.5 and 16.10-16.12, RFC 5661
 * sections 9.1-9.4 and 18.10-18.12): LOCK, LOCKT, LOCKU and
 * RELEASE_LOCKOWNER over lock state kept per file and lock-owner.
 *
 * A range is `[offset, offset + length)` as bigints; a length of 2^64-1
 * means "to the end of any file". A length of 0, or an offset and length
 * whose sum passes 2^64-1, is NFS4ERR_INVAL (so only a lock to the end
 * covers the byte at 2^64-1). Read locks of
 * different owners coexist; a write lock conflicts with any lock of
 * another owner (of the same or another client) over a shared byte:
 * NFS4ERR_DENIED, reporting the first conflicting lock's range, type and
 * owner (a lock to the end reports length 2^64-1). Blocking types are
 * answered like the others: the client polls.
 *
 * One owner's locks replace each other where they overlap, as POSIX locks
 * do: a write lock over a read lock upgrades it (NFS4ERR_DENIED, changing
 * nothing, when another owner reads there), a read lock over a write lock
 * downgrades it, and an unlock splits a lock in two. Adjacent or
 * overlapping ranges of one type merge.
 *
 * A lock stateid belongs to one open stateid and one lock-owner; its locks
 * are checked against the open's mode (a write lock needs write access, a
 * read lock read access: NFS4ERR_OPENMODE). RELEASE_LOCKOWNER of an owner
 * that still holds locks is NFS4ERR_LOCKS_HELD (RFC 7530 section 16.37).
 *
 * @module
 */

import type { OpenState } from "./opens.ts";
import { OwnerIndex, SetMap } from "./_index.ts";
import { OwnerSeqid } from "./seqid.ts";
import type { Revocation, StateEntry, StateidTable } from "./stateids.ts";
import { Nfs4Status } from "./status.ts";
import {
  ALL_ONES_64,
  fail,
  ok,
  ownerKey,
  type Result,
  type Stateid,
  type StateOwner,
} from "./types.ts";

/** `nfs_lock_type4`. */
export const LockType = {
  READ_LT: 1,
  WRITE_LT: 2,
  READW_LT: 3,
  WRITEW_LT: 4,
} as const;

const END = 1n << 64n;

/** A held range `[start, end)`; `end` is 2^64 for "to the end". */
export interface LockRange {
  /** First byte. */
  readonly start: bigint;
  /** One past the last byte. */
  readonly end: bigint;
  /** A write (exclusive) lock. */
  readonly write: boolean;
}

/** `LOCK4denied`: the conflicting lock. */
export interface LockDenied {
  /** Its offset. */
  offset: bigint;
  /** Its length (2^64-1 for a lock to the end). */
  length: bigint;
  /** Its type: READ_LT or WRITE_LT. */
  type: number;
  /** Its owner. */
  owner: StateOwner;
}

/** NFS4ERR_DENIED with the conflicting lock. */
export interface Denied {
  /** NFS4ERR_DENIED. */
  status: typeof Nfs4Status.NFS4ERR_DENIED;
  /** The conflict. */
  denied: LockDenied;
}

/** A lock-owner. */
export interface LockOwner {
  /** Map key of the owner. */
  readonly key: string;
  /** The client and the client's name for it. */
  readonly owner: StateOwner;
  /** The minor version of its client. */
  readonly minor: number;
  /** NFSv4.0 request sequencing. */
  readonly seq: OwnerSeqid;
  /** Its lock states. */
  readonly states: Set<LockState>;
}

/** The locks of one lock-owner made through one open. */
export interface LockState {
  /** The lock stateid's entry. */
  readonly entry: StateEntry<LockState>;
  /** The lock-owner. */
  readonly owner: LockOwner;
  /** The open it was made from. */
  readonly open: OpenState;
  /** The file. */
  readonly file: string;
  /** Held ranges, sorted, not overlapping. */
  ranges: LockRange[];
}

/**
 * The range of an offset and a length: NFS4ERR_INVAL for a length of 0 or
 * an offset plus length past 2^64-1 (other than the all-ones length).
 */
export function lockRange(
  offset: bigint,
  length: bigint,
): Result<{ start: bigint; end: bigint }> {
  if (
    offset < 0n || offset > ALL_ONES_64 || length <= 0n || length > ALL_ONES_64
  ) {
    return fail(Nfs4Status.NFS4ERR_INVAL);
  }
  if (length === ALL_ONES_64) return ok({ start: offset, end: END });
  const end = offset + length;
  if (end > ALL_ONES_64) return fail(Nfs4Status.NFS4ERR_INVAL);
  return ok({ start: offset, end });
}

/**
 * One owner's ranges after locking (`write` true or false) or unlocking
 * (`write` null) `[start, end)`: overlapped parts replaced, neighbours of
 * one type merged.
 */
export function applyRange(
  ranges: readonly LockRange[],
  start: bigint,
  end: bigint,
  write: boolean | null,
): LockRange[] {
  const out: LockRange[] = [];
  for (const r of ranges) {
    if (r.end <= start || r.start >= end) {
      out.push(r);
      continue;
    }
    if (r.start < start) {
      out.push({ start: r.start, end: start, write: r.write });
    }
    if (r.end > end) out.push({ start: end, end: r.end, write: r.write });
  }
  if (write !== null) out.push({ start, end, write });
  out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const merged: LockRange[] = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.write === r.write && last.end >= r.start) {
      merged[merged.length - 1] = {
        start: last.start,
        end: r.end > last.end ? r.end : last.end,
        write: r.write,
      };
    } else {
      merged.push(r);
    }
  }
  return merged;
}

/** Every lock of one server instance. */
export class LockTable {
  readonly #stateids: StateidTable;
  readonly #owners = new OwnerIndex<LockOwner>();
  readonly #byFile = new SetMap<string, LockState>();

  /** Creates an empty table allocating stateids from `stateids`. */
  constructor(stateids: StateidTable) {
    this.#stateids = stateids;
  }

  /** The lock-owner, if known. */
  findOwner(o: StateOwner): LockOwner | undefined {
    return this.#owners.find(o);
  }

  /** The lock-owner, made when not known yet. */
  owner(o: StateOwner, minor: number): LockOwner {
    return this.#owners.getOrAdd(o, (key) => ({
      key,
      owner: { clientid: o.clientid, owner: o.owner.slice() },
      minor,
      seq: new OwnerSeqid(),
      states: new Set(),
    }));
  }

  /** Whether the client has any lock state. */
  clientHasLocks(clientid: bigint): boolean {
    for (const lo of this.#owners.ofClient(clientid)) {
      if (lo.states.size > 0) return true;
    }
    return false;
  }

  /** The lock state of an owner through an open, made when missing. */
  stateFor(
    open: OpenState,
    lo: LockOwner,
  ): { state: LockState; created: boolean } {
    for (const s of lo.states) {
      if (s.open === open) return { state: s, created: false };
    }
    const entry = this.#stateids.allocate(
      "lock",
      { clientid: lo.owner.clientid, file: open.file, minor: lo.minor },
      null as unknown as LockState,
    );
    const state: LockState = {
      entry,
      owner: lo,
      open,
      file: open.file,
      ranges: [],
    };
    entry.data = state;
    lo.states.add(state);
    open.locks.add(state);
    this.#byFile.add(open.file, state);
    return { state, created: true };
  }

  /**
   * LOCK: `[start, end)` for the state's owner. NFS4ERR_OPENMODE when the
   * open does not allow the type, NFS4ERR_DENIED on a conflict; on success
   * the lock stateid's seqid moves on.
   */
  lock(
    state: LockState,
    write: boolean,
    start: bigint,
    end: bigint,
  ): Result<{ stateid: Stateid }> | Denied {
    const need = write ? 2 : 1;
    if ((state.open.access & need) === 0) {
      return fail(Nfs4Status.NFS4ERR_OPENMODE);
    }
    const denied = this.#conflict(
      state.file,
      state.owner.key,
      write,
      start,
      end,
    );
    if (denied !== undefined) {
      return { status: Nfs4Status.NFS4ERR_DENIED, denied };
    }
    state.ranges = applyRange(state.ranges, start, end, write);
    return ok({ stateid: this.#stateids.bump(state.entry) });
  }

  /**
   * LOCKT: whether `owner` (known or not) could lock `[start, end)`:
   * NFS4_OK, or NFS4ERR_DENIED with the conflict.
   */
  test(
    file: string,
    owner: StateOwner,
    write: boolean,
    start: bigint,
    end: bigint,
  ): Result | Denied {
    const denied = this.#conflict(file, ownerKey(owner), write, start, end);
    return denied === undefined
      ? ok({})
      : { status: Nfs4Status.NFS4ERR_DENIED, denied };
  }

  /** LOCKU: frees `[start, end)` of the state's locks. */
  unlock(
    state: LockState,
    start: bigint,
    end: bigint,
  ): Result<{ stateid: Stateid }> {
    state.ranges = applyRange(state.ranges, start, end, null);
    return ok({ stateid: this.#stateids.bump(state.entry) });
  }

  /**
   * RELEASE_LOCKOWNER: forgets the owner and its lock stateids.
   * NFS4ERR_LOCKS_HELD while it holds locks; an unknown owner is fine.
   */
  releaseOwner(o: StateOwner): Result {
    const lo = this.findOwner(o);
    if (lo === undefined) return ok({});
    for (const s of lo.states) {
      if (s.ranges.length > 0) return fail(Nfs4Status.NFS4ERR_LOCKS_HELD);
    }
    this.#dropOwner(lo);
    return ok({});
  }

  /**
   * Drops a lock state with its locks. With `revoke`, the stateid is
   * revoked instead of forgotten.
   */
  release(state: LockState, revoke?: Revocation): void {
    state.ranges = [];
    state.owner.states.delete(state);
    state.open.locks.delete(state);
    this.#byFile.delete(state.file, state);
    if (revoke === undefined) this.#stateids.remove(state.entry);
    else this.#stateids.revoke(state.entry, revoke);
    if (state.owner.minor >= 1 && state.owner.states.size === 0) {
      this.#forgetOwner(state.owner);
    }
  }

  /** Drops every lock-owner and lock of a client. */
  releaseClient(clientid: bigint, revoke?: Revocation): void {
    for (const lo of this.#owners.ofClient(clientid)) {
      this.#dropOwner(lo, revoke);
    }
  }

  #dropOwner(lo: LockOwner, revoke?: Revocation): void {
    for (const s of [...lo.states]) this.release(s, revoke);
    this.#forgetOwner(lo);
  }

  #forgetOwner(lo: LockOwner): void {
    this.#owners.delete(lo);
  }

  #conflict(
    file: string,
    ownerKey: string,
    write: boolean,
    start: bigint,
    end: bigint,
  ): LockDenied | undefined {
    for (const s of this.#byFile.get(file)) {
      if (s.owner.key === ownerKey) continue;
      for (const r of s.ranges) {
        if (r.end <= start || r.start >= end || (!write && !r.write)) continue;
        return {
          offset: r.start,
          length: r.end === END ? ALL_ONES_64 : r.end - r.start,
          type: r.write ? LockType.WRITE_LT : LockType.READ_LT,
          owner: {
            clientid: s.owner.owner.clientid,
            owner: s.owner.owner.owner.slice(),
          },
        };
      }
    }
    return undefined;
  }
}
