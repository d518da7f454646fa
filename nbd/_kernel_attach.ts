/**
 * The two ways to give sockets to the Linux NBD driver, behind one shape
 * ({@link Attachment}): generic netlink (NBD_CMD_CONNECT, Linux 4.12 and
 * later: the kernel picks a free device, keeps it after this process lets
 * go, and takes a dead-connection timeout) and the older ioctls on
 * /dev/nbdX (NBD_SET_SOCK, sizes and flags, then NBD_DO_IT, which holds a
 * thread until the device is disconnected). `nbd/kernel.ts` decides which
 * and runs the device's life around it.
 *
 * Calls during which the kernel may wait for this process (CONNECT,
 * DISCONNECT, DO_IT, NBD_DISCONNECT) run on the thread pool: a loopback
 * server in this process must keep running meanwhile. NBD_SET_SOCK must
 * come from one thread for all sockets of a device (the kernel remembers the
 * setup task), so the setup ioctls run on the JavaScript thread.
 *
 * @module
 */

import {
  EACCES,
  EBUSY,
  EINVAL,
  ENOENT,
  ENXIO,
  EPERM,
  errnoText,
} from "../sys/_libc.ts";
import { NbdIoctl, type NbdLibc, O_RDWR } from "./_libc.ts";
import {
  attrUint,
  AttrWriter,
  CFLAG_DESTROY_ON_DISCONNECT,
  connectAttrs,
  genlAttrs,
  type GenlSocket,
  NbdAttr,
  NbdCmd,
  NetlinkRequestError,
} from "./_netlink.ts";

/** Why attaching to the kernel failed, as {@link NbdKernelError.reason}. */
export type NbdKernelReason =
  | "unsupported"
  | "no-driver"
  | "no-device"
  | "permission"
  | "busy"
  | "refused"
  | "flush";

/**
 * A failure to attach to (or detach from) the Linux NBD driver, with what
 * was missing as `reason`: `"unsupported"` (not Linux, no `--allow-ffi`, a
 * connection the kernel cannot take), `"no-driver"` (no nbd module),
 * `"no-device"` (no free /dev/nbdX), `"permission"` (not root),
 * `"busy"` (the device asked for is in use), `"refused"` (the kernel
 * refused the configuration; its log says why) or `"flush"` (the flush
 * before a detach failed or timed out: writes may be lost).
 */
export class NbdKernelError extends Error {
  /** What was missing. */
  readonly reason: NbdKernelReason;

  /**
   * Builds the error.
   *
   * @param reason What was missing.
   * @param message Sentence case, the detail after a colon.
   */
  constructor(reason: NbdKernelReason, message: string) {
    super(message);
    this.name = "NbdKernelError";
    this.reason = reason;
  }
}

/** What both interfaces need to configure a device. */
export interface DeviceConfig {
  index?: number;
  size: number;
  blockSize: number;
  /** Request timeout in seconds; 0 for none. */
  timeout: number;
  /** Seconds the kernel holds I/O for a reconnect once every connection died. */
  deadConnTimeout: number;
  flags: number;
  destroyOnDisconnect: boolean;
  fds: number[];
}

/** An attached device as one interface runs it. */
export interface Attachment {
  readonly index: number;
  readonly via: "netlink" | "ioctl";
  /** Asks the kernel to disconnect (it sends NBD_CMD_DISC); resolves once it let go. */
  disconnect(): Promise<void>;
  /** On process exit: shuts the sockets down synchronously, without a flush. */
  clearNow(): void;
  /** Resolves when the kernel let go by itself (ioctl: NBD_DO_IT returned); netlink never does. */
  readonly ended: Promise<void>;
  /** Frees what the interface holds (after a disconnect or its end). */
  close(): void;
}

const PERMISSION = "Attaching an NBD device needs CAP_SYS_ADMIN (run as root)";
const NO_DRIVER = "The kernel has no NBD driver: load it with modprobe nbd";

function devPath(index: number): string {
  return `/dev/nbd${index}`;
}

