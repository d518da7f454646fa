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

import { checkCredentials } from "./auth.ts";
import {
  Admission,
  type ConnectionInfo,
  type ConnectionOptions,
} from "../net/mod.ts";
import { DuplicateRequestCache } from "./drc.ts";
import {
  AcceptStat,
  AUTH_NONE_OPAQUE,
  AuthFlavor,
  AuthStat,
  decodeOpaqueAuth,
  encodeAcceptedReply,
  encodeAuthError,
  encodeRpcMismatch,
  MsgType,
  type OpaqueAuth,
  RPC_VERSION,
} from "./message.ts";
import type { CallAuth, CallContext, RpcProgram } from "./program.ts";
import { RpcReplyError } from "./program.ts";
import {
  DEFAULT_MAX_RECORD,
  RecordError,
  recordMark,
  RecordReader,
} from "./record.ts";
import { XdrError, XdrReader, XdrWriter } from "./xdr.ts";

/** Options of {@link serveRpc}. */
export interface RpcServerOptions extends ConnectionOptions {
  /** Address to listen on; default "127.0.0.1" ("::1" or "::" for IPv6). */
  hostname?: string;
  /** TCP port; 0 (the default) picks a free one. 111 needs root. */
  port?: number;
  /** Aborting it shuts the server down, like `shutdown()`. */
  signal?: AbortSignal;
  /** The programs to serve; more can be added with `register`. */
  programs: RpcProgram[];
  /** Calls in flight per connection before reading pauses. Default 64. */
  maxInFlight?: number;
  /** Largest record accepted. Default 4 MiB + 64 KiB. */
  maxRecordSize?: number;
  /** Duplicate-request cache bounds (for procedures marked `cached`). */
  drc?: { entries?: number; ttlMs?: number };
  /** Called once listening, with the bound address. */
  onListen?: (addr: Deno.NetAddr) => void;
  /** Where log lines go; default `console.error`. */
  log?: (msg: string) => void;
}

/** A running RPC server. */
export interface RpcServer {
  /** The address the server listens on. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting, lets in-flight calls finish and their replies go out,
   * closes every connection, and resolves with `finished`.
   */
  shutdown(): Promise<void>;
  /** A snapshot of the live connections. */
  connections(): ConnectionInfo[];
  /** Closes connection `id` at once; false if there is no such connection. */
  disconnect(id: number): boolean;
  /** Adds a program version (replacing one with the same numbers). */
  register(program: RpcProgram): void;
  /** The registered program versions. */
  programs(): RpcProgram[];
}

const MAX_POOLED_WRITERS = 256;
const MAX_POOLED_CAPACITY = 1536 * 1024;

/**
 * Data at least this large that a handler passes to `opaqueRef` (a READ
 * reply's data) is written from where it lies, with a write of its own,
 * rather than copied into the reply buffer: a second write op costs a few
 * microseconds, copying 1 MiB costs more, and growing the buffer to hold it
 * costs more again.
 */
const REF_MIN = 64 * 1024;

interface Outgoing {
  bytes: Uint8Array;
  /** Written right after `bytes`, as part of the same record. */
  tail: Uint8Array | null;
  writer: XdrWriter | null;
}

class Connection {
  readonly conn: Deno.TcpConn;
  readonly info: ConnectionInfo;
  inflight = 0;
  /** Replies queued or being written: they hold a place in the window too. */
  unsent = 0;
  writing = false;
  closed = false;
  closing = false;
  lastActive = Date.now();
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly queue: Outgoing[] = [];
  staging: Uint8Array | undefined;
  lastCred: Uint8Array | null = null;
  lastAuth: CallAuth | null = null;
  slot: (() => void) | null = null;
  drained: (() => void) | null = null;
  done!: Promise<void>;

  constructor(conn: Deno.TcpConn, info: ConnectionInfo) {
    this.conn = conn;
    this.info = info;
  }

  /** Places taken in the in-flight window. */
  get window(): number {
    return this.inflight + this.unsent;
  }

  get idle(): boolean {
    return this.inflight === 0 && !this.writing && this.queue.length === 0;
  }

