// What the backpressure tests share: a sender that pipelines requests and
// never reads a reply, waiting for a counter to stop moving, and the checks
// that the sender was held. Every wait is bounded in time.
import assert from "node:assert/strict";

/** Polls `value` until it has not changed for `quietMs` (at most `maxMs`). */
export async function settled(
  value: () => number,
  quietMs = 300,
  maxMs = 10_000,
): Promise<number> {
  const end = Date.now() + maxMs;
  let last = value();
  let since = Date.now();
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 25));
    const now = value();
    if (now !== last) [last, since] = [now, Date.now()];
    else if (Date.now() - since >= quietMs) break;
  }
  return last;
}

/** A sender that never reads: how many it sent, and its end. */
export interface Flood {
  readonly calls: number;
  sent(): number;
  /** Settles when every request was sent or the connection closed. */
  done: Promise<void>;
}

/**
 * Writes `calls` requests made by `one(i)` (i from 1) to `conn`, 256 to a
 * write, and reads nothing.
 */
export function flood(
  conn: { write(p: Uint8Array): Promise<number> },
  calls: number,
  one: (i: number) => Uint8Array,
): Flood {
  let sent = 0;
  const done = (async () => {
    for (let i = 0; i < calls; i += 256) {
      const recs = Array.from(
        { length: Math.min(256, calls - i) },
        (_, k) => one(i + k + 1),
      );
      const buf = new Uint8Array(recs.reduce((n, r) => n + r.byteLength, 0));
      let at = 0;
      for (const r of recs) {
        buf.set(r, at);
        at += r.byteLength;
      }
      for (let w = 0; w < buf.byteLength;) {
        w += await conn.write(buf.subarray(w));
      }
      sent += recs.length;
    }
  })().catch(() => {});
  return { calls, sent: () => sent, done };
}

/**
 * Waits for the server's request count to settle, then asserts that the
 * sender is stalled, the server stopped reading, and this process's memory
 * grew by less than 128 MiB meanwhile. Returns the requests served.
 */
export async function assertHeld(
  f: Flood,
  served: () => number,
): Promise<number> {
  const rss0 = Deno.memoryUsage().rss;
  const held = await settled(served, 500, 30_000);
  const grown = Deno.memoryUsage().rss - rss0;
  assert.ok(
    f.sent() < f.calls,
    `the sender is stalled: ${f.sent()} of ${f.calls} sent`,
  );
  assert.ok(held < f.calls, `the server stopped reading at ${held}`);
  // The RSS is this whole process's: the flooding client's garbage is in it
  // too (21-97 MiB for the NBD flood on a loaded 2-core machine while the
  // server held at the same request count), so the bound is loose; the
  // held count above is the sharper proof.
  assert.ok(grown < 128 << 20, `server memory grew by ${grown >> 20} MiB`);
  return held;
}

/** Asserts that the median of `lat` (ms) is under 20 ms. */
export function assertMedian(lat: number[], what: string): void {
  const sorted = [...lat].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  assert.ok(median < 20, `${what} median latency: ${median.toFixed(2)} ms`);
}
