// How NfsClient.connect gets from a URL to a root handle: find the ports
// and the version, open the connections, mount the export.
//
// Version: the URL's `version` is the only one tried. Without one, version
// 3 is wanted and 2 accepted: with the NFS port known, a NULL call of
// version 3 decides (a PROG_MISMATCH whose range holds 2 means version 2);
// otherwise the portmapper's list decides (no version 3 registered, but
// version 2 is), and a NULL call confirms it. MOUNT's version follows: 3
// for NFSv3, 1 for NFSv2.
//
// Ports: the URL's wins. With only the NFS port given, MOUNT is first tried
// on that same port (netfs serves MOUNT and portmap there, and a machine's
// own rpcbind could otherwise point at a different server's mountd); the
// server's portmapper (port 111 unless told otherwise) answers the rest.
//
// Export: MNT of the URL's path; if the server refuses it, the longest
// export in its EXPORT list that contains the path is mounted and the rest
// looked up, so nfs://host/export/sub/dir works on servers that only mount
// whole exports.
import { MOUNT_PROGRAM, MOUNT_V1, MOUNT_V3 } from "../proto/mount.ts";
import { NFS_PROGRAM } from "../proto/nfs3.ts";
import { RpcAcceptError } from "../rpc/client.ts";
import { AcceptStat } from "../rpc/message.ts";
import { IPPROTO_TCP } from "../proto/portmap.ts";
import type { AuthSysParms } from "../rpc/program.ts";
import { ReconnectingRpc } from "./caller.ts";
import { NfsError } from "./errors.ts";
import { MountClient } from "./mount.ts";
import { PortmapClient } from "./portmap.ts";
import type { NfsUrl } from "./url.ts";

/**
 * AUTH_SYS credentials from the URL's ids, else the process's when
 * `--allow-sys` grants them, else 65534 (nobody).
 */
export function defaultAuth(uid?: number, gid?: number): AuthSysParms {
  const may = (kind: "uid" | "gid") =>
    Deno.permissions.querySync({ name: "sys", kind }).state === "granted";
  return {
    stamp: Math.floor(Date.now() / 1000) >>> 0,
    machineName: "netfs",
    uid: uid ?? (may("uid") ? Deno.uid() ?? 65534 : 65534),
    gid: gid ?? (may("gid") ? Deno.gid() ?? 65534 : 65534),
    gids: [],
  };
}

/** What connect needs beyond the URL. */
export interface LinkOptions {
  auth: AuthSysParms | "none";
  timeoutMs: number;
  retries: number;
  /** Where the server's portmapper listens. */
  portmapPort: number;
}

/** The open connections and the mounted export. */
export interface Mounted {
  /** The NFS version the server speaks and the client chose. */
  version: 2 | 3;
  nfsRpc: ReconnectingRpc;
  mount: MountClient;
  /** The path MNT was given (for UMNT). */
  exportPath: string;
  root: Uint8Array;
  /** What is left of the URL's path below the export. */
  rest: string[];
  nfsPort: number;
  mountPort: number;
}

function where(url: NfsUrl, port: number): string {
  const h = url.hostname.includes(":") ? `[${url.hostname}]` : url.hostname;
  return `${h}:${port}`;
}

/** The MOUNT version that hands out handles of NFS version `v`. */
function mountVersionOf(v: 2 | 3): 1 | 3 {
  return v === 2 ? MOUNT_V1 : MOUNT_V3;
}

/**
 * Asks the server's portmapper for the ports still unknown, and for the
 * version when `version` is undefined: 3 if registered, else 2.
 */
async function askPortmapper(
  url: NfsUrl,
  version: 2 | 3 | undefined,
  o: LinkOptions,
): Promise<{ nfs: number; mount: number; version: 2 | 3 }> {
  let pm: PortmapClient;
  try {
    pm = await PortmapClient.connect({
      hostname: url.hostname,
      port: o.portmapPort,
      timeoutMs: o.timeoutMs,
    });
  } catch (e) {
    throw new Deno.errors.ConnectionRefused(
      `No portmapper at ${where(url, o.portmapPort)}: ${
        (e as Error).message
      }: give the ports in the URL (nfs://${url.hostname}:PORT${url.path}?mountport=PORT)`,
    );
  }
  try {
    // GETPORT answers a port for the program whatever the version asked
    // (as rpcbind does), so the registered versions come from DUMP.
    let v = version;
    if (v === undefined) {
      const nfsVersions = (await pm.dump())
        .filter((m) => m.program === NFS_PROGRAM && m.protocol === IPPROTO_TCP)
        .map((m) => m.version);
      v = nfsVersions.includes(3) ? 3 : nfsVersions.includes(2) ? 2 : 3;
    }
    const nfs = url.nfsPort ??
      await pm.getPort({ program: NFS_PROGRAM, version: v });
    const mount = url.mountPort ??
      await pm.getPort({ program: MOUNT_PROGRAM, version: mountVersionOf(v) });
    if (nfs === 0 || mount === 0) {
      throw new Deno.errors.NotFound(
        `No ${version === undefined ? "NFSv3 or NFSv2" : `NFSv${v}`} ${
          nfs === 0 ? "server" : "MOUNT server"
        } registered with the portmapper at ${where(url, o.portmapPort)}`,
      );
    }
    return { nfs, mount, version: v };
  } finally {
    pm.close();
    await pm.rpc.closed;
  }
}

