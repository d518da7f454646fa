/**
 * netfs servers: NFSv3 with MOUNT v3 and portmap on one port
 * ({@link serveNfs}), the export table, and the programs for use with
 * `serveRpc` directly.
 *
 * @example
 * ```ts ignore
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * const server = serveNfs({
 *   port: 11111,
 *   exports: [{ path: "/", fs: new MemFs(), squash: "none" }],
 * });
 * await server.finished;
 * ```
 *
 * @module
 */
export * from "./serve.ts";
export * from "./portmap.ts";
export * from "./exports.ts";
export * from "./handles.ts";
export * from "./mount.ts";
export * from "./nfs3/program.ts";
export { NFS3_STATUS_OF_CODE, nfs3StatusOf } from "./nfs3/errors.ts";
