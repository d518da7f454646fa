/**
 * netfs clients: the portmap/rpcbind client, with its codecs. The RPC client
 * these stand on is in `@netfs/netfs/rpc`.
 *
 * @example Ask a server's portmapper where NFS listens
 * ```ts
 * import { PortmapClient } from "@netfs/netfs/client";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * // A netfs server answers portmap queries on its own port.
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/", fs: new MemFs() }] });
 * const pm = await PortmapClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * assert.equal(await pm.getPort({ program: 100003, version: 3 }), server.addr.port);
 * assert.equal(await pm.getPort({ program: 100021, version: 4 }), 0); // no lock manager
 * pm.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */
export * from "./portmap.ts";
export * from "../proto/portmap.ts";
