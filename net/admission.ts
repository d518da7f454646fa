/**
 * The admission rule every netfs server applies to an accepted peer, so
 * that the RPC and NBD servers refuse the same peers for the same reasons.
 *
 * @module
 */

import { AllowList, LOOPBACK } from "./allow.ts";
import type { ConnectionOptions } from "./connection.ts";

/**
 * The admission rule: the allowed clients, then the `accept` hook (a
 * throwing hook refuses), then the connection limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Admission } from "@netfs/netfs";
 * const gate = new Admission({ maxConnections: 1 });
 * const peer = { transport: "tcp" as const, hostname: "127.0.0.1", port: 4000 };
 * assert.equal(gate.refusal(peer, 0), undefined);
 * assert.equal(gate.refusal(peer, 1), "too many connections: 1");
 * ```
 */
export class Admission {
  readonly #allow: AllowList;
  readonly #accept: ((remote: Deno.NetAddr) => boolean) | undefined;
  /** The connection limit in force. */
  readonly maxConnections: number;

  /** Reads `allow` (default {@link LOOPBACK}), `accept` and `maxConnections` (default 1024). */
  constructor(options: ConnectionOptions) {
    this.#allow = new AllowList(options.allow ?? LOOPBACK);
    this.#accept = options.accept;
    this.maxConnections = options.maxConnections ?? 1024;
  }

  /**
   * Why `remote` must be refused while `live` connections are open, or
   * undefined to admit it.
   */
  refusal(remote: Deno.NetAddr, live: number): string | undefined {
    if (!this.#allow.allows(remote.hostname)) {
      return "not in the allowed clients";
    }
    if (this.#accept) {
      try {
        if (!this.#accept(remote)) return "accept hook said no";
      } catch (e) {
        return `accept hook failed: ${(e as Error).message}`;
      }
    }
    if (live >= this.maxConnections) {
      return `too many connections: ${this.maxConnections}`;
    }
    return undefined;
  }
}
