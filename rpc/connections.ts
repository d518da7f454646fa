/**
 * Connection control shared by every netfs server (RPC and NBD): which peers
 * may connect, and what a server reports about each connection.
 *
 * @example Allow loopback and one private network
 * ```ts
 * import { AllowList } from "./connections.ts";
 * const allow = new AllowList(["127.0.0.1", "::1", "10.213.0.0/24"]);
 * console.log(allow.allows("10.213.0.2"), allow.allows("192.0.2.1")); // true false
 * ```
 *
 * @module
 */

/** The default allowed clients: loopback only. */
export const LOOPBACK: readonly string[] = Object.freeze([
  "127.0.0.0/8",
  "::1",
]);

interface Net {
  v6: boolean;
  addr: bigint;
  mask: bigint;
}

/**
 * The 4 bytes of a dotted-quad IPv4 address; undefined if `s` is not one.
 *
 * @example
 * ```ts
 * import { ipv4Bytes } from "./connections.ts";
 * console.log(ipv4Bytes("10.0.0.1")); // Uint8Array(4) [ 10, 0, 0, 1 ]
 * ```
 */
export function ipv4Bytes(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i]) || Number(parts[i]) > 255) return undefined;
    out[i] = Number(parts[i]);
  }
  return out;
}

/**
 * The 16 bytes of a textual IPv6 address (RFC 4291, with `::` and an
 * embedded IPv4 tail); undefined if `s` is not one. No brackets, no zone.
 *
 * @example
 * ```ts
 * import { ipv6Bytes } from "./connections.ts";
 * console.log(ipv6Bytes("::ffff:127.0.0.1")?.[15]); // 1
 * ```
 */
export function ipv6Bytes(s: string): Uint8Array | undefined {
  if (!s.includes(":")) return undefined;
  let tail4: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".", lastColon)) {
    tail4 = ipv4Bytes(s.slice(lastColon + 1));
    if (!tail4) return undefined;
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [
    ...head,
    ...new Array(halves.length === 2 ? missing : 0).fill("0"),
    ...tail,
  ];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i])) return undefined;
    const v = parseInt(groups[i], 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 255;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

function toBigInt(bytes: Uint8Array | undefined): bigint | undefined {
  if (bytes === undefined) return undefined;
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function parseV4(s: string): bigint | undefined {
  return toBigInt(ipv4Bytes(s));
}

/** Accepts what peers' address strings carry too: brackets and a zone. */
function parseV6(s: string): bigint | undefined {
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  return toBigInt(ipv6Bytes(s));
}

function parseNet(spec: string): Net {
  const slash = spec.indexOf("/");
  const host = slash >= 0 ? spec.slice(0, slash) : spec;
  const v4 = parseV4(host);
  const v6 = v4 === undefined ? parseV6(host) : undefined;
  if (v4 === undefined && v6 === undefined) {
    throw new TypeError(`Not an IP address or CIDR: ${spec}`);
  }
  const bits = v4 !== undefined ? 32 : 128;
  const prefix = slash >= 0 ? Number(spec.slice(slash + 1)) : bits;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
    throw new TypeError(`Invalid prefix length: ${spec}`);
  }
  const all = (1n << BigInt(bits)) - 1n;
  const mask = all ^ ((1n << BigInt(bits - prefix)) - 1n);
  const addr = (v4 ?? v6)!;
  return { v6: v4 === undefined, addr: addr & mask, mask };
}

/**
 * A set of allowed client addresses and networks (CIDRs), IPv4 and IPv6.
 * An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) matches IPv4 entries.
 *
 * @example
 * ```ts
 * import { AllowList, LOOPBACK } from "./connections.ts";
 * const loop = new AllowList(LOOPBACK);
 * console.log(loop.allows("127.0.0.1"), loop.allows("::ffff:127.0.0.1")); // true true
 * ```
 */
export class AllowList {
  readonly #nets: Net[];
  /** The entries as given. */
  readonly entries: readonly string[];

  /**
   * Parses `entries`; throws TypeError for an entry that is not an address
   * or CIDR. `"*"` allows everyone.
   */
  constructor(entries: readonly string[]) {
    this.entries = [...entries];
    this.#nets = entries.flatMap((e) =>
      e === "*"
        ? [parseNet("0.0.0.0/0"), parseNet("::/0")]
        : [parseNet(e.trim())]
    );
  }

  /** Whether `address` (a literal IPv4 or IPv6 address) is allowed. */
  allows(address: string): boolean {
    let v4 = parseV4(address);
    let v6: bigint | undefined;
    if (v4 === undefined) {
      v6 = parseV6(address);
      if (v6 === undefined) return false;
      if ((v6 >> 32n) === 0xffffn) v4 = v6 & 0xffffffffn;
    }
    for (const n of this.#nets) {
      if (!n.v6 && v4 !== undefined && (v4 & n.mask) === n.addr) return true;
      if (n.v6 && v6 !== undefined && (v6 & n.mask) === n.addr) return true;
    }
    return false;
  }
}

