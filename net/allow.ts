/**
 * The allowed clients of a netfs server: addresses and networks (CIDRs),
 * IPv4 and IPv6, matched against each accepted peer.
 *
 * @example Allow loopback and one private network
 * ```ts
 * import assert from "node:assert/strict";
 * import { AllowList } from "@netfs/netfs";
 * const allow = new AllowList(["127.0.0.1", "::1", "10.213.0.0/24"]);
 * assert.equal(allow.allows("10.213.0.2"), true);
 * assert.equal(allow.allows("192.0.2.1"), false);
 * ```
 *
 * @module
 */

import { ipv4Bytes, ipv6Bytes } from "./address.ts";

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
 * import assert from "node:assert/strict";
 * import { AllowList, LOOPBACK } from "@netfs/netfs";
 * const loop = new AllowList(LOOPBACK);
 * assert.equal(loop.allows("127.0.0.1"), true);
 * assert.equal(loop.allows("::ffff:127.0.0.1"), true);
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
