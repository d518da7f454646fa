/**
 * netfs clients: the portmap/rpcbind client, with its codecs. The RPC client
 * these stand on is in `@netfs/netfs/rpc`.
 *
 * @example Ask a server's portmapper where a program listens
 * ```ts ignore
 * import { PortmapClient } from "@netfs/netfs/client";
 * const pm = await PortmapClient.connect({ hostname: "127.0.0.1", port: 111 });
 * console.log(await pm.getPort({ program: 100003, version: 3 }));
 * pm.close();
 * ```
 *
 * @module
 */
export * from "./portmap.ts";
export * from "../proto/portmap.ts";
