/**
 * One RPC call, from its record to its reply queued: the call header, the
 * credentials, the program, version and procedure, the duplicate-request
 * cache, then decode, run and encode (the replies it makes on its own are
 * listed in `server.ts`).
 *
 * A call holds its connection's place in the window (`inflight`) until its
 * reply is queued. What allocates here is per call, so it is kept to what
 * the call needs: a call whose procedure answers synchronously (NULL, a
 * `run` that returns a plain value, a raw handler that returns nothing) is
 * answered in the turn it arrived, with no promise; one that answers later
 * costs one async frame, which encodes and queues its reply.
 *
 * @module
 */

import type { Logger } from "../telemetry/log.ts";
import { type Connection, credentialsAt, versionRange } from "./_connection.ts";
import { Replied, type RpcMetrics } from "./_metrics.ts";
import type { Replies } from "./_replies.ts";
import { type DrcKey, DuplicateRequestCache } from "./drc.ts";
import {
  AcceptStat,
  encodeAcceptedReply,
  encodeAuthError,
  encodeRpcMismatch,
  MsgType,
  RPC_VERSION,
} from "./message.ts";
import type {
  CallContext,
  Procedure,
  RawProcedure,
  RpcProgram,
} from "./program.ts";
import { RpcReplyError } from "./program.ts";
import { closeOffer, offerStorage } from "../store/_offers.ts";
import { RECORD_POOL_MIN, type RecordPool } from "./record.ts";
import { XdrError, XdrReader, type XdrWriter } from "./xdr.ts";

/** Runs the calls of every connection of one server. */
export class Dispatcher {
  readonly #programs: Map<number, Map<number, RpcProgram>>;
  readonly #replies: Replies;
  readonly #records: RecordPool;
  readonly #drc: DuplicateRequestCache;
  readonly #metrics: RpcMetrics | undefined;
  readonly #log: Logger;
  /** Gives a record back to the pool (an offer's owner, see `#offers`). */
  readonly #giveBack = (record: Uint8Array): void => this.#records.give(record);

  constructor(
    programs: Map<number, Map<number, RpcProgram>>,
    parts: {
      replies: Replies;
      records: RecordPool;
      drc: DuplicateRequestCache;
      metrics: RpcMetrics | undefined;
      log: Logger;
    },
  ) {
    this.#programs = programs;
    this.#replies = parts.replies;
    this.#records = parts.records;
    this.#drc = parts.drc;
    this.#metrics = parts.metrics;
    this.#log = parts.log;
  }

  /**
   * Runs the call in `rec`, a record of `c`, to its reply. A `view` record
   * is valid only in this turn (the receive buffer's bytes): it is copied
   * first, into the record pool's storage when its procedure borrows its
   * arguments (the storage goes back when the call ends, so a call
   * allocates none), else into an array of its own.
   */
  dispatch(c: Connection, rec: Uint8Array, view = false): void {
    if (view) rec = this.#own(rec);
    c.inflight++;
    let pending: Promise<void> | void = undefined;
    try {
      pending = this.#call(c, rec);
    } catch (e) {
      this.#failed(c, e);
    }
    // A call still running ends in its own continuation.
    if (pending === undefined) c.callEnded();
  }

