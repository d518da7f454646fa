/**
 * NFSv4.1 sessions (RFC 5661 section 2.10): CREATE_SESSION, SEQUENCE and
 * its slot table, DESTROY_SESSION, BIND_CONN_TO_SESSION and
 * BACKCHANNEL_CTL.
 *
 * CREATE_SESSION is sequenced per client by `csa_sequence` (section
 * 18.36.4): the sequence ID after the last one is a new request, the last
 * one again replays the cached result of that request, anything else is
 * NFS4ERR_SEQ_MISORDERED; an unconfirmed client has no cached result, so a
 * repeat is misordered too. A different principal than EXCHANGE_ID's on an
 * unconfirmed record is NFS4ERR_CLID_INUSE. Channel attributes are clamped
 * to the server's limits: no header padding, no RDMA, requests and replies
 * no larger than the server's, at least one slot and no more than the
 * server's; a request or reply limit below the server's minimum is
 * NFS4ERR_TOOSMALL. The session is not persistent; the connection that
 * sent CREATE_SESSION is bound to the fore channel, and to the back
 * channel too when the client asks.
 *
 * SEQUENCE (section 18.46): an unknown session is NFS4ERR_BADSESSION, a
 * slot past the highest is NFS4ERR_BADSLOT, a highest slot past it
 * NFS4ERR_BAD_HIGH_SLOT. On a slot, the sequence ID after the slot's is a
 * new request; the slot's own is a retry, answered with the cached reply,
 * NFS4ERR_RETRY_UNCACHED_REP when that reply was not cached, NFS4ERR_DELAY
 * while the original still runs; any other is NFS4ERR_SEQ_MISORDERED. A
 * slot's first request carries 1 and sequence IDs wrap from 2^32-1 to 0.
 * The caller hands the finished reply back with {@link SessionTable.complete};
 * it is kept when the request asked for caching and fits
 * `maxResponseSizeCached`.
 *
 * Session IDs are the server's boot verifier, a counter and the client ID.
 *
 * @module
 */

import type { AuthSysParms } from "../../../rpc/program.ts";
import type { ClientRecord } from "./clients.ts";
import { Nfs4Status } from "./status.ts";
import {
  bytesEqual,
  fail,
  type Failure,
  hexKey,
  ok,
  type Principal,
  type Result,
} from "./types.ts";

/** CREATE_SESSION flags (RFC 5661 section 18.36). */
export const CreateSessionFlags = {
  PERSIST: 0x1,
  CONN_BACK_CHAN: 0x2,
  CONN_RDMA: 0x4,
} as const;

/** SEQUENCE status flags (RFC 5661 section 18.46). */
export const SequenceStatus = {
  CB_PATH_DOWN: 0x1,
  CB_GSS_CONTEXTS_EXPIRING: 0x2,
  CB_GSS_CONTEXTS_EXPIRED: 0x4,
  EXPIRED_ALL_STATE_REVOKED: 0x8,
  EXPIRED_SOME_STATE_REVOKED: 0x10,
  ADMIN_STATE_REVOKED: 0x20,
  RECALLABLE_STATE_REVOKED: 0x40,
  LEASE_MOVED: 0x80,
  RESTART_RECLAIM_NEEDED: 0x100,
  CB_PATH_DOWN_SESSION: 0x200,
  BACKCHANNEL_FAULT: 0x400,
} as const;

/** BIND_CONN_TO_SESSION directions asked (`channel_dir_from_client4`). */
export const ChannelDirFromClient = {
  FORE: 1,
  BACK: 2,
  FORE_OR_BOTH: 3,
  BACK_OR_BOTH: 7,
} as const;

/** Directions a connection is bound for (`channel_dir_from_server4`). */
export const ChannelDir = { FORE: 1, BACK: 2, BOTH: 3 } as const;

/** `channel_attrs4`. */
export interface ChannelAttrs {
  /** `ca_headerpadsize`. */
  headerPadSize: number;
  /** `ca_maxrequestsize`. */
  maxRequestSize: number;
  /** `ca_maxresponsesize`. */
  maxResponseSize: number;
  /** `ca_maxresponsesize_cached`. */
  maxResponseSizeCached: number;
  /** `ca_maxoperations`. */
  maxOperations: number;
  /** `ca_maxrequests`: the number of slots. */
  maxRequests: number;
  /** `ca_rdma_ird` (at most one value). */
  rdmaIrd: number[];
}

/** `callback_sec_parms4`: how the server authenticates its callbacks. */
export type CallbackSec =
  | { flavor: 0 }
  | { flavor: 1; sys: AuthSysParms }
  | {
    flavor: 6;
    service: number;
    handleFromServer: Uint8Array;
    handleFromClient: Uint8Array;
  };

