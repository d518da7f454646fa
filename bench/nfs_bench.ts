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
// alternately on both servers `--reps` times (default 3); the table gives
// each side's median with min–max, the ratio of the medians, and each
// server's CPU (user + system, all threads) per operation, or per GiB for
// the MiB/s rows, as the median over the repetitions.
//
//   --rows "seq write,create"   only the rows whose name contains one of these
//   --quick                     smaller sizes, shorter runs, nothing recorded
//   --baseline DIR              also measure the netfs checkout in DIR (say, a
//                               `git archive` of the commit before a change),
//                               interleaved in the same run: before/after ratios
//   --env NAME=VALUE            an environment variable for the netfs server
//                               under test only (not the baseline): measures a
//                               setting, such as GLIBC_TUNABLES
//
// Only a full run (every row, not quick) appends to bench/RESULTS.md.
import { parseArgs } from "node:util";
import {
  buildTool,
  cpuSeconds,
  freePort,
  median,
  proc,
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
    reps: { type: "string", default: "3" },
    pair: { type: "string", default: "mem,local" },
    rows: { type: "string" },
    baseline: { type: "string" },
    env: { type: "string", multiple: true },
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
const seqWrite = (q: number): Row => ({
  name: `seq write 1 MiB ×${q}`,
  argv: ["seqwrite", "-s", `${seqMiB}`, "-b", "1048576", "-q", `${q}`],
  unit: "MiB/s",
});
const allRows: Row[] = [
  seqWrite(1),
  {
    name: "seq write 1 MiB ×4",
    argv: ["seqwrite", "-s", `${seqMiB}`, "-b", "1048576", "-q", "4"],
    unit: "MiB/s",
  },
  seqWrite(8),
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

const wanted = args.values.rows?.split(",").map((r) => r.trim());
const rows = wanted === undefined
  ? allRows
  : allRows.filter((r) => wanted.some((w) => r.name.includes(w)));
const baseline = args.values.baseline;
const record = !quick && wanted === undefined && baseline === undefined;

interface Server {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startGanesha(fsal: "MEM" | "VFS", dir: string): Promise<Server> {
  const g = await startGanesha_(fsal, dir);
  return {
    name: `ganesha-${fsal.toLowerCase()}`,
    url: g.url,
    pid: await g.pid(),
    stop: g.stop,
  };
}

async function startOurs(
  kind: "mem" | "local",
  dir: string,
  checkout = `${here}..`,
  env: Record<string, string> = {},
): Promise<Server> {
  const port = await freePort();
  const perms = kind === "local"
    ? [`--allow-read=${dir}`, `--allow-write=${dir}`]
    : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      ...perms,
      `${checkout}/bench/_nfs_server.ts`,
      "--port",
      `${port}`,
      ...(kind === "local" ? ["--dir", dir] : []),
    ],
    env,
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  await waitForPort(port, 15000);
  return {
    name: `netfs-${kind}fs`,
    url: `nfs://127.0.0.1/?nfsport=${port}&mountport=${port}&version=3`,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

function rate(r: Record<string, number>, unit: Row["unit"]): number {
  return unit === "MiB/s" ? r.bytes / 1048576 / r.seconds : r.ops / r.seconds;
}

/** Server CPU per unit of work: µs per op, or s per GiB for MiB/s rows. */
function cpuPer(cpu: number, r: Record<string, number>, unit: Row["unit"]) {
  return unit === "MiB/s" ? cpu / (r.bytes / 2 ** 30) : cpu / r.ops * 1e6;
}

const f0 = (x: number) => x.toFixed(0);
const spread = (v: number[]) =>
  `${f0(median(v))} (${f0(Math.min(...v))}–${f0(Math.max(...v))})`;
const cpuText = (v: number[], unit: Row["unit"]) =>
  median(v).toFixed(unit === "MiB/s" ? 2 : 1);

const tool = await buildTool("nfsbench", `${here}nfsbench.c`, ["-lnfs"]);
const date = new Date().toISOString().slice(0, 10);
const load = (await proc("loadavg")).split(" ", 3);
let out =
  `\n### NFSv3 vs nfs-ganesha 4.3 (${date}${quick ? ", quick" : ""})\n\n` +
  "Client: bench/nfsbench.c (libnfs 4.0 async API), one connection, over loopback; " +
  `${reps} alternating runs per side, median (min–max); load average ${
    load.join(" ")
  } at start. CPU: the server's user + system time, µs per operation ` +
  "(s per GiB for MiB/s rows), median." +
  (baseline === undefined
    ? ""
    : ` Baseline: the checkout in ${baseline}, interleaved in the same run.`) +
  (args.values.env === undefined
    ? ""
    : ` The server under test ran with ${args.values.env.join(" ")}.`) +
  "\n";

for (const pair of args.values.pair.split(",")) {
  // Both local exports live on one private tmpfs (see tmpfsDir).
  const tmp = await tmpfsDir("netfs-nfs-bench-");
  const tmpA = `${tmp.path}/ganesha`;
  const tmpB = `${tmp.path}/netfs`;
  await Deno.mkdir(tmpA);
  await Deno.mkdir(tmpB);
  const peer = await startGanesha(pair === "mem" ? "MEM" : "VFS", tmpA);
  const kind = pair === "mem" ? "mem" : "local";
  const env = Object.fromEntries(
    (args.values.env ?? []).map((
      e,
    ) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
  const ours = await startOurs(kind, tmpB, `${here}..`, env);
  let base: Server | undefined;
  if (baseline !== undefined) {
    await Deno.mkdir(`${tmp.path}/baseline`);
    base = await startOurs(kind, `${tmp.path}/baseline`, baseline);
  }
  const sides = base === undefined
    ? [["peer", peer], ["ours", ours]] as const
    : [["peer", peer], ["base", base], ["ours", ours]] as const;
  out += `\n| ${ours.name} vs ${peer.name} | unit | netfs | ganesha | ratio ` +
    "| netfs CPU | ganesha CPU |" +
    (base === undefined
      ? "\n|---|---|---|---|---|---|---|\n"
      : " baseline | ratio | CPU |\n|---|---|---|---|---|---|---|---|---|---|\n");
  // A metadata row that is not the first of its kind needs the tree its
  // predecessors leave: stat and readdir need the files, remove too.
  const needsFiles = (op: string) =>
    ["stat", "readdir", "remove"].includes(op) &&
    !rows.some((r) => r.argv[0] === "create");
  for (const [, srv] of sides) {
    if (rows.some((r) => needsFiles(r.argv[0]))) {
      await runJson(tool, [srv.url, "create", "-n", `${files}`]);
    }
  }
  for (const row of rows) {
    const got = {
      ours: { v: [] as number[], cpu: [] as number[] },
      peer: { v: [] as number[], cpu: [] as number[] },
      base: { v: [] as number[], cpu: [] as number[] },
    };
    for (let i = 0; i < reps; i++) {
      for (const [side, srv] of sides) {
        const cpu0 = await cpuSeconds(srv.pid);
        const r = await runJson(tool, [srv.url, ...row.argv]);
        const cpu = await cpuSeconds(srv.pid) - cpu0;
        got[side].v.push(rate(r, row.unit));
        got[side].cpu.push(cpuPer(cpu, r, row.unit));
        // Metadata rows change the tree: undo so the next run starts equal.
        if (row.argv[0] === "create" && i < reps - 1) {
          await runJson(tool, [srv.url, "remove", "-n", `${files}`]);
        }
        if (row.argv[0] === "remove" && i < reps - 1) {
          await runJson(tool, [srv.url, "create", "-n", `${files}`]);
        }
      }
    }
    const line =
      `| ${row.name} | ${row.unit} | ${spread(got.ours.v)} | ${
        spread(got.peer.v)
      } | ${(median(got.ours.v) / median(got.peer.v)).toFixed(2)}× | ${
        cpuText(got.ours.cpu, row.unit)
      } | ${cpuText(got.peer.cpu, row.unit)} |` +
      (base === undefined
        ? ""
        : ` ${spread(got.base.v)} | ${
          (median(got.base.v) / median(got.peer.v)).toFixed(2)
        }× | ${cpuText(got.base.cpu, row.unit)} |`);
    console.log(line);
    out += line + "\n";
  }
  await ours.stop();
  await base?.stop();
  await peer.stop();
  await tmp.remove();
}
console.log(out);
if (record) {
  await Deno.writeTextFile(`${here}RESULTS.md`, out, { append: true });
}
