/**
 * An ONC RPC server over TCP (IPv4 and IPv6), shaped like `Deno.serve`.
 *
 * Per connection one read loop cuts the stream into records and dispatches
 * each call at once, without waiting for earlier ones, up to `maxInFlight`
 * calls; it stops reading while the window is full. A call holds its place
 * in the window until its reply is written to the socket, so a client that
 * sends calls and never reads the replies is held by TCP backpressure after
 * at most `maxInFlight` unsent replies, however large. Replies are written
 * in completion order, each with one write loop, never interleaved.
 *
 * What the server answers on its own (RFC 5531):
 * - `rpcvers` other than 2: MSG_DENIED RPC_MISMATCH (low 2, high 2).
 * - A credential or verifier that cannot be decoded (body over 400 bytes,
 *   cut short), a malformed AUTH_SYS, or a flavour other than AUTH_NONE and
 *   AUTH_SYS: MSG_DENIED AUTH_ERROR with the `auth_stat` chosen by
 *   {@link checkCredentials} (AUTH_BADCRED, AUTH_REJECTEDCRED, AUTH_BADVERF).
 * - Unknown program: PROG_UNAVAIL; known program, unknown version:
 *   PROG_MISMATCH with the lowest and highest registered versions; unknown
 *   procedure: PROC_UNAVAIL.
 * - Arguments a procedure's `decode` cannot decode (it throws
 *   {@link XdrError}): GARBAGE_ARGS; so does an XdrError from a raw
 *   `handler`. `run` throwing {@link RpcReplyError}: its status; anything
 *   else (an XdrError from `run` or `encode` included): SYSTEM_ERR (logged).
 * - A call header cut short after `rpcvers` (no prog/vers/proc): GARBAGE_ARGS,
 *   since the xid is known and an answer beats a client timeout.
 *
 * Procedures get `call.auth` frozen: one decoded AUTH_SYS credential is
 * shared by the calls of a connection that send the same bytes.
 *
 * Every call that one read brings in is dispatched before the server reads
 * again, and replies that queue up behind a write in progress are joined
 * into one write (up to 64 KiB): each reply is still built in one buffer and
 * sent whole, in completion order. The exception is data an `encode` (or a
 * raw handler) passes to `XdrWriter.opaqueRef` (a READ reply's data): from
 * 64 KiB up it is not copied into the reply buffer but written right after
 * it, in the same write slot, from where it lies (a view of MemFs storage, for instance),
 * so a change to that storage before the write finishes shows in the
 * reply, as if the READ had run a moment later.
 *
 * Procedures marked `cached: true` (the non-idempotent ones) go through a
 * duplicate-request cache keyed as knfsd keys it: client address (not
 * port), xid, program, version, procedure and a checksum of the arguments.
 * A retransmission of a finished call gets the cached reply, on whichever
 * connection it comes; one that arrives while the original still runs is
 * dropped when it comes on the same connection (the original's reply
 * answers it), and answered with the original's reply when it comes on
 * another (the original's connection may be gone).
 *
 * `shutdown()` (or the abort signal) stops accepting, lets calls in flight
 * finish and their replies go out, then closes every connection and calls
 * each program's `close`; a handler that never settles keeps `finished`
 * pending.
 *
 * What it drops, with a log line: a record too short to hold an xid and a
 * message type, and a message whose type is not CALL (a REPLY sent to a
 * server has no answer). A record over `maxRecordSize` closes the
 * connection: the stream cannot be resynchronized.
 *
 * @example A slow call does not hold up the calls behind it
 * ```ts
 * import { RpcClient, serveRpc } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const gate = Promise.withResolvers<void>();
 * const server = serveRpc({
 *   port: 0,
 *   programs: [{
 *     program: 0x20000001,
 *     version: 1,
 *     name: "gate",
 *     procedures: {
 *       1: { name: "WAIT", run: () => gate.promise },
 *       2: { name: "OPEN", run: () => gate.resolve() },
 *     },
 *   }],
 * });
 * const client = await RpcClient.connect({
 *   hostname: "127.0.0.1",
 *   port: server.addr.port,
 *   timeoutMs: 5000, // a server that ran calls one by one would never answer WAIT
 * });
 * const replies: string[] = [];
 * const waiting = client.call(0x20000001, 1, 1, () => {}).then(() => replies.push("WAIT"));
 * // OPEN arrives on the same connection while WAIT runs: it runs at once,
 * // and its reply goes out first.
 * await client.call(0x20000001, 1, 2, () => {}).then(() => replies.push("OPEN"));
 * await waiting;
 * assert.deepEqual(replies, ["OPEN", "WAIT"]);
 * client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import {
  armIdle,
  Connection,
  credentialsOf,
  flushQueue,
  join,
  versionRange,
  WriterPool,
} from "./_connection.ts";
import { Admission, type ConnectionInfo } from "../net/mod.ts";
import { DuplicateRequestCache } from "./drc.ts";
import {
  AcceptStat,
  AuthStat,
  decodeOpaqueAuth,
  encodeAcceptedReply,
  encodeAuthError,
  encodeRpcMismatch,
  MsgType,
  RPC_VERSION,
} from "./message.ts";
import type { CallAuth, CallContext, RpcProgram } from "./program.ts";
import { RpcReplyError } from "./program.ts";
import {
  DEFAULT_MAX_RECORD,
  RecordError,
  recordMark,
  RecordPool,
  RecordReader,
} from "./record.ts";
import { XdrError, XdrReader, type XdrWriter } from "./xdr.ts";
import { type Logger, peerOf } from "../telemetry/log.ts";
import { messageLogger } from "../telemetry/_message_logger.ts";
import { Replied, RpcMetrics } from "./_metrics.ts";
import type { RpcServer, RpcServerOptions } from "./server_options.ts";

export type { RpcServer, RpcServerOptions } from "./server_options.ts";

/** Each connection's receive buffer (see {@link RecordReader}). */
const READ_BUFFER = 64 * 1024;

