/**
 * What the NBD server does with a device that declares `concurrency:
 * "serialize"`: one queue per device object, shared by every connection,
 * and no zero-copy `view` (a write into a view spans several socket reads,
 * so it would overlap the calls queued behind it).
 *
 * @module
 */

import { CallQueue } from "../vfs/_serial.ts";
import type { Device } from "./device.ts";

const serialized = new WeakMap<Device, Device>();

/**
 * `device` itself unless it declares `concurrency: "serialize"`; then the
 * one wrapper that queues its calls.
 */
export function servedDevice(device: Device): Device {
  if (device.concurrency !== "serialize") return device;
  let s = serialized.get(device);
  if (s === undefined) {
    s = serialize(device);
    serialized.set(device, s);
  }
  return s;
}

function serialize(d: Device): Device {
  const q = new CallQueue();
  const s: {
    -readonly [K in keyof Device]: Device[K];
  } = {
    size: d.size,
    readOnly: d.readOnly,
    rotational: d.rotational,
    multiConn: d.multiConn,
    concurrency: "serialize",
    readAt: (o, into) => q.run(() => d.readAt(o, into)),
    writeAt: (o, data, opts) => q.run(() => d.writeAt(o, data, opts)),
    flush: () => q.run(() => d.flush()),
  };
  const { trim, writeZeroes, blockStatus, cache } = d;
  if (trim) s.trim = (o, l, opts) => q.run(() => trim.call(d, o, l, opts));
  if (writeZeroes) {
    s.writeZeroes = (o, l, opts) =>
      q.run(() => writeZeroes.call(d, o, l, opts));
  }
  if (blockStatus) {
    s.blockStatus = (o, l, opts) =>
      q.run(() => blockStatus.call(d, o, l, opts));
  }
  if (cache) s.cache = (o, l) => q.run(() => cache.call(d, o, l));
  return s;
}
