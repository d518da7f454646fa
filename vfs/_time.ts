// Time sources. Times handed to clients must strictly increase, or two
// changes within one clock tick look like one to a caching NFS client.
import type { Time } from "./types.ts";

/** The current system time as a {@link Time}. */
export function systemTime(): Time {
  const ms = Date.now();
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: (ms - sec * 1000) * 1_000_000 };
}

/** A clock that never returns the same or an earlier time twice. */
export function strictClock(source: () => Time): () => Time {
  let last: Time = { sec: -Infinity, nsec: 0 };
  return () => {
    let t = source();
    if (t.sec < last.sec || (t.sec === last.sec && t.nsec <= last.nsec)) {
      t = last.nsec >= 999_999_999
        ? { sec: last.sec + 1, nsec: 0 }
        : { sec: last.sec, nsec: last.nsec + 1 };
    }
    last = t;
    return t;
  };
}

/** `t` as milliseconds since the epoch (for host file-system calls). */
export function timeToMs(t: Time): number {
  return t.sec * 1000 + t.nsec / 1_000_000;
}
