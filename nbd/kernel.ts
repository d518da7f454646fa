/**
 * Linux only: attach an NBD connection, or any {@link Device} served by this
 * process, to the kernel's NBD driver as a block device `/dev/nbdX`, without
 * `nbd-client`. Needs `--allow-ffi` (which is all access in Deno's model)
 * and root (CAP_SYS_ADMIN), and the `nbd` module (`modprobe nbd`).
 *
 * - {@link connectSocket} opens a TCP connection through libc: the kernel
 *   takes operating-system descriptors, and Deno gives none for a
 *   `Deno.Conn`. Negotiate over it with `connectNbd({ stream })`, then
 *   {@link attachKernel} hands it (or several, for multi-conn) to the kernel.
 * - {@link loopback} serves a device over socket pairs in this process and
 *   attaches their other ends, like `nbd-client` against a local server in
 *   one call.
 *
 * The kernel is configured through generic netlink where it has the `nbd`
 * family (NBD_CMD_CONNECT), else through the ioctls (NBD_SET_SOCK …
 * NBD_DO_IT on a pool thread); `interface` picks one. The device's flags
 * are the server's (read-only, flush, FUA, trim, multi-conn). Requests time
 * out after `timeout` seconds (default 30), so a server that hangs makes I/O
 * fail instead of hanging with it; once every connection is dead the kernel
 * waits `deadConnectionTimeout` seconds (default 0) and fails I/O, and the
 * device is detached and freed. `detach()` flushes (fsync of the device, so
 * the kernel writes back and sends NBD_CMD_FLUSH), then disconnects (the
 * kernel sends NBD_CMD_DISC). On a normal exit (the `unload` event) an
 * attached device's sockets are shut down at once, without a flush; a CLI
 * should detach on SIGINT and SIGTERM itself (see `examples/nbd_loopback.ts`).
 * A process killed outright leaves a netlink device attached to dead
 * connections: its I/O fails, and `nbd-client -d /dev/nbdX` frees it.
 *
 * While a device is attached, this process stays alive (a pool thread waits
 * on the device or its connections).
 *
 * @example A RAM disk as /dev/nbdX (as root, with the nbd module loaded)
 * ```ts ignore
 * // ignore: needs root, --allow-ffi and the Linux nbd module.
 * import { loopback, MemoryDevice } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * await using dev = await loopback(new MemoryDevice(256 << 20));
 * assert.match(dev.path, /^\/dev\/nbd\d+$/);
 * const mkfs = await new Deno.Command("mkfs.ext4", { args: ["-q", dev.path] }).output();
 * assert.equal(mkfs.code, 0);
 * // leaving the block detaches it
 * ```
 *
 * @module
 */

import { NbdLibc, O_RDONLY } from "./_libc.ts";
import { ENOENT } from "../sys/_libc.ts";
import {
  attachIoctl,
  type Attachment,
  attachNetlink,
  type DeviceConfig,
  NbdKernelError,
  NO_DRIVER,
  within,
} from "./_kernel_attach.ts";
import { LinkWatcher } from "./_link_watcher.ts";
import { GenlSocket } from "./_netlink.ts";
import { type NbdConnection, releaseStream } from "./_connection.ts";
import {
  connectSocket as openSocket,
  socketPair,
  SocketStream,
} from "./_socket.ts";
import { connectNbd, type NbdStream } from "./client.ts";
import type { Device } from "./device.ts";
import { NbdProtocolError, TxFlag } from "./protocol.ts";
import { serverContext, serveSession, Session } from "./_session.ts";
import type { ConnectionInfo } from "../net/mod.ts";

export { NbdKernelError, type NbdKernelReason } from "./_kernel_attach.ts";

