/**
 * Opens and share reservations (RFC 7530 sections 9.9 and 16.16-16.19,
 * RFC 5661 sections 9.7 and 18.16-18.18): open state per open-owner and
 * file, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE, and the access checks of READ
 * and WRITE.
 *
 * Share reservations: an OPEN asking access A and denying D conflicts with
 * every open of the file by another open-owner (of any client) that denies
 * some of A or holds access D denies: NFS4ERR_SHARE_DENIED. Repeated OPENs
 * by one owner accumulate their access and deny bits on one stateid, whose
 * seqid moves on each time. OPEN_DOWNGRADE must ask for a subset of what
 * the state holds and for access and deny values some OPEN of it used (or
 * exactly what it holds), else NFS4ERR_INVAL.
 *
 * CLOSE of an open whose lock-owners still hold byte-range locks is
 * NFS4ERR_LOCKS_HELD in NFSv4.0 (RFC 7530 section 16.2.4); in NFSv4.1 the
 * locks go with the open and its lock stateids, which the result lists.
 * NFSv4.1 CLOSE answers the invalid special stateid, since the closed one
 * means nothing any more.
 *
 * I/O: a WRITE needs an open with write access, else NFS4ERR_OPENMODE; a
 * READ is allowed on any open (a client opening for write only may still
 * need to read, as knfsd and the RFC allow). A READ or WRITE under the
 * anonymous or bypass stateid is NFS4ERR_LOCKED when an open of the file
 * denies it.
 *
 * Each open has a `context` slot for the file system's open hook.
 *
 * @module
 */

import { OwnerIndex, SetMap } from "./_index.ts";
import { OwnerSeqid } from "./seqid.ts";
import {
  INVALID_STATEID,
  type Revocation,
  type StateEntry,
  type StateidTable,
} from "./stateids.ts";
import { Nfs4Status } from "./status.ts";
import {
  copyStateid,
  fail,
  hexKey,
  ok,
  type Result,
  type Stateid,
  type StateOwner,
} from "./types.ts";

/** OPEN4_SHARE_ACCESS values. */
export const ShareAccess = { READ: 1, WRITE: 2, BOTH: 3 } as const;

/** OPEN4_SHARE_DENY values. */
export const ShareDeny = { NONE: 0, READ: 1, WRITE: 2, BOTH: 3 } as const;

/** What byte-range lock state looks like from its open. */
export interface LockHolder {
  /** The ranges held; none means the lock state holds no locks. */
  readonly ranges: readonly unknown[];
}

/** An open-owner. */
export interface OpenOwner {
  /** Map key of the owner. */
  readonly key: string;
  /** The client and the client's name for it. */
  readonly owner: StateOwner;
  /** The minor version of its client. */
  readonly minor: number;
  /** NFSv4.0: whether OPEN_CONFIRM confirmed it (NFSv4.1: always). */
  confirmed: boolean;
  /** NFSv4.0 request sequencing. */
  readonly seq: OwnerSeqid;
  /** Its opens, by file. */
  readonly opens: Map<string, OpenState>;
  /** NFSv4.0: the `other` of its last closed stateid, as a map key. */
  lastClosed?: string;
}

/** The open state of one owner on one file. */
export interface OpenState {
  /** The open stateid's entry. */
  readonly entry: StateEntry<OpenState>;
  /** The owner. */
  readonly owner: OpenOwner;
  /** The file (the caller's key). */
  readonly file: string;
  /** Share access held (bits of {@link ShareAccess}). */
  access: number;
  /** Share deny held (bits of {@link ShareDeny}). */
  deny: number;
  /** Access values OPENs used, as a set of bits `1 << access`. */
  accessUsed: number;
  /** Deny values OPENs used, as a set of bits `1 << deny`. */
  denyUsed: number;
  /** The lock states made from this open. */
  readonly locks: Set<LockHolder>;
  /** The file system open hook's slot. */
  context: unknown;
}

/** What OPEN answers. */
export interface OpenOk {
  /** The open state. */
  open: OpenState;
  /** Its stateid, after this OPEN. */
  stateid: Stateid;
  /** NFSv4.0: the client must OPEN_CONFIRM (OPEN4_RESULT_CONFIRM). */
  confirm: boolean;
  /** Whether this OPEN created the state (rather than upgraded it). */
  created: boolean;
}

