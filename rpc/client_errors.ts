/**
 * The failures `RpcClient.call` reports: an error for each way an ONC RPC
 * call can fail (accepted with an error status, rejected, timed out, closed).
 * Re-exported by `client.ts`.
 *
 * @module
 */
import {
  ACCEPT_STAT_NAMES,
  AcceptStat,
  AUTH_STAT_NAMES,
  RejectStat,
} from "./message.ts";

/**
 * Base class of every failure `RpcClient.call` reports.
 */
export class RpcError extends Error {
  /**
   * Creates the error.
   *
   * @param message What went wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "RpcError";
  }
}

/**
 * The server accepted the call but did not run it successfully.
 */
export class RpcAcceptError extends RpcError {
  /** The `accept_stat` (see `AcceptStat`). */
  readonly status: number;
  /** Its name, such as "PROC_UNAVAIL". */
  readonly statusName: string;
  /** Lowest version the server supports (PROG_MISMATCH only). */
  readonly low: number;
  /** Highest version the server supports (PROG_MISMATCH only). */
  readonly high: number;

  /**
   * Creates the error.
   *
   * @param status The accept status.
   * @param mismatch The version range, for PROG_MISMATCH.
   */
  constructor(status: number, mismatch: { low: number; high: number } = {
    low: 0,
    high: 0,
  }) {
    const name = ACCEPT_STAT_NAMES[status] ?? `accept_stat ${status}`;
    super(
      status === AcceptStat.PROG_MISMATCH
        ? `Call refused: ${name}, versions ${mismatch.low} to ${mismatch.high}`
        : `Call refused: ${name}`,
    );
    this.name = "RpcAcceptError";
    this.status = status;
    this.statusName = name;
    this.low = mismatch.low;
    this.high = mismatch.high;
  }
}

/**
 * The server rejected the call: RPC_MISMATCH or AUTH_ERROR.
 *
 * @example A program that requires AUTH_SYS rejects AUTH_NONE
 * ```ts
 * import { AuthStat, RpcClient, RpcRejectError, RpcReplyError, serveRpc } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const server = serveRpc({
 *   programs: [{
 *     program: 0x20000001,
 *     version: 1,
 *     name: "strict",
 *     procedures: {
 *       1: {
 *         name: "WHOAMI",
 *         handler: (_args, reply, call) => {
 *           if (call.auth.flavor !== 1) {
 *             throw new RpcReplyError("AUTH_ERROR", "AUTH_SYS required", AuthStat.AUTH_TOOWEAK);
 *           }
 *           reply.u32(call.auth.sys.uid);
 *         },
 *       },
 *     },
 *   }],
 * });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await assert.rejects(client.call(0x20000001, 1, 1, () => {}), (e) =>
 *   e instanceof RpcRejectError && e.authStat === AuthStat.AUTH_TOOWEAK &&
 *   e.message === "Call rejected: AUTH_ERROR AUTH_TOOWEAK");
 *
 * const auth = { stamp: 0, machineName: "me", uid: 1000, gid: 1000, gids: [] };
 * const reply = await client.call(0x20000001, 1, 1, () => {}, { auth });
 * assert.equal(reply.u32(), 1000);
 * client.close();
 * await server.shutdown();
 * ```
 */
export class RpcRejectError extends RpcError {
  /** The `reject_stat`: 0 RPC_MISMATCH, 1 AUTH_ERROR. */
  readonly status: number;
  /** The `auth_stat`, for AUTH_ERROR. */
  readonly authStat: number;
  /** Lowest RPC version supported (RPC_MISMATCH only). */
  readonly low: number;
  /** Highest RPC version supported (RPC_MISMATCH only). */
  readonly high: number;

  /**
   * Creates the error.
   *
   * @param status The reject status.
   * @param detail `authStat` for AUTH_ERROR, `low`/`high` for RPC_MISMATCH.
   */
  constructor(
    status: number,
    detail: { authStat?: number; low?: number; high?: number } = {},
  ) {
    const authStat = detail.authStat ?? 0;
    super(
      status === RejectStat.RPC_MISMATCH
        ? `Call rejected: RPC_MISMATCH, versions ${detail.low ?? 0} to ${
          detail.high ?? 0
        }`
        : `Call rejected: AUTH_ERROR ${
          AUTH_STAT_NAMES[authStat] ?? `auth_stat ${authStat}`
        }`,
    );
    this.name = "RpcRejectError";
    this.status = status;
    this.authStat = authStat;
    this.low = detail.low ?? 0;
    this.high = detail.high ?? 0;
  }
}

/**
 * No reply arrived within the call's timeout.
 *
 * @example A per-call timeout
 * ```ts
 * import { RpcClient, RpcTimeoutError, serveRpc } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const { promise: released, resolve: release } = Promise.withResolvers<void>();
 * const server = serveRpc({
 *   programs: [{
 *     program: 0x20000001,
 *     version: 1,
 *     name: "slow",
 *     procedures: { 1: { name: "WAIT", handler: () => released } },
 *   }],
 * });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await assert.rejects(
 *   client.call(0x20000001, 1, 1, () => {}, { timeoutMs: 20 }),
 *   RpcTimeoutError,
 * );
 * release();
 * client.close();
 * await server.shutdown();
 * ```
 */
export class RpcTimeoutError extends RpcError {
  /**
   * Creates the error.
   *
   * @param message Which call, after how long.
   */
  constructor(message: string) {
    super(message);
    this.name = "RpcTimeoutError";
  }
}

/**
 * The connection closed (by `close()`, the peer or a broken stream) before
 * the reply arrived.
 *
 * @example
 * ```ts
 * import { RpcClient, RpcClosedError, serveRpc } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const server = serveRpc({ programs: [] });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * client.close();
 * await client.closed;
 * await assert.rejects(
 *   client.call(0x20000001, 1, 0, () => {}),
 *   (e) => e instanceof RpcClosedError && e.message === "Connection closed: by the client",
 * );
 * await server.shutdown();
 * ```
 */
export class RpcClosedError extends RpcError {
  /**
   * Creates the error.
   *
   * @param message Why the connection closed.
   */
  constructor(message: string) {
    super(message);
    this.name = "RpcClosedError";
  }
}