/** Options of {@link attachKernel}. */
export interface KernelAttachOptions {
  /** The device to use, `/dev/nbd<index>`; default the first free one. */
  index?: number;
  /**
   * `"netlink"`, `"ioctl"`, or `"auto"` (default): netlink where the
   * kernel has it, else the ioctls.
   */
  interface?: "auto" | "netlink" | "ioctl";
  /**
   * Logical block size, a power of two from 512 to 4096; default the
   * server's minimum block size, at least 512.
   */
  blockSize?: number;
  /**
   * Seconds a request may take before the kernel gives up on its
   * connection; default 30, 0 for never (a hung server then hangs I/O).
   */
  timeout?: number;
  /**
   * Seconds the kernel holds I/O once every connection is dead before
   * failing it and detaching; default 0. (netlink only)
   */
  deadConnectionTimeout?: number;
  /** Remove the device node when it is detached (netlink only); default false. */
  destroyOnDisconnect?: boolean;
  /** Attach read-only even if the server allows writes. */
  readOnly?: boolean;
}

/** A block device attached to the kernel. */
export interface KernelDevice extends AsyncDisposable {
  /** The device's index: its node is `/dev/nbd<index>`. */
  readonly index: number;
  /** `/dev/nbd<index>`. */
  readonly path: string;
  /** How the kernel was configured. */
  readonly interface: "netlink" | "ioctl";
  /** Size in bytes as the kernel sees it (whole blocks). */
  readonly size: number;
  /** Logical block size. */
  readonly blockSize: number;
  /** Connections the kernel reads and writes. */
  readonly connections: number;
  /**
   * Resolves once the device is detached: by {@link detach}, because every
   * connection died (after `deadConnectionTimeout`), or by someone else.
   */
  readonly finished: Promise<void>;
  /**
   * Flushes, disconnects and frees the device; resolves with
   * {@link finished}. Rejects with an {@link NbdKernelError} (reason
   * `"flush"`) when the flush failed or timed out, after disconnecting.
   */
  detach(): Promise<void>;
}

/**
 * Opens a TCP connection through libc, so that {@link attachKernel} can hand
 * its descriptor to the kernel; negotiate over it with `connectNbd({ stream,
 * structuredReplies: false })` (the kernel's driver takes simple replies
 * only). Needs `--allow-ffi` on Linux; a host name resolves with
 * `Deno.resolveDns` (needs `--allow-net`), addresses need nothing more.
 *
 * @example Attach a remote export (as root, with the nbd module loaded)
 * ```ts ignore
 * // ignore: needs root, --allow-ffi, the Linux nbd module and a server.
 * import { attachKernel, connectNbd, connectSocket } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const stream = await connectSocket({ hostname: "10.0.0.5", port: 10809 });
 * const disk = await connectNbd({ stream, export: "vm1", structuredReplies: false });
 * const dev = await attachKernel(disk, { timeout: 10 });
 * assert.equal((await Deno.stat(dev.path)).isBlockDevice, true);
 * await dev.detach();
 * ```
 */
export function connectSocket(
  options: { hostname?: string; port?: number } = {},
): Promise<NbdStream> {
  return openSocket(options);
}

function blockSizeFor(c: NbdConnection, asked: number | undefined): number {
  const bs = asked ?? Math.max(512, c.blockSize?.min ?? 512);
  if (!(bs >= 512 && bs <= 4096 && (bs & (bs - 1)) === 0)) {
    throw new RangeError(
      `Block size must be a power of two from 512 to 4096: ${bs}`,
    );
  }
  if (c.blockSize && bs < c.blockSize.min) {
    throw new RangeError(
      `Block size below the server's minimum of ${c.blockSize.min}: ${bs}`,
    );
  }
  return bs;
}

function checkConnections(conns: NbdConnection[]): void {
  if (conns.length === 0) throw new RangeError("No connection to attach");
  const first = conns[0];
  for (const c of conns) {
    if (c.structured || c.extended) {
      throw new NbdKernelError(
        "unsupported",
        "The kernel's NBD driver takes simple replies only: connect with structuredReplies: false",
      );
    }
    if (c.size !== first.size || c.flags !== first.flags) {
      throw new NbdKernelError(
        "unsupported",
        `Connections differ in size or flags: ${c.name}`,
      );
    }
  }
  if (conns.length > 1 && !(first.flags & TxFlag.CAN_MULTI_CONN)) {
    throw new NbdKernelError(
      "unsupported",
      `Server does not allow several connections (no NBD_FLAG_CAN_MULTI_CONN): ${first.name}`,
    );
  }
}

