/**
 * What the protocol clients call through: an `RpcClient`, or a
 * {@link ReconnectingRpc} that reconnects when the server drops the
 * connection and resends idempotent calls with their original xid.
 *
 * What it guarantees: a call that is not idempotent is never sent twice
 * (a connection lost while it waited fails it with an `RpcClosedError`
 * that says it may have run); an idempotent one is resent at most
 * `retries` times; a server that stays away fails every call with an
 * `RpcClosedError` naming the address and the last connect error, after
 * at most `retries` connection attempts per call.
 *
 * @example A dropped connection is repaired under an idempotent call
 * ```ts
 * import { ReconnectingRpc } from "@netfs/netfs/client";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/", fs: new MemFs() }] });
 * const rpc = await ReconnectingRpc.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await rpc.call(100003, 3, 0, () => {}, { idempotent: true }); // NFSv3 NULL
 * for (const c of server.connections()) server.disconnect(c.id);
 * await rpc.call(100003, 3, 0, () => {}, { idempotent: true }); // on a new connection
 * assert.equal(rpc.reconnects, 1);
 * rpc.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import {
  type CallOptions,
  RpcClient,
  type RpcClientOptions,
  RpcClosedError,
} from "../rpc/client.ts";
import type { XdrReader, XdrWriter } from "../rpc/xdr.ts";

/** Per-call options of an {@link RpcCaller}. */
export interface CallerOptions extends CallOptions {
  /**
   * Whether the call may run twice with the same effect, and so may be
   * resent on a new connection. Default false.
   */
  idempotent?: boolean;
}

/**
 * The part of `RpcClient` the protocol clients use. `RpcClient` satisfies
 * it (it ignores `idempotent`); {@link ReconnectingRpc} acts on it.
 */
export interface RpcCaller {
  /**
   * Calls a procedure and resolves to a reader at its results.
   *
   * @param program Program number.
   * @param version Program version.
   * @param procedure Procedure number.
   * @param encodeArgs Writes the arguments.
   * @param options Timeout, credentials, idempotence.
   */
  call(
    program: number,
    version: number,
    procedure: number,
    encodeArgs: (w: XdrWriter) => void,
    options?: CallerOptions,
  ): Promise<XdrReader>;
  /** Closes the connection; calls still waiting fail. */
  close(): void;
  /** Resolves when the connection's read loop has ended, after `close`. */
  readonly closed: Promise<void>;
  /**
   * Hands back the storage of a reply no view of which is used again (see
   * `RpcClient.recycle`). Optional: a caller without it lets the garbage
   * collector have the reply.
   */
  recycle?(bytes: Uint8Array): void;
}

/** Options of {@link ReconnectingRpc.connect}. */
export interface ReconnectingRpcOptions extends RpcClientOptions {
  /**
   * How often one call may reconnect (and resend, when idempotent) before
   * it fails. Default 3.
   */
  retries?: number;
  /** Wait before the first reconnect attempt (ms), doubled each time. Default 100. */
  retryDelayMs?: number;
}

/**
 * An RPC connection that comes back: when the server closes it (a restart,
 * an idle timeout, a network fault), the next call opens a new one. Calls
 * in flight when it broke are resent with the same xid if idempotent.
 */
export class ReconnectingRpc implements RpcCaller {
  readonly #options: ReconnectingRpcOptions;
  readonly #retries: number;
  readonly #delay: number;
  #rpc: RpcClient | undefined;
  #connecting: Promise<RpcClient> | undefined;
  #closed = false;
  #xid = crypto.getRandomValues(new Uint32Array(1))[0];
  #reconnects = 0;
  #last: Promise<void> = Promise.resolve();

  private constructor(rpc: RpcClient, options: ReconnectingRpcOptions) {
    this.#options = options;
    this.#retries = Math.max(0, options.retries ?? 3);
    this.#delay = Math.max(0, options.retryDelayMs ?? 100);
    this.#adopt(rpc);
  }

