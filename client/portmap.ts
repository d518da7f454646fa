/**
 * A portmapper/rpcbind client: find which port serves a program (GETPORT,
 * GETADDR), list every mapping (DUMP), and register mappings (SET, UNSET).
 *
 * @example Ask rpcbind (version 3) for a universal address
 * ```ts
 * import { parseUniversalAddress, PortmapClient } from "@netfs/netfs/client";
 * import { serveRpc } from "@netfs/netfs/rpc";
 * import { portmapPrograms } from "@netfs/netfs/server";
 * import assert from "node:assert/strict";
 *
 * const server = serveRpc({ programs: [] });
 * for (const p of portmapPrograms(server)) server.register(p);
 * const pm = await PortmapClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const uaddr = await pm.getAddr({ program: 100000, version: 3, netid: "tcp" });
 * assert.deepEqual(parseUniversalAddress(uaddr), { hostname: "127.0.0.1", port: server.addr.port });
 * pm.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import {
  decodeMappingList,
  decodeNetbuf,
  decodeRpcbEntryList,
  decodeRpcbList,
  encodeMapping,
  encodeNetbuf,
  encodeRpcb,
  IPPROTO_TCP,
  MAX_RPCB_STRING,
  type Netbuf,
  Pmap2Proc,
  PMAP_PORT,
  PMAP_PROG,
  type PortMapping,
  type RpcbEntry,
  type RpcbMapping,
  RpcbProc,
} from "../proto/portmap.ts";
import { RpcClient, type RpcClientOptions } from "../rpc/client.ts";

/** Options of {@link PortmapClient.connect}. */
export interface PortmapClientOptions extends Omit<RpcClientOptions, "port"> {
  /** The portmapper's port. Default 111. */
  port?: number;
}

/** A program, version and (for GETADDR) transport to look up. */
export interface PortQuery {
  /** Program number. */
  program: number;
  /** Version. */
  version: number;
  /** For GETPORT: IP protocol, default TCP (6). */
  protocol?: number;
  /** For GETADDR: netid, default "" (the transport of this call). */
  netid?: string;
}

/** The mapping GETPORT and UNSET send for a query: TCP unless it says. */
function queried(query: PortQuery): PortMapping {
  return {
    program: query.program,
    version: query.version,
    protocol: query.protocol ?? IPPROTO_TCP,
    port: 0,
  };
}

/**
 * Talks to a portmapper or rpcbind over TCP.
 *
 * @example Register a service, look it up, remove it
 * ```ts
 * import { IPPROTO_TCP, PortmapClient } from "@netfs/netfs/client";
 * import { serveRpc } from "@netfs/netfs/rpc";
 * import { portmapPrograms } from "@netfs/netfs/server";
 * import assert from "node:assert/strict";
 *
 * const server = serveRpc({ programs: [] });
 * for (const p of portmapPrograms(server)) server.register(p);
 * const pm = await PortmapClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const mapping = { program: 0x20000001, version: 1, protocol: IPPROTO_TCP, port: 4000 };
 * assert.equal(await pm.set(mapping), true); // honoured: we are on loopback
 * assert.equal(await pm.getPort(mapping), 4000);
 * assert.ok((await pm.dump()).some((m) => m.program === 0x20000001));
 * assert.equal(await pm.unset(mapping), true);
 * assert.equal(await pm.getPort(mapping), 0);
 * pm.close();
 * await server.shutdown();
 * ```
 */
export class PortmapClient {
  /** The RPC connection underneath. */
  readonly rpc: RpcClient;

  /**
   * Wraps an existing RPC client connected to a portmapper.
   *
   * @param rpc The connection.
   */
  constructor(rpc: RpcClient) {
    this.rpc = rpc;
  }

  /**
   * Connects to a portmapper (port 111 unless `port` says otherwise).
   *
   * @param options Where to connect.
   */
  static async connect(options: PortmapClientOptions): Promise<PortmapClient> {
    return new PortmapClient(
      await RpcClient.connect({ ...options, port: options.port ?? PMAP_PORT }),
    );
  }

  /** Pings version `version` (2, 3 or 4) with NULL. */
  async ping(version = 2): Promise<void> {
    await this.rpc.call(PMAP_PROG, version, 0, () => {});
  }

  /** Version 2 GETPORT: the port of a program, 0 if it is not registered. */
  async getPort(query: PortQuery): Promise<number> {
    const r = await this.rpc.call(
      PMAP_PROG,
      2,
      Pmap2Proc.GETPORT,
      (w) => encodeMapping(w, queried(query)),
    );
    return r.u32("port");
  }

  /** Version 2 DUMP: every mapping. */
  async dump(): Promise<PortMapping[]> {
    const r = await this.rpc.call(PMAP_PROG, 2, Pmap2Proc.DUMP, () => {});
    return decodeMappingList(r);
  }

