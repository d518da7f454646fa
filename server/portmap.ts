/**
 * The portmapper (program 100000 version 2) and rpcbind (versions 3 and 4)
 * as programs of an {@link RpcServer}, so that one port can carry portmap,
 * MOUNT and NFS.
 *
 * They answer for every program registered on the same server (looked up
 * at each call, so programs registered later are listed too), at that
 * server's port over TCP, plus the mappings other services add with SET
 * (kept in memory). SET and UNSET are honoured only from loopback peers,
 * as rpcbind does; from anyone else they answer false. UNSET removes only
 * mappings added by SET: the server's own programs stay.
 *
 * Not served, answered PROC_UNAVAIL: CALLIT (version 2), CALLIT/BCAST
 * (versions 3 and 4) and INDIRECT (version 4). Indirect calls make the
 * portmapper a proxy that forwards a caller's request to another service
 * with the portmapper's own address, a known amplification and access
 * control bypass; they exist for UDP broadcast, and this server is TCP
 * only. PROC_UNAVAIL tells a client at once instead of letting it time out.
 *
 * To run on the well-known port 111, start the server as root (or with
 * CAP_NET_BIND_SERVICE) with `port: 111`.
 *
 * @example Answer for a server's programs, even ones registered later
 * ```ts
 * import { PortmapClient } from "@netfs/netfs/client";
 * import { RpcAcceptError, serveRpc } from "@netfs/netfs/rpc";
 * import { portmapPrograms } from "@netfs/netfs/server";
 * import assert from "node:assert/strict";
 *
 * const server = serveRpc({ port: 0, programs: [] });
 * for (const p of portmapPrograms(server)) server.register(p);
 * server.register({
 *   program: 0x20000001,
 *   version: 1,
 *   name: "demo",
 *   procedures: { 0: { name: "NULL", run: () => {} } },
 * });
 * const pm = await PortmapClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * assert.equal(await pm.getPort({ program: 0x20000001, version: 1 }), server.addr.port);
 * // CALLIT (version 2, procedure 5) would forward a call for anyone: refused.
 * await assert.rejects(
 *   pm.rpc.call(100000, 2, 5, () => {}),
 *   (e) => e instanceof RpcAcceptError && e.statusName === "PROC_UNAVAIL",
 * );
 * pm.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import {
  decodeMapping,
  decodeNetbuf,
  decodeRpcb,
  encodeMappingList,
  encodeNetbuf,
  encodeRpcbEntryList,
  encodeRpcbList,
  encodeRpcbStats,
  formatUniversalAddress,
  IPPROTO_TCP,
  IPPROTO_UDP,
  parseUniversalAddress,
  PMAP_PROG,
  type PortMapping,
  type RpcbEntry,
  type RpcbMapping,
  RpcbProc,
  transportToUniversal,
  universalToTransport,
} from "../proto/portmap.ts";
import { AllowList, LOOPBACK } from "../net/allow.ts";
import {
  type CallContext,
  type Procedure,
  procedure,
  type RpcProgram,
} from "../rpc/program.ts";
import type { XdrWriter } from "../rpc/xdr.ts";
import type { RpcServer } from "../rpc/server.ts";

/** Options of {@link portmapPrograms}. */
export interface PortmapOptions {
  /** The owner shown for the server's own programs. Default "superuser". */
  owner?: string;
  /** Peers allowed to SET and UNSET. Default {@link LOOPBACK}. */
  setAllow?: readonly string[];
}

const NC_TPI_CLTS = 1;
const NC_TPI_COTS_ORD = 3;

function isWildcard(hostname: string): boolean {
  return hostname === "0.0.0.0" || hostname === "::";
}

function protocolOf(netid: string): number {
  if (netid === "tcp" || netid === "tcp6") return IPPROTO_TCP;
  if (netid === "udp" || netid === "udp6") return IPPROTO_UDP;
  return 0;
}

