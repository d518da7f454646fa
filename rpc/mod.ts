/**
 * ONC RPC v2 (RFC 5531) over TCP with XDR (RFC 4506): codecs, record
 * marking, credentials, a pipelined server and a client.
 *
 * @example Serve a program and call it
 * ```ts
 * import { RpcClient, serveRpc } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const server = serveRpc({
 *   hostname: "127.0.0.1",
 *   port: 0, // any free port
 *   programs: [{
 *     program: 0x20000001,
 *     version: 1,
 *     name: "echo",
 *     procedures: {
 *       0: { name: "NULL", handler: () => {} },
 *       1: {
 *         name: "ECHO",
 *         handler: (args, reply) => {
 *           reply.opaque(args.opaque(1024));
 *         },
 *       },
 *     },
 *   }],
 * });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const reply = await client.call(0x20000001, 1, 1, (w) => w.opaque(new Uint8Array([1, 2, 3])));
 * assert.deepEqual(reply.opaque(1024), new Uint8Array([1, 2, 3]));
 * client.close();
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
