// How NfsClient.connect gets from a URL to a root handle: find the ports,
// open the connections, mount the export.
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
import { MOUNT_PROGRAM, MOUNT_V3 } from "../proto/mount.ts";
import { NFS_PROGRAM } from "../proto/nfs3.ts";
import { RpcAcceptError } from "../rpc/client.ts";
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

/** Asks the server's portmapper for the ports still unknown. */
async function askPortmapper(
  url: NfsUrl,
  version: number,
  o: LinkOptions,
): Promise<{ nfs: number; mount: number }> {
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
    const nfs = url.nfsPort ??
      await pm.getPort({ program: NFS_PROGRAM, version });
    const mount = url.mountPort ??
      await pm.getPort({ program: MOUNT_PROGRAM, version: MOUNT_V3 });
    if (nfs === 0 || mount === 0) {
      throw new Deno.errors.NotFound(
        `No NFSv${version} ${
          nfs === 0 ? "server" : "MOUNT server"
        } registered with the portmapper at ${where(url, o.portmapPort)}`,
      );
    }
    return { nfs, mount };
  } finally {
    pm.close();
    await pm.rpc.closed;
  }
}

/** Whether MOUNT v3 answers on `rpc`. */
async function servesMount(rpc: ReconnectingRpc): Promise<boolean> {
  try {
    await rpc.call(MOUNT_PROGRAM, MOUNT_V3, 0, () => {}, { idempotent: true });
    return true;
  } catch (e) {
    if (e instanceof RpcAcceptError) return false;
    throw e;
  }
}

/** Connects, finds the ports and mounts the URL's export. */
export async function mountUrl(
  url: NfsUrl,
  version: number,
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
    if (nfsPort !== undefined && mountPort === undefined) {
      nfsRpc = await connect(nfsPort);
      if (await servesMount(nfsRpc)) {
        mountPort = nfsPort;
        mountRpc = nfsRpc;
      }
    }
    if (nfsPort === undefined || mountPort === undefined) {
      const ports = await askPortmapper(url, version, o);
      nfsPort = ports.nfs;
      mountPort = ports.mount;
    }
    nfsRpc ??= await connect(nfsPort);
    mountRpc ??= mountPort === nfsPort ? nfsRpc : await connect(mountPort);
    const mount = new MountClient(mountRpc);
    const { exportPath, root, rest } = await mountPath(mount, url.path);
    return { nfsRpc, mount, exportPath, root, rest, nfsPort, mountPort };
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
