// deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-env --allow-sys bench/nbd_bench.ts [--runtime 5] [--workers 2] [--reps 3] [--before DIR] [--floor] [--pin S,C] [--halt-poll NS] [--only TEXT] [--record]
//
// Our NBD server (examples/nbd_memory.ts, in its own process) against
// nbdkit's memory plugin, in the same run, with the same clients: fio's nbd
// engine (libnbd) and nbdcopy. Both exports are 1 GiB and are first filled
// with the same 256 MiB of random data, so reads move real bytes (a sparse
// export would answer reads with holes). Rows alternate which server goes
// first to spread out drift. With --workers N (default 2; 1 turns it off) a
// third column runs the example with N worker threads on one port
// (SO_REUSEPORT, needs --unstable-net, which the bench passes to the child).
// --before DIR adds a column for the example of the checkout DIR (a
// before/after comparison in one session). --floor adds a column for
// bench/_nbd_floor_deno.ts, the least a Deno program does to serve the same
// requests from memory: Deno's floor, measured in the same run, for the
// rows where one event loop waits on each request (1 in flight). Each row
// runs `--reps` times per
// server (nbdcopy rows too); a cell is the median with the range of the runs.
// Prints a markdown section; --record appends it to bench/RESULTS.md.
import { parseArgs } from "node:util";
import {
  atExit,
  cpuSeconds,
  fmt,
  fmtRatio,
  fmtSpread,
  freePort,
  haltPollForRun,
  machineLine,
  parsePin,
  pinProcess,
  spread,
  startDeno,
  terminate,
  waitForPort,
} from "./_bench_util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runtime: { type: "string", default: "5" },
    record: { type: "boolean", default: false },
    only: { type: "string" },
    workers: { type: "string", default: "2" },
    reps: { type: "string", default: "3" },
    before: { type: "string" },
    floor: { type: "boolean", default: false },
    pin: { type: "string" },
    "halt-poll": { type: "string" },
  },
});
// --pin S,C: every server (all its threads, also those it starts later) on
// CPU S, fio on CPU C. Left free, the scheduler puts a 1-in-flight client
// and a single event loop on one CPU in some runs (~13 µs a round trip)
// and on two in others (~70 µs, an idle vCPU woken each way), so a row's
// runs split into two modes that say nothing about either server.
const pin = parsePin(values.pin);
// --halt-poll NS: this guest's idle CPUs poll NS ns before they halt, for
// the run (every server alike; see haltPollForRun).
haltPollForRun(values["halt-poll"]);
const runtime = Number(values.runtime);
const here = new URL(".", import.meta.url).pathname;
const MiB = 1 << 20;
const dec = new TextDecoder();

async function sh(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${dec.decode(r.stderr)}`);
  }
  return dec.decode(r.stdout);
}

interface Server {
  name: string;
  uri: string;
  pid: number;
  stop: () => Promise<void>;
}

/** A Deno server in its own process, served at `nbd://127.0.0.1:P/EXPORT`. */
async function startNbd(
  name: string,
  flags: string[],
  script: string,
  args: string[],
  exportName = "",
): Promise<Server> {
  const d = await startDeno(flags, script, args);
  return {
    name,
    pid: d.pid,
    uri: `nbd://127.0.0.1:${d.port}/${exportName}`,
    stop: d.stop,
  };
}

/** The example from this checkout, or from `root` (tagged "before"). */
function startOurs(workers = 1, root?: string): Promise<Server> {
  const top = root ?? `${here}..`;
  return startNbd(
    `netfs${workers > 1 ? ` ×${workers}` : ""}${root ? " before" : ""}`,
    workers > 1
      ? ["--unstable-net", "--allow-net", `--allow-read=${top}`]
      : ["--allow-net"],
    `${top}/examples/nbd_memory.ts`,
    ["--size", "1G", "--workers", String(workers)],
    "mem",
  );
}

/** The bare Deno NBD server of bench/_nbd_floor_deno.ts. */
function startFloor(): Promise<Server> {
  return startNbd(
    "deno floor",
    ["--allow-net=127.0.0.1"],
    `${here}_nbd_floor_deno.ts`,
    [],
  );
}

async function startNbdkit(): Promise<Server> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "nbdkit-bench-" });
  const pidFile = `${dir}/pid`;
  // Daemonized with a pid file: Debian's nbdkit dies with its parent otherwise.
  await sh("nbdkit", [
    "-P",
    pidFile,
    "-p",
    String(port),
    "-i",
    "127.0.0.1",
    "memory",
    "1G",
  ]);
  await waitForPort(port, 20000);
  // nbdkit writes its pid file after it starts listening: wait for it too.
  let pid = 0;
  for (let i = 0; i < 200 && !pid; i++) {
    pid = Number((await Deno.readTextFile(pidFile).catch(() => "")).trim());
    if (!pid) await new Promise((r) => setTimeout(r, 50));
  }
  if (!pid) throw new Error(`nbdkit wrote no pid file: ${pidFile}`);
  const forget = atExit(() => {
    terminate(pid);
    Deno.removeSync(dir, { recursive: true });
  });
  return {
    name: "nbdkit",
    pid,
    uri: `nbd://127.0.0.1:${port}/`,
    stop: async () => {
      forget();
      try {
        Deno.kill(pid, "SIGTERM");
      } catch { /* gone */ }
      await new Promise((r) => setTimeout(r, 300));
      await Deno.remove(dir, { recursive: true });
    },
  };
}

