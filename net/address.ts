/**
 * Textual IP addresses to bytes, for the allowed clients and for portmap's
 * universal addresses. Total: anything that is not an address gives
 * undefined, never an exception.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipv4Bytes, ipv6Bytes } from "@netfs/netfs";
 * assert.deepEqual(ipv4Bytes("10.0.0.1"), new Uint8Array([10, 0, 0, 1]));
 * assert.equal(ipv6Bytes("::ffff:127.0.0.1")?.[15], 1);
 * assert.equal(ipv4Bytes("10.0.0.256"), undefined);
 * ```
 *
 * @module
 */

/**
 * The 4 bytes of a dotted-quad IPv4 address; undefined if `s` is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipv4Bytes } from "@netfs/netfs";
 * assert.deepEqual(ipv4Bytes("10.0.0.1"), new Uint8Array([10, 0, 0, 1]));
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
 * import assert from "node:assert/strict";
 * import { ipv6Bytes } from "@netfs/netfs";
 * assert.equal(ipv6Bytes("::ffff:127.0.0.1")?.[15], 1);
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
