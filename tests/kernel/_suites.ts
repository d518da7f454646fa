/**
 * What the guest checks (guest_checks.sh) and with which parameters: the
 * names here are the test steps, so a check the guest silently skipped fails.
 *
 * @module
 */

/** Guest-visible ports on 10.213.0.1 inside the guest's network namespace. */
export const GUEST_PORTS = {
  nfs: 2049,
  nbd: 10809,
  control: 7000,
  /** `netfs serve nfs`, run by kernel_test.ts as a subprocess. */
  netfsServe: 2050,
} as const;

/** Sizes of the shared workload. */
export interface Workload {
  bigMb: number;
  dirEntries: number;
  fsxOps: number;
  fsxSeed: number;
}

/** Workload sizes of the suites against our servers. */
export const WORKLOAD: Workload = {
  bigMb: 256,
  dirEntries: 10_000,
  fsxOps: 2000,
  fsxSeed: 42,
};

/**
 * Checks only NFSv4 runs, after the shared workload: byte-range locks and
 * flock kept by the server (NFSv3 mounts with `nolock`, so its locks never
 * leave the client) and exclusive creates (locks.c).
 */
export const NFS4_CHECKS: readonly string[] = [
  "fcntl-lock-conflict",
  "fcntl-lock-released-on-close",
  "fcntl-lock-released-on-exit",
  "flock",
  "open-excl",
];

/** NFSv4's checks that restart the server: handles, opens and locks survive. */
export const NFS4_RESTART_CHECKS: readonly string[] = [
  "server-restart",
  "server-restart-locked",
];

/**
 * NFSv4.2's checks after NFSv4's (nfs42_checks.sh): ALLOCATE, DEALLOCATE and
 * SEEK through fallocate, a punched hole and SEEK_DATA/SEEK_HOLE with the
 * sizes, `stat` blocks and zeros checked, copy_file_range (server-side COPY:
 * no data through the client) and `cp --reflink=auto` of a 64 MiB file with
 * equal md5, and `user.*` extended attributes (RFC 8276).
 */
export const NFS42_CHECKS: readonly string[] = [
  ...NFS4_CHECKS,
  "fallocate",
  "punch-hole",
  "seek-data-hole",
  "copy-file-range",
  "cp-reflink-auto",
  "xattr-user",
];

/** NFSv4.2's restart checks: extended attributes survive a restart too. */
export const NFS42_RESTART_CHECKS: readonly string[] = [
  ...NFS4_RESTART_CHECKS,
  "xattr-restart",
];

/**
 * Checks that compare the guest's view with the export's folder on the host
 * (host_checks.sh; the host answers `stat REL` on the control port with
 * `Deno.lstat`), for a LocalFs export on the native engine: the inode numbers
 * the client sees are the host's, MKNOD makes a fifo and character and block
 * devices (type, rdev, mode and owner alike on both sides), and a MOUNT
 * through a symlink inside the export reaches its target while links that
 * leave the export never show what is outside.
 */
export const HOST_CHECKS: readonly string[] = [
  "inode-is-host-inode",
  "mknod-fifo-chr-blk",
  "mount-through-symlink",
];

/** An NFS version the kernel client mounts; adding one is one line. */
export interface NfsVersion {
  name: string;
  /** Mount options; `$PORT` is the guest-visible server port. */
  mountOpts: string;
  /** The export path to mount. */
  path: string;
  /** Checks after the shared workload, in order (guest_checks.sh `extra`). */
  checks: readonly string[];
  /** Checks that restart the server, for backends whose handles survive it. */
  restartChecks: readonly string[];
  /** Checks against the host folder, for LocalFs ({@link HOST_CHECKS}). */
  hostChecks: readonly string[];
  /** kernel_test.ts runs it (unless NETFS_KERNEL_NFS names the versions). */
  enabled: boolean;
  /**
   * Sizes instead of {@link WORKLOAD}. Each version's workload costs about a
   * minute per backend against our server (most of it creating the 10,000
   * files and fsx), so a lighter one here keeps the suite short.
   */
  workload?: Workload;
}

/**
 * NFSv2's workload: files stay far below the 2 GiB the kernel's v2 client
 * allows (version 2 sizes are 32-bit), and the dd file is smaller because
 * every request carries at most 8 KiB and every WRITE is synchronous.
 */