/**
 * Starts an RPC server. Like `Deno.serve`, it listens at once and returns a
 * handle; the address is known synchronously.
 *
 * @example Add a program after the start, stop with an AbortSignal
 * ```ts
 * import { RpcClient, RpcClosedError, serveRpc } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const ac = new AbortController();
 * const server = serveRpc({ port: 0, programs: [], signal: ac.signal });
 * server.register({
 *   program: 0x20000001,
 *   version: 1,
 *   name: "late",
 *   procedures: { 0: { name: "NULL", run: () => {} } },
 * });
 * assert.deepEqual(server.programs().map((p) => p.name), ["late"]);
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await client.call(0x20000001, 1, 0, () => {}); // answered
 *
 * ac.abort(); // as server.shutdown() does
 * await server.finished;
 * await client.closed; // the server closed the connection
 * await assert.rejects(client.call(0x20000001, 1, 0, () => {}), RpcClosedError);
 * ```
 */
export function serveRpc(options: RpcServerOptions): RpcServer {
  return new Server(options);
}

class Server implements RpcServer {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  readonly #listener: Deno.TcpListener;
  readonly #programs = new Map<number, Map<number, RpcProgram>>();
  readonly #conns = new Map<number, Connection>();
  readonly #pool = new WriterPool();
  /** Large records' storage, reused after calls that borrow their arguments. */
  readonly #records = new RecordPool();
  readonly #drc: DuplicateRequestCache;
  readonly #admission: Admission;
  readonly #opts: RpcServerOptions;
  readonly #log: Logger;
  /** Whether to log connection events (only to a `logger` given as such). */
  readonly #events: boolean;
  readonly #metrics: RpcMetrics | undefined;
  #stopCollect: (() => void) | undefined;
  readonly #maxInFlight: number;
  readonly #maxRecord: number;
  readonly #idleMs: number;
  #nextId = 1;
  #closing = false;
  #onAbort: (() => void) | undefined;

