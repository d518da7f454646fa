/**
 * An ONC RPC client over TCP: many calls in flight on one connection,
 * matched by xid, each with its own timeout; AUTH_NONE or AUTH_SYS.
 *
 * Failures are typed: {@link RpcAcceptError} (the server accepted the call
 * but answered PROG_UNAVAIL, PROG_MISMATCH with `low`/`high`, PROC_UNAVAIL,
 * GARBAGE_ARGS or SYSTEM_ERR), {@link RpcRejectError} (RPC_MISMATCH or
 * AUTH_ERROR with `authStat`), {@link RpcTimeoutError} and
 * {@link RpcClosedError}, all subclasses of {@link RpcError}.
 *
 * @example A call the server refuses fails with a typed error
 * ```ts
 * import { RpcAcceptError, RpcClient, RpcError, serveRpc } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const server = serveRpc({
 *   programs: [{
 *     program: 0x20000001,
 *     version: 2,
 *     name: "demo",
 *     procedures: { 0: { name: "NULL", handler: () => {} } },
 *   }],
 * });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await assert.rejects(
 *   client.call(0x20000001, 1, 0, () => {}), // version 1 is not served
 *   (e) =>
 *     e instanceof RpcAcceptError && e instanceof RpcError &&
 *     e.statusName === "PROG_MISMATCH" && e.low === 2 && e.high === 2,
 * );
 * client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import { authSysCredential } from "./auth.ts";
import {
  AcceptStat,
  AUTH_NONE_OPAQUE,
  decodeReplyHeader,
  encodeCallHeader,
  type OpaqueAuth,
} from "./message.ts";
import type { AuthSysParms } from "./program.ts";
import {
  DEFAULT_MAX_RECORD,
  recordMark,
  RecordPool,
  RecordReader,
} from "./record.ts";
import { XdrReader, XdrWriter } from "./xdr.ts";
import { settle } from "./_settle.ts";
import {
  RpcAcceptError,
  RpcClosedError,
  RpcError,
  RpcRejectError,
  RpcTimeoutError,
} from "./client_errors.ts";

export * from "./client_errors.ts";

/** Options of {@link RpcClient.connect}. */
export interface RpcClientOptions {
  /** Server host name or address. */
  hostname: string;
  /** Server port. */
  port: number;
  /** Credentials for every call: AUTH_SYS parameters or "none" (default). */
  auth?: AuthSysParms | "none";
  /** Default per-call timeout (ms); 0 for none. Default 30000. */
  timeoutMs?: number;
  /** Largest reply accepted. Default 4 MiB + 64 KiB. */
  maxRecordSize?: number;
}

/** Per-call options of {@link RpcClient.call}. */
export interface CallOptions {
  /** Timeout for this call (ms); 0 for none. */
  timeoutMs?: number;
  /** Credentials for this call instead of the client's. */
  auth?: AuthSysParms | "none";
  /**
   * The xid to send instead of the next one: a caller that resends a call
   * on a new connection keeps its xid, so a server's duplicate-request
   * cache can recognise it. Rejected while another call with it waits.
   */
  xid?: number;
}

/** Largest write that several small calls are joined into. */
const BATCH_BYTES = 64 * 1024;

/**
 * Arguments data at least this large that an encoder passes to
 * `XdrWriter.opaqueRef` (a WRITE's) goes to the socket from the caller's
 * array, in a write of its own, instead of being copied into the call's
 * buffer (and the buffer grown to hold it).
 */
const REF_MIN = 16 * 1024;

interface Pending {
  resolve: (r: XdrReader) => void;
  reject: (e: Error) => void;
  /** `performance.now()` after which the call times out; 0 for never. */
  deadline: number;
  program: number;
  version: number;
  procedure: number;
  ms: number;
}

/**
 * A connected RPC client.
 *
 * @example Pipelined calls with arguments and results
 * ```ts
 * import { RpcClient, serveRpc } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const server = serveRpc({
 *   programs: [{
 *     program: 0x20000001,
 *     version: 1,
 *     name: "echo",
 *     procedures: {
 *       1: {
 *         name: "UPPER",
 *         handler: (args, reply) => {
 *           reply.string(args.string(64).toUpperCase());
 *         },
 *       },
 *     },
 *   }],
 * });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const upper = async (s: string) =>
 *   (await client.call(0x20000001, 1, 1, (w) => w.string(s))).string(64);
 * // Both calls are in flight at once on the one connection.
 * assert.deepEqual(await Promise.all([upper("one"), upper("two")]), ["ONE", "TWO"]);
 * client.close();
 * await server.shutdown();
 * ```
 */
