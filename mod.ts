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
// The NBD wire codecs (Cmd, Errno, State …) stay in "@netfs/netfs/nbd";
// the root carries the servers, the client and the devices.
export {
  connectNbd,
  type ConnectNbdOptions,
  type Device,
  FileDevice,
  MemoryDevice,
  type NbdCluster,
  type NbdClusterOptions,
  NbdConnection,
  NbdError,
  type NbdExport,
  NbdOptionError,
  NbdProtocolError,
  type NbdServer,
  readOnly as readOnlyDevice,
  serveNbd,
  serveNbdCluster,
  type ServeNbdOptions,
  SharedMemoryDevice,
  VfsDevice,
} from "./nbd/mod.ts";
