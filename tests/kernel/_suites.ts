/**
 * What the guest checks (guest_checks.sh) and with which parameters: the
 * names here are the test steps, so a check the guest silently skipped fails.
 *
 * @module
 */

/** Guest-visible ports on 10.213.0.1 inside the guest's network namespace. */
export const GUEST_PORTS = { nfs: 2049, nbd: 10809, control: 7000 } as const;

/** Workload sizes, shared by every suite. */
export const WORKLOAD = {
  bigMb: 256,
  dirEntries: 10_000,
  fsxOps: 2000,
  fsxSeed: 42,
} as const;

/** An NFS version the kernel client mounts; adding one is one line. */
export interface NfsVersion {
  name: string;
  /** Mount options; `$PORT` is the guest-visible server port. */
  mountOpts: string;
  /** The export path to mount. */
  path: string;
}

/**
 * The NFS versions under test; each one runs against every backend. NFSv4
 * joins with its server, one line per minor version, for example
 * `{ name: "nfs4.1", mountOpts: "vers=4.1,proto=tcp,port=$PORT", path: "/" }`.
 * NFSv4.0 needs `clientaddr=0.0.0.0` as well: the server sits behind the
 * forwarder, so a callback to the guest's address could not reach it.
 */
export const NFS_VERSIONS: NfsVersion[] = [
  {
    name: "nfs3",
    mountOpts:
      "vers=3,proto=tcp,port=$PORT,mountport=$PORT,mountproto=tcp,nolock",
    path: "/",
  },
];

/** Environment of guest_checks.sh common to all suites. */
export function workloadEnv(): Record<string, string> {
  return {
    BIG_MB: String(WORKLOAD.bigMb),
    DIR_ENTRIES: String(WORKLOAD.dirEntries),
    FSX_OPS: String(WORKLOAD.fsxOps),
    FSX_SEED: String(WORKLOAD.fsxSeed),
  };
}

const WORKLOAD_CHECKS = [
  "create-write-read",
  "append",
  "mkdir-deep",
  `readdir-${WORKLOAD.dirEntries}`,
  `rm-rf-${WORKLOAD.dirEntries}`,
  "rename-across-dirs",
  "rename-over-existing",
  "hardlink-nlink",
  "symlink",
  "chmod",
  "chown-as-root",
  "nonroot-denied",
  "truncate-up-down",
  `dd-write-${WORKLOAD.bigMb}MiB`,
  `dd-read-${WORKLOAD.bigMb}MiB`,
  "fsx",
  "umount-remount",
];

/** Checks of an NFS suite, in the order the guest runs them. */
export function nfsChecks(options: { restart: boolean }): string[] {
  return [
    "mount",
    ...WORKLOAD_CHECKS,
    ...(options.restart ? ["server-restart"] : []),
    "umount",
    "kernel-log-clean",
  ];
}

/** Checks of an NBD suite, in the order the guest runs them. */
export function nbdChecks(): string[] {
  return [
    "nbd-connect",
    "mkfs-ext4",
    "mount",
    ...WORKLOAD_CHECKS,
    "umount",
    "e2fsck-clean",
    "nbd-disconnect",
    "kernel-log-clean",
  ];
}
