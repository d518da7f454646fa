/**
 * The connection series every netfs server keeps in a registry, under its
 * own prefix (`netfs_rpc`, `netfs_nbd`): connections open and accepted,
 * and bytes received and sent. Bytes are taken from a connection's own
 * counters when the metrics are read and when it closes (see
 * {@link ConnectionMetrics.report}), never added per read or write.
 *
 * @module
 */

import type { CounterChild, GaugeChild, MetricsRegistry } from "./metrics.ts";

/** Bytes of one connection already added to the totals. */
export interface Reported {
  reportedIn: number;
  reportedOut: number;
}

/** A server's connection series. */
export class ConnectionMetrics {
  /** Connections open now. */
  readonly open: GaugeChild;
  /** Connections accepted. */
  readonly total: CounterChild;
  readonly #bytesIn: CounterChild;
  readonly #bytesOut: CounterChild;

  /** Registers (or finds) `PREFIX_connections_open` and the rest; `what` names the protocol in the help texts. */
  constructor(registry: MetricsRegistry, prefix: string, what: string) {
    this.open = registry.gauge(
      `${prefix}_connections_open`,
      `${what} connections open now.`,
    ).with();
    this.total = registry.counter(
      `${prefix}_connections_total`,
      `${what} connections accepted.`,
    ).with();
    this.#bytesIn = registry.counter(
      `${prefix}_received_bytes_total`,
      `Bytes received on ${what} connections.`,
    ).with();
    this.#bytesOut = registry.counter(
      `${prefix}_sent_bytes_total`,
      `Bytes sent on ${what} connections.`,
    ).with();
  }

  /** Adds what a connection moved (`now`) since `reported`, and updates it. */
  report(now: { bytesIn: number; bytesOut: number }, reported: Reported): void {
    this.#bytesIn.inc(now.bytesIn - reported.reportedIn);
    this.#bytesOut.inc(now.bytesOut - reported.reportedOut);
    reported.reportedIn = now.bytesIn;
    reported.reportedOut = now.bytesOut;
  }
}