export const NFS2_WORKLOAD: Workload = {
  bigMb: 64,
  dirEntries: 10_000,
  fsxOps: 2000,
  fsxSeed: 42,
};

/**
 * NFSv4.2's workload: the same checks as NFSv4.1's, which runs just before it
 * in the same boot, with a quarter of the dd data, a fifth of the directory
 * entries and half the fsx operations, so that the line (with its own checks)
 * adds about a minute per backend, not two.
 */
export const NFS42_WORKLOAD: Workload = {
  bigMb: 64,
  dirEntries: 2000,
  fsxOps: 1000,
  fsxSeed: 42,
};

/**
 * The NFS versions under test; one guest boot per backend mounts each
 * enabled one in turn. NFSv4.0 needs `clientaddr=0.0.0.0`: the server sits
 * behind the forwarder, so a callback to the guest's address could not reach
 * it. The NFSv4 lines were proven against the kernel's own server
 * (knfsd_test.ts) and run against serveNfs's NFSv4 server.
 */
export const NFS_VERSIONS: readonly NfsVersion[] = [
  {
    name: "nfs2",
    mountOpts:
      "vers=2,proto=tcp,port=$PORT,mountport=$PORT,mountproto=tcp,nolock",
    path: "/",
    checks: [],
    restartChecks: ["server-restart"],
    hostChecks: [],
    enabled: true,
    workload: NFS2_WORKLOAD,
  },
  {
    name: "nfs3",
    mountOpts:
      "vers=3,proto=tcp,port=$PORT,mountport=$PORT,mountproto=tcp,nolock",
    path: "/",
    // O_CREAT|O_EXCL: CREATE EXCLUSIVE, then SETATTR of the mode 0.
    checks: ["open-excl"],
    restartChecks: ["server-restart"],
    hostChecks: HOST_CHECKS,
    enabled: true,
  },
  {
    name: "nfs4.0",
    mountOpts: "vers=4.0,proto=tcp,port=$PORT,clientaddr=0.0.0.0",
    path: "/",
    checks: NFS4_CHECKS,
    restartChecks: NFS4_RESTART_CHECKS,
    hostChecks: [],
    enabled: true,
  },
  {
    name: "nfs4.1",
    mountOpts: "vers=4.1,proto=tcp,port=$PORT",
    path: "/",
    checks: NFS4_CHECKS,
    restartChecks: NFS4_RESTART_CHECKS,
    hostChecks: HOST_CHECKS,
    enabled: true,
  },
  {
    name: "nfs4.2",
    mountOpts: "vers=4.2,proto=tcp,port=$PORT",
    path: "/",
    checks: NFS42_CHECKS,
    restartChecks: NFS42_RESTART_CHECKS,
    hostChecks: [],
    // Until serveNfs speaks minor version 2; proven against knfsd meanwhile.
    enabled: true,
    workload: NFS42_WORKLOAD,
  },
];

/**
 * The versions kernel_test.ts runs: the enabled ones, or those that
 * `NETFS_KERNEL_NFS` names (`nfs3,nfs4.1`), to try one before enabling it.
 */
export function selectedNfsVersions(): NfsVersion[] {
  const names = Deno.env.get("NETFS_KERNEL_NFS");
  if (!names) return NFS_VERSIONS.filter((v) => v.enabled);
  return names.split(",").map((name) => {
    const v = NFS_VERSIONS.find((v) => v.name === name.trim());
    if (!v) throw new Error(`Unknown NFS version in NETFS_KERNEL_NFS: ${name}`);
    return v;
  });
}

/** Environment of guest_checks.sh for the NBD suites' workload. */
export function workloadEnv(w: Workload = WORKLOAD): Record<string, string> {
  return {
    BIG_MB: String(w.bigMb),
    DIR_ENTRIES: String(w.dirEntries),
    FSX_OPS: String(w.fsxOps),
    FSX_SEED: String(w.fsxSeed),
  };
}

