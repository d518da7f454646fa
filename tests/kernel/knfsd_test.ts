/**
 * The NFSv4 lines of NFS_VERSIONS and their checks, proven against a
 * reference server: one guest boot (the `knfsd` image) starts the Linux
 * kernel's own NFS server (exporting an ext4 image where the guest's tmpfs
 * keeps no `user.*` attributes, see knfsd_guest.sh) and mounts it over
 * 127.0.0.1 with each NFSv4 line's own mount options, enabled or not, then
 * runs that version's whole check list, restarts included (knfsd_guest.sh
 * restarts nfsd). A check that fails here is wrong, not the server under
 * test.
 *
 * `NETFS_SKIP_KNFSD=1` skips it (the rest of the kernel suite still runs).
 */

import {
  GUEST_CHECKS,
  kernelSkipReason,
  printCheck,
  reportChecks,
  runGuest,
} from "./_harness.ts";
import {
  GUEST_PORTS,
  NFS_VERSIONS,
  nfsChecks,
  type NfsRun,
  nfsRunsEnv,
  type Workload,
} from "./_suites.ts";

/** Smaller than the suites' workload: this test is about the NFSv4 checks. */
const KNFSD_WORKLOAD: Workload = {
  bigMb: 64,
  dirEntries: 2000,
  fsxOps: 1000,
  fsxSeed: 42,
};

/**
 * NFSv4.2 repeats NFSv4.1's workload, which the boot has just run against the
 * same server: only its own checks are new here, so a token workload keeps
 * this test short.
 */
const KNFSD_NFS42_WORKLOAD: Workload = {
  bigMb: 16,
  dirEntries: 200,
  fsxOps: 200,
  fsxSeed: 42,
};

const skip = kernelSkipReason() ??
  (Deno.env.get("NETFS_SKIP_KNFSD") ? "NETFS_SKIP_KNFSD is set" : undefined);
if (skip) console.log(`kernel knfsd test skipped: ${skip}`);

// Each restart starts knfsd's 10 s grace period (its shortest). It ends early
// once every client it remembers has sent RECLAIM_COMPLETE, which only
// NFSv4.1 and 4.2 clients do: so 4.2 and 4.1 go first (each leaves with
// DESTROY_CLIENTID, forgotten), and 4.0, whose every restart costs the whole
// grace period, runs only server-restart-locked, which reclaims an open file
// as server-restart does, and a lock.
const runs: NfsRun[] = NFS_VERSIONS
  .filter((v) => v.name.startsWith("nfs4"))
  .reverse()
  .map((version) => ({
    version,
    restart: true,
    port: GUEST_PORTS.nfs,
    skip: version.name === "nfs4.0" ? ["server-restart"] : [],
    workload: version.name === "nfs4.2" ? KNFSD_NFS42_WORKLOAD : KNFSD_WORKLOAD,
  }));

Deno.test({
  name: `kernel knfsd ${runs.map((r) => r.version.name).join("+")}`,
  ignore: skip !== undefined,
}, async (t) => {
  const run = await runGuest(GUEST_CHECKS, {
    image: "knfsd",
    env: {
      SUITE: "nfs",
      KNFSD: "1",
      ...nfsRunsEnv(runs),
    },
    timeout: 300,
    onCheck: printCheck,
  });
  await reportChecks(t, run, [
    "knfsd-start",
    ...runs.flatMap((r) => nfsChecks(r)),
  ]);
});
