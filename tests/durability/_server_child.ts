// A server in its own process: started by the durability and load tests,
// it prints {"port": N} on its first line of stdout, then runs until it is
// killed (the tests send SIGKILL, never a shutdown), so its RSS and its
// crashes are its own.
//   nfs DIR ENGINE   NFSv3 + MOUNT over LocalFs(DIR) on that engine, stable handles
//   memfs            NFSv3 + MOUNT over a MemFs with its default capacity
//   nbd FILE SIZE    NBD over FileDevice(FILE), created at SIZE bytes
//   nbdmem SIZE      NBD over a MemoryDevice of SIZE bytes
import { FileDevice } from "../../nbd/file_device.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { serveNbd } from "../../nbd/server.ts";
import { serveNfs } from "../../server/serve.ts";
import { LocalFs } from "../../vfs/localfs/mod.ts";
import { MemFs } from "../../vfs/memfs.ts";

const [kind, path, extra] = Deno.args;
let port: number;
if (kind === "nfs" || kind === "memfs") {
  const fs = kind === "memfs" ? new MemFs() : await LocalFs.open(path, {
    engine: extra as "native" | "portable",
  });
  const server = serveNfs({
    port: 0,
    quiet: true,
    versions: [3],
    exports: [{ path: "/", fs, squash: "none", stableHandles: true }],
  });
  port = server.addr.port;
} else if (kind === "nbd") {
  const device = await FileDevice.open(path, { create: Number(extra) });
  const server = serveNbd({ port: 0, exports: [{ name: "disk", device }] });
  port = server.addr.port;
} else if (kind === "nbdmem") {
  const device = new MemoryDevice(Number(path));
  const server = serveNbd({ port: 0, exports: [{ name: "disk", device }] });
  port = server.addr.port;
} else throw new Error(`Unknown server kind: ${kind}`);
console.log(JSON.stringify({ port }));
