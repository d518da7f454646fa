/**
 * What the RPC server measures when given a registry, with every series a
 * call touches looked up once per (program, version, procedure) and kept,
 * so measuring a call allocates nothing:
 *
 * - `netfs_rpc_calls_total{program,version,procedure}` and
 *   `netfs_rpc_call_duration_seconds{…}`: calls that reached a procedure,
 *   counted when answered, and the time from decoding the header to the
 *   reply being queued;
 * - `netfs_rpc_replies_total{status}`: every reply by accept status
 *   (SUCCESS … SYSTEM_ERR) or reject status (RPC_MISMATCH, AUTH_ERROR);
 * - `netfs_rpc_drc_replays_total`: retransmissions answered from the
 *   duplicate-request cache;
 * - `netfs_rpc_connections_open`, `netfs_rpc_connections_total`;
 * - `netfs_rpc_received_bytes_total`, `netfs_rpc_sent_bytes_total`: taken
 *   from the connections' own counters when a connection ends and whenever
 *   the metrics are read, not added per read or write.
 *
 * The `program` label is the program's `name` ("nfs", "mountd", "portmap").
 *
 * @module
 */

import type {
  CounterChild,
  HistogramChild,
  MetricsRegistry,
} from "../telemetry/metrics.ts";
import { ConnectionMetrics } from "../telemetry/_connection_metrics.ts";
import { AcceptStat } from "./message.ts";
import type { RpcProgram } from "./program.ts";

/** Index of a reply status in {@link REPLY_STATUSES}: accept stats by number, then the rejects. */
export const Replied = {
  ...AcceptStat,
  RPC_MISMATCH: 6,
  AUTH_ERROR: 7,
} as const;

/**
 * The `status` label values; the first six are indexed by their
 * `accept_stat` number.
 */
export const REPLY_STATUSES: readonly string[] = Object.entries(Replied)
  .sort((a, b) => a[1] - b[1]).map(([name]) => name);

/** A procedure's series. */
export interface ProcedureMetrics {
  readonly calls: CounterChild;
  readonly latency: HistogramChild;
}

/** The RPC server's series in one registry. */
export class RpcMetrics {
  readonly #registry: MetricsRegistry;
  readonly #procs = new WeakMap<RpcProgram, ProcedureMetrics[]>();
  readonly #replies: CounterChild[];
  /** Connections and their bytes. */
  readonly connections: ConnectionMetrics;
  /** Replies sent from the duplicate-request cache. */
  readonly replays: CounterChild;

  /** Registers (or finds) the series in `registry`. */
  constructor(registry: MetricsRegistry) {
    this.#registry = registry;
    const replies = registry.counter(
      "netfs_rpc_replies_total",
      "RPC replies sent, by accept or reject status.",
      ["status"],
    );
    this.#replies = REPLY_STATUSES.map((s) => replies.with(s));
    this.connections = new ConnectionMetrics(registry, "netfs_rpc", "RPC");
    this.replays = registry.counter(
      "netfs_rpc_drc_replays_total",
      "Retransmitted calls answered from the duplicate-request cache.",
    ).with();
  }

  /** The series of procedure `procedure` of `prog` (made on first use). */
  procedure(prog: RpcProgram, procedure: number): ProcedureMetrics {
    let table = this.#procs.get(prog);
    if (table === undefined) this.#procs.set(prog, table = []);
    let m = table[procedure];
    if (m === undefined) {
      const labels = [
        prog.name,
        String(prog.version),
        prog.procedures[procedure]?.name ?? String(procedure),
      ];
      m = table[procedure] = {
        calls: this.#registry.counter(
          "netfs_rpc_calls_total",
          "RPC calls answered, by program, version and procedure.",
          ["program", "version", "procedure"],
        ).with(...labels),
        latency: this.#registry.histogram(
          "netfs_rpc_call_duration_seconds",
          "Time from an RPC call's header to its reply being queued.",
          { labelNames: ["program", "version", "procedure"] },
        ).with(...labels),
      };
    }
    return m;
  }

  /** Counts one reply with status `replied` (a {@link Replied} value). */
  reply(replied: number): void {
    this.#replies[replied].inc();
  }
}