/** What CLOSE answers. */
export interface CloseOk {
  /** The stateid to return. */
  stateid: Stateid;
  /** The open closed, with its `context`. */
  open: OpenState;
  /** Lock states that went with it (NFSv4.1), for the caller to release. */
  locks: LockHolder[];
}

/** Every open of one server instance. */
export class OpenTable {
  readonly #stateids: StateidTable;
  readonly #owners = new OwnerIndex<OpenOwner>();
  readonly #byFile = new SetMap<string, OpenState>();
  readonly #closed = new Map<string, OpenOwner>();

  /** Creates an empty table allocating stateids from `stateids`. */
  constructor(stateids: StateidTable) {
    this.#stateids = stateids;
  }

  /** The open-owner, if known. */
  findOwner(o: StateOwner): OpenOwner | undefined {
    return this.#owners.find(o);
  }

  /** The open-owner, made when not known yet. */
  owner(o: StateOwner, minor: number): OpenOwner {
    return this.#owners.getOrAdd(o, (key) => ({
      key,
      owner: { clientid: o.clientid, owner: o.owner.slice() },
      minor,
      confirmed: minor >= 1,
      seq: new OwnerSeqid(),
      opens: new Map(),
    }));
  }

  /**
   * NFSv4.0: the owner whose last CLOSE used this stateid `other`, so that
   * a retransmitted CLOSE can be answered from the owner's kept reply.
   */
  closedOwner(other: Uint8Array): OpenOwner | undefined {
    return this.#closed.get(hexKey(other));
  }

  /** The opens of a file. */
  opensOf(file: string): OpenState[] {
    return [...this.#byFile.get(file)];
  }

  /** Whether the client has any open. */
  clientHasOpens(clientid: bigint): boolean {
    for (const oo of this.#owners.ofClient(clientid)) {
      if (oo.opens.size > 0) return true;
    }
    return false;
  }

  /**
   * OPEN: new open state, or more access and deny bits on the owner's
   * existing open of the file. NFS4ERR_INVAL for access or deny values
   * outside their range, NFS4ERR_SHARE_DENIED on a conflict.
   */
  open(
    oo: OpenOwner,
    file: string,
    access: number,
    deny: number,
  ): Result<OpenOk> {
    if (access < 1 || access > 3 || deny < 0 || deny > 3) {
      return fail(Nfs4Status.NFS4ERR_INVAL);
    }
    for (const o of this.#byFile.get(file)) {
      if (o.owner === oo) continue;
      if ((access & o.deny) !== 0 || (deny & o.access) !== 0) {
        return fail(Nfs4Status.NFS4ERR_SHARE_DENIED);
      }
    }
    const confirm = !oo.confirmed;
    const had = oo.opens.get(file);
    if (had !== undefined) {
      had.access |= access;
      had.deny |= deny;
      had.accessUsed |= 1 << access;
      had.denyUsed |= 1 << deny;
      const stateid = this.#stateids.bump(had.entry);
      return ok({ open: had, stateid, confirm, created: false });
    }
    const entry = this.#stateids.allocate(
      "open",
      { clientid: oo.owner.clientid, file, minor: oo.minor },
      null as unknown as OpenState,
    );
    const open: OpenState = {
      entry,
      owner: oo,
      file,
      access,
      deny,
      accessUsed: 1 << access,
      denyUsed: 1 << deny,
      locks: new Set(),
      context: undefined,
    };
    entry.data = open;
    oo.opens.set(file, open);
    this.#byFile.add(file, open);
    const stateid = this.#stateids.stateid(open.entry);
    return ok({ open, stateid, confirm, created: true });
  }

  /**
   * NFSv4.0 OPEN_CONFIRM: confirms the owner. NFS4ERR_BAD_STATEID when it
   * was confirmed already.
   */
  confirm(open: OpenState): Result<{ stateid: Stateid }> {
    if (open.owner.confirmed) return fail(Nfs4Status.NFS4ERR_BAD_STATEID);
    open.owner.confirmed = true;
    return ok({ stateid: this.#stateids.bump(open.entry) });
  }

  /** OPEN_DOWNGRADE to `access` and `deny`. */
  downgrade(
    open: OpenState,
    access: number,
    deny: number,
  ): Result<{ stateid: Stateid }> {
    const valid = access >= 1 && access <= 3 && deny >= 0 && deny <= 3 &&
      (access & ~open.access) === 0 && (deny & ~open.deny) === 0 &&
      ((open.accessUsed & (1 << access)) !== 0 || access === open.access) &&
      ((open.denyUsed & (1 << deny)) !== 0 || deny === open.deny);
    if (!valid) return fail(Nfs4Status.NFS4ERR_INVAL);
    open.access = access;
    open.deny = deny;
    open.accessUsed = _subsetsOf(open.accessUsed, access) | (1 << access);
    open.denyUsed = _subsetsOf(open.denyUsed, deny) | (1 << deny);
    return ok({ stateid: this.#stateids.bump(open.entry) });
  }

  /** CLOSE. */
  close(open: OpenState): Result<CloseOk> {
    const minor = open.owner.minor;
    const held = [...open.locks].some((l) => l.ranges.length > 0);
    if (minor === 0 && held) return fail(Nfs4Status.NFS4ERR_LOCKS_HELD);
    const stateid = minor === 0
      ? this.#stateids.bump(open.entry)
      : copyStateid(INVALID_STATEID);
    const locks = [...open.locks];
    if (minor === 0) {
      const oo = open.owner;
      if (oo.lastClosed !== undefined) this.#closed.delete(oo.lastClosed);
      oo.lastClosed = hexKey(open.entry.other);
      this.#closed.set(oo.lastClosed, oo);
    }
    this.release(open);
    return ok({ stateid, open, locks });
  }

  /**
   * Checks that an open allows `io`: NFS4ERR_OPENMODE for a WRITE without
   * write access.
   */
  checkAccess(
    open: OpenState,
    io: "read" | "write",
  ): Result<{ open: OpenState }> {
    if (io === "write" && (open.access & ShareAccess.WRITE) === 0) {
      return fail(Nfs4Status.NFS4ERR_OPENMODE);
    }
    return ok({ open });
  }

  /**
   * Checks an I/O under a special stateid against the file's share
   * reservations: NFS4ERR_LOCKED when an open denies it.
   */
  checkDeny(file: string, io: "read" | "write"): Result {
    const bit = io === "read" ? ShareDeny.READ : ShareDeny.WRITE;
    for (const o of this.#byFile.get(file)) {
      if ((o.deny & bit) !== 0) return fail(Nfs4Status.NFS4ERR_LOCKED);
    }
    return ok({});
  }

  /**
   * Drops an open and its share reservation. With `revoke`, the stateid is
   * revoked instead of forgotten.
   */
  release(open: OpenState, revoke?: Revocation): void {
    const oo = open.owner;
    if (oo.opens.get(open.file) === open) oo.opens.delete(open.file);
    this.#byFile.delete(open.file, open);
    if (revoke === undefined) this.#stateids.remove(open.entry);
    else this.#stateids.revoke(open.entry, revoke);
    if (oo.minor >= 1 && oo.opens.size === 0) this.#forgetOwner(oo);
  }

  /** Drops an owner with all its opens, which it returns. */
  releaseOwner(oo: OpenOwner, revoke?: Revocation): OpenState[] {
    const opens = [...oo.opens.values()];
    for (const o of opens) this.release(o, revoke);
    this.#forgetOwner(oo);
    return opens;
  }

  /** Drops every owner and open of a client; returns the opens. */
  releaseClient(clientid: bigint, revoke?: Revocation): OpenState[] {
    const out: OpenState[] = [];
    for (const oo of this.#owners.ofClient(clientid)) {
      out.push(...this.releaseOwner(oo, revoke));
    }
    return out;
  }

  #forgetOwner(oo: OpenOwner): void {
    this.#owners.delete(oo);
    if (oo.lastClosed !== undefined) this.#closed.delete(oo.lastClosed);
  }
}

/** The values in the set `used` (bits `1 << value`) that are subsets of `of`. */
function _subsetsOf(used: number, of: number): number {
  let out = 0;
  for (let v = 0; v <= 3; v++) {
    if ((used & (1 << v)) !== 0 && (v & ~of) === 0) out |= 1 << v;
  }
  return out;
}