  abort(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    try {
      this.conn.close();
    } catch {
      // Already closed by the peer side of a failed write.
    }
  }
}

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
  readonly #pool: XdrWriter[] = [];
  readonly #drc: DuplicateRequestCache;
  readonly #admission: Admission;
  readonly #opts: RpcServerOptions;
  readonly #log: (msg: string) => void;
  readonly #maxInFlight: number;
  readonly #maxRecord: number;
  readonly #idleMs: number;
  #nextId = 1;
  #closing = false;
  #onAbort: (() => void) | undefined;

  constructor(options: RpcServerOptions) {
    this.#opts = options;
    this.#log = options.log ?? ((m) => console.error(`netfs rpc: ${m}`));
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
        this.#log(`Accept failed: ${(e as Error).message}`);
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
        this.#log(`Closing program ${p.name} failed: ${(e as Error).message}`);
      }
    }
    if (this.#onAbort) {
      this.#opts.signal?.removeEventListener("abort", this.#onAbort);
    }
  }

  #admit(conn: Deno.TcpConn): void {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const refuse = (why: string) => {
      this.#log(`Refused ${remote.hostname}:${remote.port}: ${why}`);
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
    this.#armIdle(c, this.#idleMs);
    try {
      this.#opts.onConnect?.({ ...info });
    } catch (e) {
      this.#log(`onConnect failed: ${(e as Error).message}`);
    }
    c.done = this.#serve(c);
  }

  async #serve(c: Connection): Promise<void> {
    const reader = new RecordReader(c.conn, { maxRecordSize: this.#maxRecord });
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
            this.#log(
              `Closing connection ${c.info.id} from ${c.info.remote.hostname}: ${e.message}`,
            );
          } else if (!c.closed) {
            this.#log(
              `Read failed on connection ${c.info.id}: ${(e as Error).message}`,
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
      try {
        this.#opts.onDisconnect?.({ ...c.info });
      } catch (e) {
        this.#log(`onDisconnect failed: ${(e as Error).message}`);
      }
    }
  }

  #armIdle(c: Connection, ms: number): void {
    if (this.#idleMs <= 0 || c.closed) return;
    c.idleTimer = setTimeout(() => {
      c.idleTimer = undefined;
      if (c.closed) return;
      const quiet = Date.now() - c.lastActive;
      if (c.idle && quiet >= this.#idleMs) {
        this.#log(`Closing idle connection ${c.info.id} after ${quiet} ms`);
        c.abort();
        return;
      }
      this.#armIdle(c, c.idle ? this.#idleMs - quiet : this.#idleMs);
    }, Math.max(1, ms));
  }

  async #dispatch(c: Connection, rec: Uint8Array): Promise<void> {
    c.inflight++;
    try {
      await this.#handle(c, rec);
    } catch (e) {
      this.#log(
        `Call failed on connection ${c.info.id}: ${(e as Error).message}`,
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

  /**
   * Judges the credentials, reusing the last AUTH_SYS decode of this
   * connection when the bytes are the same: a client sends one credential
   * over and over, and comparing 40 bytes is cheaper than decoding them.
   */
  #credentials(
    c: Connection,
    cred: OpaqueAuth,
    verf: OpaqueAuth,
  ): CallAuth | number {
    if (
      cred.flavor === AuthFlavor.AUTH_SYS && verf === AUTH_NONE_OPAQUE &&
      c.lastCred !== null && sameBytes(c.lastCred, cred.body)
    ) {
      return c.lastAuth!;
    }
    const auth = checkCredentials(cred, verf);
    if (typeof auth === "object" && auth.flavor === 1) {
      Object.freeze(auth.sys.gids);
      Object.freeze(auth.sys);
      c.lastCred = cred.body.slice();
      c.lastAuth = Object.freeze(auth);
    }
    return auth;
  }

  #acquire(): XdrWriter {
    return this.#pool.pop() ??
      new XdrWriter({ size: 512, reserve: 4, refMin: REF_MIN });
  }

  #release(w: XdrWriter): void {
    if (
      this.#pool.length < MAX_POOLED_WRITERS &&
      w.capacity <= MAX_POOLED_CAPACITY
    ) {
      w.reset();
      this.#pool.push(w);
    }
  }

  async #handle(c: Connection, rec: Uint8Array): Promise<void> {
    if (rec.byteLength < 8) {
      this.#log(
        `Dropped a ${rec.byteLength}-byte record from ${c.info.remote.hostname}: too short for an RPC header`,
      );
      return;
    }
    const r = new XdrReader(rec);
    const xid = r.u32();
    const mtype = r.u32();
    if (mtype !== MsgType.CALL) {
      this.#log(
        `Dropped a message that is not a call from ${c.info.remote.hostname}: msg_type ${mtype}, xid ${xid}`,
      );
      return;
    }
    const w = this.#acquire();
    if (r.remaining < 16) {
      if (r.remaining >= 4 && r.u32() !== RPC_VERSION) {
        encodeRpcMismatch(w, xid);
      } else encodeAcceptedReply(w, xid, AcceptStat.GARBAGE_ARGS);
      return this.#send(c, w, null);
    }
    const rpcvers = r.u32();
    if (rpcvers !== RPC_VERSION) {
      encodeRpcMismatch(w, xid);
      return this.#send(c, w, null);
    }
    const program = r.u32();
    const version = r.u32();
    const procedure = r.u32();
    let auth: CallAuth | number;
    try {
      const cred = decodeOpaqueAuth(r, "cred");
      const verf = decodeOpaqueAuth(r, "verf");
      auth = this.#credentials(c, cred, verf);
    } catch {
      auth = AuthStat.AUTH_BADCRED;
    }
    if (typeof auth === "number") {
      encodeAuthError(w, xid, auth);
      return this.#send(c, w, null);
    }
    const versions = this.#programs.get(program);
    if (versions === undefined) {
      encodeAcceptedReply(w, xid, AcceptStat.PROG_UNAVAIL);
      return this.#send(c, w, null);
    }
    const prog = versions.get(version);
    if (prog === undefined) {
      encodeAcceptedReply(
        w,
        xid,
        AcceptStat.PROG_MISMATCH,
        versionRange(versions),
      );
      return this.#send(c, w, null);
    }
    const proc = prog.procedures[procedure];
    if (proc === undefined) {
      encodeAcceptedReply(w, xid, AcceptStat.PROC_UNAVAIL);
      return this.#send(c, w, null);
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
        this.#release(w);
        if (hit !== null) return this.#sendBytes(c, hit);
        // The original is still running: its reply answers a retransmission
        // on its own connection, and is sent again on another.
        const reply = await this.#drc.follow(drcKey, c.info.id);
        if (reply !== undefined) this.#sendBytes(c, reply);
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
      } else if (e instanceof RpcReplyError) {
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
        this.#log(
          `${prog.name} v${version} ${proc.name} failed, answering SYSTEM_ERR: ${
            (e as Error)?.stack ?? e
          }`,
        );
        encodeAcceptedReply(w, xid, AcceptStat.SYSTEM_ERR);
      }
    }
    this.#send(c, w, drcKey);
  }

  #send(c: Connection, w: XdrWriter, drcKey: string | null): void {
    const { head, tail } = w.framed(recordMark);
    if (drcKey !== null) {
      this.#drc.finish(drcKey, tail === null ? head.slice() : join(head, tail));
    }
    if (c.closed) return this.#release(w);
    c.unsent++;
    c.queue.push({ bytes: head, tail, writer: w });
    if (!c.writing) void this.#flush(c);
  }

  #sendBytes(c: Connection, bytes: Uint8Array): void {
    if (c.closed) return;
    c.unsent++;
    c.queue.push({ bytes, tail: null, writer: null });
    if (!c.writing) void this.#flush(c);
  }

  async #flush(c: Connection): Promise<void> {
    c.writing = true;
    try {
      while (c.queue.length > 0) {
        // Replies that queued up behind the previous write go out together:
        // a write op costs several microseconds in Deno, more than copying
        // a few small replies. Each reply is still whole and in order.
        const batch = takeBatch(c.queue);
        const bytes = batch.length === 1
          ? batch[0].bytes
          : joinBatch(batch, c.staging ??= new Uint8Array(BATCH_BYTES));
        // Only the last reply of a batch can have a tail (see takeBatch).
        const tail = batch[batch.length - 1].tail;
        try {
          if (!c.closed) {
            await writeAll(c.conn, bytes);
            c.info.bytesOut += bytes.byteLength;
            if (tail !== null) {
              await writeAll(c.conn, tail);
              c.info.bytesOut += tail.byteLength;
            }
            c.lastActive = Date.now();
          }
        } catch (e) {
          if (!c.closed) {
            this.#log(
              `Write failed on connection ${c.info.id}: ${
                (e as Error).message
              }`,
            );
          }
          c.abort();
        } finally {
          for (const out of batch) if (out.writer) this.#release(out.writer);
          c.unsent -= batch.length;
          c.slot?.();
        }
      }
    } finally {
      c.writing = false;
      this.#settle(c);
    }
  }
}

/** Largest write that several small replies are joined into. */
const BATCH_BYTES = 64 * 1024;

function takeBatch(queue: Outgoing[]): Outgoing[] {
  let n = 1;
  let total = queue[0].bytes.byteLength;
  // A reply with a tail ends a batch: its tail must follow its head.
  while (
    n < queue.length && queue[n - 1].tail === null &&
    total + queue[n].bytes.byteLength <= BATCH_BYTES
  ) {
    total += queue[n].bytes.byteLength;
    n++;
  }
  return queue.splice(0, n);
}

function joinBatch(batch: Outgoing[], staging: Uint8Array): Uint8Array {
  let at = 0;
  for (const out of batch) {
    staging.set(out.bytes, at);
    at += out.bytes.byteLength;
  }
  return staging.subarray(0, at);
}

function join(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.byteLength + tail.byteLength);
  out.set(head);
  out.set(tail, head.byteLength);
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.byteLength) {
    at += await conn.write(at === 0 ? bytes : bytes.subarray(at));
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function versionRange(
  versions: Map<number, RpcProgram>,
): { low: number; high: number } {
  let low = 0xffffffff;
  let high = 0;
  for (const v of versions.keys()) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return { low, high };
}
