// sudo deno run --allow-ffi examples/nbd_loopback.ts [--size 256M] [--ioctl]
//
// Linux, as root, with the nbd module loaded (sudo modprobe nbd): a sparse
// RAM disk served by this process and attached to the kernel as /dev/nbdX,
// without nbd-client. It prints the device; the next two commands are
// yours:
//
//   sudo mkfs.ext4 /dev/nbd0
//   sudo mount /dev/nbd0 /mnt
//
// Unmount, then stop it with Ctrl-C or SIGTERM: it flushes, detaches the
// device and exits. Everything written is gone with the process.
//
// Options:
//   --size SIZE   device size: bytes or with K, M, G (default 256M)
//   --ioctl       configure the kernel through the ioctls instead of netlink
/**
 * Example: a RAM disk as a kernel block device.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loopback, NbdKernelError } from "../nbd/kernel.ts";
import { MemoryDevice } from "../nbd/memory_device.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    size: { type: "string", default: "256M" },
    ioctl: { type: "boolean", default: false },
  },
});

const m = /^(\d+)([KMG]?)$/i.exec(values.size);
if (!m) {
  console.error(`Bad size: ${values.size}`);
  Deno.exit(2);
}
const unit: Record<string, number> = {
  "": 1,
  K: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
};
const size = Number(m[1]) * unit[m[2].toUpperCase()];

const dev = await loopback(new MemoryDevice(size), {
  interface: values.ioctl ? "ioctl" : "auto",
}).catch((e) => {
  // What is missing (driver, permission, a free device), in one line.
  if (!(e instanceof NbdKernelError)) throw e;
  console.error(e.message);
  Deno.exit(1);
});
console.log(
  `${dev.path}: ${dev.size >> 20} MiB RAM disk (${dev.interface}); ` +
    `next: mkfs.ext4 ${dev.path} && mount ${dev.path} /mnt`,
);

// Signals end the process without the unload event: detach first.
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: detaching ${dev.path}`);
  await dev.detach();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
await dev.finished;
console.log(`${dev.path} was detached`);
Deno.exit(0);
