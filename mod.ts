/**
 * netfs: network file services for Deno — ONC RPC, NFSv3/v4, MOUNT,
 * portmap/rpcbind, NBD, and the file-system layer they stand on.
 *
 * @example
 * ```ts
 * import { XdrReader, XdrWriter } from "@netfs/netfs";
 * const bytes = new XdrWriter().u32(42).bytes();
 * console.log(new XdrReader(bytes).u32()); // 42
 * ```
 *
 * @module
 */
export * from "./rpc/mod.ts";
export * from "./vfs/mod.ts";
export * from "./server/mod.ts";
export * from "./client/mod.ts";
export * from "./nbd/mod.ts";
