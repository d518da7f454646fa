/**
 * Wire definitions of the portmapper (program 100000 version 2, RFC 1833
 * section 3) and rpcbind (versions 3 and 4, RFC 1833 section 2): constants,
 * mappings, universal addresses and transport addresses, encoded and
 * decoded both ways.
 *
 * @example Universal addresses
 * ```ts
 * import { formatUniversalAddress, parseUniversalAddress } from "@netfs/netfs/client";
 * import assert from "node:assert/strict";
 *
 * // The port's high and low bytes follow the address: 2049 = 8 * 256 + 1.
 * const uaddr = formatUniversalAddress({ hostname: "127.0.0.1", port: 2049 });
 * assert.equal(uaddr, "127.0.0.1.8.1");
 * assert.deepEqual(parseUniversalAddress(uaddr), { hostname: "127.0.0.1", port: 2049 });
 * assert.deepEqual(parseUniversalAddress("::1.0.111"), { hostname: "::1", port: 111 });
 * ```
 *
 * @module
 */

import type { XdrReader, XdrWriter } from "../rpc/xdr.ts";
import { ipv4Bytes, ipv6Bytes } from "../net/address.ts";

/** The portmapper/rpcbind program number. */
export const PMAP_PROG = 100000;
/** Its well-known port. */
export const PMAP_PORT = 111;
/** `IPPROTO_TCP`, the `prot` of a version 2 mapping. */
export const IPPROTO_TCP = 6;
/** `IPPROTO_UDP`. */
export const IPPROTO_UDP = 17;

/** Version 2 procedures. */
export const Pmap2Proc = {
  NULL: 0,
  SET: 1,
  UNSET: 2,
  GETPORT: 3,
  DUMP: 4,
  CALLIT: 5,
} as const;

/** Version 3 and 4 procedures (4 adds the last four). */
export const RpcbProc = {
  NULL: 0,
  SET: 1,
  UNSET: 2,
  GETADDR: 3,
  DUMP: 4,
  CALLIT: 5, // BCAST in version 4
  GETTIME: 6,
  UADDR2TADDR: 7,
  TADDR2UADDR: 8,
  GETVERSADDR: 9,
  INDIRECT: 10,
  GETADDRLIST: 11,
  GETSTAT: 12,
} as const;

/** Longest string (netid, universal address, owner) accepted in a call. */
export const MAX_RPCB_STRING = 1024;
/** Most entries accepted in a decoded list. */
export const MAX_RPCB_LIST = 65536;

/** A version 2 mapping (`pmap2_mapping`). */
export interface PortMapping {
  /** Program number. */
  program: number;
  /** Version. */
  version: number;
  /** `IPPROTO_TCP` (6) or `IPPROTO_UDP` (17). */
  protocol: number;
  /** Port; 0 in queries. */
  port: number;
}

/** A version 3/4 mapping (`rpcb`). */
export interface RpcbMapping {
  /** Program number. */
  program: number;
  /** Version. */
  version: number;
  /** Transport: "tcp", "tcp6", "udp", "udp6", "local" … */
  netid: string;
  /** Universal address ("127.0.0.1.8.1"). */
  addr: string;
  /** Who registered it. */
  owner: string;
}

/** One `rpcb_entry` of GETADDRLIST. */
export interface RpcbEntry {
  /** Merged universal address. */
  maddr: string;
  /** Transport name. */
  netid: string;
  /** Semantics: 1 CLTS, 2 COTS, 3 COTS_ORD, 4 RAW. */
  semantics: number;
  /** Protocol family ("inet", "inet6"). */
  protoFamily: string;
  /** Protocol ("tcp", "udp"). */
  proto: string;
}

/** A `netbuf`: a transport-specific address (a `sockaddr`). */
export interface Netbuf {
  /** Buffer size the owner allocated. */
  maxlen: number;
  /** The address bytes. */
  buf: Uint8Array;
}

/** Encodes a version 2 mapping. */
export function encodeMapping(w: XdrWriter, m: PortMapping): void {
  w.u32(m.program).u32(m.version).u32(m.protocol).u32(m.port);
}

/** Decodes a version 2 mapping. */
export function decodeMapping(r: XdrReader): PortMapping {
  return {
    program: r.u32("prog"),
    version: r.u32("vers"),
    protocol: r.u32("prot"),
    port: r.u32("port"),
  };
}

/** Encodes a version 2 DUMP result (`pmaplist`, a linked list). */
export function encodeMappingList(
  w: XdrWriter,
  list: readonly PortMapping[],
): void {
  for (const m of list) {
    w.bool(true);
    encodeMapping(w, m);
  }
  w.bool(false);
}

