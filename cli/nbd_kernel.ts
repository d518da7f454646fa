/**
 * `netfs nbd attach|loopback`: a block device `/dev/nbdX` from an NBD export
 * or from a RAM disk or file this process serves, on `nbd/kernel.ts` (Linux,
 * as root, with the nbd module). The device's path goes to standard output;
 * it stays attached until SIGINT or SIGTERM, which flush, detach and exit 0
 * (1 when the flush failed or timed out; it detaches anyway). Signals end a
 * Deno process without its `unload` event, so the verb detaches itself.
 *
 * @module
 */

import { connectNbd, type NbdConnection } from "../nbd/client.ts";
import { type Device, readOnly } from "../nbd/device.ts";
import { FileDevice } from "../nbd/file_device.ts";
import {
  attachKernel,
  connectSocket,
  type KernelAttachOptions,
  type KernelDevice,
  loopback,
} from "../nbd/kernel.ts";
import { MemoryDevice } from "../nbd/memory_device.ts";
import type { Logger } from "../telemetry/log.ts";
import { integer, parse, size, UsageError } from "./_args.ts";
import {
  checkPermissions,
  fileNeeds,
  loggerOf,
  type Need,
  runUntilSignal,
} from "./_runtime.ts";
import { uriArg } from "./_nbd_uri.ts";

/** `netfs nbd attach --help` and `netfs nbd loopback --help`. */
export const NBD_KERNEL_HELP = `Usage: netfs nbd attach URI [options]
       netfs nbd loopback --memory SIZE | FILE [options]

Linux, as root, with the nbd module loaded (modprobe nbd): a block device
/dev/nbdX without nbd-client. The device's path is printed on standard
output; it stays attached until SIGINT or SIGTERM, which flush it, detach it
and exit 0 (1 when the flush failed or timed out). Meanwhile: mkfs, mount, dd... as with any disk.

  attach URI             an NBD server's export, nbd://HOST[:PORT]/EXPORT
                         (no nbds://: the kernel takes plain sockets)
  loopback FILE          a file (disk image) served by this process
  loopback --memory SIZE a sparse RAM disk (512M, 1G...) served by this
                         process; gone when it exits

Options:
  --connections N        connections the kernel spreads requests over
                         (default 1; more need a device or server that
                         allows several, NBD_FLAG_CAN_MULTI_CONN)
  --read-only            a read-only device
  --timeout S            seconds a request may take before it fails
                         (default 30; 0 waits forever)
  --ioctl                configure the kernel through the ioctls, not netlink
  --log-level, --log-format  as for the other verbs
  -h, --help             this help

Permissions (deno run): --allow-ffi (all access in Deno's model), and for
loopback FILE --allow-read=FILE --allow-write=FILE (--read-only: no
--allow-write).

Examples:
  netfs nbd loopback --memory 1G
  netfs nbd loopback ./disk.img --read-only --log-level warn
  netfs nbd attach nbd://192.0.2.10:10809/disk --connections 2
`;

const OPTIONS = {
  memory: { type: "string" },
  connections: { type: "string" },
  "read-only": { type: "boolean" },
  timeout: { type: "string" },
  ioctl: { type: "boolean" },
} as const;

const FFI: Need = { descriptor: { name: "ffi" }, flag: "--allow-ffi" };

/** Runs `netfs nbd attach|loopback ARGS`; resolves with the exit status. */
export async function nbdKernelCommand(
  verb: "attach" | "loopback",
  args: string[],
): Promise<number> {
  const { values, positionals } = parse(`nbd ${verb}`, args, OPTIONS);
  if (values.help) {
    console.log(NBD_KERNEL_HELP);
    return 0;
  }
  const log = loggerOf(values);
  const connections = values.connections === undefined
    ? 1
    : integer("--connections", values.connections, 1, 16);
  const ro = values["read-only"] ?? false;
  const options: KernelAttachOptions = {
    readOnly: ro,
    timeout: values.timeout === undefined
      ? 30
      : integer("--timeout", values.timeout, 0, 3600),
    interface: values.ioctl ? "ioctl" : "auto",
  };
  if (positionals.length > 1) {
    throw new UsageError(
      `Too many arguments: ${positionals.slice(1).join(" ")}`,
    );
  }
  const arg = positionals[0];
  if (verb === "attach") {
    if (values.memory !== undefined) {
      throw new UsageError("--memory is for nbd loopback");
    }
    const u = uriArg(arg, "attach");
    if (u.tls) {
      throw new UsageError(
        `The kernel cannot take a TLS connection: ${arg} (use nbd://)`,
      );
    }
    checkPermissions([FFI]);
    const conns: NbdConnection[] = [];
    let dev: KernelDevice;
    try {
      for (let i = 0; i < connections; i++) {
        conns.push(
          await connectNbd({
            stream: await connectSocket(u),
            export: u.export,
            structuredReplies: false,
          }),
        );
      }
      dev = await attachKernel(conns, options);
    } catch (e) {
      // Those the kernel did not take are still ours.
      await Promise.allSettled(conns.map((c) => c.close()));
      throw e;
    }
    return await untilSignal(dev, arg!, log, options.timeout!);
  }
  if ((arg === undefined) === (values.memory === undefined)) {
    throw new UsageError(
      "Loopback serves a FILE or --memory SIZE, one of them (see: netfs nbd loopback --help)",
    );
  }
  const memory = values.memory === undefined
    ? undefined
    : size("--memory", values.memory);
  checkPermissions(arg === undefined ? [FFI] : [FFI, ...fileNeeds(arg, !ro)]);
  let file: FileDevice | undefined;
  let device: Device;
  if (memory !== undefined) {
    device = new MemoryDevice(memory);
  } else {
    const path = arg!;
    file = await FileDevice.open(path, { readOnly: ro }).catch((e) => {
      if (e instanceof Deno.errors.NotCapable) throw e;
      throw new UsageError(`Cannot open ${path}: ${(e as Error).message}`);
    });
    device = file;
  }
  const close = async () => {
    if (!file) return;
    if (!ro) await file.flush();
    await file.close();
  };
  let dev: KernelDevice;
  try {
    dev = await loopback(ro ? readOnly(device) : device, {
      ...options,
      connections,
      log: (m) => log.warn(m),
    });
  } catch (e) {
    await close();
    throw e;
  }
  const what = arg ?? `${values.memory} RAM disk`;
  return await untilSignal(dev, what, log, options.timeout!, close);
}

/** Prints the device, then keeps it until a signal (or until it goes away). */
async function untilSignal(
  dev: KernelDevice,
  what: string,
  log: Logger,
  timeout: number,
  close: () => Promise<void> = () => Promise.resolve(),
): Promise<number> {
  console.log(dev.path);
  log.info(
    `Attached ${what} as ${dev.path} (${dev.interface}, ${dev.size} bytes, ` +
      `${dev.connections} connection${dev.connections === 1 ? "" : "s"}): ` +
      "Ctrl-C or SIGTERM detaches it",
  );
  let stopping = false;
  // detach() bounds its flush by twice the request timeout (at least 5 s).
  const limit = Math.max(timeout, 5) * 2000 + 5000;
  return await runUntilSignal(
    {
      shutdown: () => {
        stopping = true;
        return dev.detach();
      },
      // Nothing to cut short: the kernel owns the connections.
      disconnectAll: () => {},
      finished: dev.finished.then(() => {
        if (!stopping) {
          log.warn(
            `${dev.path} was detached: its connections ended, or someone else detached it`,
          );
        }
      }),
      close,
    },
    log,
    limit,
  );
}