interface Row {
  label: string;
  rw: string;
  bs: string;
  depth: number;
  jobs: number;
}

const rows: Row[] = [
  {
    label: "seq read 1 MiB, 1 in flight",
    rw: "read",
    bs: "1m",
    depth: 1,
    jobs: 1,
  },
  {
    label: "seq read 1 MiB, 16 in flight",
    rw: "read",
    bs: "1m",
    depth: 16,
    jobs: 1,
  },
  {
    label: "seq write 1 MiB, 1 in flight",
    rw: "write",
    bs: "1m",
    depth: 1,
    jobs: 1,
  },
  {
    label: "seq write 1 MiB, 16 in flight",
    rw: "write",
    bs: "1m",
    depth: 16,
    jobs: 1,
  },
  {
    label: "rand read 4 KiB, 1 in flight",
    rw: "randread",
    bs: "4k",
    depth: 1,
    jobs: 1,
  },
  {
    label: "rand read 4 KiB, 32 in flight",
    rw: "randread",
    bs: "4k",
    depth: 32,
    jobs: 1,
  },
  {
    label: "rand write 4 KiB, 1 in flight",
    rw: "randwrite",
    bs: "4k",
    depth: 1,
    jobs: 1,
  },
  {
    label: "rand write 4 KiB, 32 in flight",
    rw: "randwrite",
    bs: "4k",
    depth: 32,
    jobs: 1,
  },
  {
    label: "seq read 1 MiB, 16 in flight, 4 connections",
    rw: "read",
    bs: "1m",
    depth: 16,
    jobs: 4,
  },
  {
    label: "seq write 1 MiB, 16 in flight, 4 connections",
    rw: "write",
    bs: "1m",
    depth: 16,
    jobs: 4,
  },
  {
    label: "rand read 4 KiB, 8 in flight, 4 connections",
    rw: "randread",
    bs: "4k",
    depth: 8,
    jobs: 4,
  },
  {
    label: "rand write 4 KiB, 8 in flight, 4 connections",
    rw: "randwrite",
    bs: "4k",
    depth: 8,
    jobs: 4,
  },
  {
    label: "rand read 4 KiB, 32 in flight, 4 connections",
    rw: "randread",
    bs: "4k",
    depth: 32,
    jobs: 4,
  },
  {
    label: "rand write 4 KiB, 32 in flight, 4 connections",
    rw: "randwrite",
    bs: "4k",
    depth: 32,
    jobs: 4,
  },
];

/**
 * Runs one fio job; returns [MiB/s, IOPS, server CPU µs per I/O]. CPU per
 * I/O is what the server process spent (all threads) over the whole run,
 * divided by the I/Os of that time: unlike throughput it hardly depends on
 * what else the machine is doing.
 */