/** Resolves with `p`'s value, or undefined after `ms`; the timer never outlives the call. */
export async function within<T>(
  p: Promise<T>,
  ms: number,
): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function netlinkError(e: unknown, index: number | undefined): unknown {
  if (!(e instanceof NetlinkRequestError)) return e;
  switch (e.errno) {
    case EPERM:
    case EACCES:
      return new NbdKernelError("permission", `${PERMISSION}: ${e.message}`);
    case EBUSY:
      return new NbdKernelError(
        "busy",
        `NBD device is in use: ${index === undefined ? "" : devPath(index)}`,
      );
    case EINVAL:
      return new NbdKernelError(
        "refused",
        `The kernel refused the NBD configuration (its log says why): ${e.message}`,
      );
  }
  return e;
}

/** Attaches through generic netlink; `genl` is the device's from then on. */
export async function attachNetlink(
  genl: GenlSocket,
  family: number,
  c: DeviceConfig,
): Promise<Attachment> {
  let replies;
  try {
    replies = await genl.request(
      family,
      NbdCmd.CONNECT,
      1,
      connectAttrs({
        index: c.index,
        size: c.size,
        blockSize: c.blockSize,
        timeout: c.timeout,
        deadConnTimeout: c.deadConnTimeout,
        serverFlags: c.flags,
        clientFlags: c.destroyOnDisconnect ? CFLAG_DESTROY_ON_DISCONNECT : 0,
        fds: c.fds,
      }),
      "NBD_CMD_CONNECT",
    );
  } catch (e) {
    throw netlinkError(e, c.index);
  }
  const reply = replies.find((m) => m.type === family);
  const index = reply
    ? attrUint(genlAttrs(reply).get(NbdAttr.INDEX), "device index")
    : c.index;
  if (index === undefined) {
    throw new NbdKernelError(
      "refused",
      "The kernel did not say which device it attached",
    );
  }
  const which = new AttrWriter().u32(NbdAttr.INDEX, index).bytes();
  return {
    index,
    via: "netlink",
    async disconnect() {
      await genl.request(
        family,
        NbdCmd.DISCONNECT,
        1,
        which,
        "NBD_CMD_DISCONNECT",
      );
    },
    // Opening the node could read the partition table, which this exiting
    // process may be the one to serve: a netlink request needs no open.
    clearNow: () => genl.sendNow(family, NbdCmd.DISCONNECT, 1, which),
    ended: new Promise<void>(() => {}),
    close: () => genl.close(),
  };
}

/** Whether /sys/block/nbdN exists, and whether it is free (no size, no pid). */
function deviceState(lib: NbdLibc, index: number): "absent" | "free" | "used" {
  const size = lib.readText(`/sys/block/nbd${index}/size`);
  if (typeof size === "number") return "absent";
  const pid = lib.readText(`/sys/block/nbd${index}/pid`);
  return size.trim() === "0" && typeof pid === "number" ? "free" : "used";
}

function ioctlCheck(r: number, what: string, index: number): void {
  if (r >= 0) return;
  if (r === -EPERM || r === -EACCES) {
    throw new NbdKernelError("permission", `${PERMISSION}: ${what}`);
  }
  throw new NbdKernelError(
    "refused",
    `${what} failed on ${devPath(index)}: ${errnoText(r)}`,
  );
}

