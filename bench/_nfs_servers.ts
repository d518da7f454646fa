// The NFS servers the benchmarks compare: nfs-ganesha (MEM or VFS FSAL) in a
// private mount namespace with a unix-socket rpcbind stand-in, and netfs
// (bench/_nfs_server.ts, MemFs or LocalFs) in a child process, optionally
// from another checkout (a before/after comparison). Each reports its process
// id, so a benchmark can charge the server's CPU time to the work it did.
import { freePort, waitForPort } from "./_bench_util.ts";

const here = new URL(".", import.meta.url).pathname;

/** A running NFS server. */
export interface NfsServer {
  /** netfs-memfs, ganesha-mem, ... */
  name: string;
  /** The TCP port of NFS (and, for netfs, of MOUNT). */
  port: number;
  /** The MOUNT port (ganesha keeps it apart). */
  mountPort: number;
  /** The export path for NFSv3 MOUNT and the NFSv4 pseudo tree. */
  exportPath: string;
  /** The server process, for its CPU time. */
  pid: number;
  /** A libnfs URL of the export root over NFS `version` 3 or 4. */
  url(version: 3 | 4): string;
  stop(): Promise<void>;
}

function libnfsUrl(s: Omit<NfsServer, "url" | "stop">, version: 3 | 4) {
  return `nfs://127.0.0.1${s.exportPath}?nfsport=${s.port}&mountport=${s.mountPort}&version=${version}`;
}

/**
 * nfs-ganesha 4.3 serving `dir` (VFS) or an in-memory tree (MEM) over NFSv3
 * and NFSv4 (minor versions 0 and 1), root not squashed, without a grace
 * period and with numeric owners (as netfs answers them). Its NFSv4 client
 * records go to a private state folder, never to /var/lib/nfs. Needs root.
 */
export async function startGanesha(
  fsal: "MEM" | "VFS",
  dir: string,
): Promise<NfsServer> {
  const nfsPort = freePort();
  const mntPort = freePort();
  const state = await Deno.makeTempDir({ prefix: "netfs-ganesha-" });
  const exportPath = fsal === "MEM" ? "/mem" : dir;
  await Deno.writeTextFile(
    `${state}/ganesha.conf`,
    `NFS_CORE_PARAM {
  NFS_Port = ${nfsPort}; MNT_Port = ${mntPort}; Bind_Addr = 127.0.0.1;
  Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false;
  NFS_Protocols = 3, 4;
  Plugins_Dir = /usr/lib/x86_64-linux-gnu/ganesha;
}
NFSv4 {
  Graceless = true; Minor_Versions = 0, 1; Only_Numeric_Owners = true;
  RecoveryBackend = fs; RecoveryRoot = ${state}/recovery;
}
NFS_KRB5 { Active_krb5 = false; }
EXPORT {
  Export_Id = 1; Path = ${exportPath}; Pseudo = ${exportPath}; Access_Type = RW;
  Squash = No_Root_Squash; SecType = sys; Protocols = 3, 4; Transports = TCP;
  FSAL { Name = ${fsal}; }
}
`,
  );
  // A private mount namespace with a tmpfs on /run: ganesha registers with
  // our unix-socket stand-in there, never with the machine's rpcbind.
  const script = `mount -t tmpfs tmpfs /run
deno run --allow-read --allow-write --allow-net=unix:/run/rpcbind.sock ${here}_unix_rpcbind.ts /run/rpcbind.sock &
RB=$!
for i in $(seq 100); do [ -S /run/rpcbind.sock ] && break; sleep 0.1; done
ganesha.nfsd -F -f ${state}/ganesha.conf -L ${state}/ganesha.log -p ${state}/ganesha.pid -N NIV_EVENT
kill $RB`;
  const child = new Deno.Command("unshare", {
    args: ["-m", "--propagation", "private", "bash", "-c", script],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(nfsPort, 15000);
  await waitForPort(mntPort, 5000);
  let pid = 0;
  for (let i = 0; i < 100 && !pid; i++) {
    pid = Number(
      (await Deno.readTextFile(`${state}/ganesha.pid`).catch(() => "")).trim(),
    );
    if (!pid) await new Promise((r) => setTimeout(r, 50));
  }
  if (!pid) throw new Error(`ganesha wrote no pid file: ${state}`);
  const s = {
    name: `ganesha-${fsal.toLowerCase()}`,
    port: nfsPort,
    mountPort: mntPort,
    exportPath,
    pid,
  };
  return {
    ...s,
    url: (version) => libnfsUrl(s, version),
    async stop() {
      Deno.kill(pid, "SIGTERM");
      await child.status;
      await Deno.remove(state, { recursive: true });
    },
  };
}

/** Options of {@link startNetfs}. */
export interface NetfsOptions {
  /** A checkout to run bench/_nfs_server.ts from. Default this one. */
  root?: string;
  /** Appended to the server's name ("netfs-memfs before"). */
  tag?: string;
  /** Write a V8 CPU profile of the server into this folder (--cpu-prof). */
  profileDir?: string;
}

/**
 * netfs's server (bench/_nfs_server.ts) in its own process: MemFs, or
 * LocalFs over `dir`, exported at "/" over NFSv3 and NFSv4.
 */
export async function startNetfs(
  kind: "mem" | "local",
  dir: string,
  options: NetfsOptions = {},
): Promise<NfsServer> {
  const port = freePort();
  const root = options.root ? `${options.root}/bench/` : here;
  const perms = kind === "local"
    ? [`--allow-read=${dir}`, `--allow-write=${dir}`]
    : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      ...perms,
      ...(options.profileDir
        ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`]
        : []),
      `${root}_nfs_server.ts`,
      "--port",
      `${port}`,
      ...(kind === "local" ? ["--dir", dir] : []),
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  await waitForPort(port, 15000);
  const s = {
    name: `netfs-${kind}fs${options.tag ? ` ${options.tag}` : ""}`,
    port,
    mountPort: port,
    exportPath: "/",
    pid: child.pid,
  };
  return {
    ...s,
    url: (version) => libnfsUrl(s, version),
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}