/**
 * Decodes a version 2 DUMP result.
 *
 * @example A version 2 DUMP result, both ways
 * ```ts
 * import { decodeMappingList, encodeMappingList, IPPROTO_TCP } from "@netfs/netfs/client";
 * import { XdrReader, XdrWriter } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const list = [
 *   { program: 100000, version: 2, protocol: IPPROTO_TCP, port: 111 },
 *   { program: 100003, version: 3, protocol: IPPROTO_TCP, port: 2049 },
 * ];
 * const w = new XdrWriter();
 * encodeMappingList(w, list);
 * assert.equal(w.length, 2 * (4 + 16) + 4); // "value follows" + mapping, then the end
 * assert.deepEqual(decodeMappingList(new XdrReader(w.bytes())), list);
 * ```
 */
export function decodeMappingList(r: XdrReader): PortMapping[] {
  return r.list(MAX_RPCB_LIST, decodeMapping, "pmaplist");
}

/** Encodes an `rpcb` mapping. */
export function encodeRpcb(w: XdrWriter, m: RpcbMapping): void {
  w.u32(m.program).u32(m.version).string(m.netid).string(m.addr).string(
    m.owner,
  );
}

/**
 * Decodes an `rpcb` mapping.
 *
 * @example Strings are bounded by MAX_RPCB_STRING
 * ```ts
 * import { decodeRpcb, encodeRpcb, MAX_RPCB_STRING } from "@netfs/netfs/client";
 * import { XdrReader, XdrWriter } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const nfs = { program: 100003, version: 3, netid: "tcp", addr: "127.0.0.1.8.1", owner: "" };
 * const w = new XdrWriter();
 * encodeRpcb(w, nfs);
 * assert.deepEqual(decodeRpcb(new XdrReader(w.bytes())), nfs);
 *
 * w.reset();
 * encodeRpcb(w, { ...nfs, owner: "x".repeat(MAX_RPCB_STRING + 1) });
 * assert.throws(() => decodeRpcb(new XdrReader(w.bytes())), {
 *   name: "XdrError",
 *   message: "Length 1025 exceeds maximum 1024 (field r_owner)",
 * });
 * ```
 */
export function decodeRpcb(r: XdrReader): RpcbMapping {
  return {
    program: r.u32("r_prog"),
    version: r.u32("r_vers"),
    netid: r.string(MAX_RPCB_STRING, "r_netid"),
    addr: r.string(MAX_RPCB_STRING, "r_addr"),
    owner: r.string(MAX_RPCB_STRING, "r_owner"),
  };
}

/** Encodes a version 3/4 DUMP result (`rpcblist_ptr`). */
export function encodeRpcbList(
  w: XdrWriter,
  list: readonly RpcbMapping[],
): void {
  for (const m of list) {
    w.bool(true);
    encodeRpcb(w, m);
  }
  w.bool(false);
}

/** Decodes a version 3/4 DUMP result. */
export function decodeRpcbList(r: XdrReader): RpcbMapping[] {
  return r.list(MAX_RPCB_LIST, decodeRpcb, "rpcblist");
}

/** Encodes a GETADDRLIST result (`rpcb_entry_list_ptr`). */
export function encodeRpcbEntryList(
  w: XdrWriter,
  list: readonly RpcbEntry[],
): void {
  for (const e of list) {
    w.bool(true);
    w.string(e.maddr).string(e.netid).u32(e.semantics);
    w.string(e.protoFamily).string(e.proto);
  }
  w.bool(false);
}

/** Decodes a GETADDRLIST result. */
export function decodeRpcbEntryList(r: XdrReader): RpcbEntry[] {
  return r.list(MAX_RPCB_LIST, (x) => ({
    maddr: x.string(MAX_RPCB_STRING, "r_maddr"),
    netid: x.string(MAX_RPCB_STRING, "r_nc_netid"),
    semantics: x.u32("r_nc_semantics"),
    protoFamily: x.string(MAX_RPCB_STRING, "r_nc_protofmly"),
    proto: x.string(MAX_RPCB_STRING, "r_nc_proto"),
  }), "rpcb_entry_list");
}

/** Encodes a `netbuf`. */
export function encodeNetbuf(w: XdrWriter, n: Netbuf): void {
  w.u32(n.maxlen).opaque(n.buf);
}

/** Decodes a `netbuf` (at most 1024 bytes of address). */
export function decodeNetbuf(r: XdrReader): Netbuf {
  return {
    maxlen: r.u32("maxlen"),
    buf: r.opaque(MAX_RPCB_STRING, "buf"),
  };
}

/** A host and port, the parts of a universal address. */
export interface HostPort {
  /** IPv4 or IPv6 literal. */
  hostname: string;
  /** TCP or UDP port. */
  port: number;
}