type Interface =
  | { via: "netlink"; genl: GenlSocket; family: number }
  | { via: "ioctl" };

/**
 * Which interface to configure the kernel through: netlink where the kernel
 * has the nbd family, else the ioctls if there are NBD devices at all.
 */
async function chooseInterface(
  lib: NbdLibc,
  via: "auto" | "netlink" | "ioctl",
): Promise<Interface> {
  if (via !== "ioctl") {
    const genl = GenlSocket.open(lib);
    try {
      const family = await genl.family("nbd");
      if (family !== undefined) return { via: "netlink", genl, family };
    } catch (e) {
      genl.close();
      throw e;
    }
    genl.close();
    if (via === "netlink") {
      throw new NbdKernelError(
        "no-driver",
        "The kernel has no NBD netlink interface: load the driver with modprobe nbd",
      );
    }
  }
  // /sys/module/nbd is there for the module and for a built-in driver
  // (it has parameters); it is a folder, so reading it fails otherwise.
  if (lib.readText("/sys/module/nbd") === -ENOENT) {
    throw new NbdKernelError("no-driver", NO_DRIVER);
  }
  return { via: "ioctl" };
}

/**
 * Gives connections that finished the handshake to the kernel's NBD driver
 * as one block device (several connections need a server that allows
 * multi-conn). The connections belong to the kernel from then on: their
 * methods reject. They must have been opened over {@link connectSocket},
 * without structured replies, and have nothing in flight.
 *
 * @example Two connections to one export (as root, with the nbd module loaded)
 * ```ts ignore
 * // ignore: needs root, --allow-ffi, the Linux nbd module and a server.
 * import { attachKernel, connectNbd, connectSocket } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const conns = await Promise.all([1, 2].map(async () =>
 *   connectNbd({
 *     stream: await connectSocket({ hostname: "127.0.0.1", port: 10809 }),
 *     export: "mem",
 *     structuredReplies: false,
 *   })
 * ));
 * await using dev = await attachKernel(conns, { timeout: 10 });
 * assert.equal(dev.connections, 2);
 * ```
 */
export async function attachKernel(
  connection: NbdConnection | NbdConnection[],
  options: KernelAttachOptions = {},
): Promise<KernelDevice> {
  const conns = Array.isArray(connection) ? connection : [connection];
  checkConnections(conns);
  const first = conns[0];
  const blockSize = blockSizeFor(first, options.blockSize);
  const size = Math.floor(first.size / blockSize) * blockSize;
  if (size === 0) {
    throw new RangeError(`Export smaller than a block: ${first.name}`);
  }
  const lib = NbdLibc.open();
  if (typeof lib === "string") {
    throw new NbdKernelError(
      "unsupported",
      `The NBD kernel attachment is unavailable here: ${lib}`,
    );
  }
  const fds: number[] = [];
  let iface: Interface | undefined;
  try {
    // Before the connections are taken: a kernel without the driver leaves them usable.
    iface = await chooseInterface(lib, options.interface ?? "auto");
    for (const c of conns) {
      const r = await releaseStream(c, {
        accepts: (s) => s instanceof SocketStream,
        stop: async (s) => {
          fds.push(await (s as SocketStream).handOff());
        },
      });
      if (r.buffered) {
        throw new NbdProtocolError(
          `Server sent bytes nobody asked for: ${r.buffered}`,
        );
      }
    }
    const config: DeviceConfig = {
      index: options.index,
      size,
      blockSize,
      timeout: options.timeout ?? 30,
      deadConnTimeout: options.deadConnectionTimeout ?? 0,
      flags: first.flags | (options.readOnly ? TxFlag.READ_ONLY : 0),
      destroyOnDisconnect: options.destroyOnDisconnect ?? false,
      fds,
    };
    const att = iface.via === "netlink"
      ? await attachNetlink(iface.genl, iface.family, config)
      : await attachIoctl(lib, config);
    return new Attached(lib, att, config);
  } catch (e) {
    if (iface?.via === "netlink") iface.genl.close();
    for (const fd of fds) lib.close(fd);
    lib.release();
    throw e;
  }
}

