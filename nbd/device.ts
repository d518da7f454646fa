/**
 * The block device an NBD export serves. A {@link Device} must read, write
 * and flush; everything else is optional, and the transmission flags the
 * server advertises are derived from what a device implements (nbdkit's
 * `can_*` idea): no `trim` means no `NBD_FLAG_SEND_TRIM`, `readOnly` means
 * `NBD_FLAG_READ_ONLY` and no write commands, and so on.
 *
 * @example A device of your own, served read-only
 * ```ts
 * import { connectNbd, type Device, NbdError, serveNbd, TxFlag } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * // Every byte reads as its offset modulo 251; nothing can be written.
 * const pattern: Device = {
 *   size: 1 << 20,
 *   readOnly: true,
 *   readAt(offset, into) {
 *     for (let i = 0; i < into.length; i++) into[i] = (offset + i) % 251;
 *     return Promise.resolve();
 *   },
 *   writeAt: () => Promise.reject(new Error("Never called: the export is read-only")),
 *   flush: () => Promise.resolve(),
 * };
 * const server = serveNbd({ port: 0, exports: [{ name: "pattern", device: pattern }] });
 * const disk = await connectNbd({ port: server.addr.port, export: "pattern" });
 * assert.notEqual(disk.flags & TxFlag.READ_ONLY, 0);
 * assert.equal(disk.flags & TxFlag.SEND_TRIM, 0); // the device has no `trim`
 * assert.deepEqual([...await disk.readAt(250, 3)], [250, 0, 1]);
 * // The server refuses the write itself, with EPERM.
 * await assert.rejects(
 *   disk.writeAt(0, new Uint8Array(1)),
 *   (e) => e instanceof NbdError && e.code === "EPERM",
 * );
 * await disk.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import type { Concurrency } from "../vfs/types.ts";
import { NbdError } from "./errors.ts";
import { Errno, type Extent, TxFlag } from "./protocol.ts";

/** Options of a write-like device call. */
export interface WriteOptions {
  /** Force unit access: the data must be durable before the call returns. */
  fua?: boolean;
}

/** Options of {@link Device.writeZeroes}. */
export interface WriteZeroesOptions extends WriteOptions {
  /** The range must stay allocated (no hole may be punched). */
  noHole?: boolean;
  /**
   * The client asked for FAST_ZERO: throw an {@link NbdError} with
   * `NBD_ENOTSUP`, without changing anything, unless zeroing this range is
   * faster than writing it.
   */
  fast?: boolean;
}

/** Options of {@link Device.view}. */
export interface ViewOptions {
  /** The view is for receiving a write (allocate, and count it as data). */
  write?: boolean;
}

/** Options of {@link Device.blockStatus}. */
export interface BlockStatusOptions {
  /** Return at most this many extents (the rest of the range is left out). */
  maxExtents?: number;
}

/**
 * A block device. Offsets and lengths are byte counts within `size`; the
 * server checks bounds, alignment and read-only before calling a method.
 * Methods throw {@link NbdError} to choose the error value sent to the
 * client (any other error becomes `NBD_EIO`, POSIX codes are mapped).
 */
export interface Device {
  /** Size in bytes. */
  readonly size: number;
  /** Reads `into.length` bytes at `offset` into `into`. */
  readAt(offset: number, into: Uint8Array): Promise<void>;
  /** Writes `data` at `offset`; with `fua`, durably. */
  writeAt(
    offset: number,
    data: Uint8Array,
    options?: WriteOptions,
  ): Promise<void>;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
  /**
   * Discards a range (a hint: reads may return anything until rewritten).
   * Absent: `NBD_FLAG_SEND_TRIM` is not advertised and TRIM requests get
   * `NBD_EINVAL`.
   */
  trim?(offset: number, length: number, options?: WriteOptions): Promise<void>;
  /**
   * Makes a range read as zeroes, faster than writing zeroes would; without
   * it the server writes zero buffers and refuses `FAST_ZERO` requests.
   */
  writeZeroes?(
    offset: number,
    length: number,
    options?: WriteZeroesOptions,
  ): Promise<void>;
  /**
   * The `base:allocation` state of a range, as consecutive extents starting
   * at `offset` (flags {@link State}); without it every byte is reported
   * as allocated data.
   */
  blockStatus?(
    offset: number,
    length: number,
    options?: BlockStatusOptions,
  ): Promise<Extent[]>;
  /**
   * Prefetches a range. Absent: `NBD_FLAG_SEND_CACHE` is not advertised,
   * and a CACHE request that comes anyway succeeds without doing anything.
   */
  cache?(offset: number, length: number): Promise<void>;
  /**
   * Zero-copy access to in-memory storage: the bytes of
   * `[offset, offset + length)` as one contiguous view, or undefined when
   * they are not contiguous (the server then copies through `readAt` /
   * `writeAt`, as it always does when `view` is absent). The server sends reads straight from a view, so its
   * contents may change until the reply is written, as with any concurrent
   * request. With `write`, the range is allocated and counts as data, and
   * the server receives the payload straight into the view.
   */
  view?(
    offset: number,
    length: number,
    options?: ViewOptions,
  ): Uint8Array | undefined;
  /**
   * Refuse every write (advertised as `NBD_FLAG_READ_ONLY`). Absent or
   * false: writable.
   */
  readonly readOnly?: boolean;
  /** Advertise `NBD_FLAG_ROTATIONAL`. Absent or false: not advertised. */
  readonly rotational?: boolean;
  /**
   * Every connection sees the same data, and a flush or FUA on one
   * connection covers writes completed on all (`NBD_FLAG_CAN_MULTI_CONN`).
   * Absent or false: not advertised, and clients that honour it keep to
   * one connection.
   */
  readonly multiConn?: boolean;
  /**
   * Whether calls may overlap on this device. Absent means `"parallel"`,
   * what the server did before this declaration existed: requests run
   * concurrently, up to `maxInFlight` per connection. With `"serialize"`
   * the server makes one device call at a time across every connection
   * (one queue per device object) and does not use `view`.
   */
  readonly concurrency?: Concurrency;
  /**
   * Releases resources. Absent: there is nothing to release. The server
   * never calls it: whoever made the device closes it.
   */
  close?(): Promise<void>;
}