function transportNetid(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":") &&
      !addr.hostname.toLowerCase().startsWith("::ffff:")
    ? "tcp6"
    : "tcp";
}

/** The registry behind the three versions: SET mappings plus statistics. */
class Registry {
  readonly set: RpcbMapping[] = [];
  readonly stats = [2, 3, 4].map(() => ({
    procs: new Array<number>(13).fill(0),
    set: 0,
    unset: 0,
  }));
  readonly #server: RpcServer;
  readonly #owner: string;
  readonly #setAllow: AllowList;

  constructor(server: RpcServer, options: PortmapOptions) {
    this.#server = server;
    this.#owner = options.owner ?? "superuser";
    this.#setAllow = new AllowList(options.setAllow ?? LOOPBACK);
  }

  /** The server's own programs, one mapping per transport it listens on. */
  own(): RpcbMapping[] {
    const { hostname, port } = this.#server.addr;
    const netids = hostname === "::"
      ? ["tcp6", "tcp"]
      : [hostname.includes(":") ? "tcp6" : "tcp"];
    const out: RpcbMapping[] = [];
    for (const p of this.#server.programs()) {
      for (const netid of netids) {
        const host = netid === "tcp" && hostname === "::"
          ? "0.0.0.0"
          : hostname;
        out.push({
          program: p.program,
          version: p.version,
          netid,
          addr: formatUniversalAddress({ hostname: host, port }),
          owner: this.#owner,
        });
      }
    }
    return out;
  }

  all(): RpcbMapping[] {
    return [...this.own(), ...this.set];
  }

  mayChange(call: CallContext): boolean {
    return this.#setAllow.allows(call.remote.hostname);
  }

  /**
   * The address a caller should use: a wildcard listen address is replaced
   * by the local address the caller reached us on (rpcbind's merge).
   */
  merged(m: RpcbMapping, call: CallContext): string {
    const hp = parseUniversalAddress(m.addr);
    if (!hp || !isWildcard(hp.hostname)) return m.addr;
    let local = call.local.hostname;
    if (m.netid === "tcp" && local.toLowerCase().startsWith("::ffff:")) {
      local = local.slice(7);
    }
    return formatUniversalAddress({ hostname: local, port: hp.port });
  }

  /** Adds a mapping unless one exists for (program, version, netid). */
  add(m: RpcbMapping): boolean {
    const clash = this.all().some((e) =>
      e.program === m.program && e.version === m.version && e.netid === m.netid
    );
    if (clash || !parseUniversalAddress(m.addr)) return false;
    this.set.push(m);
    return true;
  }

  /** Removes SET mappings of (program, version), for one netid or all. */
  remove(program: number, version: number, netid: string): boolean {
    let removed = false;
    for (let i = this.set.length - 1; i >= 0; i--) {
      const e = this.set[i];
      if (
        e.program === program && e.version === version &&
        (netid === "" || e.netid === netid)
      ) {
        this.set.splice(i, 1);
        removed = true;
      }
    }
    return removed;
  }

  /**
   * Finds a mapping for (program, version, netid); with `anyVersion`, a
   * mapping of another version of the program when the version is missing
   * (so the caller reaches the server and learns the versions from
   * PROG_MISMATCH).
   */
  find(
    program: number,
    version: number,
    netid: string,
    anyVersion: boolean,
  ): RpcbMapping | undefined {
    const all = this.all().filter((e) =>
      e.program === program && e.netid === netid
    );
    return all.find((e) => e.version === version) ??
      (anyVersion ? all[0] : undefined);
  }
}

const encodeBool = (reply: XdrWriter, ok: boolean) => void reply.bool(ok);
const encodeU32 = (reply: XdrWriter, n: number) => void reply.u32(n);
const encodeString = (reply: XdrWriter, s: string) => void reply.string(s);

/**
 * The procedures of version `v`, each counted for GETSTAT as rpcbind counts:
 * before its arguments are decoded, so a call with garbage counts too.
 */
