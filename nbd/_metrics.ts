/**
 * What the NBD server measures when given a registry. The series of each
 * command type are looked up once, so a measured request allocates
 * nothing:
 *
 * - `netfs_nbd_commands_total{command}`: requests answered, by type (READ,
 *   WRITE, FLUSH, TRIM, CACHE, WRITE_ZEROES, BLOCK_STATUS, DISC, and
 *   "other" for the rest), refusals and ESHUTDOWN answers included;
 * - `netfs_nbd_command_bytes_total{command}`: the bytes those requests
 *   cover (their length field: read, written, trimmed, zeroed…);
 * - `netfs_nbd_command_duration_seconds{command}`: from the request header
 *   read to its reply queued;
 * - `netfs_nbd_connections_open`, `netfs_nbd_connections_total`;
 * - `netfs_nbd_received_bytes_total`, `netfs_nbd_sent_bytes_total`: taken
 *   from the connections' own counters when one ends and whenever the
 *   metrics are read.
 *
 * @module
 */

import type {
  CounterChild,
  HistogramChild,
  MetricsRegistry,
} from "../telemetry/metrics.ts";
import { ConnectionMetrics } from "../telemetry/_connection_metrics.ts";
import { Cmd } from "./_constants.ts";

const OTHER = "other";

/** The NBD server's series in one registry. */
export class NbdMetrics {
  readonly #commands: CounterChild[] = [];
  readonly #bytes: CounterChild[] = [];
  readonly #latency: HistogramChild[] = [];
  /** Connections and their bytes. */
  readonly connections: ConnectionMetrics;

  /** Registers (or finds) the series in `registry`. */
  constructor(registry: MetricsRegistry) {
    const commands = registry.counter(
      "netfs_nbd_commands_total",
      "NBD requests answered, by command.",
      ["command"],
    );
    const bytes = registry.counter(
      "netfs_nbd_command_bytes_total",
      "Bytes covered by NBD requests (their length), by command.",
      ["command"],
    );
    const latency = registry.histogram(
      "netfs_nbd_command_duration_seconds",
      "Time from an NBD request's header to its reply being queued.",
      { labelNames: ["command"] },
    );
    // Index = command number; one past the last is "other".
    const names = [...Object.keys(Cmd), OTHER];
    for (const name of names) {
      this.#commands.push(commands.with(name));
      this.#bytes.push(bytes.with(name));
      this.#latency.push(latency.with(name));
    }
    this.connections = new ConnectionMetrics(registry, "netfs_nbd", "NBD");
  }

  /** Counts one answered request of `type` covering `length` bytes, begun at `start` (ms). */
  done(type: number, length: number, start: number): void {
    const i = type < this.#commands.length - 1
      ? type
      : this.#commands.length - 1;
    this.#commands[i].inc();
    this.#bytes[i].inc(length);
    this.#latency[i].observe((performance.now() - start) / 1000);
  }
}