/** An attached device and what keeps it: the interface, the sockets, a watcher. */
class Attached implements KernelDevice {
  readonly index: number;
  readonly path: string;
  readonly interface: "netlink" | "ioctl";
  readonly size: number;
  readonly blockSize: number;
  readonly connections: number;
  readonly finished: Promise<void>;
  readonly #lib: NbdLibc;
  readonly #att: Attachment;
  readonly #config: DeviceConfig;
  readonly #watcher: LinkWatcher | undefined;
  #ending: Promise<void> | undefined;
  #done!: () => void;
  #deadTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #onUnload = () => this.#att.clearNow();

  constructor(lib: NbdLibc, att: Attachment, config: DeviceConfig) {
    this.#lib = lib;
    this.#att = att;
    this.#config = config;
    this.index = att.index;
    this.path = `/dev/nbd${att.index}`;
    this.interface = att.via;
    this.size = config.size;
    this.blockSize = config.blockSize;
    this.connections = config.fds.length;
    this.finished = new Promise((r) => this.#done = r);
    globalThis.addEventListener("unload", this.#onUnload);
    if (att.via === "netlink") {
      // The kernel keeps a netlink device after its connections died; this
      // process notices (the sockets hang up) and lets it go.
      this.#watcher = new LinkWatcher(lib, config.fds);
      this.#watcher.allDead.then((dead) => {
        if (!dead || this.#ending) return;
        this.#deadTimer = setTimeout(() => {
          this.#deadTimer = undefined;
          this.#ending ??= this.#end(false, true);
        }, config.deadConnTimeout * 1000);
      });
    } else {
      att.ended.then(() => this.#ending ??= this.#end(false, false));
    }
  }

  detach(): Promise<void> {
    return this.#ending ??= this.#end(true, true);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.detach();
  }