/**
 * Formats a universal address (RFC 5665): the address, then the port's high
 * and low bytes, dot-separated.
 */
export function formatUniversalAddress(a: HostPort): string {
  return `${a.hostname}.${(a.port >> 8) & 255}.${a.port & 255}`;
}

/**
 * Parses a universal address; undefined when it is not one.
 *
 * @example What is not a universal address
 * ```ts
 * import { parseUniversalAddress } from "@netfs/netfs/client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseUniversalAddress("10.0.0.1.4.1")?.port, 1025);
 * assert.equal(parseUniversalAddress("nfs.example.com.8.1"), undefined); // a name
 * assert.equal(parseUniversalAddress("10.0.0.1.256.1"), undefined); // byte over 255
 * assert.equal(parseUniversalAddress("10.0.0.1"), undefined); // no port
 * ```
 */
export function parseUniversalAddress(uaddr: string): HostPort | undefined {
  const m = /^(.+)\.(\d{1,3})\.(\d{1,3})$/.exec(uaddr);
  if (!m) return undefined;
  const hi = Number(m[2]);
  const lo = Number(m[3]);
  if (hi > 255 || lo > 255) return undefined;
  const hostname = m[1];
  if (ipv4Bytes(hostname) === undefined && ipv6Bytes(hostname) === undefined) {
    return undefined;
  }
  return { hostname, port: hi * 256 + lo };
}

/** `AF_INET` and `AF_INET6` as Linux numbers them. */
const AF_INET = 2;
const AF_INET6 = 10;

/**
 * Converts a universal address to a transport address: a Linux
 * `sockaddr_in` (16 bytes) or `sockaddr_in6` (28 bytes), the family in host
 * (little-endian) order as rpcbind on Linux sends it. Undefined when the
 * address cannot be parsed.
 *
 * @example A Linux sockaddr_in, and back
 * ```ts
 * import { transportToUniversal, universalToTransport } from "@netfs/netfs/client";
 * import assert from "node:assert/strict";
 *
 * const t = universalToTransport("127.0.0.1.0.111");
 * assert.deepEqual(t, {
 *   maxlen: 16,
 *   // AF_INET (2, little-endian), port 111 (big-endian), 127.0.0.1, zero padding
 *   buf: new Uint8Array([2, 0, 0, 111, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
 * });
 * assert.equal(transportToUniversal(t!.buf), "127.0.0.1.0.111");
 * assert.equal(transportToUniversal(universalToTransport("::1.8.1")!.buf), "::1.8.1");
 * ```
 */
export function universalToTransport(uaddr: string): Netbuf | undefined {
  const hp = parseUniversalAddress(uaddr);
  if (!hp) return undefined;
  const v4 = ipv4Bytes(hp.hostname);
  if (v4 !== undefined) {
    const buf = new Uint8Array(16);
    const view = new DataView(buf.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, hp.port);
    buf.set(v4, 4);
    return { maxlen: 16, buf };
  }
  const v6 = ipv6Bytes(hp.hostname)!;
  const buf = new Uint8Array(28);
  const view = new DataView(buf.buffer);
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, hp.port);
  buf.set(v6, 8);
  return { maxlen: 28, buf };
}

/**
 * Converts a transport address (`sockaddr_in` or `sockaddr_in6`, family in
 * either byte order) to a universal address; undefined when it is neither.
 */
export function transportToUniversal(buf: Uint8Array): string | undefined {
  if (buf.byteLength < 4) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const le = view.getUint16(0, true);
  const be = view.getUint16(0);
  const port = view.getUint16(2);
  if ((le === AF_INET || be === AF_INET) && buf.byteLength >= 8) {
    const a = buf.subarray(4, 8);
    return formatUniversalAddress({ hostname: a.join("."), port });
  }
  if ((le === AF_INET6 || be === AF_INET6) && buf.byteLength >= 24) {
    return formatUniversalAddress({
      hostname: formatIPv6(buf.subarray(8, 24)),
      port,
    });
  }
  return undefined;
}

function formatIPv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${
    hex.slice(best + bestLen).join(":")
  }`;
}

/**
 * Encodes GETSTAT's result: three `rpcb_stat` (versions 2, 3, 4), each with
 * 13 per-procedure counters, SET and UNSET counts, and empty address and
 * remote-call lists.
 */
export function encodeRpcbStats(
  w: XdrWriter,
  stats: readonly { procs: readonly number[]; set: number; unset: number }[],
): void {
  for (let v = 0; v < 3; v++) {
    const s = stats[v];
    for (let i = 0; i < 13; i++) w.i32(s?.procs[i] ?? 0);
    w.i32(s?.set ?? 0).i32(s?.unset ?? 0);
    w.bool(false).bool(false);
  }
}
