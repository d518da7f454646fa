// NFSv3: netfs against nfs-ganesha, with the same independent client
// (bench/nfsbench.c on libnfs's async API) in the same run.
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-env bench/nfs_bench.ts
//
// Needs root (ganesha runs in a private mount namespace with a unix-socket
// rpcbind stand-in), Debian's nfs-ganesha, nfs-ganesha-mem, nfs-ganesha-vfs,
// libnfs-dev and a C compiler. Two pairs: our MemFs against ganesha's MEM
// FSAL (which keeps no file data: an optimistic bound for ganesha), and our
// LocalFs over tmpfs against ganesha's VFS FSAL over tmpfs. Each row runs
// alternately on both servers, twice, and keeps each side's best.
import { parseArgs } from "node:util";
import {
  buildTool,
  freePort,
  runJson,
  tmpfsDir,
  waitForPort,
} from "./_bench_util.ts";
// Ganesha with its private rpcbind stand-in, shared with the interop tests.
import { startGanesha as startGanesha_ } from "../tests/interop/_ganesha.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    reps: { type: "string", default: "2" },
    pair: { type: "string", default: "mem,local" },
  },
});
const reps = Number(args.values.reps);
const quick = args.values.quick;
const here = new URL(".", import.meta.url).pathname;

interface Row {
  name: string;
  argv: string[];
  unit: "MiB/s" | "ops/s" | "entries/s";
}

const files = quick ? 2000 : 10000;
const seqMiB = quick ? 64 : 256;
const secs = quick ? "1" : "3";
const rows: Row[] = [
  {
    name: "seq write 1 MiB ×4",
    argv: ["seqwrite", "-s", `${seqMiB}`, "-b", "1048576", "-q", "4"],
    unit: "MiB/s",
  },
  {
    name: "seq read 1 MiB ×4",
    argv: ["seqread", "-b", "1048576", "-q", "4"],
    unit: "MiB/s",
  },
  {
    name: "rand read 4 KiB ×1",
    argv: ["randread", "-b", "4096", "-q", "1", "-t", secs, "-n", "1000000000"],
    unit: "ops/s",
  },
  {
    name: "rand read 4 KiB ×32",
    argv: [
      "randread",
      "-b",
      "4096",
      "-q",
      "32",
      "-t",
      secs,
      "-n",
      "1000000000",
    ],
    unit: "ops/s",
  },
  {
    name: "rand write 4 KiB ×1",
    argv: [
      "randwrite",
      "-b",
      "4096",
      "-q",
      "1",
      "-t",
      secs,
      "-n",
      "1000000000",
    ],
    unit: "ops/s",
  },
  {
    name: "rand write 4 KiB ×32",
    argv: [
      "randwrite",
      "-b",
      "4096",
      "-q",
      "32",
      "-t",
      secs,
      "-n",
      "1000000000",
    ],
    unit: "ops/s",
  },
  {
    name: `create ${files}`,
    argv: ["create", "-n", `${files}`, "-q", "1"],
    unit: "ops/s",
  },
  {
    name: `stat ${files}`,
    argv: ["stat", "-n", `${files}`, "-q", "1"],
    unit: "ops/s",
  },
  { name: `readdirplus ${files}`, argv: ["readdir"], unit: "entries/s" },
  {
    name: `remove ${files}`,
    argv: ["remove", "-n", `${files}`, "-q", "1"],
    unit: "ops/s",
  },
];

interface Server {
  name: string;
  url: string;
  stop(): Promise<void>;
}

async function startGanesha(fsal: "MEM" | "VFS", dir: string): Promise<Server> {
  const g = await startGanesha_(fsal, dir);
  return { name: `ganesha-${fsal.toLowerCase()}`, url: g.url, stop: g.stop };
}

async function startOurs(kind: "mem" | "local", dir: string): Promise<Server> {
  const port = await freePort();
  const perms = kind === "local"
    ? [`--allow-read=${dir}`, `--allow-write=${dir}`]
    : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      ...perms,
      `${here}_nfs_server.ts`,
      "--port",
      `${port}`,
      ...(kind === "local" ? ["--dir", dir] : []),
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  await waitForPort(port, 15000);
  return {
    name: `netfs-${kind}fs`,
    url: `nfs://127.0.0.1/?nfsport=${port}&mountport=${port}&version=3`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

function rate(r: Record<string, number>, unit: Row["unit"]): number {
  return unit === "MiB/s" ? r.bytes / 1048576 / r.seconds : r.ops / r.seconds;
}

const tool = await buildTool("nfsbench", `${here}nfsbench.c`, ["-lnfs"]);
const date = new Date().toISOString().slice(0, 10);
let out =
  `\n### NFSv3 vs nfs-ganesha 4.3 (${date}${quick ? ", quick" : ""})\n\n` +
  "Client: bench/nfsbench.c (libnfs 4.0 async API), one connection, over loopback; best of " +
  `${reps} alternating runs per side.\n`;

for (const pair of args.values.pair.split(",")) {
  // Both local exports live on one private tmpfs (see tmpfsDir).
  const tmp = await tmpfsDir("netfs-nfs-bench-");
  const tmpA = `${tmp.path}/ganesha`;
  const tmpB = `${tmp.path}/netfs`;
  await Deno.mkdir(tmpA);
  await Deno.mkdir(tmpB);
  const peer = await startGanesha(pair === "mem" ? "MEM" : "VFS", tmpA);
  const ours = await startOurs(pair === "mem" ? "mem" : "local", tmpB);
  out +=
    `\n| ${ours.name} vs ${peer.name} | unit | netfs | ganesha | ratio |\n|---|---|---|---|---|\n`;
  for (const row of rows) {
    const best = { ours: 0, peer: 0 };
    for (let i = 0; i < reps; i++) {
      for (const [side, srv] of [["peer", peer], ["ours", ours]] as const) {
        const r = await runJson(tool, [srv.url, ...row.argv]);
        best[side] = Math.max(best[side], rate(r, row.unit));
        // Metadata rows change the tree: undo so the next run starts equal.
        if (row.argv[0] === "create" && i < reps - 1) {
          await runJson(tool, [srv.url, "remove", "-n", `${files}`]);
        }
        if (row.argv[0] === "remove" && i < reps - 1) {
          await runJson(tool, [srv.url, "create", "-n", `${files}`]);
        }
      }
    }
    const line = `| ${row.name} | ${row.unit} | ${best.ours.toFixed(0)} | ${
      best.peer.toFixed(0)
    } | ${(best.ours / best.peer).toFixed(2)}× |`;
    console.log(line);
    out += line + "\n";
  }
  await ours.stop();
  await peer.stop();
  await tmp.remove();
}
console.log(out);
if (!quick) {
  await Deno.writeTextFile(`${here}RESULTS.md`, out, { append: true });
}
