/**
 * netfs: network file services for Deno — ONC RPC, NFSv3, MOUNT v3,
 * portmap/rpcbind, NBD, and the file-system layer they stand on; servers
 * and clients (`NfsClient` reads an NFS export through Deno's file API).
 *
 * The root re-exports `@netfs/netfs/rpc`, `/server`, `/client`, `/vfs` and
 * `/telemetry` whole, and from `/nbd` the servers, the client and the devices; NBD's
 * wire codecs (`Cmd`, `Errno`, `State` …) stay in `@netfs/netfs/nbd`.
 *
 * @example Serve a file system over NFS and a RAM disk over NBD
 * ```ts
 * import { connectNbd, MemFs, MemoryDevice, PortmapClient, serveNbd, serveNfs } from "@netfs/netfs";
 * import assert from "node:assert/strict";
 *
 * const nfs = serveNfs({ port: 0, quiet: true, exports: [{ path: "/", fs: new MemFs() }] });
 * // What `mount` asks first: where MOUNT v3 listens (on the NFS port here).
 * const pm = await PortmapClient.connect({ hostname: "127.0.0.1", port: nfs.addr.port });
 * assert.equal(await pm.getPort({ program: 100005, version: 3 }), nfs.addr.port);
 * pm.close();
 *
 * const nbd = serveNbd({ port: 0, exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }] });
 * const disk = await connectNbd({ port: nbd.addr.port, export: "mem" });
 * assert.equal(disk.size, 1 << 20);
 * await disk.close();
 *
 * await Promise.all([nfs.shutdown(), nbd.shutdown()]);
 * ```
 *
 * @module
 */
export * from "./rpc/mod.ts";
export * from "./vfs/mod.ts";
export * from "./server/mod.ts";
export * from "./client/mod.ts";
export * from "./telemetry/mod.ts";
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
