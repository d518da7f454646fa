// deno run --allow-net examples/nbd_memory.ts [--host 127.0.0.1] [--port 10809] [--size 1G]
//
// Serves a sparse in-memory block device over NBD as export "mem" (also the
// default export). Memory is only allocated where something is written, so
// a 1 GiB disk costs nothing until used; everything is gone when the
// server stops. Connect with the commands the server prints, for example:
//
//   nbdinfo --list nbd://127.0.0.1:10809
//   qemu-img info nbd://127.0.0.1:10809/mem
//   sudo nbd-client -N mem 127.0.0.1 10809 /dev/nbd0 && sudo mkfs.ext4 /dev/nbd0
//
// Options:
//   --host ADDR       address to listen on (default 127.0.0.1)
//   --port N          TCP port (default 10809, the IANA NBD port)
//   --size SIZE       device size: bytes or with K, M, G, T (default 1G)
//   --clients LIST    comma-separated addresses/CIDRs allowed (default loopback)
//   --read-only       refuse every write
/**
 * Example: serve a sparse RAM disk over NBD.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readOnly } from "../nbd/device.ts";
import { MemoryDevice } from "../nbd/memory_device.ts";
import { serveNbd } from "../nbd/server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "10809" },
    size: { type: "string", default: "1G" },
    clients: { type: "string" },
    "read-only": { type: "boolean", default: false },
  },
});

function parseSize(s: string): number {
  const m = /^(\d+)([KMGT]?)i?B?$/i.exec(s.trim());
  if (!m) throw new Error(`Invalid --size: ${s}`);
  const shift = {
    "": 0,
    K: 10,
    M: 20,
    G: 30,
    T: 40,
  }[m[2].toUpperCase() as "" | "K"]!;
  return Number(m[1]) * 2 ** shift;
}

const size = parseSize(values.size);
const mem = new MemoryDevice(size);
const device = values["read-only"] ? readOnly(mem) : mem;
const server = serveNbd({
  hostname: values.host,
  port: Number(values.port),
  exports: [{
    name: "mem",
    device,
    description: `${values.size} sparse memory disk`,
  }],
  defaultExport: "mem",
  allow: values.clients?.split(",").map((s) => s.trim()).filter(Boolean),
  log: (m) => console.error(m),
});
const { hostname, port } = server.addr;
const host = hostname.includes(":") ? `[${hostname}]` : hostname;
console.log(`NBD: serving export "mem" (${size} bytes) on ${host}:${port}`);
console.log(`  nbdinfo --list nbd://${host}:${port}`);
console.log(`  nbdinfo --map nbd://${host}:${port}/mem`);
console.log(`  qemu-img info nbd://${host}:${port}/mem`);
console.log(
  `  qemu-io -f raw -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M' nbd://${host}:${port}/mem`,
);
console.log(
  `  sudo nbd-client -N mem ${hostname} ${port} /dev/nbd0   # kernel block device (modprobe nbd)`,
);
Deno.addSignalListener("SIGINT", () => server.shutdown());
await server.finished;
