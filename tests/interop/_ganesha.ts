// nfs-ganesha as a peer NFSv3 server for tests and benchmarks, started with
// a private rpcbind: ganesha exits unless it can register its programs, so
// it runs in its own mount namespace with a tmpfs on /run, where
// _unix_rpcbind.ts answers on /run/rpcbind.sock. The machine's rpcbind and
// port 111 are never touched, and ganesha listens on 127.0.0.1 only.
//
// Needs root (unshare -m), Debian's nfs-ganesha and the FSAL asked for
// (nfs-ganesha-vfs, nfs-ganesha-mem); `ganeshaMissing` says which is absent.
import { freePort, waitForPort } from "../_net.ts";

const here = new URL(".", import.meta.url).pathname;
const PLUGINS = "/usr/lib/x86_64-linux-gnu/ganesha";

/** A running ganesha. */
export interface Ganesha {
  /** NFS port on 127.0.0.1. */
  nfsPort: number;
  /** MOUNT port on 127.0.0.1. */
  mountPort: number;
  /** The export's path, as clients mount it. */
  exportPath: string;
  /** An nfs:// URL with both ports. */
  url: string;
  /** The ganesha.nfsd process id (for its CPU time). */
  pid: number;
  /** Ganesha's log so far. */
  log(): Promise<string>;
  /** Stops ganesha and the rpcbind stand-in, removes the state folder. */
  stop(): Promise<void>;
}

/** Why ganesha cannot run here (with `fsal`), or null when it can. */
export function ganeshaMissing(fsal: "VFS" | "MEM"): string | null {
  const exists = (p: string) => {
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  if (Deno.uid() !== 0) return "ganesha needs root (a private mount namespace)";
  if (!exists("/usr/bin/ganesha.nfsd")) {
    return "nfs-ganesha is not installed (apt-get install nfs-ganesha)";
  }
  const plugin = `${PLUGINS}/libfsal${fsal.toLowerCase()}.so`;
  if (!exists(plugin)) {
    return `nfs-ganesha-${fsal.toLowerCase()} is not installed (${plugin})`;
  }
  if (!exists("/usr/bin/unshare")) return "unshare (util-linux) is missing";
  return null;
}

/** Options of {@link startGanesha}. */
export interface GaneshaOptions {
  /**
   * Serve NFSv4.0 and 4.1 too, with numeric owners (as netfs answers them)
   * and the client records in the private state folder. Default NFSv3 only.
   */
  nfs4?: boolean;
}

/**
 * Starts ganesha serving NFSv3 (and NFSv4 when asked) over TCP: the MEM FSAL
 * at /mem, or the VFS FSAL over `dir`. Root is not squashed.
 */
export async function startGanesha(
  fsal: "MEM" | "VFS",
  dir: string,
  options: GaneshaOptions = {},
): Promise<Ganesha> {
  const nfsPort = freePort();
  const mountPort = freePort();
  const state = await Deno.makeTempDir({ prefix: "netfs-ganesha-" });
  const exportPath = fsal === "MEM" ? "/mem" : dir;
  const protocols = options.nfs4 ? "3, 4" : "3";
  const v4 = options.nfs4
    ? `Minor_Versions = 0, 1; Only_Numeric_Owners = true;
  RecoveryRoot = ${state}/recovery; `
    : "";
  await Deno.writeTextFile(
    `${state}/ganesha.conf`,
    `NFS_CORE_PARAM {
  NFS_Port = ${nfsPort}; MNT_Port = ${mountPort}; Bind_Addr = 127.0.0.1;
  Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; NFS_Protocols = ${protocols};
  Plugins_Dir = ${PLUGINS};
}
NFSv4 { Graceless = true; ${v4}RecoveryBackend = fs; }
NFS_KRB5 { Active_krb5 = false; }
EXPORT {
  Export_Id = 1; Path = ${exportPath}; Pseudo = ${exportPath}; Access_Type = RW;
  Squash = No_Root_Squash; SecType = sys; Protocols = ${protocols}; Transports = TCP;
  FSAL { Name = ${fsal}; }
}
`,
  );
  // A private mount namespace with a tmpfs on /run: ganesha registers with
  // the unix-socket stand-in there, never with the machine's rpcbind.
  const script = `mount -t tmpfs tmpfs /run
${Deno.execPath()} run --allow-read --allow-write --allow-net=unix:/run/rpcbind.sock ${here}_unix_rpcbind.ts /run/rpcbind.sock &
RB=$!
for i in $(seq 100); do [ -S /run/rpcbind.sock ] && break; sleep 0.1; done
ganesha.nfsd -F -f ${state}/ganesha.conf -L ${state}/ganesha.log -p ${state}/ganesha.pid -N NIV_EVENT
kill $RB`;
  const child = new Deno.Command("unshare", {
    args: ["-m", "--propagation", "private", "bash", "-c", script],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const log = async () => {
    try {
      return await Deno.readTextFile(`${state}/ganesha.log`);
    } catch {
      return "";
    }
  };
  let pid = 0;
  const stop = async () => {
    try {
      const id = pid ||
        Number((await Deno.readTextFile(`${state}/ganesha.pid`)).trim());
      if (id > 0) Deno.kill(id, "SIGTERM");
    } catch { /* never started, or gone */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 10_000);
    await child.status;
    clearTimeout(timer);
    await Deno.remove(state, { recursive: true });
  };
  try {
    await waitForPort(nfsPort, 20_000);
    await waitForPort(mountPort, 5_000);
    for (let i = 0; i < 100 && !pid; i++) {
      pid = Number(
        (await Deno.readTextFile(`${state}/ganesha.pid`).catch(() => ""))
          .trim(),
      );
      if (!pid) await new Promise((r) => setTimeout(r, 50));
    }
    if (!pid) throw new Error(`No pid file: ${state}/ganesha.pid`);
  } catch (e) {
    const text = await log();
    await stop();
    throw new Error(`Ganesha did not start: ${(e as Error).message}\n${text}`);
  }
  return {
    nfsPort,
    mountPort,
    exportPath,
    url:
      `nfs://127.0.0.1${exportPath}?nfsport=${nfsPort}&mountport=${mountPort}&version=3`,
    pid,
    log,
    stop,
  };
}