/** Configures one device by ioctl; undefined when another task holds it. */
async function configure(
  lib: NbdLibc,
  index: number,
  c: DeviceConfig,
): Promise<Attachment | undefined> {
  const dev = lib.open(devPath(index), O_RDWR);
  if (dev === -ENOENT || dev === -ENXIO) return undefined;
  ioctlCheck(dev, `Opening ${devPath(index)}`, index);
  const first = lib.ioctl(dev, NbdIoctl.SET_SOCK, c.fds[0]);
  // EBUSY: another task is setting it up; EINVAL: netlink owns it.
  if (first === -EBUSY || first === -EINVAL) {
    lib.close(dev);
    return undefined;
  }
  let doIt: Promise<number>;
  try {
    ioctlCheck(first, "NBD_SET_SOCK", index);
    for (const fd of c.fds.slice(1)) {
      ioctlCheck(lib.ioctl(dev, NbdIoctl.SET_SOCK, fd), "NBD_SET_SOCK", index);
    }
    ioctlCheck(
      lib.ioctl(dev, NbdIoctl.SET_BLKSIZE, c.blockSize),
      "NBD_SET_BLKSIZE",
      index,
    );
    ioctlCheck(
      lib.ioctl(
        dev,
        NbdIoctl.SET_SIZE_BLOCKS,
        Math.floor(c.size / c.blockSize),
      ),
      "NBD_SET_SIZE_BLOCKS",
      index,
    );
    ioctlCheck(
      lib.ioctl(dev, NbdIoctl.SET_TIMEOUT, c.timeout),
      "NBD_SET_TIMEOUT",
      index,
    );
    ioctlCheck(
      lib.ioctl(dev, NbdIoctl.SET_FLAGS, c.flags),
      "NBD_SET_FLAGS",
      index,
    );
    doIt = lib.ioctlAsync(dev, NbdIoctl.DO_IT, 0);
    // NBD_DO_IT publishes the pid once the device runs; a refusal returns at once.
    let running = false;
    let returned = false;
    doIt.then(() => returned = true);
    for (let i = 0; i < 250 && !running && !returned; i++) {
      await new Promise((r) => setTimeout(r, 20));
      running = typeof lib.readText(`/sys/block/nbd${index}/pid`) === "string";
    }
    if (!running) {
      if (!returned) lib.ioctl(dev, NbdIoctl.CLEAR_SOCK, 0);
      await doIt;
      throw new NbdKernelError(
        "refused",
        `NBD_DO_IT failed on ${devPath(index)} (the kernel's log says why)`,
      );
    }
  } catch (e) {
    lib.ioctl(dev, NbdIoctl.CLEAR_SOCK, 0);
    lib.close(dev);
    throw e;
  }
  const ended = doIt.then(() => {});
  let closed = false;
  return {
    index,
    via: "ioctl",
    async disconnect() {
      // The kernel sends NBD_CMD_DISC and waits for the server to hang up;
      // if it does not within the grace, the sockets are shut down here.
      await lib.ioctlAsync(dev, NbdIoctl.DISCONNECT, 0);
      const grace = Math.max(c.timeout, 5) * 1000;
      if ((await within(doIt.then(() => true), grace)) === undefined) {
        lib.ioctl(dev, NbdIoctl.CLEAR_SOCK, 0);
        await doIt;
      }
    },
    clearNow: () => lib.ioctl(dev, NbdIoctl.CLEAR_SOCK, 0),
    ended,
    close() {
      if (closed) return;
      closed = true;
      lib.ioctl(dev, NbdIoctl.CLEAR_SOCK, 0);
      lib.close(dev);
    },
  };
}

/** Attaches through the ioctls, to `c.index` or the first free device. */
export async function attachIoctl(
  lib: NbdLibc,
  c: DeviceConfig,
): Promise<Attachment> {
  if (c.index !== undefined) {
    const state = deviceState(lib, c.index);
    if (state === "absent") {
      throw new NbdKernelError(
        lib.readText("/sys/module/nbd") === -ENOENT ? "no-driver" : "no-device",
        `No such NBD device: ${devPath(c.index)}`,
      );
    }
    const a = state === "free" ? await configure(lib, c.index, c) : undefined;
    if (!a) {
      throw new NbdKernelError(
        "busy",
        `NBD device is in use: ${devPath(c.index)}`,
      );
    }
    return a;
  }
  // Devices need not be numbered without gaps (netlink may have destroyed
  // some): the scan ends after 32 absent indexes in a row.
  let devices = 0;
  for (let index = 0, absent = 0; absent < 32 && index < 1 << 16; index++) {
    const state = deviceState(lib, index);
    if (state === "absent") {
      absent++;
      continue;
    }
    absent = 0;
    devices++;
    if (state !== "free") continue;
    const a = await configure(lib, index, c);
    if (a) return a;
  }
  if (devices === 0) throw new NbdKernelError("no-driver", NO_DRIVER);
  throw new NbdKernelError(
    "no-device",
    `No free NBD device: all ${devices} are in use (modprobe nbd nbds_max=N makes more)`,
  );
}

export { NO_DRIVER };
