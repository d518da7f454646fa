/**
 * One RPC server connection's state and the write path's helpers: the
 * reply queue, joining the replies that are ready into one write, the
 * write loop, the pool of reply writers, the per-connection cache of the
 * last AUTH_SYS credential, and the idle timer. `server.ts` runs the
 * connection.
 *
 * @module
 */

import type { ConnectionInfo } from "../net/mod.ts";
import { type LogFields, type Logger, peerOf } from "../telemetry/log.ts";
import { checkCredentials } from "./auth.ts";
import { AUTH_NONE_OPAQUE, AuthFlavor, type OpaqueAuth } from "./message.ts";
import type { CallAuth, RpcProgram } from "./program.ts";
import { XdrWriter } from "./xdr.ts";

/** A reply waiting to be written. */
export interface Outgoing {
  bytes: Uint8Array;
  /** Written right after `bytes`, as part of the same record. */
  tail: Uint8Array | null;
  writer: XdrWriter | null;
}

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

/** Largest write that several small replies are joined into. */
export const BATCH_BYTES = 64 * 1024;

/**
 * How many replies at the head of `queue` go out in the next write: one,
 * or several small ones joined up to {@link BATCH_BYTES}.
 */
export function batchSize(queue: Outgoing[]): number {
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
  return n;
}

/** Copies the first `n` replies of `queue` into `staging`; returns the part used. */
export function joinBatch(
  queue: Outgoing[],
  n: number,
  staging: Uint8Array,
): Uint8Array {
  let at = 0;
  for (let i = 0; i < n; i++) {
    staging.set(queue[i].bytes, at);
    at += queue[i].bytes.byteLength;
  }
  return staging.subarray(0, at);
}

/** One array holding `head` then `tail`. */
export function join(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.byteLength + tail.byteLength);
  out.set(head);
  out.set(tail, head.byteLength);
  return out;
}

/** Whether two arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Judges the credentials, reusing the last AUTH_SYS decode of this
 * connection when the bytes are the same: a client sends one credential
 * over and over, and comparing 40 bytes is cheaper than decoding them.
 */
export function credentialsOf(
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

const MAX_POOLED_WRITERS = 256;
const MAX_POOLED_CAPACITY = 1536 * 1024;
/**
 * The pool's buffers together, at most: without it 256 writers grown by
 * large replies (READDIR, READ under 64 KiB) could keep 384 MiB.
 */
const MAX_POOLED_BYTES = 4 * 1024 * 1024;

/**
 * Data at least this large that a handler passes to `opaqueRef` (a READ
 * reply's data) is written from where it lies, with a write of its own,
 * rather than copied into the reply buffer: a second write op costs a few
 * microseconds, copying 1 MiB costs more, and growing the buffer to hold it
 * costs more again.
 */
const REF_MIN = 64 * 1024;

/** Reply writers kept for reuse, so a call allocates no buffer. */
export class WriterPool {
  readonly #free: XdrWriter[] = [];
  /** The capacity of the writers in `#free`, summed. */
  #bytes = 0;

  /** A writer, empty. */
  acquire(): XdrWriter {
    const w = this.#free.pop();
    if (w === undefined) {
      return new XdrWriter({ size: 512, reserve: 4, refMin: REF_MIN });
    }
    this.#bytes -= w.capacity;
    return w;
  }

  /** Takes `w` back (unless the pool is full or `w` grew too large). */
  release(w: XdrWriter): void {
    const size = w.capacity;
    if (
      this.#free.length < MAX_POOLED_WRITERS &&
      size <= MAX_POOLED_CAPACITY && this.#bytes + size <= MAX_POOLED_BYTES
    ) {
      w.reset();
      this.#free.push(w);
      this.#bytes += size;
    }
  }
}

/**
 * Writes `c`'s queue until it is empty, with `c.writing` set meanwhile,
 * then calls `settled`; a failed write closes the connection (after
 * `failed` hears of it) and drops what is queued. One async function with
 * the write loop inline: a reply costs one promise chain rather than one
 * per helper, and fewer objects outlive a scavenge.
 */
export async function flushQueue(
  c: Connection,
  pool: WriterPool,
  failed: (c: Connection, e: Error) => void,
  settled: (c: Connection) => void,
): Promise<void> {
  const queue = c.queue;
  c.writing = true;
  // A reply queued while a write is in progress sees `writing` and leaves
  // it to this loop; `writing` drops in the same turn as the last look.
  try {
    while (queue.length > 0) {
      // Replies that queued up behind the previous write go out together:
      // a write op costs several microseconds in Deno, more than copying
      // a few small replies. Each reply is still whole and in order.
      // Replies queued during the write go behind these n: they stay put.
      const n = batchSize(queue);
      const bytes = n === 1
        ? queue[0].bytes
        : joinBatch(queue, n, c.staging ??= new Uint8Array(BATCH_BYTES));
      // Only the last reply of a batch can have a tail (see batchSize).
      const tail = queue[n - 1].tail;
      try {
        if (!c.closed) {
          let at = 0;
          while (at < bytes.byteLength) {
            at += await c.conn.write(at === 0 ? bytes : bytes.subarray(at));
          }
          c.info.bytesOut += at;
          if (tail !== null) {
            at = 0;
            while (at < tail.byteLength) {
              at += await c.conn.write(at === 0 ? tail : tail.subarray(at));
            }
            c.info.bytesOut += at;
          }
          c.lastActive = Date.now();
        }
      } catch (e) {
        if (!c.closed) failed(c, e as Error);
        c.abort();
      } finally {
        for (let i = 0; i < n; i++) {
          const w = queue[i].writer;
          if (w !== null) pool.release(w);
        }
        if (n === 1) queue.shift();
        else queue.splice(0, n);
        c.unsent -= n;
        c.slot?.();
      }
    }
  } finally {
    c.writing = false;
    settled(c);
  }
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
