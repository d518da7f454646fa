// NfsClient.connect's work, apart from the class: mount the URL's export
// (_connect.ts), speak the version found through its NfsProtocol, walk
// down to the URL's directory, and read the transfer sizes.
import { Ftype3 } from "../proto/nfs3.ts";
import type { ReconnectingRpc } from "./caller.ts";
import { defaultAuth, mountUrl } from "./_connect.ts";
import type { MountClient } from "./mount.ts";
import { Nfs2Client } from "./nfs2.ts";
import { Nfs3Client } from "./nfs3.ts";
import type { NfsClientInfo, NfsConnectOptions } from "./nfs_options.ts";
import type { NfsProtocol } from "./_protocol.ts";
import { parseNfsUrl } from "./url.ts";
import { Nfs2Protocol } from "./_v2.ts";
import { Nfs3Protocol } from "./_v3.ts";
import { Walker } from "./_walk.ts";

/** What an NfsClient is made of. */
export interface Opened {
  info: NfsClientInfo;
  proto: NfsProtocol;
  mount: MountClient;
  mountRpc: ReconnectingRpc;
  window: number;
  readahead: number;
}

/** Connects to the export `url` names; see `NfsClient.connect`. */
export async function openUrl(
  url: string | URL,
  options: NfsConnectOptions,
): Promise<Opened> {
  const u = parseNfsUrl(url);
  const auth = options.auth ?? defaultAuth(u.uid, u.gid);
  const window = Math.max(1, options.window ?? 8);
  const m = await mountUrl(u, u.version, {
    auth,
    timeoutMs: options.timeoutMs ?? 30_000,
    retries: options.retries ?? 3,
    portmapPort: options.portmapPort ?? 111,
  });
  const proto: NfsProtocol = m.version === 2
    ? new Nfs2Protocol(new Nfs2Client(m.nfsRpc))
    : new Nfs3Protocol(new Nfs3Client(m.nfsRpc));
  try {
    let root = m.root;
    if (m.rest.length > 0) {
      const below = await new Walker(proto, root).walk(m.rest, true, u.path);
      if (below.attrs.type !== Ftype3.DIR) {
        throw new Deno.errors.NotADirectory(`Not a directory: ${u.path}`);
      }
      root = below.handle;
    }
    const limits = await proto.limits(root);
    return {
      info: {
        version: m.version,
        nfsPort: m.nfsPort,
        mountPort: m.mountPort,
        exportPath: m.exportPath,
        root,
        rsize: limits.rsize,
        wsize: limits.wsize,
      },
      proto,
      mount: m.mount,
      mountRpc: m.mount.rpc as ReconnectingRpc,
      window,
      readahead: u.readahead ?? window * limits.rsize,
    };
  } catch (e) {
    // The MNT succeeded: take it back, or the server lists it forever.
    try {
      await m.mount.umnt(m.exportPath);
    } catch { /* the server forgets mounts on its own */ }
    m.mount.close();
    await Promise.all([proto.close(), m.mount.rpc.closed]);
    throw e;
  }
}
