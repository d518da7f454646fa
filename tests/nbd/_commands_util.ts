// Helpers of the transmission-phase tests (commands_test.ts,
// commands_in_place_test.ts): a connection's state in each reply shape, a
// request, and a reply taken apart byte for byte.
import assert from "node:assert/strict";
import { type Tx, txState } from "../../nbd/_commands.ts";
import type { Reply } from "../../nbd/_replies.ts";
import { type Device, transmissionFlags } from "../../nbd/device.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import type { NbdRequest } from "../../nbd/protocol.ts";
import { getU64 } from "../../nbd/_u64.ts";
import { context } from "./_pipe.ts";

export type ShapeName = "simple" | "structured" | "extended";
export const SHAPES: ShapeName[] = ["simple", "structured", "extended"];

export function tx(
  shape: ShapeName,
  device: Device = new MemoryDevice(1 << 20, { chunkSize: 4096 }),
  extra: { allocation?: boolean; min?: number; max?: number } = {},
): Tx {
  const structured = shape !== "simple";
  const c = context({
    exports: [{ name: "d", device }],
    blockSize: {
      min: extra.min ?? 1,
      preferred: 4096,
      max: extra.max ?? 1 << 25,
    },
  });
  return txState(c, {
    export: c.exports.get("d")!,
    flags: transmissionFlags(device, { structured }),
    allocation: extra.allocation ?? structured,
    structured,
    extended: shape === "extended",
  });
}

export function req(
  type: number,
  offset = 0,
  length = 0,
  flags = 0,
  cookie = 0x0102030405,
): NbdRequest {
  return {
    type,
    flags,
    cookieHi: Math.floor(cookie / 2 ** 32),
    cookieLo: cookie >>> 0,
    offset,
    length,
  };
}

export function bytesOf(r: Reply): Uint8Array {
  if (r instanceof Uint8Array) return r;
  if (!r.data) return r.head;
  const out = new Uint8Array(r.head.length + r.data.length);
  out.set(r.head);
  out.set(r.data, r.head.length);
  return out;
}

/** A simple reply: [error, cookie, what follows]. */
export function simple(b: Uint8Array): [number, number, Uint8Array] {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  assert.equal(v.getUint32(0), 0x67446698, "simple reply magic");
  return [v.getUint32(4), getU64(v, 8), b.subarray(16)];
}

export interface Chunk {
  flags: number;
  type: number;
  cookie: number;
  offset?: number;
  payload: Uint8Array;
}

/** Every chunk in `b`, which must end exactly after the last one. */
export function chunks(b: Uint8Array, extended: boolean): Chunk[] {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const out: Chunk[] = [];
  for (let at = 0; at < b.length;) {
    assert.equal(
      v.getUint32(at),
      extended ? 0x6e8a278c : 0x668e33ef,
      "chunk magic",
    );
    const hdr = extended ? 32 : 20;
    const len = extended ? getU64(v, at + 24) : v.getUint32(at + 16);
    out.push({
      flags: v.getUint16(at + 4),
      type: v.getUint16(at + 6),
      cookie: getU64(v, at + 8),
      offset: extended ? getU64(v, at + 16) : undefined,
      payload: b.subarray(at + hdr, at + hdr + len),
    });
    at += hdr + len;
    assert.ok(at <= b.length, "chunk within the reply");
  }
  return out;
}

export const COOKIE = 0x0102030405;
