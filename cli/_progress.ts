/**
 * A progress line for long copies: bytes, percentage, rate and time left,
 * redrawn on standard error at most five times a second, and only when
 * standard error is a terminal (a pipe or a log file gets nothing).
 *
 * @module
 */

const encoder = new TextEncoder();

/** `1.5 GiB`, `12.0 MiB`, `512 B`. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${units[u]}`;
}

/** `0:42`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** The progress of one copy. */
export class Progress {
  readonly #total: number;
  readonly #show: boolean;
  readonly #start = performance.now();
  #done = 0;
  #drawn = 0;

  /** Shows progress towards `total` bytes when `enabled` and stderr is a terminal. */
  constructor(total: number, enabled: boolean) {
    this.#total = total;
    this.#show = enabled && Deno.stderr.isTerminal();
  }

  /** Counts `n` more bytes. */
  add(n: number): void {
    this.#done += n;
    const now = performance.now();
    if (this.#show && now - this.#drawn >= 200) {
      this.#drawn = now;
      this.#draw(now);
    }
  }

  /** Draws the final state and ends the line. */
  done(): void {
    if (!this.#show) return;
    this.#draw(performance.now());
    Deno.stderr.writeSync(encoder.encode("\n"));
  }

  #draw(now: number): void {
    const secs = Math.max((now - this.#start) / 1000, 1e-3);
    const rate = this.#done / secs;
    const pct = this.#total ? Math.floor(100 * this.#done / this.#total) : 100;
    const left = rate > 0 ? (this.#total - this.#done) / rate : 0;
    const line = `\r${formatBytes(this.#done)} / ${
      formatBytes(this.#total)
    }  ${pct}%  ${formatBytes(rate)}/s  ETA ${formatDuration(left)}\x1b[K`;
    Deno.stderr.writeSync(encoder.encode(line));
  }
}