/** The server's session limits. */
export interface SessionLimits {
  /** Largest request (bytes). Default 1 MiB plus 4 KiB. */
  maxRequestSize?: number;
  /** Largest reply (bytes). Default 1 MiB plus 4 KiB. */
  maxResponseSize?: number;
  /** Largest cached reply (bytes). Default 64 KiB. */
  maxResponseSizeCached?: number;
  /** Most operations in one COMPOUND. Default 64. */
  maxOperations?: number;
  /** Most fore channel slots. Default 64. */
  maxSlots?: number;
  /** Most back channel slots. Default 4. */
  maxBackSlots?: number;
  /** Smallest request and reply size a client may ask for. Default 256. */
  minSize?: number;
}

/** Arguments of CREATE_SESSION. */
export interface CreateSessionArgs {
  /** `csa_sequence`. */
  sequence: number;
  /** `csa_flags`. */
  flags: number;
  /** `csa_fore_chan_attrs`. */
  fore: ChannelAttrs;
  /** `csa_back_chan_attrs`. */
  back: ChannelAttrs;
  /** `csa_cb_program`. */
  cbProgram: number;
  /** `csa_sec_parms`. */
  secParms: CallbackSec[];
  /** The caller. */
  principal: Principal;
  /** The connection the request came on. */
  connectionId: number;
}

/** What CREATE_SESSION answers. */
export interface CreateSessionOk {
  /** `csr_sessionid` (16 bytes). */
  sessionid: Uint8Array;
  /** `csr_sequence`. */
  sequence: number;
  /** `csr_flags`. */
  flags: number;
  /** `csr_fore_chan_attrs`. */
  fore: ChannelAttrs;
  /** `csr_back_chan_attrs`. */
  back: ChannelAttrs;
}

/** One slot of a session's fore channel. */
export interface SessionSlot {
  /** The sequence ID of the slot's last request (0 before the first). */
  seqid: number;
  /** Whether a request used the slot yet. */
  used: boolean;
  /** Whether that request still runs. */
  running: boolean;
  /** Whether that request asked for its reply to be cached. */
  cacheThis: boolean;
  /** The cached reply, if any. */
  reply: Uint8Array | null;
}

/** A session. */
export interface Session {
  /** The session ID (16 bytes). */
  readonly id: Uint8Array;
  /** The session ID as a map key. */
  readonly key: string;
  /** The client the session belongs to. */
  readonly clientid: bigint;
  /** Negotiated fore channel attributes. */
  readonly fore: ChannelAttrs;
  /** Negotiated back channel attributes. */
  readonly back: ChannelAttrs;
  /** The callback program. */
  cbProgram: number;
  /** The callback security parameters the client offered. */
  cbSec: CallbackSec[];
  /** Connections bound to the session, by id, with their direction. */
  readonly connections: Map<number, number>;
  /** The highest slot the server would like the client to use. */
  targetHighestSlot: number;
  /** The fore channel slots. */
  readonly slots: SessionSlot[];
}

/** Arguments of SEQUENCE. */
export interface SequenceArgs {
  /** `sa_sessionid`. */
  sessionid: Uint8Array;
  /** `sa_sequenceid`. */
  sequenceid: number;
  /** `sa_slotid`. */
  slotid: number;
  /** `sa_highest_slotid`. */
  highestSlotid: number;
  /** `sa_cachethis`. */
  cacheThis: boolean;
  /** The connection the request came on. */
  connectionId: number;
}

/** SEQUENCE's decision. */
export type SequenceDecision =
  | {
    status: typeof Nfs4Status.NFS4_OK;
    /** A new request: run the COMPOUND, then {@link SessionTable.complete}. */
    kind: "new";
    session: Session;
    /** `sr_highest_slotid`. */
    highestSlotid: number;
    /** `sr_target_highest_slotid`. */
    targetHighestSlotid: number;
    /** `sr_status_flags` as far as the session knows them. */
    statusFlags: number;
  }
  | {
    status: typeof Nfs4Status.NFS4_OK;
    /** A retry: send `reply` again, unchanged. */
    kind: "replay";
    session: Session;
    reply: Uint8Array;
  }
  | Failure;

const DEFAULTS: Required<SessionLimits> = {
  maxRequestSize: 1024 * 1024 + 4096,
  maxResponseSize: 1024 * 1024 + 4096,
  maxResponseSizeCached: 64 * 1024,
  maxOperations: 64,
  maxSlots: 64,
  maxBackSlots: 4,
  minSize: 256,
};

/** The sessions of one server instance. */
export class SessionTable {
  readonly #boot: number;
  readonly #limits: Required<SessionLimits>;
  readonly #sessions = new Map<string, Session>();
  #next = 1;