  /**
   * Connects; fails as `RpcClient.connect` does when nothing listens.
   *
   * @param options Where to connect, credentials, timeouts and retries.
   */
  static async connect(
    options: ReconnectingRpcOptions,
  ): Promise<ReconnectingRpc> {
    return new ReconnectingRpc(await RpcClient.connect(options), options);
  }

  /** How many times a new connection replaced a lost one. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Whether a connection is open now (a call would not have to reconnect). */
  get connected(): boolean {
    return this.#rpc !== undefined;
  }

  /** The address this connects to, as "host:port". */
  get address(): string {
    const h = this.#options.hostname;
    return `${h.includes(":") ? `[${h}]` : h}:${this.#options.port}`;
  }

  /**
   * Calls a procedure; see {@link RpcCaller.call}.
   *
   * @param program Program number.
   * @param version Program version.
   * @param procedure Procedure number.
   * @param encodeArgs Writes the arguments.
   * @param options Timeout, credentials, idempotence.
   */
  async call(
    program: number,
    version: number,
    procedure: number,
    encodeArgs: (w: XdrWriter) => void,
    options: CallerOptions = {},
  ): Promise<XdrReader> {
    const xid = this.#xid = (this.#xid + 1) >>> 0;
    const callOptions = { ...options, xid };
    for (let attempt = 0;; attempt++) {
      const rpc = await this.#client(attempt);
      try {
        return await rpc.call(
          program,
          version,
          procedure,
          encodeArgs,
          callOptions,
        );
      } catch (e) {
        if (!(e instanceof RpcClosedError) || this.#closed) throw e;
        if (this.#rpc === rpc) this.#rpc = undefined;
        if (!options.idempotent) {
          throw new RpcClosedError(
            `Connection lost: ${this.address} during procedure ${procedure} of program ${program}, not resent as it may have run: ${e.message}`,
          );
        }
        if (attempt >= this.#retries) {
          throw new RpcClosedError(
            `Server went away: ${this.address} after ${
              attempt + 1
            } tries: ${e.message}`,
          );
        }
      }
    }
  }

  /**
   * Hands back the storage of a reply no view of which is used again (see
   * `RpcClient.recycle`); a reply of an earlier connection is ignored.
   *
   * @param bytes A view of a reply.
   */
  recycle(bytes: Uint8Array): void {
    this.#rpc?.recycle(bytes);
  }

  /** Closes the connection for good; waiting calls fail. */
  close(): void {
    this.#closed = true;
    this.#rpc?.close();
    this.#rpc = undefined;
  }

  /** Resolves when the current connection's read loop has ended. */
  get closed(): Promise<void> {
    return this.#rpc?.closed ?? this.#last;
  }

  #adopt(rpc: RpcClient): void {
    this.#rpc = rpc;
    this.#last = rpc.closed;
    rpc.closed.then(() => {
      if (this.#rpc === rpc) this.#rpc = undefined;
    });
  }

  /** The open connection, or a new one (`attempt` > 0 waits first). */
  #client(attempt: number): Promise<RpcClient> {
    if (this.#closed) {
      return Promise.reject(
        new RpcClosedError("Connection closed: by the client"),
      );
    }
    if (this.#rpc !== undefined) return Promise.resolve(this.#rpc);
    this.#connecting ??= this.#reconnect(attempt).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #reconnect(attempt: number): Promise<RpcClient> {
    let last: unknown;
    for (let i = 0; i <= this.#retries; i++) {
      if (attempt + i > 0) {
        await new Promise((r) =>
          setTimeout(r, this.#delay * 2 ** Math.min(i, 6))
        );
      }
      if (this.#closed) break;
      try {
        const rpc = await RpcClient.connect(this.#options);
        if (this.#closed) {
          rpc.close();
          break;
        }
        this.#reconnects++;
        this.#adopt(rpc);
        return rpc;
      } catch (e) {
        last = e;
      }
    }
    if (this.#closed) {
      throw new RpcClosedError("Connection closed: by the client");
    }
    throw new RpcClosedError(
      `Server went away: ${this.address}: ${
        (last as Error)?.message ?? "no connection"
      }`,
    );
  }
}
