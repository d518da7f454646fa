// A server in its own process: started by the durability, load and kernel
// crash tests, it prints {"port": N} on its first line of stdout, then runs
// until it is killed (the tests send SIGKILL, never a shutdown), so its RSS
// and its crashes are its own.
//   nfs DIR ENGINE   NFSv3 + MOUNT over LocalFs(DIR) on that engine, stable handles
//   memfs            NFSv3 + MOUNT over a MemFs with its default capacity
//   nbd FILE SIZE    NBD over FileDevice(FILE), created at SIZE bytes
//   nbdmem SIZE      NBD over a MemoryDevice of SIZE bytes
// Options: --port N listens on N rather than on a free port (a restart on
// the port its clients know); --nfs4-state FILE serves NFSv4 too (nfs and
// memfs), keeping the clients that may reclaim in a FileStableStorage at
// FILE, with a 5 s grace period and a 15 s lease.
import { parseArgs } from "node:util";
import { FileDevice } from "../../nbd/file_device.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { serveNbd } from "../../nbd/server.ts";
import { FileStableStorage } from "../../server/nfs4/stable_storage.ts";
import { serveNfs } from "../../server/serve.ts";
import { LocalFs } from "../../vfs/localfs/mod.ts";
import { MemFs } from "../../vfs/memfs.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    port: { type: "string", default: "0" },
    "nfs4-state": { type: "string" },
  },
});
const [kind, path, extra] = positionals;
const listen = Number(values.port);
const state = values["nfs4-state"];
let port: number;
if (kind === "nfs" || kind === "memfs") {
  const fs = kind === "memfs" ? new MemFs() : await LocalFs.open(path, {
    engine: extra as "native" | "portable",
  });
  const server = serveNfs({
    port: listen,
    quiet: true,
    versions: state === undefined ? [3] : [3, 4],
    nfs4: state === undefined ? undefined : {
      leaseTime: 15,
      graceTime: 5,
      stableStorage: new FileStableStorage(state),
    },
    exports: [{ path: "/", fs, squash: "none", stableHandles: true }],
  });
  port = server.addr.port;
} else if (kind === "nbd") {
  const device = await FileDevice.open(path, { create: Number(extra) });
  const server = serveNbd({
    port: listen,
    exports: [{ name: "disk", device }],
  });
  port = server.addr.port;
} else if (kind === "nbdmem") {
  const device = new MemoryDevice(Number(path));
  const server = serveNbd({
    port: listen,
    exports: [{ name: "disk", device }],
  });
  port = server.addr.port;
} else throw new Error(`Unknown server kind: ${kind}`);
console.log(JSON.stringify({ port }));