  /** Creates an empty table for the instance with boot verifier `boot`. */
  constructor(boot: number, limits: SessionLimits = {}) {
    this.#boot = boot >>> 0;
    this.#limits = { ...DEFAULTS, ...limits };
  }

  /** The session with this ID, if any. */
  get(sessionid: Uint8Array): Session | undefined {
    return this.#sessions.get(hexKey(sessionid));
  }

  /** A client's sessions. */
  ofClient(clientid: bigint): Session[] {
    return [...this.#sessions.values()].filter((s) => s.clientid === clientid);
  }

  /** Whether any session of the client has a back channel connection. */
  hasBackchannel(clientid: bigint): boolean {
    return this.ofClient(clientid).some(_hasBack);
  }

  /**
   * CREATE_SESSION for the client record `client` (found by
   * `ClientTable.forCreateSession`). On a new request the caller confirms
   * an unconfirmed record afterwards.
   */
  create(
    client: ClientRecord,
    args: CreateSessionArgs,
  ): Result<{ result: CreateSessionOk; cached: boolean }> {
    const seq = args.sequence >>> 0;
    if (client.confirmed && seq === client.csSeq && client.csCache) {
      return ok({ result: client.csCache as CreateSessionOk, cached: true });
    }
    if (!client.confirmed && client.principal !== args.principal) {
      return fail(Nfs4Status.NFS4ERR_CLID_INUSE);
    }
    if (seq !== ((client.csSeq + 1) >>> 0)) {
      return fail(Nfs4Status.NFS4ERR_SEQ_MISORDERED);
    }
    const fore = this.#clamp(args.fore, this.#limits.maxSlots, true);
    const back = this.#clamp(args.back, this.#limits.maxBackSlots, false);
    if (fore === undefined || back === undefined) {
      return fail(Nfs4Status.NFS4ERR_TOOSMALL);
    }
    const id = new Uint8Array(16);
    const view = new DataView(id.buffer);
    view.setUint32(0, this.#boot);
    view.setUint32(4, this.#next);
    view.setBigUint64(8, client.clientid);
    this.#next = (this.#next + 1) >>> 0 || 1;
    const wantsBack = (args.flags & CreateSessionFlags.CONN_BACK_CHAN) !== 0;
    const session: Session = {
      id,
      key: hexKey(id),
      clientid: client.clientid,
      fore,
      back,
      cbProgram: args.cbProgram,
      cbSec: args.secParms.slice(),
      connections: new Map([
        [args.connectionId, wantsBack ? ChannelDir.BOTH : ChannelDir.FORE],
      ]),
      targetHighestSlot: fore.maxRequests - 1,
      slots: Array.from({ length: fore.maxRequests }, () => ({
        seqid: 0,
        used: false,
        running: false,
        cacheThis: false,
        reply: null,
      })),
    };
    this.#sessions.set(session.key, session);
    const result: CreateSessionOk = {
      sessionid: id,
      sequence: seq,
      flags: wantsBack ? CreateSessionFlags.CONN_BACK_CHAN : 0,
      fore,
      back,
    };
    client.csSeq = seq;
    client.csCache = result;
    return ok({ result, cached: false });
  }

  /** SEQUENCE: decides whether the request is new, a retry or an error. */
  sequence(args: SequenceArgs): SequenceDecision {
    const s = this.get(args.sessionid);
    if (s === undefined) return fail(Nfs4Status.NFS4ERR_BADSESSION);
    const top = s.slots.length - 1;
    if (args.slotid > top || args.slotid < 0) {
      return fail(Nfs4Status.NFS4ERR_BADSLOT);
    }
    if (args.highestSlotid > top || args.highestSlotid < 0) {
      return fail(Nfs4Status.NFS4ERR_BAD_HIGH_SLOT);
    }
    const slot = s.slots[args.slotid];
    const seqid = args.sequenceid >>> 0;
    if (slot.used && seqid === slot.seqid) {
      if (slot.running) return fail(Nfs4Status.NFS4ERR_DELAY);
      if (slot.reply === null) {
        return fail(Nfs4Status.NFS4ERR_RETRY_UNCACHED_REP);
      }
      return {
        status: Nfs4Status.NFS4_OK,
        kind: "replay",
        session: s,
        reply: slot.reply,
      };
    }
    if (seqid !== ((slot.seqid + 1) >>> 0)) {
      return fail(Nfs4Status.NFS4ERR_SEQ_MISORDERED);
    }
    if (!s.connections.has(args.connectionId)) {
      // State protection SP4_NONE: a connection joins the fore channel by use.
      s.connections.set(args.connectionId, ChannelDir.FORE);
    }
    slot.seqid = seqid;
    slot.used = true;
    slot.running = true;
    slot.cacheThis = args.cacheThis;
    slot.reply = null;
    return {
      status: Nfs4Status.NFS4_OK,
      kind: "new",
      session: s,
      highestSlotid: top,
      targetHighestSlotid: s.targetHighestSlot,
      statusFlags: this.#pathFlags(s),
    };
  }

  /**
   * Records the reply of the request SEQUENCE let through on a slot. It is
   * kept for retries when the request asked (`sa_cachethis`) and it fits
   * `maxResponseSizeCached`; returns whether it was kept.
   */
  complete(sessionid: Uint8Array, slotid: number, reply: Uint8Array): boolean {
    const slot = this.get(sessionid)?.slots[slotid];
    if (slot === undefined || !slot.running) return false;
    slot.running = false;
    const s = this.get(sessionid)!;
    if (!slot.cacheThis || reply.length > s.fore.maxResponseSizeCached) {
      return false;
    }
    slot.reply = reply;
    return true;
  }

  /**
   * DESTROY_SESSION. NFS4ERR_BADSESSION for an unknown session,
   * NFS4ERR_DELAY while other requests run on it (`current` names the
   * session of the COMPOUND asking, whose own slot is running).
   */
  destroy(
    sessionid: Uint8Array,
    current?: Uint8Array,
  ): Result<{ session: Session }> {
    const s = this.get(sessionid);
    if (s === undefined) return fail(Nfs4Status.NFS4ERR_BADSESSION);
    const mine = current !== undefined && bytesEqual(current, sessionid)
      ? 1
      : 0;
    if (s.slots.filter((x) => x.running).length > mine) {
      return fail(Nfs4Status.NFS4ERR_DELAY);
    }
    this.#sessions.delete(s.key);
    return ok({ session: s });
  }

  /** Drops every session of a client. */
  destroyClient(clientid: bigint): Session[] {
    const gone = this.ofClient(clientid);
    for (const s of gone) this.#sessions.delete(s.key);
    return gone;
  }

  /**
   * BIND_CONN_TO_SESSION: binds a connection for the direction asked.
   * NFS4ERR_BADSESSION for an unknown session, NFS4ERR_INVAL for an
   * unknown direction.
   */
  bindConnection(
    sessionid: Uint8Array,
    connectionId: number,
    dir: number,
  ): Result<{ session: Session; dir: number }> {
    const s = this.get(sessionid);
    if (s === undefined) return fail(Nfs4Status.NFS4ERR_BADSESSION);
    const D = ChannelDirFromClient;
    const bound = dir === D.FORE
      ? ChannelDir.FORE
      : dir === D.BACK
      ? ChannelDir.BACK
      : dir === D.FORE_OR_BOTH || dir === D.BACK_OR_BOTH
      ? ChannelDir.BOTH
      : 0;
    if (bound === 0) return fail(Nfs4Status.NFS4ERR_INVAL);
    s.connections.set(connectionId, bound);
    return ok({ session: s, dir: bound });
  }

  /** BACKCHANNEL_CTL: the new callback program and security parameters. */
  backchannelCtl(
    session: Session,
    cbProgram: number,
    sec: CallbackSec[],
  ): void {
    session.cbProgram = cbProgram;
    session.cbSec = sec.slice();
  }

  /** Unbinds a closed connection from every session. */
  connectionClosed(connectionId: number): void {
    for (const s of this.#sessions.values()) s.connections.delete(connectionId);
  }

  #pathFlags(s: Session): number {
    if (_hasBack(s)) return 0;
    return SequenceStatus.CB_PATH_DOWN_SESSION |
      (this.hasBackchannel(s.clientid) ? 0 : SequenceStatus.CB_PATH_DOWN);
  }

  #clamp(
    a: ChannelAttrs,
    maxSlots: number,
    fore: boolean,
  ): ChannelAttrs | undefined {
    const l = this.#limits;
    if (a.maxRequestSize < l.minSize || a.maxResponseSize < l.minSize) {
      return undefined;
    }
    if (a.maxOperations < 1) return undefined;
    const maxResponseSize = Math.min(a.maxResponseSize, l.maxResponseSize);
    return {
      headerPadSize: 0,
      maxRequestSize: Math.min(a.maxRequestSize, l.maxRequestSize),
      maxResponseSize,
      maxResponseSizeCached: fore
        ? Math.min(
          a.maxResponseSizeCached,
          l.maxResponseSizeCached,
          maxResponseSize,
        )
        : a.maxResponseSizeCached,
      maxOperations: fore
        ? Math.min(a.maxOperations, l.maxOperations)
        : a.maxOperations,
      maxRequests: Math.max(1, Math.min(a.maxRequests, maxSlots)),
      rdmaIrd: [],
    };
  }
}

function _hasBack(s: Session): boolean {
  for (const dir of s.connections.values()) {
    if (dir & ChannelDir.BACK) return true;
  }
  return false;
}