/** Whether MOUNT `version` answers on `rpc`. */
async function servesMount(
  rpc: ReconnectingRpc,
  version: 1 | 3,
): Promise<boolean> {
  try {
    await rpc.call(MOUNT_PROGRAM, version, 0, () => {}, { idempotent: true });
    return true;
  } catch (e) {
    if (e instanceof RpcAcceptError) return false;
    throw e;
  }
}

/**
 * The version the NFS server on `rpc` speaks: `want`, or 3 preferred and
 * 2 accepted. A NULL call decides, and on PROG_MISMATCH the range the
 * server names.
 */
async function probeVersion(
  rpc: ReconnectingRpc,
  url: NfsUrl,
  port: number,
  want: 2 | 3 | undefined,
): Promise<2 | 3> {
  try {
    await rpc.call(NFS_PROGRAM, want ?? 3, 0, () => {}, { idempotent: true });
    return want ?? 3;
  } catch (e) {
    if (
      !(e instanceof RpcAcceptError) ||
      e.status !== AcceptStat.PROG_MISMATCH
    ) throw e;
    if (want === undefined && e.low <= 2 && e.high >= 2) return 2;
    throw new Deno.errors.NotSupported(
      `NFS server at ${
        where(url, port)
      } speaks versions ${e.low} to ${e.high}, not ${want ?? "3 or 2"}`,
    );
  }
}

/**
 * Connects, finds the ports and the version (`want`, or 3 falling back to
 * 2 when undefined) and mounts the URL's export.
 */
export async function mountUrl(
  url: NfsUrl,
  want: 2 | 3 | undefined,
  o: LinkOptions,
): Promise<Mounted> {
  const connect = async (port: number) => {
    try {
      return await ReconnectingRpc.connect({
        hostname: url.hostname,
        port,
        auth: o.auth,
        timeoutMs: o.timeoutMs,
        retries: o.retries,
      });
    } catch (e) {
      throw new Deno.errors.ConnectionRefused(
        `Cannot connect to ${where(url, port)}: ${(e as Error).message}`,
      );
    }
  };
  let nfsRpc: ReconnectingRpc | undefined;
  let mountRpc: ReconnectingRpc | undefined;
  try {
    let nfsPort = url.nfsPort;
    let mountPort = url.mountPort;
    let version = want;
    if (nfsPort !== undefined) {
      nfsRpc = await connect(nfsPort);
      version = await probeVersion(nfsRpc, url, nfsPort, want);
      if (
        mountPort === undefined &&
        await servesMount(nfsRpc, mountVersionOf(version))
      ) {
        mountPort = nfsPort;
        mountRpc = nfsRpc;
      }
    }
    if (nfsPort === undefined || mountPort === undefined) {
      const found = await askPortmapper(url, version, o);
      nfsPort = found.nfs;
      mountPort = found.mount;
      version = found.version;
    }
    if (nfsRpc === undefined || version === undefined) {
      nfsRpc ??= await connect(nfsPort);
      // What the portmapper said, confirmed by the server itself.
      version = await probeVersion(nfsRpc, url, nfsPort, version);
    }
    mountRpc ??= mountPort === nfsPort ? nfsRpc : await connect(mountPort);
    const mount = new MountClient(mountRpc, mountVersionOf(version));
    const { exportPath, root, rest } = await mountPath(mount, url.path);
    return {
      version,
      nfsRpc,
      mount,
      exportPath,
      root,
      rest,
      nfsPort,
      mountPort,
    };
  } catch (e) {
    nfsRpc?.close();
    mountRpc?.close();
    await Promise.all([nfsRpc?.closed, mountRpc?.closed]);
    throw e;
  }
}

async function mountPath(
  mount: MountClient,
  path: string,
): Promise<{ exportPath: string; root: Uint8Array; rest: string[] }> {
  try {
    return { exportPath: path, root: (await mount.mnt(path)).handle, rest: [] };
  } catch (e) {
    if (!(e instanceof NfsError) || path === "/") throw e;
    let exports;
    try {
      exports = await mount.export();
    } catch {
      throw e;
    }
    const inside = (dir: string) =>
      dir === "/" || path === dir || path.startsWith(dir + "/");
    const best = exports.map((x) => x.dir.replace(/\/+$/, "") || "/")
      .filter((dir) => dir !== path && inside(dir))
      .sort((a, b) => b.length - a.length)[0];
    if (best === undefined) throw e;
    const root = (await mount.mnt(best)).handle;
    const rest = path.slice(best === "/" ? 1 : best.length + 1).split("/");
    return { exportPath: best, root, rest };
  }
}
