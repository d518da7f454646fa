/**
 * netfs servers: NFSv2, NFSv3 and NFSv4 with MOUNT and portmap on one
 * port ({@link serveNfs}), the export table, and the programs for use with
 * `serveRpc` directly.
 *
 * @example Serve a MemFs and ask the server what it exports
 * ```ts
 * import { RpcClient } from "@netfs/netfs/rpc";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * // Port 0 picks a free port; without `quiet` the server prints mount commands.
 * const server = serveNfs({
 *   port: 0,
 *   quiet: true,
 *   exports: [{ path: "/", fs: new MemFs(), squash: "none" }],
 * });
 * // MOUNT v3 EXPORT (program 100005, procedure 5), answered on the NFS port.
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const reply = await client.call(100005, 3, 5, () => {});
 * assert.equal(reply.bool(), true); // an export follows
 * assert.equal(reply.string(1024), "/");
 * client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */
export * from "./serve.ts";
export * from "./portmap.ts";
export * from "./exports.ts";
export * from "./handles.ts";
export * from "./mount.ts";
export * from "./nfs2/program.ts";
export { NFS2_STATUS_OF_CODE, nfs2StatusOf } from "./nfs2/errors.ts";
export * from "./nfs3/program.ts";
export { NFS3_STATUS_OF_CODE, nfs3StatusOf } from "./nfs3/errors.ts";
export {
  type Nfs4IdMapping,
  type Nfs4Options,
  nfs4Program,
} from "./nfs4/program.ts";
export { FileStableStorage } from "./nfs4/stable_storage.ts";
export type { StableStorage } from "./nfs4/state/leases.ts";
export { MemoryStableStorage } from "./nfs4/state/leases.ts";