/** What a server reports about one live connection. */
export interface ConnectionInfo {
  /** Server-assigned id, unique for the server's lifetime. */
  id: number;
  /** The peer's address. */
  remote: Deno.NetAddr;
  /** The local address. */
  local: Deno.NetAddr;
  /** When the connection was accepted (ms since the epoch). */
  since: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes sent. */
  bytesOut: number;
  /** Requests (RPC calls or NBD commands) received. */
  requests: number;
}

/** Connection hooks and limits shared by the RPC and NBD servers. */
export interface ConnectionOptions {
  /**
   * Allowed client addresses and CIDRs; default {@link LOOPBACK}. Refused
   * peers are closed right after accept.
   */
  allow?: readonly string[];
  /**
   * Called for each accepted peer after the allow list passed; returning
   * false refuses it.
   */
  accept?: (remote: Deno.NetAddr) => boolean;
  /** Called when a connection is accepted. */
  onConnect?: (info: ConnectionInfo) => void;
  /** Called when a connection ends, with its final counters. */
  onDisconnect?: (info: ConnectionInfo) => void;
  /** Most simultaneous connections; more are closed at once. Default 1024. */
  maxConnections?: number;
  /** Close a connection idle this long (ms). Default 0: never. */
  idleTimeout?: number;
}

/**
 * The admission rule every netfs server applies to an accepted peer: the
 * allowed clients, then the `accept` hook (a throwing hook refuses), then
 * the connection limit.
 *
 * @example
 * ```ts
 * import { Admission } from "./connections.ts";
 * const gate = new Admission({ maxConnections: 1 });
 * const peer = { transport: "tcp" as const, hostname: "127.0.0.1", port: 4000 };
 * console.log(gate.refusal(peer, 0), gate.refusal(peer, 1)); // undefined "too many connections: 1"
 * ```
 */
export class Admission {
  readonly #allow: AllowList;
  readonly #accept: ((remote: Deno.NetAddr) => boolean) | undefined;
  /** The connection limit in force. */
  readonly maxConnections: number;

  /** Reads `allow` (default {@link LOOPBACK}), `accept` and `maxConnections` (default 1024). */
  constructor(options: ConnectionOptions) {
    this.#allow = new AllowList(options.allow ?? LOOPBACK);
    this.#accept = options.accept;
    this.maxConnections = options.maxConnections ?? 1024;
  }

  /**
   * Why `remote` must be refused while `live` connections are open, or
   * undefined to admit it.
   */
  refusal(remote: Deno.NetAddr, live: number): string | undefined {
    if (!this.#allow.allows(remote.hostname)) {
      return "not in the allowed clients";
    }
    if (this.#accept) {
      try {
        if (!this.#accept(remote)) return "accept hook said no";
      } catch (e) {
        return `accept hook failed: ${(e as Error).message}`;
      }
    }
    if (live >= this.maxConnections) {
      return `too many connections: ${this.maxConnections}`;
    }
    return undefined;
  }
}