  constructor(options: RpcServerOptions) {
    this.#opts = options;
    this.#log = options.logger ??
      messageLogger(options.log ?? ((m) => console.error(`netfs rpc: ${m}`)));
    this.#events = options.logger !== undefined;
    if (options.metrics !== undefined) {
      const m = this.#metrics = new RpcMetrics(options.metrics);
      this.#stopCollect = options.metrics.onCollect(() => {
        for (const c of this.#conns.values()) {
          m.connections.report(c.info, c);
        }
      });
    }
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 64);
    this.#maxRecord = options.maxRecordSize ?? DEFAULT_MAX_RECORD;
    this.#idleMs = options.idleTimeout ?? 0;
    this.#admission = new Admission(options);
    this.#drc = new DuplicateRequestCache(options.drc);
    for (const p of options.programs) this.register(p);
    this.#listener = Deno.listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      transport: "tcp",
    });
    this.addr = this.#listener.addr;
    this.finished = this.#run();
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) void this.shutdown();
      else {
        this.#onAbort = () => void this.shutdown();
        signal.addEventListener("abort", this.#onAbort, { once: true });
      }
    }
    options.onListen?.(this.addr);
  }

  register(program: RpcProgram): void {
    let versions = this.#programs.get(program.program);
    if (!versions) this.#programs.set(program.program, versions = new Map());
    versions.set(program.version, program);
  }

  programs(): RpcProgram[] {
    const out: RpcProgram[] = [];
    for (const versions of this.#programs.values()) {
      out.push(...versions.values());
    }
    return out;
  }

  connections(): ConnectionInfo[] {
    return [...this.#conns.values()].map((c) => ({ ...c.info }));
  }

  disconnect(id: number): boolean {
    const c = this.#conns.get(id);
    if (!c || c.closed) return false;
    c.abort();
    return true;
  }

  shutdown(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      try {
        this.#listener.close();
      } catch {
        // Already closed.
      }
      for (const c of this.#conns.values()) {
        c.closing = true;
        // A connection waiting in read with nothing in flight can go now;
        // busy ones close when their last reply is written.
        if (c.idle) c.abort();
        c.slot?.();
      }
    }
    return this.finished;
  }

  async #run(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closing || e instanceof Deno.errors.BadResource) break;
        this.#log.error(`Accept failed: ${(e as Error).message}`);
        continue;
      }
      this.#admit(conn);
    }
    while (this.#conns.size > 0) {
      await Promise.all([...this.#conns.values()].map((c) => c.done));
    }
    for (const p of this.programs()) {
      try {
        await p.close?.();
      } catch (e) {
        this.#log.error(
          `Closing program ${p.name} failed: ${(e as Error).message}`,
        );
      }
    }
    if (this.#onAbort) {
      this.#opts.signal?.removeEventListener("abort", this.#onAbort);
    }
    this.#stopCollect?.();
  }

  #admit(conn: Deno.TcpConn): void {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const refuse = (why: string) => {
      this.#log.warn(`Refused ${remote.hostname}:${remote.port}: ${why}`, {
        peer: peerOf(remote),
      });
      try {
        conn.close();
      } catch { /* already gone */ }
    };
    if (this.#closing) return refuse("server is shutting down");
    const why = this.#admission.refusal(remote, this.#conns.size);
    if (why !== undefined) return refuse(why);
    try {
      conn.setNoDelay(true);
    } catch { /* not fatal */ }
    const info: ConnectionInfo = {
      id: this.#nextId++,
      remote,
      local: conn.localAddr as Deno.NetAddr,
      since: Date.now(),
      bytesIn: 0,
      bytesOut: 0,
      requests: 0,
    };
    const c = new Connection(conn, info);
    this.#conns.set(info.id, c);
    armIdle(c, this.#idleMs, this.#log);
    if (this.#metrics !== undefined) {
      this.#metrics.connections.open.inc();
      this.#metrics.connections.total.inc();
    }
    if (this.#events) this.#log.debug("Connection opened", c.fields);
    try {
      this.#opts.onConnect?.({ ...info });
    } catch (e) {
      this.#log.error(`onConnect failed: ${(e as Error).message}`, c.fields);
    }
    c.done = this.#serve(c);
  }

  async #serve(c: Connection): Promise<void> {
    const reader = new RecordReader(c.conn, {
      maxRecordSize: this.#maxRecord,
      // 64 KiB, not 16: with 32 pipelined 4 KiB WRITEs a 16 KiB buffer
      // took four times the socket reads and cut the rate to 0.55x
      // (bench/RESULTS.md, issue 16); 48 KiB more per connection is 3 MiB
      // at 64 connections.
      bufferSize: READ_BUFFER,
      pool: this.#records,
    });
    try {
      for (;;) {
        while (c.window >= this.#maxInFlight && !c.closed && !c.closing) {
          await new Promise<void>((res) => c.slot = res);
          c.slot = null;
        }
        if (c.closed || c.closing) break;
        let rec: Uint8Array | null | undefined;
        try {
          rec = await reader.next();
        } catch (e) {
          c.info.bytesIn = reader.bytesRead;
          if (e instanceof RecordError) {
            this.#log.warn(
              `Closing connection ${c.info.id} from ${c.info.remote.hostname}: ${e.message}`,
              c.fields,
            );
          } else if (!c.closed) {
            // A reset is how many clients (libnfs) say goodbye: not news.
            const level = e instanceof Deno.errors.ConnectionReset
              ? "debug"
              : "warn";
            this.#log[level](
              `Read failed on connection ${c.info.id}: ${(e as Error).message}`,
              c.fields,
            );
          }
          break;
        }
        c.info.bytesIn = reader.bytesRead;
        if (rec === null || c.closed || c.closing) break;
        c.lastActive = Date.now();
        // Dispatch every call this read brought in before awaiting again, so
        // their replies can share writes.
        do {
          c.info.requests++;
          void this.#dispatch(c, rec);
        } while (
          c.window < this.#maxInFlight && !c.closed && !c.closing &&
          (rec = reader.tryNext()) !== undefined
        );
      }
    } finally {
      // A peer that half-closed still gets the replies to its calls, and
      // `finished` waits for handlers even on a connection already closed.
      while (!c.idle) {
        await new Promise<void>((res) => c.drained = res);
        c.drained = null;
      }
      c.abort();
      this.#conns.delete(c.info.id);
      if (this.#metrics !== undefined) {
        this.#metrics.connections.open.dec();
        this.#metrics.connections.report(c.info, c);
      }
      if (this.#events) {
        this.#log.debug("Connection closed", {
          ...c.fields,
          requests: c.info.requests,
          bytesIn: c.info.bytesIn,
          bytesOut: c.info.bytesOut,
        });
      }
      try {
        this.#opts.onDisconnect?.({ ...c.info });
      } catch (e) {
        this.#log.error(
          `onDisconnect failed: ${(e as Error).message}`,
          c.fields,
        );
      }
    }
  }

  async #dispatch(c: Connection, rec: Uint8Array): Promise<void> {
    c.inflight++;
    try {
      await this.#handle(c, rec);
    } catch (e) {
      this.#log.error(
        `Call failed on connection ${c.info.id}: ${(e as Error).message}`,
        c.fields,
      );
    } finally {
      c.inflight--;
      c.slot?.();
      this.#settle(c);
    }
  }

  /** Wakes whoever waits for the connection to go quiet. */
  #settle(c: Connection): void {
    if (!c.idle) return;
    c.drained?.();
    if (c.closing) c.abort();
  }

  async #handle(c: Connection, rec: Uint8Array): Promise<void> {
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
    const w = this.#pool.acquire();
    if (r.remaining < 16) {
      if (r.remaining >= 4 && r.u32() !== RPC_VERSION) {
        encodeRpcMismatch(w, xid);
        return this.#send(c, w, null, Replied.RPC_MISMATCH);
      }
      encodeAcceptedReply(w, xid, AcceptStat.GARBAGE_ARGS);
      return this.#send(c, w, null, Replied.GARBAGE_ARGS);
    }
    const rpcvers = r.u32();
    if (rpcvers !== RPC_VERSION) {
      encodeRpcMismatch(w, xid);
      return this.#send(c, w, null, Replied.RPC_MISMATCH);
    }
    const program = r.u32();
    const version = r.u32();
    const procedure = r.u32();
    let auth: CallAuth | number;
    try {
      const cred = decodeOpaqueAuth(r, "cred");
      const verf = decodeOpaqueAuth(r, "verf");
      auth = credentialsOf(c, cred, verf);
    } catch {
      auth = AuthStat.AUTH_BADCRED;
    }
    if (typeof auth === "number") {
      encodeAuthError(w, xid, auth);
      return this.#send(c, w, null, Replied.AUTH_ERROR);
    }
    const versions = this.#programs.get(program);
    if (versions === undefined) {
      encodeAcceptedReply(w, xid, AcceptStat.PROG_UNAVAIL);
      return this.#send(c, w, null, Replied.PROG_UNAVAIL);
    }
    const prog = versions.get(version);
    if (prog === undefined) {
      encodeAcceptedReply(
        w,
        xid,
        AcceptStat.PROG_MISMATCH,
        versionRange(versions),
      );
      return this.#send(c, w, null, Replied.PROG_MISMATCH);
    }
    const proc = prog.procedures[procedure];
    if (proc === undefined) {
      encodeAcceptedReply(w, xid, AcceptStat.PROC_UNAVAIL);
      return this.#send(c, w, null, Replied.PROC_UNAVAIL);
    }
    let drcKey: string | null = null;
    if (proc.cached === true) {
      drcKey = DuplicateRequestCache.key(c.info.remote, {
        xid,
        program,
        version,
        procedure,
        args: rec.subarray(r.pos),
      });
      const hit = this.#drc.begin(drcKey, Date.now(), c.info.id);
      if (hit !== undefined) {
        this.#pool.release(w);
        if (hit !== null) {
          this.#metrics?.replays.inc();
          return this.#sendBytes(c, hit);
        }
        // The original is still running: its reply answers a retransmission
        // on its own connection, and is sent again on another.
        const reply = await this.#drc.follow(drcKey, c.info.id);
        if (reply !== undefined) {
          this.#metrics?.replays.inc();
          this.#sendBytes(c, reply);
        }
        return;
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
        let res = proc.run(args, call);
        if (res instanceof Promise) res = await res;
        if (proc.encode !== undefined) proc.encode(w, res);
      } else {
        const pending = proc.handler(r, w, call);
        if (pending !== undefined) await pending;
      }
    } catch (e) {
      w.reset();
      if (e instanceof XdrError && !decoded) {
        encodeAcceptedReply(w, xid, AcceptStat.GARBAGE_ARGS);
        replied = Replied.GARBAGE_ARGS;
      } else if (e instanceof RpcReplyError) {
        replied = Replied[e.status];
        if (e.status === "AUTH_ERROR") encodeAuthError(w, xid, e.auth);
        else {
          encodeAcceptedReply(
            w,
            xid,
            AcceptStat[e.status],
            versionRange(versions),
          );
        }
      } else {
        this.#log.error(
          `${prog.name} v${version} ${proc.name} failed, answering SYSTEM_ERR: ${
            (e as Error)?.stack ?? e
          }`,
          c.fields,
        );
        encodeAcceptedReply(w, xid, AcceptStat.SYSTEM_ERR);
        replied = Replied.SYSTEM_ERR;
      }
    }
    // Nothing holds the arguments of a row that borrows them any more: the
    // record's storage may serve the next large call.
    if (proc.handler === undefined && proc.borrowsArgs === true) {
      this.#records.give(rec);
    }
    if (this.#metrics !== undefined) {
      const m = this.#metrics.procedure(prog, procedure);
      m.calls.inc();
      m.latency.observe((performance.now() - start) / 1000);
    }
    this.#send(c, w, drcKey, replied);
  }

  /** Queues a reply; `replied` is its status for the metrics ({@link Replied}). */
  #send(
    c: Connection,
    w: XdrWriter,
    drcKey: string | null,
    replied: number,
  ): void {
    this.#metrics?.reply(replied);
    const { head, tail } = w.framed(recordMark);
    if (drcKey !== null) {
      this.#drc.finish(drcKey, tail === null ? head.slice() : join(head, tail));
    }
    if (c.closed) return this.#pool.release(w);
    c.unsent++;
    c.queue.push({ bytes: head, tail, writer: w });
    if (!c.writing) this.#flush(c);
  }

  #sendBytes(c: Connection, bytes: Uint8Array): void {
    if (c.closed) return;
    c.unsent++;
    c.queue.push({ bytes, tail: null, writer: null });
    if (!c.writing) this.#flush(c);
  }

  #flush(c: Connection): void {
    void flushQueue(c, this.#pool, this.#writeFailed, this.#settled);
  }

  /** One function for every connection's failed writes, not one per flush. */
  readonly #writeFailed = (c: Connection, e: Error): void => {
    this.#log.warn(
      `Write failed on connection ${c.info.id}: ${e.message}`,
      c.fields,
    );
  };

  readonly #settled = (c: Connection): void => this.#settle(c);
}
