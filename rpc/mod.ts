/**
 * ONC RPC v2 (RFC 5531) over TCP with XDR (RFC 4506): codecs, a pipelined
 * server, a client, and the portmapper/rpcbind program.
 *
 * @example
 * ```ts
 * import { XdrWriter } from "@netfs/netfs/rpc";
 * const w = new XdrWriter();
 * w.u32(100003);
 * ```
 *
 * @module
 */
export * from "./xdr.ts";
export * from "./program.ts";
export * from "./connections.ts";
