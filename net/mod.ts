/**
 * What the RPC and NBD servers share about connections: admission (the
 * allowed clients, the `accept` hook, the connection limit), the connection
 * events and their {@link ConnectionInfo}, and IP address parsing. Not a
 * package entry of its own: `@netfs/netfs` and `@netfs/netfs/rpc` export
 * all of it, `@netfs/netfs/nbd` the connection types.
 *
 * Each server still runs its own listener (accept loop, idle timer,
 * graceful shutdown) and calls {@link Admission.refusal} on every accepted
 * peer.
 *
 * @module
 */
export * from "./address.ts";
export * from "./allow.ts";
export * from "./admission.ts";
export * from "./connection.ts";
