/**
 * The NFSv4 state gauges of `serveNfs`'s `metrics`, read from the state
 * tables when the metrics are read (nothing is counted per operation):
 *
 * - `netfs_nfs4_clients`: confirmed client records;
 * - `netfs_nfs4_sessions`: NFSv4.1 sessions of those clients;
 * - `netfs_nfs4_opens`: open stateids (one per open owner and file);
 * - `netfs_nfs4_locks`: lock stateids (one per lock owner and file).
 *
 * One NFS server per registry: a second would overwrite these values.
 *
 * @module
 */

import type { MetricsRegistry } from "../telemetry/metrics.ts";
import type { Nfs4Server } from "./nfs4/context.ts";

/** Registers the gauges over `nfs`'s state; returns a function that stops them. */
export function nfs4Gauges(
  registry: MetricsRegistry,
  nfs: Nfs4Server,
): () => void {
  const clients = registry.gauge(
    "netfs_nfs4_clients",
    "NFSv4 clients with a confirmed client record.",
  );
  const sessions = registry.gauge(
    "netfs_nfs4_sessions",
    "NFSv4.1 sessions.",
  );
  const opens = registry.gauge(
    "netfs_nfs4_opens",
    "NFSv4 open stateids (one per open owner and file).",
  );
  const locks = registry.gauge(
    "netfs_nfs4_locks",
    "NFSv4 lock stateids (one per lock owner and file).",
  );
  return registry.onCollect(() => {
    const state = nfs.state;
    const records = state.clients.confirmedRecords();
    let s = 0, o = 0, l = 0;
    for (const r of records) {
      s += state.sessions.ofClient(r.clientid).length;
      for (const e of state.stateids.ofClient(r.clientid)) {
        if (e.kind === "open") o++;
        else if (e.kind === "lock") l++;
      }
    }
    clients.set(records.length);
    sessions.set(s);
    opens.set(o);
    locks.set(l);
  });
}
