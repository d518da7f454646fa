// JS heap allocated by the server per NFSv3 call: NULL, GETATTR, LOOKUP, a
// 4 KiB READ and a 4 KiB WRITE, each sent COUNT times over CONNS
// connections (one call in flight on each, as the load test's clients do)
// to a serveNfs in a child process. The child answers an extra RPC program
// with V8's total_allocated_bytes, read before and after each run, so the
// client's own garbage is not counted: bytes per call = the difference over
// COUNT. Garbage is what drives a busy server's RSS (see the README's "A
// server's memory"); this is how to see a change to it.
//
//   deno run --allow-net=127.0.0.1 --allow-run --allow-read --allow-write bench/alloc_bench.ts [--count N] [--conns C] [--fs memfs|localfs] [--flags V8FLAGS] [--profile FILE]
//
// --profile PREFIX samples the server's allocations (garbage included)
// during each procedure's runs, prints the 25 functions that allocated the
// most, and writes PREFIX.<procedure>.heapprofile for Chrome's DevTools
// (the sampling itself allocates: the bytes per call are then higher).
import { parseArgs } from "node:util";
import v8 from "node:v8";
import { RpcClient } from "../rpc/client.ts";
import type { XdrWriter } from "../rpc/xdr.ts";

const STATS = 0x2000a110;
const NFS = 100003;
const MOUNT = 100005;
const AUTH = { stamp: 0, machineName: "bench", uid: 0, gid: 0, gids: [] };

const { values } = parseArgs({
  args: Deno.args,
  options: {
    count: { type: "string", default: "20000" },
    conns: { type: "string", default: "8" },
    fs: { type: "string", default: "memfs" },
    flags: { type: "string", default: "" },
    profile: { type: "string" },
    server: { type: "boolean", default: false },
  },
});

if (values.server) await server();
else await client();

/** The child: serveNfs over one file, plus the STATS program. */
async function server(): Promise<void> {
  const { serveNfs } = await import("../server/serve.ts");
  const { MemFs } = await import("../vfs/memfs.ts");
  const { ROOT } = await import("../vfs/types.ts");
  let dir: string | undefined;
  let fs;
  if (values.fs === "localfs") {
    const { LocalFs } = await import("../vfs/localfs/mod.ts");
    dir = await Deno.makeTempDir({ prefix: "netfs-alloc-" });
    fs = await LocalFs.open(dir);
  } else fs = new MemFs();
  const f = await fs.create(ROOT, fs.root, "file");
  await fs.write(ROOT, f.fileid, 0, new Uint8Array(65536).fill(7));
  const srv = serveNfs({
    port: 0,
    quiet: true,
    versions: [3],
    exports: [{ path: "/", fs, squash: "none" }],
  });
  let session: import("node:inspector").Session | undefined;
  const { serveRpc } = await import("../rpc/server.ts");
  const stats = serveRpc({ port: 0, programs: [] });
  stats.register({
    program: STATS,
    version: 1,
    name: "stats",
    procedures: {
      1: {
        name: "ALLOCATED",
        handler: (_r, w) => {
          // Not in @types/node's HeapInfo, but V8 reports it.
          const s = v8.getHeapStatistics() as unknown as {
            total_allocated_bytes: number;
          };
          w.u64(s.total_allocated_bytes);
        },
      },
      2: {
        name: "PROFILE_START",
        handler: async () => {
          const { Session } = await import("node:inspector");
          session = new Session();
          session.connect();
          session.post("HeapProfiler.startSampling", {
            samplingInterval: 256,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true,
          });
        },
      },
      3: {
        name: "PROFILE_STOP",
        handler: async (r) => {
          const path = r.string(4096);
          const profile = await new Promise<unknown>((res) =>
            session!.post(
              "HeapProfiler.stopSampling",
              (_e: unknown, r: { profile: unknown }) => res(r.profile),
            )
          );
          session!.disconnect();
          await Deno.writeTextFile(path, JSON.stringify(profile));
        },
      },
    },
  });
  console.log(
    JSON.stringify({ port: srv.addr.port, stats: stats.addr.port }),
  );
  // Runs until the parent closes stdin.
  for await (const _ of Deno.stdin.readable) { /* wait */ }
  await Promise.all([srv.shutdown(), stats.shutdown()]);
  if (dir !== undefined) await Deno.remove(dir, { recursive: true });
}

interface Op {
  name: string;
  proc: number;
  args: (w: XdrWriter) => void;
}

