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
//   --workers N       serve from N threads on one port (multi-core; one shared
//                     memory disk). Needs more permissions:
//                     deno run --unstable-net --allow-net --allow-read=. examples/nbd_memory.ts --workers 2
/**
 * Example: serve a sparse RAM disk over NBD.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { serveNbdCluster } from "../nbd/cluster.ts";
import { readOnly } from "../nbd/device.ts";
import { MemoryDevice } from "../nbd/memory_device.ts";
import { serveNbd } from "../nbd/server.ts";
import { SharedMemoryDevice } from "../nbd/shared_memory_device.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "10809" },
    size: { type: "string", default: "1G" },
    clients: { type: "string" },
    "read-only": { type: "boolean", default: false },
    workers: { type: "string", default: "1" },
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
const workers = Number(values.workers);
const description = `${values.size} sparse memory disk`;
const allow = values.clients?.split(",").map((s) => s.trim()).filter(Boolean);
const log = (m: string) => console.error(m);
let server: {
  addr: Deno.NetAddr;
  finished: Promise<void>;
  shutdown(): Promise<void>;
};
if (workers > 1) {
  if (values["read-only"]) {
    throw new Error("--read-only is not supported with --workers");
  }
  server = await serveNbdCluster({
    workers,
    hostname: values.host,
    port: Number(values.port),
    exports: [{
      name: "mem",
      device: new SharedMemoryDevice(size),
      description,
    }],
    defaultExport: "mem",
    allow,
    log,
  });
} else {
  const mem = new MemoryDevice(size);
  server = serveNbd({
    hostname: values.host,
    port: Number(values.port),
    exports: [{
      name: "mem",
      device: values["read-only"] ? readOnly(mem) : mem,
      description,
    }],
    defaultExport: "mem",
    allow,
    log,
  });
}
const { hostname, port } = server.addr;
const host = hostname.includes(":") ? `[${hostname}]` : hostname;
console.log(
  `NBD: serving export "mem" (${size} bytes) on ${host}:${port}` +
    (workers > 1 ? ` from ${workers} threads` : ""),
);
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