function counted(
  reg: Registry,
  v: number,
  procedures: Record<number, Procedure>,
): Record<number, Procedure> {
  const stats = reg.stats[v - 2];
  const out: Record<number, Procedure> = {};
  for (const [num, proc] of Object.entries(procedures)) {
    const n = Number(num);
    const decode = proc.decode;
    out[n] = {
      ...proc,
      decode: (args) => {
        stats.procs[n]++;
        return decode?.(args);
      },
    };
  }
  return out;
}

function version2(reg: Registry): RpcProgram {
  const stats = reg.stats[0];
  const v2List = (): PortMapping[] => {
    const seen = new Set<string>();
    const out: PortMapping[] = [];
    for (const m of reg.all()) {
      const protocol = protocolOf(m.netid);
      const hp = parseUniversalAddress(m.addr);
      if (!protocol || !hp) continue;
      const key = `${m.program}/${m.version}/${protocol}/${hp.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        program: m.program,
        version: m.version,
        protocol,
        port: hp.port,
      });
    }
    return out;
  };
  return {
    program: PMAP_PROG,
    version: 2,
    name: "portmapper",
    procedures: counted(reg, 2, {
      0: { name: "NULL", run: () => {} },
      1: procedure({
        name: "SET",
        decode: decodeMapping,
        run: (m, call) => {
          const netid = m.protocol === IPPROTO_TCP
            ? "tcp"
            : m.protocol === IPPROTO_UDP
            ? "udp"
            : "";
          const ok = netid !== "" && m.port > 0 && m.port < 65536 &&
            reg.mayChange(call) &&
            // Version 2 mappings are IPv4: refuse one that clashes in v2 terms.
            !v2List().some((e) =>
              e.program === m.program && e.version === m.version &&
              e.protocol === m.protocol
            ) &&
            reg.add({
              program: m.program,
              version: m.version,
              netid,
              addr: formatUniversalAddress({
                hostname: "0.0.0.0",
                port: m.port,
              }),
              owner: "unknown",
            });
          if (ok) stats.set++;
          return ok;
        },
        encode: encodeBool,
      }),
      2: procedure({
        name: "UNSET",
        decode: decodeMapping,
        run: (m, call) => {
          const ok = reg.mayChange(call) &&
            reg.remove(m.program, m.version, "");
          if (ok) stats.unset++;
          return ok;
        },
        encode: encodeBool,
      }),
      3: procedure({
        name: "GETPORT",
        decode: decodeMapping,
        run: (m) => {
          const all = v2List().filter((e) =>
            e.program === m.program && e.protocol === m.protocol
          );
          const hit = all.find((e) => e.version === m.version) ?? all[0];
          return hit?.port ?? 0;
        },
        encode: encodeU32,
      }),
      4: procedure({
        name: "DUMP",
        run: () => v2List(),
        encode: encodeMappingList,
      }),
    }),
  };
}

function rpcbind(reg: Registry, version: 3 | 4): RpcProgram {
  const stats = reg.stats[version - 2];
  const getaddr = (name: string, anyVersion: boolean) =>
    procedure({
      name,
      decode: decodeRpcb,
      run: (q, call) => {
        const netid = q.netid || transportNetid(call.local);
        const hit = reg.find(q.program, q.version, netid, anyVersion);
        return hit ? reg.merged(hit, call) : "";
      },
      encode: encodeString,
    });
  const procedures: Record<number, Procedure> = {
    [RpcbProc.NULL]: { name: "NULL", run: () => {} },
    [RpcbProc.SET]: procedure({
      name: "SET",
      decode: decodeRpcb,
      run: (m, call) => {
        const ok = m.netid !== "" && reg.mayChange(call) && reg.add(m);
        if (ok) stats.set++;
        return ok;
      },
      encode: encodeBool,
    }),
    [RpcbProc.UNSET]: procedure({
      name: "UNSET",
      decode: decodeRpcb,
      run: (m, call) => {
        const ok = reg.mayChange(call) &&
          reg.remove(m.program, m.version, m.netid);
        if (ok) stats.unset++;
        return ok;
      },
      encode: encodeBool,
    }),
    [RpcbProc.GETADDR]: getaddr("GETADDR", true),
    [RpcbProc.DUMP]: procedure({
      name: "DUMP",
      run: () => reg.all(),
      encode: encodeRpcbList,
    }),
    [RpcbProc.GETTIME]: procedure({
      name: "GETTIME",
      run: () => Math.floor(Date.now() / 1000),
      encode: encodeU32,
    }),
    [RpcbProc.UADDR2TADDR]: procedure({
      name: "UADDR2TADDR",
      decode: (args) => args.string(1024, "uaddr"),
      run: (uaddr) =>
        universalToTransport(uaddr) ?? { maxlen: 0, buf: new Uint8Array(0) },
      encode: encodeNetbuf,
    }),
    [RpcbProc.TADDR2UADDR]: procedure({
      name: "TADDR2UADDR",
      decode: decodeNetbuf,
      run: (taddr) => transportToUniversal(taddr.buf) ?? "",
      encode: encodeString,
    }),
  };
  if (version === 4) {
    procedures[RpcbProc.GETVERSADDR] = getaddr("GETVERSADDR", false);
    procedures[RpcbProc.GETADDRLIST] = procedure({
      name: "GETADDRLIST",
      decode: decodeRpcb,
      run: (q, call): RpcbEntry[] =>
        reg.all()
          .filter((e) => e.program === q.program && e.version === q.version)
          .map((e) => ({
            maddr: reg.merged(e, call),
            netid: e.netid,
            semantics: protocolOf(e.netid) === IPPROTO_UDP
              ? NC_TPI_CLTS
              : NC_TPI_COTS_ORD,
            protoFamily: e.netid.endsWith("6") ? "inet6" : "inet",
            proto: protocolOf(e.netid) === IPPROTO_UDP ? "udp" : "tcp",
          })),
      encode: encodeRpcbEntryList,
    });
    procedures[RpcbProc.GETSTAT] = procedure({
      name: "GETSTAT",
      run: () => reg.stats,
      encode: encodeRpcbStats,
    });
  }
  return {
    program: PMAP_PROG,
    version,
    name: "rpcbind",
    procedures: counted(reg, version, procedures),
  };
}

/**
 * The portmapper version 2 and rpcbind versions 3 and 4 for `server`:
 * register them on it to answer for its programs.
 *
 * @example Name the owner, and let nobody register
 * ```ts
 * import { IPPROTO_TCP, PortmapClient } from "@netfs/netfs/client";
 * import { serveRpc } from "@netfs/netfs/rpc";
 * import { portmapPrograms } from "@netfs/netfs/server";
 * import assert from "node:assert/strict";
 *
 * const server = serveRpc({ port: 0, programs: [] });
 * for (const p of portmapPrograms(server, { owner: "netfs", setAllow: [] })) {
 *   server.register(p);
 * }
 * const pm = await PortmapClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const own = await pm.dumpAddrs({ version: 3 });
 * assert.deepEqual(own.map((m) => [m.program, m.version, m.owner]), [
 *   [100000, 2, "netfs"],
 *   [100000, 3, "netfs"],
 *   [100000, 4, "netfs"],
 * ]);
 * // Even a loopback peer may not SET now.
 * const mapping = { program: 0x20000001, version: 1, protocol: IPPROTO_TCP, port: 4000 };
 * assert.equal(await pm.set(mapping), false);
 * pm.close();
 * await server.shutdown();
 * ```
 */
export function portmapPrograms(
  server: RpcServer,
  options: PortmapOptions = {},
): RpcProgram[] {
  const reg = new Registry(server, options);
  return [version2(reg), rpcbind(reg, 3), rpcbind(reg, 4)];
}