async function fio(s: Server, r: Row): Promise<[number, number, number]> {
  const uri = s.uri;
  const cpu0 = await cpuSeconds(s.pid);
  const t0 = performance.now();
  const out = await sh(pin ? "taskset" : "fio", [
    ...(pin ? ["-c", `${pin[1]}`, "fio"] : []),
    "--name=nbd",
    "--ioengine=nbd",
    `--uri=${uri}`,
    `--rw=${r.rw}`,
    `--bs=${r.bs}`,
    `--iodepth=${r.depth}`,
    `--numjobs=${r.jobs}`,
    "--group_reporting",
    "--size=256M",
    "--time_based",
    `--runtime=${runtime}`,
    "--ramp_time=1",
    "--output-format=json",
  ]);
  const j = JSON.parse(out.slice(out.indexOf("{")));
  const job = j.jobs[0];
  const side = r.rw.includes("read") ? job.read : job.write;
  const wall = (performance.now() - t0) / 1000;
  const cpu = await cpuSeconds(s.pid) - cpu0;
  return [side.bw_bytes / MiB, side.iops, (cpu / (side.iops * wall)) * 1e6];
}

/** nbdcopy of 256 MiB to or from `s`; returns MiB/s and server CPU µs per MiB. */
async function nbdcopy(s: Server, args: string[]): Promise<[number, number]> {
  const cpu0 = await cpuSeconds(s.pid);
  const t = performance.now();
  await sh("nbdcopy", args);
  const mibs = 256 / ((performance.now() - t) / 1000);
  return [mibs, ((await cpuSeconds(s.pid) - cpu0) / 256) * 1e6];
}

const workers = Number(values.workers);
const reps = Number(values.reps);
const head = await machineLine();
const servers = [await startOurs(), await startNbdkit()];
if (workers > 1) servers.push(await startOurs(workers));
const floorIdx = values.floor ? servers.push(await startFloor()) - 1 : -1;
if (values.before) servers.push(await startOurs(1, values.before));
/** A row's samples per server: rates, and server CPU µs per I/O (per MiB). */
const results: {
  label: string;
  unit: string;
  v: number[][];
  cpu?: number[][];
}[] = [];
if (pin) {
  for (const s of servers) await pinProcess(s.pid, pin[0]);
}
const tmp = await Deno.makeTempDir({ prefix: "nbd-bench-" });
const forgetTmp = atExit(() => Deno.removeSync(tmp, { recursive: true }));
// Rotate which server goes first, run by run, to spread out drift.
let turn = 0;
const order = () => servers.map((_, i) => (i + turn) % servers.length);
const progress = (label: string, v: number[][]) =>
  console.error(
    `${label}: ${
      servers.map((s, i) => `${s.name} ${fmtSpread(v[i])}`).join(", ")
    }`,
  );
try {
  const src = `${tmp}/random.img`;
  await sh("sh", ["-c", `head -c ${256 * MiB} /dev/urandom > ${src}`]);
  for (const s of servers) await sh("nbdcopy", [src, s.uri]);

  for (const r of rows) {
    if (values.only && !r.label.includes(values.only)) continue;
    const v: number[][] = servers.map(() => []);
    const cpu: number[][] = servers.map(() => []);
    for (let rep = 0; rep < reps; rep++) {
      for (const i of order()) {
        const [mibs, iops, us] = await fio(servers[i], r);
        v[i].push(r.bs === "4k" ? iops : mibs);
        cpu[i].push(us);
      }
      turn++;
    }
    results.push({
      label: `fio ${r.label}`,
      unit: r.bs === "4k" ? "IOPS" : "MiB/s",
      v,
      cpu,
    });
    progress(r.label, v);
  }
  for (const conns of [1, 4]) {
    for (const dir of ["in", "out"] as const) {
      const label = `nbdcopy 256 MiB ${
        dir === "in" ? "file → export" : "export → null"
      }, ${conns} connection(s)`;
      if (values.only && !label.includes(values.only)) continue;
      const v: number[][] = servers.map(() => []);
      const cpu: number[][] = servers.map(() => []);
      for (let rep = 0; rep < reps; rep++) {
        for (const i of order()) {
          const args = dir === "in"
            ? [`--connections=${conns}`, src, servers[i].uri]
            : [`--connections=${conns}`, servers[i].uri, "null:"]; // the 768 MiB of holes are skipped
          const [mibs, us] = await nbdcopy(servers[i], args);
          v[i].push(mibs);
          cpu[i].push(us);
        }
        turn++;
      }
      results.push({ label, unit: "MiB/s", v, cpu });
      progress(label, v);
    }
  }
} finally {
  for (const s of servers) await s.stop();
  forgetTmp();
  await Deno.remove(tmp, { recursive: true });
}