/**
 * The transmission flags for `device`; `structured` says whether the
 * connection negotiated structured replies or extended headers (needed for
 * `NBD_FLAG_SEND_DF`).
 *
 * Flush and FUA are always offered (a device must flush), write zeroes and
 * fast zero on every writable device (the server emulates slow zeroing and
 * answers FAST_ZERO with ENOTSUP when the device cannot do it fast).
 *
 * @example What a minimal device and a MemoryDevice advertise
 * ```ts
 * import { type Device, MemoryDevice, transmissionFlags, TxFlag } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const has = (flags: number, flag: number) => (flags & flag) !== 0;
 * const minimal: Device = {
 *   size: 4096,
 *   readAt: () => Promise.resolve(),
 *   writeAt: () => Promise.resolve(),
 *   flush: () => Promise.resolve(),
 * };
 * const plain = transmissionFlags(minimal, { structured: false });
 * assert.ok(has(plain, TxFlag.SEND_FLUSH) && has(plain, TxFlag.SEND_FUA));
 * assert.ok(has(plain, TxFlag.SEND_WRITE_ZEROES)); // emulated with zero buffers
 * assert.ok(!has(plain, TxFlag.SEND_TRIM) && !has(plain, TxFlag.CAN_MULTI_CONN));
 * assert.ok(!has(plain, TxFlag.SEND_DF)); // needs structured replies
 *
 * const mem = transmissionFlags(new MemoryDevice(4096), { structured: true });
 * assert.ok(has(mem, TxFlag.SEND_TRIM) && has(mem, TxFlag.CAN_MULTI_CONN));
 * assert.ok(has(mem, TxFlag.SEND_DF));
 * ```
 */
export function transmissionFlags(
  device: Device,
  options: { structured: boolean },
): number {
  let f = TxFlag.HAS_FLAGS | TxFlag.SEND_FLUSH;
  if (device.readOnly) f |= TxFlag.READ_ONLY;
  else {
    f |= TxFlag.SEND_FUA | TxFlag.SEND_WRITE_ZEROES | TxFlag.SEND_FAST_ZERO;
    if (device.trim) f |= TxFlag.SEND_TRIM;
  }
  if (device.rotational) f |= TxFlag.ROTATIONAL;
  if (options.structured) f |= TxFlag.SEND_DF;
  if (device.multiConn) f |= TxFlag.CAN_MULTI_CONN;
  if (device.cache) f |= TxFlag.SEND_CACHE;
  return f;
}

/**
 * A read-only view of `device`: reads, flush, block status and cache pass
 * through; every write fails with `NBD_EPERM`.
 *
 * @example Export a writable device read-only
 * ```ts
 * import { Errno, MemoryDevice, NbdError, readOnly } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const disk = new MemoryDevice(4096);
 * await disk.writeAt(0, new Uint8Array([42]));
 * const ro = readOnly(disk);
 * assert.equal(ro.readOnly, true);
 * await assert.rejects(
 *   ro.writeAt(0, new Uint8Array([1])),
 *   (e) => e instanceof NbdError && e.errno === Errno.EPERM,
 * );
 * assert.equal(ro.trim, undefined); // not offered, so TRIM is not advertised
 * const byte = new Uint8Array(1);
 * await ro.readAt(0, byte); // reads reach the device
 * assert.equal(byte[0], 42);
 * ```
 */
export function readOnly(device: Device): Device {
  const refuse = () =>
    Promise.reject(new NbdError(Errno.EPERM, "Export is read-only"));
  const ro: Device = {
    size: device.size,
    readOnly: true,
    rotational: device.rotational,
    multiConn: device.multiConn,
    concurrency: device.concurrency,
    readAt: (offset, into) => device.readAt(offset, into),
    writeAt: refuse,
    flush: () => device.flush(),
  };
  if (device.blockStatus) {
    const bs = device.blockStatus.bind(device);
    (ro as { blockStatus: Device["blockStatus"] }).blockStatus = bs;
  }
  if (device.cache) {
    (ro as { cache: Device["cache"] }).cache = device.cache.bind(device);
  }
  if (device.view) {
    const view = device.view.bind(device);
    (ro as { view: Device["view"] }).view = (o, l, opts) =>
      opts?.write ? undefined : view(o, l);
  }
  if (device.close) {
    (ro as { close: Device["close"] }).close = device.close.bind(device);
  }
  return ro;
}