async function client(): Promise<void> {
  const count = Number(values.count);
  const conns = Number(values.conns);
  const flags = values.flags ? [`--v8-flags=${values.flags}`] : [];
  const self = new URL(import.meta.url).pathname;
  const proc = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      "--allow-ffi",
      "--allow-sys",
      "--allow-env",
      ...flags,
      self,
      "--server",
      "--fs",
      values.fs!,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await lines.read();
  const { port, stats } = JSON.parse(first.value!.split("\n")[0]);
  void lines.cancel();
  const clients = await Promise.all(
    Array.from(
      { length: conns },
      () =>
        RpcClient.connect({
          hostname: "127.0.0.1",
          port,
          auth: AUTH,
          timeoutMs: 60_000,
        }),
    ),
  );
  const c0 = clients[0];
  const statsClient = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: stats,
    timeoutMs: 60_000,
  });
  const mnt = await c0.call(MOUNT, 3, 1, (w) => w.string("/"));
  if (mnt.u32() !== 0) throw new Error("Mount failed");
  const root = mnt.opaque(64).slice();
  const found = await c0.call(NFS, 3, 3, (w) => w.opaque(root).string("file"));
  if (found.u32() !== 0) throw new Error("Lookup failed");
  const fh = found.opaque(64).slice();
  const data = new Uint8Array(4096).fill(9);
  const ops: Op[] = [
    { name: "NULL", proc: 0, args: () => {} },
    { name: "GETATTR", proc: 1, args: (w) => w.opaque(fh) },
    { name: "LOOKUP", proc: 3, args: (w) => w.opaque(root).string("file") },
    {
      name: "READ 4K",
      proc: 6,
      args: (w) => w.opaque(fh).u64(4096).u32(4096),
    },
    {
      name: "WRITE 4K",
      proc: 7,
      args: (w) => w.opaque(fh).u64(4096).u32(4096).u32(0).opaque(data),
    },
  ];
  const allocated = async () =>
    (await statsClient.call(STATS, 1, 1, () => {})).u64("allocated");
  const run = async (op: Op, n: number) => {
    await Promise.all(clients.map(async (c) => {
      for (let i = 0; i < n / conns; i++) {
        const r = await c.call(NFS, 3, op.proc, op.args);
        if (op.proc !== 0 && r.u32() !== 0) {
          throw new Error(`${op.name} failed`);
        }
      }
    }));
  };
  const rows: string[] = [];
  for (const op of ops) {
    await run(op, Math.min(count, 4000)); // warm up: optimized code, pools
    if (values.profile) await statsClient.call(STATS, 1, 2, () => {});
    const per: number[] = [];
    for (let round = 0; round < 3; round++) {
      const before = await allocated();
      await run(op, count);
      per.push((await allocated() - before) / count);
    }
    per.sort((a, b) => a - b);
    rows.push(
      `${op.name.padEnd(9)} ${per[1].toFixed(0).padStart(6)} B/call  (runs ${
        per.map((x) => x.toFixed(0)).join(", ")
      })`,
    );
    if (values.profile) {
      const file = `${values.profile}.${
        op.name.replace(/ /g, "_")
      }.heapprofile`;
      await statsClient.call(STATS, 1, 3, (w) => w.string(file));
      console.log(`${op.name}:`);
      printSites(JSON.parse(await Deno.readTextFile(file)));
    }
  }
  console.log(
    `server JS heap allocated per call, ${values.fs}, ${conns} connections × 1 in flight, ${count} calls per run${
      values.flags ? `, --v8-flags=${values.flags}` : ""
    } (median of 3):`,
  );
  for (const r of rows) console.log(r);
  for (const c of clients) c.close();
  statsClient.close();
  await proc.stdin.close();
  await proc.status;
}

interface ProfileNode {
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
    columnNumber: number;
  };
  selfSize: number;
  children: ProfileNode[];
}

/** The sites that allocated most, by function and line (self size). */
function printSites(profile: { head: ProfileNode }): void {
  const sites = new Map<string, number>();
  let total = 0;
  const walk = (n: ProfileNode) => {
    const f = n.callFrame;
    const file = f.url.replace(/^.*\/(netfs|alloc)\//, "").replace(
      /^file:\/\//,
      "",
    );
    const key = `${f.functionName || "(anonymous)"} ${file}:${
      f.lineNumber + 1
    }`;
    sites.set(key, (sites.get(key) ?? 0) + n.selfSize);
    total += n.selfSize;
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  for (const [k, v] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`);
  }
}
