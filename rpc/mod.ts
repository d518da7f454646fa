/**
 * ONC RPC v2 (RFC 5531) over TCP with XDR (RFC 4506): codecs, record
 * marking, credentials, a pipelined server and a client.
 *
 * @example Serve a program
 * ```ts
 * import { serveRpc } from "@netfs/netfs/rpc";
 * const server = serveRpc({
 *   port: 0,
 *   programs: [{
 *     program: 0x20000001,
 *     version: 1,
 *     name: "demo",
 *     procedures: { 0: { name: "NULL", run: () => {} } },
 *   }],
 * });
 * await server.shutdown();
 * ```
 *
 * @module
 */
export * from "./xdr.ts";
export * from "./program.ts";
export * from "../net/mod.ts";
export * from "./record.ts";
export * from "./message.ts";
export * from "./auth.ts";
export * from "./drc.ts";
export * from "./server.ts";
export * from "./client.ts";
