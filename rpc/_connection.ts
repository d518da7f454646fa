/**
 * One RPC server connection's state and the write path's helpers: the
 * reply queue, joining the replies that are ready into one write, and the
 * write loop. `server.ts` runs the connection; this holds what it keeps.
 *
 * @module
 */

import type { ConnectionInfo } from "../net/mod.ts";
import type { CallAuth } from "./program.ts";
import type { XdrWriter } from "./xdr.ts";

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

/** Largest write that several small replies are joined into. */
export const BATCH_BYTES = 64 * 1024;

/** Takes the replies that go out in the next write, in order. */
export function takeBatch(queue: Outgoing[]): Outgoing[] {
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

/** Copies a batch into `staging`; returns the part used. */
export function joinBatch(batch: Outgoing[], staging: Uint8Array): Uint8Array {
  let at = 0;
  for (const out of batch) {
    staging.set(out.bytes, at);
    at += out.bytes.byteLength;
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

/** Writes all of `bytes` (a write may take part of them). */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let at = 0;
  while (at < bytes.byteLength) {
    at += await conn.write(at === 0 ? bytes : bytes.subarray(at));
  }
}

/** Whether two arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
