// A server in its own process: started by the durability, load and kernel
// crash tests, it prints {"port": N, "pid": P} on its first line of stdout
// (P is its own process id, which differs from the spawned one's when it
// runs under strace), then runs
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
import v8 from "node:v8";
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
let requests = 0;
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
    onDisconnect: (i) => requests += i.requests,
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
console.log(JSON.stringify({ port, pid: Deno.pid }));
// Diagnosis of the load test's memory (tests/load/load_test.ts), off unless
// set: NETFS_MEMLOG=MS prints Deno.memoryUsage(), V8's spaces, the MiB V8
// has allocated and the calls of closed connections to stderr every MS ms;
// NETFS_HEAPPROF=FILE samples every allocation (garbage included) for
// NETFS_HEAPPROF_MS ms (default 10 s) and writes the profile to FILE, for
// Chrome's DevTools.
const memlog = Number(Deno.env.get("NETFS_MEMLOG") ?? 0);
if (memlog > 0) {
  setInterval(() => {
    const m = Deno.memoryUsage();
    console.error(JSON.stringify({
      rss: m.rss >> 20,
      heapTotal: m.heapTotal >> 20,
      heapUsed: m.heapUsed >> 20,
      external: m.external >> 20,
      spaces: Object.fromEntries(
        v8.getHeapSpaceStatistics().filter((x) => x.physical_space_size > 0)
          .map((x) => [x.space_name, x.physical_space_size >> 20]),
      ),
      malloced: v8.getHeapStatistics().malloced_memory >> 20,
      allocated: Math.round(
        // Not in @types/node's HeapInfo, but V8 reports it.
        (v8.getHeapStatistics() as { total_allocated_bytes?: number })
          .total_allocated_bytes! / 2 ** 20,
      ),
      requests,
    }));
  }, memlog);
}
const heapProf = Deno.env.get("NETFS_HEAPPROF");
if (heapProf !== undefined) {
  const { Session } = await import("node:inspector");
  const s = new Session();
  s.connect();
  s.post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  setTimeout(() => {
    s.post(
      "HeapProfiler.stopSampling",
      (_e: unknown, r: { profile: unknown }) => {
        Deno.writeTextFileSync(heapProf, JSON.stringify(r.profile));
      },
    );
  }, Number(Deno.env.get("NETFS_HEAPPROF_MS") ?? 10000));
}