/** One NFS version of a guest boot. */
export interface NfsRun {
  version: NfsVersion;
  /** Also run the version's restart checks. */
  restart: boolean;
  /** Also run the version's host checks (a LocalFs export, native engine). */
  host?: boolean;
  /** The guest-visible server port that replaces `$PORT`. */
  port: number;
  /** Instead of the version's own path. */
  path?: string;
  /** Checks of the version this run leaves out. */
  skip?: readonly string[];
  /** Sizes instead of the version's own. */
  workload?: Workload;
}

/** The workload sizes of a run. */
export function runWorkload(run: NfsRun): Workload {
  return run.workload ?? run.version.workload ?? WORKLOAD;
}

/** The checks a run makes after the workload, in order. */
export function extraChecks(run: NfsRun): string[] {
  return [
    ...run.version.checks,
    ...(run.host ? run.version.hostChecks : []),
    ...(run.restart ? run.version.restartChecks : []),
  ].filter((c) => !run.skip?.includes(c));
}

/** guest_checks.sh's environment for NFS versions run one after another. */
export function nfsRunsEnv(runs: readonly NfsRun[]): Record<string, string> {
  const env: Record<string, string> = { NFS_RUNS: String(runs.length) };
  runs.forEach((run, i) => {
    env[`NFS_NAME_${i + 1}`] = run.version.name;
    env[`NFS_PATH_${i + 1}`] = run.path ?? run.version.path;
    env[`NFS_OPTS_${i + 1}`] = run.version.mountOpts.replaceAll(
      "$PORT",
      String(run.port),
    );
    env[`NFS_EXTRA_${i + 1}`] = extraChecks(run).join(" ");
    const w = runWorkload(run);
    env[`NFS_WORKLOAD_${i + 1}`] =
      `${w.bigMb} ${w.dirEntries} ${w.fsxOps} ${w.fsxSeed}`;
  });
  return env;
}

function workloadChecks(w: Workload): string[] {
  return [
    "create-write-read",
    "append",
    "mkdir-deep",
    `readdir-${w.dirEntries}`,
    `rm-rf-${w.dirEntries}`,
    "rename-across-dirs",
    "rename-over-existing",
    "hardlink-nlink",
    "symlink",
    "chmod",
    "chown-as-root",
    "nonroot-denied",
    "truncate-up-down",
    `dd-write-${w.bigMb}MiB`,
    `dd-read-${w.bigMb}MiB`,
    "fsx",
    "umount-remount",
  ];
}

/**
 * Checks of one NFS run, in the order the guest runs them, named as the guest
 * reports them: `nfs4.1/flock`.
 */
export function nfsChecks(run: NfsRun): string[] {
  return [
    "mount",
    ...workloadChecks(runWorkload(run)),
    ...extraChecks(run),
    "umount",
    "kernel-log-clean",
  ].map((c) => `${run.version.name}/${c}`);
}

/**
 * The versions the kernel client mounts from `netfs serve nfs` (cli.ts in a
 * subprocess, host_checks.sh's `netfs-serve/*` checks).
 */
export const NETFS_SERVE_VERSIONS: readonly string[] = ["nfs3", "nfs4.1"];

/** guest_checks.sh's environment for the `netfs serve nfs` checks. */
export function netfsServeEnv(): Record<string, string> {
  const env: Record<string, string> = {
    SERVE_RUNS: String(NETFS_SERVE_VERSIONS.length),
  };
  NETFS_SERVE_VERSIONS.forEach((name, i) => {
    const v = NFS_VERSIONS.find((v) => v.name === name)!;
    env[`SERVE_NAME_${i + 1}`] = name;
    env[`SERVE_OPTS_${i + 1}`] = v.mountOpts.replaceAll(
      "$PORT",
      String(GUEST_PORTS.netfsServe),
    );
  });
  return env;
}

/** Checks of the `netfs serve nfs` mounts, as the guest names them. */
export function netfsServeChecks(): string[] {
  return NETFS_SERVE_VERSIONS.map((name) => `netfs-serve/${name}`);
}

/** Checks of an NBD suite, in the order the guest runs them. */
export function nbdChecks(): string[] {
  return [
    "nbd-connect",
    "mkfs-ext4",
    "mount",
    ...workloadChecks(WORKLOAD),
    "umount",
    "e2fsck-clean",
    "nbd-disconnect",
    "kernel-log-clean",
  ];
}
