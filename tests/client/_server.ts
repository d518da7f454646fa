// A netfs NFS server over a MemFs on port 0 for the client tests, and the
// clients that talk to it.
import type { ReconnectingRpcOptions, RpcCaller } from "../../client/caller.ts";
import { MountClient } from "../../client/mount.ts";
import { Nfs2Client } from "../../client/nfs2.ts";
import { Nfs3Client } from "../../client/nfs3.ts";
import { NfsClient } from "../../client/nfs_client.ts";
import type { NfsConnectOptions } from "../../client/nfs_options.ts";
import type { AuthSysParms } from "../../rpc/program.ts";
import { type NfsServer, serveNfs } from "../../server/serve.ts";
import type { ExportOptions } from "../../server/exports.ts";
import { MemFs } from "../../vfs/memfs.ts";

export function sys(uid: number, gid = uid): AuthSysParms {
  return { stamp: 1, machineName: "test", uid, gid, gids: [] };
}

export interface Served {
  server: NfsServer;
  fs: MemFs;
  port: number;
  /** nfs://127.0.0.1:PORT/ with uid and gid 0 unless given. */
  url(path?: string, params?: Record<string, string | number>): string;
  close(): Promise<void>;
}

export function serve(
  options: {
    fs?: MemFs;
    exports?: Partial<ExportOptions>[];
    port?: number;
    writeVerifier?: Uint8Array;
    /** NFS versions served. Default all. */
    versions?: (2 | 3 | 4)[];
  } = {},
): Served {
  const fs = options.fs ?? new MemFs();
  const server = serveNfs({
    port: options.port ?? 0,
    quiet: true,
    writeVerifier: options.writeVerifier,
    versions: options.versions,
    exports: (options.exports ?? [{}]).map((e) => ({
      path: "/",
      fs,
      squash: "none" as const,
      stableHandles: true,
      ...e,
    })),
  });
  const port = server.addr.port;
  return {
    server,
    fs,
    port,
    url(path = "/", params = {}) {
      const q = new URLSearchParams({
        uid: "0",
        gid: "0",
        ...Object.fromEntries(
          Object.entries(params).map(([k, v]) => [k, String(v)]),
        ),
      });
      return `nfs://127.0.0.1:${port}${path}?${q}`;
    },
    close: () => server.shutdown(),
  };
}

/** A path-level client as root (or as `uid`). */
export async function client(
  s: Served,
  options: NfsConnectOptions & {
    uid?: number;
    path?: string;
    params?: Record<string, string | number>;
  } = {},
): Promise<NfsClient> {
  const uid = options.uid ?? 0;
  return await NfsClient.connect(
    s.url(options.path ?? "/", { uid, gid: uid, ...options.params }),
    options,
  );
}

/** A protocol client, the MOUNT client and the root handle of "/". */
export interface Raw<C> {
  nfs: C;
  mount: MountClient;
  root: Uint8Array;
  close(): Promise<void>;
}

async function mounted<C extends { rpc: RpcCaller; close(): void }>(
  s: Served,
  uid: number,
  mountVersion: 1 | 3,
  connect: (o: ReconnectingRpcOptions) => Promise<C>,
): Promise<Raw<C>> {
  const opts = { hostname: "127.0.0.1", port: s.port, auth: sys(uid) };
  const mount = await MountClient.connect(opts, mountVersion);
  const { handle: root } = await mount.mnt("/");
  const nfs = await connect(opts);
  return {
    nfs,
    mount,
    root,
    async close() {
      nfs.close();
      mount.close();
      await Promise.all([nfs.rpc.closed, mount.rpc.closed]);
    },
  };
}

/** The NFSv3 protocol clients, mounted at "/", as `uid`. */
export function raw(s: Served, uid = 0): Promise<Raw<Nfs3Client>> {
  return mounted(s, uid, 3, (o) => Nfs3Client.connect(o));
}

/** The NFSv2 protocol clients, mounted at "/" through MOUNT v1, as `uid`. */
export function raw2(s: Served, uid = 0): Promise<Raw<Nfs2Client>> {
  return mounted(s, uid, 1, (o) => Nfs2Client.connect(o));
}