  /** Version 2 SET; true when the mapping was added. */
  async set(mapping: PortMapping): Promise<boolean> {
    const r = await this.rpc.call(
      PMAP_PROG,
      2,
      Pmap2Proc.SET,
      (w) => encodeMapping(w, mapping),
    );
    return r.bool("result");
  }

  /** Version 2 UNSET of every mapping of (program, version). */
  async unset(query: PortQuery): Promise<boolean> {
    const r = await this.rpc.call(
      PMAP_PROG,
      2,
      Pmap2Proc.UNSET,
      (w) => encodeMapping(w, queried(query)),
    );
    return r.bool("result");
  }

  /**
   * rpcbind GETADDR (version 3 or 4): the universal address of a program,
   * "" if it is not registered.
   */
  async getAddr(
    query: PortQuery,
    options: { version?: 3 | 4 } = {},
  ): Promise<string> {
    const r = await this.rpc.call(
      PMAP_PROG,
      options.version ?? 4,
      RpcbProc.GETADDR,
      (w) =>
        encodeRpcb(w, {
          program: query.program,
          version: query.version,
          netid: query.netid ?? "",
          addr: "",
          owner: "",
        }),
    );
    return r.string(MAX_RPCB_STRING, "addr");
  }

  /** rpcbind DUMP (version 3 or 4): every mapping with netid and owner. */
  async dumpAddrs(options: { version?: 3 | 4 } = {}): Promise<RpcbMapping[]> {
    const r = await this.rpc.call(
      PMAP_PROG,
      options.version ?? 4,
      RpcbProc.DUMP,
      () => {},
    );
    return decodeRpcbList(r);
  }

  /** rpcbind SET (version 3 or 4); true when the mapping was added. */
  async setAddr(
    mapping: RpcbMapping,
    options: { version?: 3 | 4 } = {},
  ): Promise<boolean> {
    const r = await this.rpc.call(
      PMAP_PROG,
      options.version ?? 4,
      RpcbProc.SET,
      (w) => encodeRpcb(w, mapping),
    );
    return r.bool("result");
  }

  /** rpcbind UNSET (version 3 or 4); netid "" removes every transport. */
  async unsetAddr(
    query: PortQuery,
    options: { version?: 3 | 4 } = {},
  ): Promise<boolean> {
    const r = await this.rpc.call(
      PMAP_PROG,
      options.version ?? 4,
      RpcbProc.UNSET,
      (w) =>
        encodeRpcb(w, {
          program: query.program,
          version: query.version,
          netid: query.netid ?? "",
          addr: "",
          owner: "",
        }),
    );
    return r.bool("result");
  }

  /** rpcbind GETTIME: the server's clock, seconds since the epoch. */
  async getTime(): Promise<number> {
    const r = await this.rpc.call(PMAP_PROG, 4, RpcbProc.GETTIME, () => {});
    return r.u32("time");
  }

  /** rpcbind version 4 GETVERSADDR: like GETADDR, exact version only. */
  async getVersAddr(query: PortQuery): Promise<string> {
    const r = await this.rpc.call(
      PMAP_PROG,
      4,
      RpcbProc.GETVERSADDR,
      (w) =>
        encodeRpcb(w, {
          program: query.program,
          version: query.version,
          netid: query.netid ?? "",
          addr: "",
          owner: "",
        }),
    );
    return r.string(MAX_RPCB_STRING, "addr");
  }

  /** rpcbind version 4 GETADDRLIST: every address of (program, version). */
  async getAddrList(query: PortQuery): Promise<RpcbEntry[]> {
    const r = await this.rpc.call(
      PMAP_PROG,
      4,
      RpcbProc.GETADDRLIST,
      (w) =>
        encodeRpcb(w, {
          program: query.program,
          version: query.version,
          netid: query.netid ?? "",
          addr: "",
          owner: "",
        }),
    );
    return decodeRpcbEntryList(r);
  }

  /** rpcbind UADDR2TADDR: a universal address as a `sockaddr`. */
  async uaddrToTaddr(uaddr: string): Promise<Netbuf> {
    const r = await this.rpc.call(
      PMAP_PROG,
      4,
      RpcbProc.UADDR2TADDR,
      (w) => w.string(uaddr),
    );
    return decodeNetbuf(r);
  }

  /** rpcbind TADDR2UADDR: a `sockaddr` as a universal address. */
  async taddrToUaddr(taddr: Netbuf): Promise<string> {
    const r = await this.rpc.call(
      PMAP_PROG,
      4,
      RpcbProc.TADDR2UADDR,
      (w) => encodeNetbuf(w, taddr),
    );
    return r.string(MAX_RPCB_STRING, "uaddr");
  }

  /** Closes the connection. */
  close(): void {
    this.rpc.close();
  }
}
