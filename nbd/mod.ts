/**
 * NBD (Network Block Device): a concurrent server with the whole protocol
 * (fixed newstyle, STARTTLS, INFO/GO, structured replies, block status,
 * extended headers), a client, and block devices (sparse memory, file,
 * read-only wrapper, a file of any netfs `FileSystem`), and on Linux the
 * attachment of an export or a device to the kernel as `/dev/nbdX`.
 *
 * @example Serve a sparse RAM disk and read it back with the client
 * ```ts
 * import { connectNbd, MemoryDevice, serveNbd } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * // Port 0 picks a free port; a kernel client would use `nbd-client -N mem`.
 * const server = serveNbd({ port: 0, exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }] });
 * const disk = await connectNbd({ port: server.addr.port, export: "mem" });
 * assert.equal(disk.size, 1 << 20);
 * await disk.writeAt(0, new TextEncoder().encode("hello"));
 * assert.equal(new TextDecoder().decode(await disk.readAt(0, 5)), "hello");
 * await disk.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */
export * from "./protocol.ts";
export * from "./errors.ts";
export * from "./device.ts";
export * from "./memory_device.ts";
export * from "./server.ts";
export * from "./file_device.ts";
export * from "./vfs_device.ts";
export * from "./client.ts";
export type { ConnectionInfo, ConnectionOptions } from "../net/connection.ts";
export type * from "../vfs/types.ts";
export * from "./shared_memory_device.ts";
export * from "./cluster.ts";
export * from "./kernel.ts";
