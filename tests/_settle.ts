// Waiting for a counter to stop moving, for the backpressure tests: bounded
// in time, polled every 25 ms.

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
