/**
 * One RPC server connection's state: its window of calls in flight and
 * replies unsent, the reply queue (written by `_replies.ts`), the cache of
 * the last AUTH_SYS credential it sent, and the idle timer. `server.ts`
 * runs the connection's read loop, `_dispatch.ts` its calls.
 *
 * @module
 */

import type { ConnectionInfo } from "../net/mod.ts";
import { type LogFields, type Logger, peerOf } from "../telemetry/log.ts";
import { checkCredentials } from "./auth.ts";
import {
  AuthFlavor,
  AuthStat,
  decodeOpaqueAuth,
  type OpaqueAuth,
} from "./message.ts";
import type { CallAuth, RpcProgram } from "./program.ts";
import type { Outgoing } from "./_replies.ts";
import type { XdrReader } from "./xdr.ts";

/** One accepted connection. */
export class Connection {
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
  /** Replies at the head of `queue` in the write in progress. */
  batch = 0;
  /** The part of that batch being written (its joined bytes, or a tail). */
  out: Uint8Array | null = null;
  /** Bytes of `out` written so far. */
  outAt = 0;
  /** The write promises' callbacks, made once per connection. */
  wrote: ((n: number) => void) | null = null;
  writeFailed: ((e: unknown) => void) | null = null;
  /** Where several small replies are joined into one write. */
  staging: Uint8Array | undefined;
  lastCred: Uint8Array | null = null;
  lastAuth: CallAuth | null = null;
  slot: (() => void) | null = null;
  drained: (() => void) | null = null;
  done!: Promise<void>;
  /** Bytes already added to the metrics' totals. */
  reportedIn = 0;
  /** Bytes already added to the metrics' totals. */
  reportedOut = 0;
  #fields: LogFields | undefined;

  constructor(conn: Deno.TcpConn, info: ConnectionInfo) {
    this.conn = conn;
    this.info = info;
  }

  /** The fields of this connection's log lines: its id and peer. */
  get fields(): LogFields {
    return this.#fields ??= {
      conn: this.info.id,
      peer: peerOf(this.info.remote),
    };
  }

  /** Places taken in the in-flight window. */
  get window(): number {
    return this.inflight + this.unsent;
  }

  get idle(): boolean {
    return this.inflight === 0 && !this.writing && this.queue.length === 0;
  }

  /** A call has ended (its reply queued, or none): frees its place. */
  callEnded(): void {
    this.inflight--;
    this.slot?.();
    this.settle();
  }

  /** Wakes whoever waits for the connection to go quiet. */
  settle(): void {
    if (!this.idle) return;
    this.drained?.();
    if (this.closing) this.abort();
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
 * Closes `c` once it has been idle (nothing in flight or queued) for
 * `idleMs` (0: never), checking again after each quiet spell.
 */
export function armIdle(
  c: Connection,
  idleMs: number,
  log: Logger,
  ms = idleMs,
): void {
  if (idleMs <= 0 || c.closed) return;
  c.idleTimer = setTimeout(() => {
    c.idleTimer = undefined;
    if (c.closed) return;
    const quiet = Date.now() - c.lastActive;
    if (c.idle && quiet >= idleMs) {
      log.info(
        `Closing idle connection ${c.info.id} after ${quiet} ms`,
        c.fields,
      );
      c.abort();
      return;
    }
    armIdle(c, idleMs, log, c.idle ? idleMs - quiet : idleMs);
  }, Math.max(1, ms));
}

/** The big-endian 32-bit word at `at` of `b` (the caller checked it is there). */
function u32At(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>>
    0;
}

/** Whether `b` holds the bytes of `want` at `at` (the caller checked the length). */
function holdsAt(b: Uint8Array, at: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.byteLength; i++) {
    if (b[at + i] !== want[i]) return false;
  }
  return true;
}

/**
 * Reads a call's credential and verifier from `r` and judges them: the
 * decoded {@link CallAuth}, or the `auth_stat` to reject the call with
 * (AUTH_BADCRED for a credential or verifier that cannot be decoded). A
 * client sends one credential over and over: when the bytes at `r` are the
 * AUTH_SYS credential this connection sent last, with an AUTH_NONE
 * verifier, they are compared where they lie and the last decode is
 * reused, with nothing allocated.
 */
export function credentialsAt(
  c: Connection,
  r: XdrReader,
): CallAuth | number {
  const last = c.lastCred;
  if (last !== null) {
    const b = r.buf;
    const at = r.pos;
    const n = last.byteLength;
    const verf = at + 8 + ((n + 3) & ~3);
    if (
      verf + 8 <= b.byteLength && u32At(b, at) === AuthFlavor.AUTH_SYS &&
      u32At(b, at + 4) === n && holdsAt(b, at + 8, last) &&
      u32At(b, verf) === AuthFlavor.AUTH_NONE && u32At(b, verf + 4) === 0
    ) {
      r.pos = verf + 8;
      return c.lastAuth!;
    }
  }
  let cred: OpaqueAuth;
  let verf: OpaqueAuth;
  try {
    cred = decodeOpaqueAuth(r, "cred");
    verf = decodeOpaqueAuth(r, "verf");
  } catch {
    return AuthStat.AUTH_BADCRED;
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

/** The lowest and highest registered versions, for PROG_MISMATCH. */
export function versionRange(
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
