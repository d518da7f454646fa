/**
 * Notices when the kernel's NBD connections die, from this process: it
 * keeps its own descriptor of each socket it handed over and waits in
 * poll(2) (on the thread pool) for a hang-up, which comes when the server
 * closes its end (or dies) and when the kernel shuts a socket down after a
 * request timed out. A socket that only carries data never wakes it
 * (POLLRDHUP is asked for, POLLIN is not).
 *
 * @module
 */

import { errnoText } from "../sys/_libc.ts";
import {
  type NbdLibc,
  O_CLOEXEC,
  O_NONBLOCK,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLRDHUP,
} from "./_libc.ts";

const POLLNVAL = 0x20;

/** Watches sockets for hang-ups until all hung up or {@link stop}. */
export class LinkWatcher {
  /** True once every socket hung up; false when stopped first. */
  readonly allDead: Promise<boolean>;
  /** Whether every socket hung up. */
  dead = false;
  readonly #lib: NbdLibc;
  readonly #wake: number;
  #stopped = false;
  #over = false;

  constructor(lib: NbdLibc, fds: number[]) {
    const wake = lib.eventfd(O_CLOEXEC | O_NONBLOCK);
    if (wake < 0) throw new Error(`eventfd failed: ${errnoText(wake)}`);
    this.#lib = lib;
    this.#wake = wake;
    this.allDead = this.#run(fds);
  }

  async #run(fds: number[]): Promise<boolean> {
    const n = fds.length + 1;
    const buf = new Uint8Array(8 * n);
    const v = new DataView(buf.buffer);
    const live = fds.slice();
    try {
      // Each round ends with a hang-up, a stop or a spurious wake-up.
      for (;;) {
        for (let i = 0; i < n; i++) {
          v.setInt32(i * 8, i < live.length ? live[i] : this.#wake, true);
          v.setInt16(i * 8 + 4, i < live.length ? POLLRDHUP : POLLIN, true);
          v.setInt16(i * 8 + 6, 0, true);
        }
        await this.#lib.pollAsync(buf, -1);
        if (this.#stopped) return false;
        for (let i = 0; i < live.length; i++) {
          const revents = v.getInt16(i * 8 + 6, true);
          if (revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
            live[i] = -1; // poll(2) skips negative descriptors
          }
        }
        if (live.every((fd) => fd < 0)) {
          this.dead = true;
          return true;
        }
      }
    } finally {
      this.#over = true;
      this.#lib.close(this.#wake);
    }
  }

  /** Ends the watch; resolves once its poll returned. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      // Once the watch is over its eventfd is closed (and its number free).
      if (!this.#over) this.#lib.signal(this.#wake);
    }
    await this.allDead;
  }
}