  /**
   * A copy of the record `view`: pooled storage when the procedure it calls
   * (read where the call header has it; `#call` checks the header itself)
   * is a row that borrows its arguments, which `#reply` gives back.
   */
  #own(view: Uint8Array): Uint8Array {
    const n = view.byteLength;
    if (n >= 24) {
      const at = (i: number) =>
        ((view[i] << 24) | (view[i + 1] << 16) | (view[i + 2] << 8) |
          view[i + 3]) >>> 0;
      const proc = this.#programs.get(at(12))?.get(at(16))?.procedures[at(20)];
      if (proc?.handler === undefined && proc?.borrowsArgs === true) {
        const own = this.#records.take(n);
        own.set(view);
        return own;
      }
    }
    return view.slice();
  }

  #failed(c: Connection, e: unknown): void {
    this.#log.error(
      `Call failed on connection ${c.info.id}: ${(e as Error).message}`,
      c.fields,
    );
  }

  /**
   * Answers the call in `rec`, or starts it: a promise when it still runs
   * (and will end the call itself), undefined when the call is over.
   */
  #call(c: Connection, rec: Uint8Array): Promise<void> | void {
    if (rec.byteLength < 8) {
      this.#log.warn(
        `Dropped a ${rec.byteLength}-byte record from ${c.info.remote.hostname}: too short for an RPC header`,
        c.fields,
      );
      return;
    }
    const r = new XdrReader(rec);
    const xid = r.u32();
    const mtype = r.u32();
    if (mtype !== MsgType.CALL) {
      this.#log.warn(
        `Dropped a message that is not a call from ${c.info.remote.hostname}: msg_type ${mtype}, xid ${xid}`,
        c.fields,
      );
      return;
    }
    const replies = this.#replies;
    const w = replies.pool.acquire();
    if (r.remaining < 16) {
      if (r.remaining >= 4 && r.u32() !== RPC_VERSION) {
        encodeRpcMismatch(w, xid);
        return replies.send(c, w, null, Replied.RPC_MISMATCH);
      }
      encodeAcceptedReply(w, xid, AcceptStat.GARBAGE_ARGS);
      return replies.send(c, w, null, Replied.GARBAGE_ARGS);
    }
    const rpcvers = r.u32();
    if (rpcvers !== RPC_VERSION) {
      encodeRpcMismatch(w, xid);
      return replies.send(c, w, null, Replied.RPC_MISMATCH);
    }
    const program = r.u32();
    const version = r.u32();
    const procedure = r.u32();
    const auth = credentialsAt(c, r);
    if (typeof auth === "number") {
      encodeAuthError(w, xid, auth);
      return replies.send(c, w, null, Replied.AUTH_ERROR);
    }
    const versions = this.#programs.get(program);
    if (versions === undefined) {
      encodeAcceptedReply(w, xid, AcceptStat.PROG_UNAVAIL);
      return replies.send(c, w, null, Replied.PROG_UNAVAIL);
    }
    const prog = versions.get(version);
    if (prog === undefined) {
      encodeAcceptedReply(
        w,
        xid,
        AcceptStat.PROG_MISMATCH,
        versionRange(versions),
      );
      return replies.send(c, w, null, Replied.PROG_MISMATCH);
    }
    const proc = prog.procedures[procedure];
    if (proc === undefined) {
      encodeAcceptedReply(w, xid, AcceptStat.PROC_UNAVAIL);
      return replies.send(c, w, null, Replied.PROC_UNAVAIL);
    }
    // A large record whose row borrows its arguments is offered to the
    // file system its call writes to (store/_offers.ts): nothing but this
    // call holds a view of it, and the reply holds none.
    if (offers(proc, rec)) offerStorage(rec, this.#giveBack);
    let drcKey: DrcKey | null = null;
    if (proc.cached === true) {
      drcKey = DuplicateRequestCache.id(c.info.remote, {
        xid,
        program,
        version,
        procedure,
        args: rec.subarray(r.pos),
      });
      const hit = this.#drc.begin(drcKey, Date.now(), c.info.id);
      if (hit !== undefined) {
        replies.pool.release(w);
        if (hit === null) return this.#follow(c, drcKey);
        this.#metrics?.replays.inc();
        return replies.sendBytes(c, hit);
      }
    }
    const call: CallContext = {
      xid,
      program,
      version,
      procedure,
      auth,
      remote: c.info.remote,
      local: c.info.local,
      connectionId: c.info.id,
      state: undefined,
    };
    const start = this.#metrics === undefined ? 0 : performance.now();
    let replied: number = Replied.SUCCESS;
    encodeAcceptedReply(w, xid, AcceptStat.SUCCESS);
    // Decode, run, encode. Until the arguments are decoded an XdrError
    // means they are garbage; after, it is the procedure's own failure.
    // A raw handler decodes as it goes, so its XdrErrors all count as
    // garbage. A run that returns a plain value is not awaited.
    let decoded = false;
    try {
      if (proc.handler === undefined) {
        const args = proc.decode === undefined ? undefined : proc.decode(r);
        decoded = true;
        const res = proc.run(args, call);
        if (res instanceof Promise) {
          return this.#later(c, w, rec, prog, proc, call, drcKey, start, res);
        }
        if (proc.encode !== undefined) proc.encode(w, res);
      } else {
        const pending = proc.handler(r, w, call);
        if (pending !== undefined) {
          return this.#later(
            c,
            w,
            rec,
            prog,
            proc,
            call,
            drcKey,
            start,
            pending,
          );
        }
      }
    } catch (e) {
      replied = this.#failure(w, e, decoded, prog, proc, call, c);
    }
    this.#reply(c, w, rec, prog, proc, call, drcKey, start, replied);
  }

  /**
   * The rest of a call whose procedure answers later: when `pending`
   * settles, encodes and queues the reply, and ends the call. Closures and
   * a `then` rather than an async function: one that waits costs several
   * hundred bytes more per call (measured), and the closures' context is
   * made here, not in every call's `#call`.
   */
  #later(
    c: Connection,
    w: XdrWriter,
    rec: Uint8Array,
    prog: RpcProgram,
    proc: Procedure | RawProcedure,
    call: CallContext,
    drcKey: DrcKey | null,
    start: number,
    pending: Promise<unknown>,
  ): Promise<void> {
    const settled = (res: unknown, threw = false): void => {
      try {
        let replied: number = Replied.SUCCESS;
        try {
          if (threw) throw res;
          if (proc.handler === undefined && proc.encode !== undefined) {
            proc.encode(w, res);
          }
        } catch (e) {
          // A row's arguments were decoded before it ran; a raw handler's
          // XdrErrors are all garbage.
          const decoded = proc.handler === undefined;
          replied = this.#failure(w, e, decoded, prog, proc, call, c);
        }
        this.#reply(c, w, rec, prog, proc, call, drcKey, start, replied);
      } catch (e) {
        this.#failed(c, e);
      } finally {
        c.callEnded();
      }
    };
    const rescue = proc.handler === undefined ? proc.rescue : undefined;
    if (rescue === undefined) {
      return pending.then(settled, (e) => settled(e, true));
    }
    const thrown = (e: unknown): void => settled(e, true);
    return pending.then(settled, (e) => {
      let res;
      try {
        res = rescue(e, call);
      } catch (e) {
        return thrown(e);
      }
      if (res instanceof Promise) return res.then(settled, thrown);
      settled(res);
    });
  }

  /** Rewrites `w` as the reply to a call that threw `e`; its status. */
  #failure(
    w: XdrWriter,
    e: unknown,
    decoded: boolean,
    prog: RpcProgram,
    proc: Procedure | RawProcedure,
    call: CallContext,
    c: Connection,
  ): number {
    w.reset();
    const xid = call.xid;
    if (e instanceof XdrError && !decoded) {
      encodeAcceptedReply(w, xid, AcceptStat.GARBAGE_ARGS);
      return Replied.GARBAGE_ARGS;
    }
    if (e instanceof RpcReplyError) {
      if (e.status === "AUTH_ERROR") encodeAuthError(w, xid, e.auth);
      else {
        const versions = this.#programs.get(call.program);
        encodeAcceptedReply(
          w,
          xid,
          AcceptStat[e.status],
          versions === undefined ? undefined : versionRange(versions),
        );
      }
      return Replied[e.status];
    }
    this.#log.error(
      `${prog.name} v${call.version} ${proc.name} failed, answering SYSTEM_ERR: ${
        (e as Error)?.stack ?? e
      }`,
      c.fields,
    );
    encodeAcceptedReply(w, xid, AcceptStat.SYSTEM_ERR);
    return Replied.SYSTEM_ERR;
  }

  /** Queues a procedure's reply, after what its end frees and measures. */
  #reply(
    c: Connection,
    w: XdrWriter,
    rec: Uint8Array,
    prog: RpcProgram,
    proc: Procedure | RawProcedure,
    call: CallContext,
    drcKey: DrcKey | null,
    start: number,
    replied: number,
  ): void {
    // Nothing holds the arguments of a row that borrows them any more: the
    // record's storage may serve the next large call, unless a file system
    // took it (it gives it back itself when it lets go of it).
    if (
      proc.handler === undefined && proc.borrowsArgs === true &&
      (!offers(proc, rec) || closeOffer(rec))
    ) this.#records.give(rec);
    if (this.#metrics !== undefined) {
      const m = this.#metrics.procedure(prog, call.procedure);
      m.calls.inc();
      m.latency.observe((performance.now() - start) / 1000);
    }
    this.#replies.send(c, w, drcKey, replied);
  }

  /**
   * A retransmission of a call still running: its reply answers it on its
   * own connection; on another it is sent again when it is ready.
   */
  async #follow(c: Connection, drcKey: DrcKey): Promise<void> {
    try {
      const reply = await this.#drc.follow(drcKey, c.info.id);
      if (reply !== undefined) {
        this.#metrics?.replays.inc();
        this.#replies.sendBytes(c, reply);
      }
    } catch (e) {
      this.#failed(c, e);
    } finally {
      c.callEnded();
    }
  }
}

/**
 * Whether a call's record is offered to the file system its call writes to:
 * a row that borrows its arguments and is not cached (the duplicate-request
 * cache keeps nothing of the arguments either, but a cached row has no
 * reason to write), with a record large enough to hold a chunk's data.
 */
function offers(proc: Procedure | RawProcedure, rec: Uint8Array): boolean {
  return proc.handler === undefined && proc.borrowsArgs === true &&
    proc.cached !== true && rec.byteLength >= RECORD_POOL_MIN;
}
