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

import { armIdle, Connection } from "./_connection.ts";
import { Dispatcher } from "./_dispatch.ts";
import { Replies } from "./_replies.ts";
import { Admission, type ConnectionInfo } from "../net/mod.ts";
import { type LowWaterMarks, openLowWater } from "../net/_low_water.ts";
import { DuplicateRequestCache } from "./drc.ts";
import type { RpcProgram } from "./program.ts";
import {
  DEFAULT_MAX_RECORD,
  RecordError,
  RecordPool,
  RecordReader,
} from "./record.ts";
import { type Logger, peerOf } from "../telemetry/log.ts";
import { messageLogger } from "../telemetry/_message_logger.ts";
import { RpcMetrics } from "./_metrics.ts";
import { settle } from "./_settle.ts";
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
  /** Large records' storage, reused after calls that borrow their arguments. */
  readonly #records = new RecordPool();
  readonly #dispatcher: Dispatcher;
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
  /** Receive low-water marks (net/_low_water.ts), if set. */
  readonly #lowWater: LowWaterMarks | undefined;
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
    const drc = new DuplicateRequestCache(options.drc);
    this.#dispatcher = new Dispatcher(this.#programs, {
      replies: new Replies(drc, this.#metrics, this.#log),
      records: this.#records,
      drc,
      metrics: this.#metrics,
      log: this.#log,
    });
    for (const p of options.programs) this.register(p);
    this.#listener = Deno.listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      transport: "tcp",
    });
    this.addr = this.#listener.addr;
    try {
      this.#lowWater = openLowWater(options.lowWater);
    } catch (e) {
      this.#listener.close();
      throw e;
    }
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
    this.#lowWater?.close();
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
      lowWater: this.#lowWater?.watch(c.conn, () => c.closed),
    });
    // The last record was read to its last byte (`filledLast`): let its
    // call reply before the socket is read again (see `_settle.ts`).
    let long = false;
    try {
      for (;;) {
        while (c.window >= this.#maxInFlight && !c.closed && !c.closing) {
          await new Promise<void>((res) => c.slot = res);
          c.slot = null;
        }
        if (c.closed || c.closing) break;
        let rec: Uint8Array | null | undefined;
        let large = false;
        try {
          // A record already buffered is taken at once; otherwise the
          // socket is read here, into the receive buffer: an async call per
          // record (RecordReader.next) would cost ~700 bytes of garbage per
          // call. A record too large for that buffer is left to `next`.
          rec = reader.tryNextView();
          while (rec === undefined) {
            const room = reader.room();
            if (room === undefined) {
              rec = await reader.next();
              large = true;
              long = reader.filledLast;
              break;
            }
            if (long) {
              long = false;
              await settle(() => c.inflight > 0);
              if (c.closed) {
                rec = null;
                break;
              }
            }
            const got = await c.conn.read(room);
            if (got === null) {
              reader.end();
              rec = null;
              break;
            }
            reader.received(got);
            rec = reader.tryNextView();
          }
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
        // their replies can share writes. A record from the receive buffer
        // is a view of it, which the dispatcher copies before anything
        // waits (it chooses where to); one `next` read is the call's own.
        let view = !large;
        do {
          c.info.requests++;
          this.#dispatcher.dispatch(c, rec, view);
          view = true;
        } while (
          c.window < this.#maxInFlight && !c.closed && !c.closing &&
          (rec = reader.tryNextView()) !== undefined
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
}