// Columns: every server, then each of ours against nbdkit (index 1), then
// ours against Deno's floor when there is one, then after against before
// when there is a before.
const ours = servers.map((_, i) => i).filter((i) => i !== 1);
const beforeIdx = values.before ? servers.length - 1 : -1;
const ratioHeads = [
  ...ours.map((i) => `${servers[i].name} ÷ nbdkit`),
  ...(floorIdx > 0 ? ["netfs ÷ deno floor"] : []),
  ...(beforeIdx > 0 ? ["after ÷ before"] : []),
];
const ratioCells = (v: number[][]) => [
  ...ours.map((i) => fmtRatio(v[i], v[1])),
  ...(floorIdx > 0 ? [fmtRatio(v[0], v[floorIdx])] : []),
  ...(beforeIdx > 0 ? [fmtRatio(v[0], v[beforeIdx])] : []),
];
const med = (xs: number[]) => spread(xs).median;
const lines = [
  "## NBD",
  "",
  `Our server (examples/nbd_memory.ts, 1 GiB${
    workers > 1 ? `; and with --workers ${workers}` : ""
  }${values.before ? `; and the same example from ${values.before}` : ""}${
    values.floor ? "; and bench/_nbd_floor_deno.ts, a bare Deno server" : ""
  }) vs nbdkit ${
    (await sh("nbdkit", ["--version"])).trim().split(" ")[1]
  } memory plugin (1 GiB), both filled with the same 256 MiB of random data;`,
  `${
    (await sh("fio", ["--version"])).trim()
  } nbd engine (libnbd), ${runtime} s per run after 1 s ramp, --size=256M;`,
  `${reps} runs per server and row, interleaved; median (min–max). ${head}.${
    pin ? ` Pinned: every server on CPU ${pin[0]}, fio on CPU ${pin[1]}.` : ""
  }`,
  "",
  `| workload | unit | ${servers.map((s) => s.name).join(" | ")} | ${
    ratioHeads.join(" | ")
  } |`,
  `| --- | --- |${" ---: |".repeat(servers.length + ratioHeads.length)}`,
  ...results.map((r) =>
    `| ${r.label} | ${r.unit} | ${r.v.map(fmtSpread).join(" | ")} | ${
      ratioCells(r.v).join(" | ")
    } |`
  ),
  "",
  "Server CPU per I/O (per MiB for nbdcopy), in µs (user + system, all threads; median; nbdkit ÷ netfs",
  "above 1 means netfs spends less CPU for the same work, whatever the machine's load):",
  "",
  `| workload | ${servers.map((s) => s.name).join(" | ")} | ${
    ours.map((i) => `nbdkit ÷ ${servers[i].name}`).join(" | ")
  } |`,
  `| --- |${" ---: |".repeat(servers.length + ours.length)}`,
  ...results.filter((r) => r.cpu).map((r) =>
    `| ${r.label} | ${r.cpu!.map((c) => fmt(med(c))).join(" | ")} | ${
      ours.map((i) => `${(med(r.cpu![1]) / med(r.cpu![i])).toFixed(2)}×`).join(
        " | ",
      )
    } |`
  ),
  "",
];
const text = lines.join("\n");
console.log(text);
if (values.record) {
  await Deno.writeTextFile(`${here}RESULTS.md`, `\n${text}`, { append: true });
}