  /**
   * Waits for the kernel to write back and flush, bounded by twice the
   * request timeout (at least 10 s); throws when the device cannot be
   * opened, when the fsync fails (a writeback error: data the kernel could
   * not write) and when it runs past the limit.
   */
  async #flush(): Promise<void> {
    const fd = await this.#lib.openAsync(this.path, O_RDONLY);
    if (fd < 0) {
      throw new NbdKernelError(
        "flush",
        `Cannot open the device to flush it: ${this.path}`,
      );
    }
    const limit = Math.max(this.#config.timeout, 5) * 2000;
    const synced = this.#lib.fsyncAsync(fd);
    const r = await within(synced, limit);
    if (r === undefined) {
      // A flush that outlives the limit keeps its descriptor; closing it
      // under the pool thread would let the number be reused meanwhile.
      synced.then(() => this.#lib.closeAsync(fd));
      throw new NbdKernelError(
        "flush",
        `Flush timed out: ${this.path} after ${limit} ms (writes may be lost)`,
      );
    }
    await this.#lib.closeAsync(fd);
    if (r < 0) {
      throw new NbdKernelError(
        "flush",
        `Flush failed: ${this.path} (the kernel could not write back, writes may be lost)`,
      );
    }
  }

  async #end(flush: boolean, disconnect: boolean): Promise<void> {
    if (this.#deadTimer !== undefined) clearTimeout(this.#deadTimer);
    const dead = this.#watcher?.dead ?? false;
    // A failed flush is reported once the device is disconnected anyway.
    let failed: { error: unknown } | undefined;
    try {
      if (flush && !dead) {
        await this.#flush().catch((error) => failed = { error });
      }
      if (disconnect) {
        // A device someone else detached has no size left: leave it alone.
        const size = this.#lib.readText(`/sys/block/nbd${this.index}/size`);
        if (typeof size === "string" && size.trim() !== "0") {
          await this.#att.disconnect().catch((e) => {
            if (!dead) throw e;
          });
        }
      }
    } finally {
      await this.#watcher?.stop();
      this.#att.close();
      for (const fd of this.#config.fds) this.#lib.close(fd);
      globalThis.removeEventListener("unload", this.#onUnload);
      this.#lib.release();
      this.#done();
    }
    if (failed !== undefined) throw failed.error;
  }
}

/** Options of {@link loopback}. */
export interface LoopbackOptions extends KernelAttachOptions {
  /**
   * Connections between the kernel and this process; default 1. More than
   * one needs a device that allows it (`multiConn`).
   */
  connections?: number;
  /** Requests served at once per connection; default 128. */
  maxInFlight?: number;
  /** Receives the serving side's diagnostic lines. */
  log?: (message: string) => void;
}

interface Served {
  session: Session;
  client: SocketStream;
  serving: Promise<void>;
}

const LOOPBACK_ADDR: Deno.NetAddr = {
  transport: "tcp",
  hostname: "loopback",
  port: 0,
};

/**
 * Serves `device` to the kernel from this process and attaches it as
 * `/dev/nbdX`, in one call (the Go library's `Loopback`). Detaching (or
 * leaving an `await using` block) flushes, disconnects and ends the
 * serving; the device itself stays open for its owner to close.
 *
 * @example A 1 GiB RAM disk (as root, with the nbd module loaded)
 * ```ts ignore
 * // ignore: needs root, --allow-ffi and the Linux nbd module.
 * import { loopback, MemoryDevice } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const dev = await loopback(new MemoryDevice(1 << 30));
 * assert.equal(dev.size, 1 << 30);
 * // mkfs.ext4 dev.path; mount dev.path /mnt ...
 * await dev.detach();
 * ```
 */
export async function loopback(
  device: Device,
  options: LoopbackOptions = {},
): Promise<KernelDevice> {
  const count = options.connections ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new RangeError(`Connections must be 1 to 64: ${count}`);
  }
  const log = options.log ?? (() => {});
  const ctx = serverContext({
    exports: [{ name: "", device, description: "loopback" }],
    maxInFlight: options.maxInFlight,
    log,
  });
  const served: Served[] = [];
  const conns: NbdConnection[] = [];
  const end = async () => {
    for (const s of served) {
      s.session.close();
      s.client.close();
    }
    await Promise.all(served.map((s) => s.serving));
  };
  let dev: KernelDevice;
  try {
    for (let i = 1; i <= count; i++) {
      const [client, server] = socketPair(`loopback ${i}`);
      const info: ConnectionInfo = {
        id: i,
        remote: LOOPBACK_ADDR,
        local: LOOPBACK_ADDR,
        since: Date.now(),
        bytesIn: 0,
        bytesOut: 0,
        requests: 0,
      };
      const session = new Session(server, info);
      const serving = serveSession(session, ctx, {
        inflight: () => 0,
        bytesOut: () => 0,
      }).catch((e) => {
        if (!session.closed) log(`connection ${i}: ${(e as Error).message}`);
      }).finally(() => session.close());
      served.push({ session, client, serving });
      conns.push(
        await connectNbd({
          stream: client,
          export: "",
          structuredReplies: false,
        }),
      );
    }
    dev = await attachKernel(conns, options);
  } catch (e) {
    for (const c of conns) await c.close().catch(() => {});
    await end();
    throw e;
  }
  // Once the kernel let go, the server ends see end of stream; closing
  // them here covers a kernel that shut its sockets without a word.
  const finished = dev.finished.then(end);
  const detach = async () => {
    await dev.detach();
    await finished;
  };
  return {
    index: dev.index,
    path: dev.path,
    interface: dev.interface,
    size: dev.size,
    blockSize: dev.blockSize,
    connections: dev.connections,
    finished,
    detach,
    [Symbol.asyncDispose]: detach,
  };
}