export class RpcClient {
  readonly #conn: Deno.TcpConn;
  readonly #pending = new Map<number, Pending>();
  readonly #cred: OpaqueAuth;
  readonly #timeoutMs: number;
  readonly #reader: RecordReader;
  /** Storage for large replies, handed back with `recycle`. */
  readonly #pool = new RecordPool();
  readonly #queue: Uint8Array[] = [];
  #writing = false;
  #staging: Uint8Array | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #xid: number;
  /** Calls made so far. */
  #calls = 0;
  #closed: Error | null = null;
  /** Resolves when the connection's read loop has ended. */
  readonly closed: Promise<void>;

  private constructor(conn: Deno.TcpConn, options: RpcClientOptions) {
    this.#conn = conn;
    this.#cred = credentialOf(options.auth);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#reader = new RecordReader(conn, {
      maxRecordSize: options.maxRecordSize ?? DEFAULT_MAX_RECORD,
      pool: this.#pool,
    });
    this.#xid = crypto.getRandomValues(new Uint32Array(1))[0];
    this.closed = this.#readLoop();
  }

  /**
   * Connects to an RPC server.
   *
   * @param options Where to connect, credentials and timeouts.
   */
  static async connect(options: RpcClientOptions): Promise<RpcClient> {
    const conn = await Deno.connect({
      hostname: options.hostname,
      port: options.port,
      transport: "tcp",
    });
    try {
      conn.setNoDelay(true);
    } catch { /* not fatal */ }
    return new RpcClient(conn, options);
  }

  /** The local address of the connection. */
  get localAddr(): Deno.NetAddr {
    return this.#conn.localAddr;
  }

  /** Calls awaiting their reply. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Calls `procedure` of `program` version `version` with the arguments
   * `encodeArgs` writes, and resolves to a reader positioned at the
   * results. Rejects with an {@link RpcError} subclass.
   *
   * Data of 16 KiB or more that `encodeArgs` passes to
   * `XdrWriter.opaqueRef` (a WRITE's) is sent from the caller's array
   * rather than copied: keep it unchanged until the call settles.
   *
   * The numbers come first, as every RPC specification writes them; this
   * is the one public signature with more than two positional arguments.
   *
   * @param program Program number.
   * @param version Program version.
   * @param procedure Procedure number.
   * @param encodeArgs Writes the procedure arguments.
   * @param options Timeout and credentials for this call.
   */
  call(
    program: number,
    version: number,
    procedure: number,
    encodeArgs: (w: XdrWriter) => void,
    options: CallOptions = {},
  ): Promise<XdrReader> {
    if (this.#closed) return Promise.reject(this.#closed);
    this.#calls++;
    let xid: number;
    if (options.xid === undefined) {
      xid = this.#xid = (this.#xid + 1) >>> 0;
      // Skips an xid a caller chose and is still waiting on.
      while (this.#pending.has(xid)) xid = this.#xid = (xid + 1) >>> 0;
    } else if (this.#pending.has(xid = options.xid >>> 0)) {
      return Promise.reject(new RpcError(`Xid already in flight: ${xid}`));
    }
    const w = new XdrWriter({ size: 256, reserve: 4, refMin: REF_MIN });
    const cred = options.auth === undefined
      ? this.#cred
      : credentialOf(options.auth);
    encodeCallHeader(w, { xid, program, version, procedure, cred });
    try {
      encodeArgs(w);
    } catch (e) {
      return Promise.reject(e);
    }
    const { head, tail } = w.framed(recordMark);
    return new Promise<XdrReader>((resolve, reject) => {
      const ms = options.timeoutMs ?? this.#timeoutMs;
      const deadline = ms > 0 ? performance.now() + ms : 0;
      this.#pending.set(xid, {
        resolve,
        reject,
        deadline,
        program,
        version,
        procedure,
        ms,
      });
      if (deadline > 0) this.#arm(deadline);
      this.#queue.push(head);
      if (tail !== null) this.#queue.push(tail);
      if (!this.#writing) void this.#flush();
    });
  }

  /**
   * Hands back the storage of a reply the caller is done with: `bytes` is
   * any view of it (a READ's data), and neither it nor any other view of
   * that reply may be used again. Large replies are read into reused
   * storage, which saves a fresh, zero-filled array per 1 MiB READ; any
   * other array is ignored.
   *
   * @param bytes A view of a reply this client delivered.
   */
  recycle(bytes: Uint8Array): void {
    this.#pool.give(new Uint8Array(bytes.buffer as ArrayBuffer));
  }

  /**
   * One timer per client, armed for the earliest deadline, instead of one
   * per call: with many calls in flight, timers cost more than the calls.
   * It is unref'd, so an idle client does not keep a program alive.
   */
  #arm(deadline: number): void {
    if (deadline >= this.#timerAt || this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(
      () => this.#sweep(),
      Math.max(0, deadline - performance.now()),
    );
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [xid, p] of this.#pending) {
      if (p.deadline === 0) continue;
      if (p.deadline <= now) {
        this.#pending.delete(xid);
        p.reject(
          new RpcTimeoutError(
            `Call timed out: program ${p.program} version ${p.version} procedure ${p.procedure}, xid ${xid}, after ${p.ms} ms`,
          ),
        );
      } else if (p.deadline < next) next = p.deadline;
    }
    if (next < Infinity) this.#arm(next);
  }

  /**
   * Closes the connection; calls still waiting reject with
   * {@link RpcClosedError}. Await {@link RpcClient.closed} to know the read
   * loop has ended.
   */
  close(): void {
    this.#shut(new RpcClosedError("Connection closed: by the client"));
  }

  #shut(reason: Error): void {
    if (this.#closed) return;
    this.#closed = reason;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const p of this.#pending.values()) p.reject(reason);
    this.#pending.clear();
    this.#queue.length = 0;
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        // Calls made while a write was in progress go out in one write
        // (small ones only): a write op costs more than the copy.
        let n = 1;
        let total = this.#queue[0].byteLength;
        while (
          n < this.#queue.length &&
          total + this.#queue[n].byteLength <= BATCH_BYTES
        ) {
          total += this.#queue[n].byteLength;
          n++;
        }
        const batch = this.#queue.splice(0, n);
        let bytes = batch[0];
        if (n > 1) {
          const staging = this.#staging ??= new Uint8Array(BATCH_BYTES);
          let at = 0;
          for (const b of batch) {
            staging.set(b, at);
            at += b.byteLength;
          }
          bytes = staging.subarray(0, at);
        }
        let at = 0;
        while (at < bytes.byteLength) {
          at += await this.#conn.write(at === 0 ? bytes : bytes.subarray(at));
        }
      }
    } catch (e) {
      this.#shut(
        new RpcClosedError(
          `Connection closed: write failed: ${(e as Error).message}`,
        ),
      );
    } finally {
      this.#writing = false;
    }
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        const rec = await this.#reader.next();
        if (rec === null) {
          this.#shut(new RpcClosedError("Connection closed: by the server"));
          return;
        }
        this.#deliver(rec);
        // Settle every reply already buffered before awaiting again, so the
        // calls their callers make next can share a write.
        for (let r = this.#reader.tryNext(); r; r = this.#reader.tryNext()) {
          this.#deliver(r);
        }
        if (this.#reader.filledLast) {
          // Read to its last byte: let its caller make the next call before
          // the socket is read again (see `_settle.ts`).
          const calls = this.#calls;
          await settle(() => this.#calls === calls && this.#closed === null);
        }
      }
    } catch (e) {
      this.#shut(
        this.#closed ??
          new RpcClosedError(`Connection closed: ${(e as Error).message}`),
      );
    }
  }

  #deliver(rec: Uint8Array): void {
    if (rec.byteLength < 4) return;
    const r = new XdrReader(rec);
    const xid = new DataView(rec.buffer, rec.byteOffset, 4).getUint32(0);
    const p = this.#pending.get(xid);
    if (p === undefined) return; // Late reply to a timed-out call.
    this.#pending.delete(xid);
    let h;
    try {
      h = decodeReplyHeader(r);
    } catch (e) {
      p.reject(new RpcError(`Malformed reply: ${(e as Error).message}`));
      return;
    }
    if (h.replyStat === 1) {
      p.reject(new RpcRejectError(h.rejectStat, h));
    } else if (h.acceptStat !== AcceptStat.SUCCESS) {
      p.reject(new RpcAcceptError(h.acceptStat, h));
    } else p.resolve(r);
  }
}

function credentialOf(auth: AuthSysParms | "none" | undefined): OpaqueAuth {
  return auth === undefined || auth === "none"
    ? AUTH_NONE_OPAQUE
    : authSysCredential(auth);
}
