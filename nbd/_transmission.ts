/**
 * The shell of the transmission phase: reads request headers and payloads
 * from the stream, asks `_commands.ts` what each means, runs many at once
 * against the device (bounded by count and by bytes), and writes each reply
 * whole as it completes; the replies to the requests that one socket read
 * brought in go out in one write. Every byte it sends is built by `_commands.ts` and
 * `_replies.ts`; what stays here is I/O, scheduling and shutdown.
 *
 * Guarantees: at most `maxInFlight` requests and {@link BYTE_BUDGET} bytes of
 * payloads and read replies per connection at once, and reading pauses
 * while more than `maxInFlight` replies wait to be written (a client that
 * sends faster than it reads replies is paused, not buffered, however small
 * its replies: tests/nbd/backpressure_test.ts); replies never
 * interleave; on DISC, end of stream or a fatal error, what is in flight is
 * answered before the phase ends; on graceful shutdown new requests get
 * ESHUTDOWN and the connection closes once nothing is in flight.
 *
 * @module
 */

import {
  onRequest,
  parseRequest,
  readNow,
  run,
  shutdownReply,
  txState,
  writeTarget,
  written,
} from "./_commands.ts";
import type { Negotiated } from "./_handshake.ts";
import type { Reply } from "./_replies.ts";
import type { ServerContext, Session } from "./_session.ts";
import { BufferPool, MessageWriter } from "./_stream.ts";
import { Cmd } from "./_constants.ts";

/** Bytes of write payloads and read replies one connection may hold at once. */
const BYTE_BUDGET = 128 * 1024 * 1024;

/** Hooks the server uses to end a connection in transmission. */
export interface TransmissionControl {
  /** Called on graceful shutdown: finish in-flight requests, then close. */
  shutdown?: () => void;
  /** Requests in flight now. */
  inflight: () => number;
  /** Bytes written by the transmission phase. */
  bytesOut: () => number;
}

/** Runs the transmission phase until DISC, end of stream, or a fatal error. */
export async function transmit(
  s: Session,
  ctx: ServerContext,
  neg: Negotiated,
  control: TransmissionControl,
): Promise<void> {
  const tx = txState(ctx, neg);
  const reader = s.reader;
  const writer = new MessageWriter(s.stream);
  const pool = new BufferPool();
  let inflight = 0;
  let inflightBytes = 0;
  let slotWaiter: (() => void) | undefined;
  let drainWaiter: (() => void) | undefined;
  let stopping = false;

  control.inflight = () => inflight;
  control.bytesOut = () => writer.bytesOut;
  const closeWhenIdle = () => {
    if (stopping) return;
    stopping = true;
    writer.idle().then(() => s.close());
  };
  control.shutdown = () => {
    if (inflight === 0) closeWhenIdle();
  };

  const send = (reply: Reply) => {
    if (reply instanceof Uint8Array) writer.send(reply);
    else if (reply.data) writer.sendParts([reply.head, reply.data]);
    else {
      const buf = reply.head;
      writer.send(buf, () => pool.release(buf));
    }
  };

  // Only with a registry: a closure per request is the cost of measuring.
  const m = ctx.metrics;
  const sendMeasured =
    (r: { type: number; length: number }, start: number) => (reply: Reply) => {
      send(reply);
      m!.done(r.type, r.length, start);
    };

  const done = (cost: number) => {
    inflight--;
    inflightBytes -= cost;
    const w = slotWaiter;
    slotWaiter = undefined;
    w?.();
    if (inflight === 0) {
      const d = drainWaiter;
      drainWaiter = undefined;
      d?.();
      if (ctx.shuttingDown) closeWhenIdle();
    }
  };

  // Replies to the requests of one read from the socket go out together:
  // the writer is corked once a read returns and uncorked before anything
  // is awaited that may wait for the peer (the reader's beforeRead) or for
  // a reply (the slot wait; waitBelow and idle uncork themselves).
  reader.beforeRead = () => writer.uncork();
  try {
    for (;;) {
      while (inflight >= ctx.maxInFlight || inflightBytes >= BYTE_BUDGET) {
        writer.uncork();
        await new Promise<void>((r) => slotWaiter = r);
      }
      if (
        writer.pendingBytes > BYTE_BUDGET ||
        writer.pendingCount > ctx.maxInFlight
      ) {
        await writer.waitBelow(BYTE_BUDGET / 2, ctx.maxInFlight >> 1);
      }
      if (!await reader.fill(tx.headerSize)) break;
      writer.cork();
      const r = parseRequest(tx, reader.take(tx.headerSize));
      if ("do" in r) {
        s.log(ctx, r.log);
        break;
      }
      s.info.requests++;
      const start = m === undefined ? 0 : performance.now();
      const next = onRequest(tx, r);
      if (next.do === "close") {
        s.log(ctx, next.log);
        break;
      }
      if (next.do === "disconnect") {
        m?.done(r.type, 0, start);
        break;
      }
      if (next.do === "skip") {
        if (!await reader.skip(r.length)) break;
        writer.cork();
        send(next.reply);
        m?.done(r.type, r.length, start);
        continue;
      }
      let payload: Uint8Array | undefined;
      if (next.do === "payload") {
        const view = ctx.shuttingDown || stopping
          ? undefined
          : writeTarget(tx, r);
        if (view) {
          // Zero copy: the payload goes straight into device memory.
          if (!await reader.readInto(view)) break;
          writer.cork();
          const cost = r.length;
          inflight++;
          inflightBytes += cost;
          const reply = written(tx, r, pool);
          if (reply instanceof Promise) {
            reply.then(m === undefined ? send : sendMeasured(r, start))
              .finally(() => done(cost));
          } else {
            // Nothing left to wait for: answer now, no promise round trip.
            send(reply);
            m?.done(r.type, r.length, start);
            done(cost);
          }
          continue;
        }
        payload = pool.get(r.length);
        if (!await reader.readInto(payload)) break;
        writer.cork();
      }
      if (ctx.shuttingDown || stopping) {
        if (payload) pool.release(payload);
        send(shutdownReply(tx, r));
        m?.done(r.type, r.length, start);
        continue;
      }
      const now = readNow(tx, r, pool);
      if (now) {
        send(now);
        m?.done(r.type, r.length, start);
        continue;
      }
      const cost = payload
        ? payload.length
        : r.type === Cmd.READ
        ? Math.min(r.length, tx.maxPayload)
        : 0;
      inflight++;
      inflightBytes += cost;
      const p = payload;
      run(tx, r, p, pool).then(
        m === undefined ? send : sendMeasured(r, start),
      ).finally(() => {
        if (p) pool.release(p);
        done(cost);
      });
    }
  } catch (e) {
    if (!s.closed) s.log(ctx, (e as Error)?.message ?? String(e));
  } finally {
    reader.beforeRead = undefined;
    writer.uncork();
  }
  if (inflight > 0) await new Promise<void>((r) => drainWaiter = r);
  await writer.idle();
}
