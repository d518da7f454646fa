// deno run --allow-net=127.0.0.1 --allow-read=./disk.img --allow-write=./disk.img examples/nbd_file.ts ./disk.img --create 1G
//
// Serves a file (a disk image, or a block device node given read and write
// permission for its path) over NBD as export "disk". Reads and writes are
// positional (pread/pwrite); FLUSH and FUA run fdatasync. Deno has no
// fallocate, so TRIM is not offered and WRITE_ZEROES writes zeroes, unless
// --allow-ffi is given on Linux: then TRIM punches holes, WRITE_ZEROES uses
// fallocate and block status shows the holes (SEEK_HOLE/SEEK_DATA).
// Permissions are scoped to the one file; --allow-net to the listen address.
//
//   nbdinfo nbd://127.0.0.1:10809/disk
//   qemu-img convert -n -O raw some.qcow2 nbd://127.0.0.1:10809/disk
//
// Options:
//   --host ADDR       address to listen on (default 127.0.0.1)
//   --port N          TCP port (default 10809)
//   --name NAME       export name (default "disk"; also the default export)
//   --create SIZE     create the file, or grow it, to SIZE (K, M, G, T suffixes)
//   --read-only       open read-only and refuse writes
/**
 * Example: serve a disk image file over NBD.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FileDevice } from "../nbd/file_device.ts";
import { serveNbd } from "../nbd/server.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "10809" },
    name: { type: "string", default: "disk" },
    create: { type: "string" },
    "read-only": { type: "boolean", default: false },
  },
});

const path = positionals[0];
if (!path) {
  console.error(
    "Usage: nbd_file.ts FILE [--create SIZE] [--read-only] [--host ADDR] [--port N]",
  );
  Deno.exit(2);
}

function parseSize(s: string): number {
  const m = /^(\d+)([KMGT]?)i?B?$/i.exec(s.trim());
  if (!m) throw new Error(`Invalid size: ${s}`);
  const shift = {
    "": 0,
    K: 10,
    M: 20,
    G: 30,
    T: 40,
  }[m[2].toUpperCase() as "" | "K"]!;
  return Number(m[1]) * 2 ** shift;
}

const device = await FileDevice.open(path, {
  readOnly: values["read-only"],
  create: values.create ? parseSize(values.create) : undefined,
});
const server = serveNbd({
  hostname: values.host,
  port: Number(values.port),
  exports: [{ name: values.name, device, description: path }],
  defaultExport: values.name,
  log: (m) => console.error(m),
});
const { hostname, port } = server.addr;
console.log(
  `NBD: serving ${path} (${device.size} bytes, ${device.engine} engine) as "${values.name}" on ${hostname}:${port}`,
);
console.log(`  nbdinfo nbd://${hostname}:${port}/${values.name}`);
console.log(
  `  sudo nbd-client -N ${values.name} ${hostname} ${port} /dev/nbd0`,
);
Deno.addSignalListener("SIGINT", () => server.shutdown());
await server.finished;
await device.close();
