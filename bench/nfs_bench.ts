// NFS: netfs against nfs-ganesha, with the same independent client
// (bench/nfsbench.c on libnfs's async API) in the same run.
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-env bench/nfs_bench.ts [--pair mem,local] [--nfs 3|4] [--reps 3] [--before DIR] [--floor] [--only TEXT] [--profile DIR] [--quick] [--record] [--pin S,C] [--halt-poll NS]
//
// Needs root (ganesha runs in a private mount namespace with a unix-socket
// rpcbind stand-in), Debian's nfs-ganesha, nfs-ganesha-mem, nfs-ganesha-vfs,
// libnfs-dev and a C compiler. Two pairs: our MemFs against ganesha's MEM
// FSAL (which keeps no file data: an optimistic bound for ganesha), and our
// LocalFs over tmpfs against ganesha's VFS FSAL over tmpfs.
//
// --nfs 4 runs the read rows over NFSv4.0: libnfs 4.0.0 speaks minor version
// 0 only and cannot write over NFSv4, so the file and the 10,000 names are
// first made over NFSv3. --before DIR adds a third server, netfs from the
// checkout DIR (a before/after comparison in one session), with the first
// of --engines for the local pair. --floor adds Deno's floor,
// bench/_nfs_floor_deno.ts (a bare Deno NFSv3 server from memory), on the
// rows it serves (all but the listing: "–" there), with a column "netfs
// ÷ deno floor": what one call costs in Deno with nothing of netfs in it,
// measured in the same run as the rows it bounds. --profile DIR
// writes a V8 CPU profile of each netfs server into DIR; --only runs the
// rows whose name contains TEXT.
//
// Each row runs on every server in turn, `--reps` times, the order rotating
// by one each repetition; a cell is the median with the range of the runs,
// and the server's CPU time per operation (per MiB for MiB/s rows) is
// reported beside it: unlike throughput it hardly depends on the load.
import { parseArgs } from "node:util";
import {
  buildTool,
  cpuSeconds,
  cpuTicks,
  fmtRatio,
  fmtSpread,
  haltPollForRun,
  machineLine,
  parsePin,
  pinProcess,
  runJson,
  stealShare,
  tmpfsDir,
} from "./_bench_util.ts";
import {
  nfsCp,
  type NfsServer,
  removeFile,
  startFloor,
  startGanesha,
  startNetfs,
} from "./_nfs_servers.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    record: { type: "boolean", default: false },
    reps: { type: "string", default: "3" },
    pair: { type: "string", default: "mem,local" },
    nfs: { type: "string", default: "3" },
    before: { type: "string" },
    floor: { type: "boolean", default: false },
    profile: { type: "string" },
    only: { type: "string" },
    engines: { type: "string", default: "native" },
    pin: { type: "string" },
    "halt-poll": { type: "string" },
  },
});
// --pin S,C: every server (all its threads) on CPU S, the client on CPU C,
// so each server pays the same cross-CPU wake-up per round trip (or, with
// S = C, none) instead of whatever the scheduler's placement gives it.
const pin = parsePin(args.values.pin);
// --halt-poll NS: this guest's idle CPUs poll NS ns before they halt, for
// the run (every server alike; see haltPollForRun).
haltPollForRun(args.values["halt-poll"]);

/** Runs the client, on the pinned CPU if --pin was given. */
function client(tool: string, argv: string[]) {
  return pin
    ? runJson("taskset", ["-c", `${pin[1]}`, tool, ...argv])
    : runJson(tool, argv);
}

/** Moves every thread of a started server to the pinned CPU. */
async function pinServer(srv: NfsServer): Promise<void> {
  if (pin) await pinProcess(srv.pid, pin[0]);
}
const reps = Number(args.values.reps);
const quick = args.values.quick;
const version = args.values.nfs === "4" ? 4 : 3;
const before = args.values.before;
const floor = args.values.floor;
if (floor && version === 4) throw new Error("--floor serves NFSv3 only");
const here = new URL(".", import.meta.url).pathname;

interface Row {
  name: string;
  argv: string[];
  unit: "MiB/s" | "ops/s" | "entries/s";
  /** Runs over NFSv4 too (libnfs reads only there). */
  v4?: boolean;
  /** Runs on Deno's floor too (all but the listing, which it does not serve). */
  floor?: boolean;
  /** Not nfsbench but libnfs's nfs-cp, a whole process, into or out of the server. */
  cp?: "in" | "out";
}

const files = quick ? 2000 : 10000;
const seqMiB = quick ? 64 : 256;
const secs = quick ? "1" : "3";
const timed = (op: string, q: number) => [
  op,
  "-b",
  "4096",
  "-q",
  `${q}`,
  "-t",
  secs,
  "-n",
  "1000000000",
];
const rows: Row[] = [
  ...[1, 4, 8].map((q): Row => ({
    name: `seq write 1 MiB ×${q}`,
    argv: ["seqwrite", "-s", `${seqMiB}`, "-b", "1048576", "-q", `${q}`],
    unit: "MiB/s",
    floor: true,
  })),
  ...[1, 4].map((q): Row => ({
    name: `seq read 1 MiB ×${q}`,
    argv: ["seqread", "-b", "1048576", "-q", `${q}`],
    unit: "MiB/s",
    v4: true,
    floor: true,
  })),
  {
    name: "rand read 4 KiB ×1",
    argv: timed("randread", 1),
    unit: "ops/s",
    v4: true,
    floor: true,
  },
  {
    name: "rand read 4 KiB ×32",
    argv: timed("randread", 32),
    unit: "ops/s",
    v4: true,
    floor: true,
  },
  ...[1, 32].map((q): Row => ({
    name: `rand write 4 KiB ×${q}`,
    argv: timed("randwrite", q),
    unit: "ops/s",
    floor: true,
  })),
  ...(["in", "out"] as const).map((cp): Row => ({
    name: `nfs-cp ${seqMiB} MiB ${cp}`,
    argv: [],
    unit: "MiB/s",
    floor: true,
    cp,
  })),
  {
    name: `create ${files}`,
    argv: ["create", "-n", `${files}`, "-q", "1"],
    unit: "ops/s",
    floor: true,
  },
  {
    name: `stat ${files}`,
    argv: ["stat", "-n", `${files}`, "-q", "1"],
    unit: "ops/s",
    floor: true,
    v4: true,
  },
  {
    // libnfs lists with READDIRPLUS over NFSv3, READDIR with attributes
    // over NFSv4. One listing of 10,000 names takes 20-70 ms, too short to
    // tell two servers apart: the row lists the directory 20 times.
    name: `${version === 4 ? "readdir" : "readdirplus"} ${files} ×20`,
    argv: ["readdir", "-r", "20"],
    unit: "entries/s",
    v4: true,
  },
  {
    name: `remove ${files}`,
    argv: ["remove", "-n", `${files}`, "-q", "1"],
    unit: "ops/s",
    floor: true,
  },
];

/** `mib` MiB of bytes that do not repeat within a MiB, for nfs-cp to copy in. */
function seqData(mib: number): Uint8Array {
  const mb = new Uint8Array(1048576);
  for (let at = 0; at < mb.length; at += 65536) {
    crypto.getRandomValues(mb.subarray(at, at + 65536));
  }
  const out = new Uint8Array(mib * 1048576);
  for (let i = 0; i < mib; i++) out.set(mb, i * 1048576);
  return out;
}

/** A row's rate, the work done (operations or MiB) and the server's CPU. */
interface Sample {
  rate: number;
  work: number;
  cpu: number;
}

async function measure(
  tool: string,
  srv: NfsServer,
  row: Row,
  cpFile: string,
): Promise<Sample> {
  const cpu0 = await cpuSeconds(srv.pid);
  if (row.cp) {
    // The whole process: connecting and mounting are part of what a user
    // of nfs-cp waits for. Out of the server: the file the seq rows wrote.
    const seconds = row.cp === "in"
      ? await nfsCp(srv, "in", cpFile, "nfscp.dat")
      : await nfsCp(srv, "out", `${cpFile}.out`, "nfsbench.dat");
    const cpu = await cpuSeconds(srv.pid) - cpu0;
    if (row.cp === "out") await Deno.remove(`${cpFile}.out`);
    else await removeFile(srv, "nfscp.dat"); // untimed, uncharged
    return { rate: seqMiB / seconds, work: seqMiB, cpu };
  }
  const r = await client(tool, [srv.url(version), ...row.argv]);
  const cpu = await cpuSeconds(srv.pid) - cpu0;
  const work = row.unit === "MiB/s" ? r.bytes / 1048576 : r.ops;
  const rate = work / r.seconds;
  return { rate, work, cpu };
}

const tool = await buildTool("nfsbench", `${here}nfsbench.c`, ["-lnfs"]);
const vname = version === 4 ? "NFSv4.0" : "NFSv3";
let out = `\n### ${vname} vs nfs-ganesha 4.3${
  before ? `, before (${before}) and after` : ""
}${
  quick ? ", quick" : ""
}\n\n${await machineLine()}. Client: bench/nfsbench.c (libnfs 4.0.0 async API${
  version === 4 ? ", NFSv4.0: its only minor version" : ""
}), one connection, over loopback; ${reps} runs per server, interleaved; median (min–max). CPU: the server process's user + system time per operation (per MiB for MiB/s rows) over all its runs; steal: the share of both CPUs' time the hypervisor took during the row's runs (this VM's noise).${
  floor
    ? " deno-floor: bench/_nfs_floor_deno.ts, a bare Deno NFSv3 server from memory (every row but the listing)."
    : ""
}${
  pin
    ? ` Pinned: every server on CPU ${pin[0]}, the client on CPU ${pin[1]}.`
    : ""
}\n`;

for (const pair of args.values.pair.split(",")) {
  const kind = pair === "mem" ? "mem" : "local";
  // Every local export lives on one private tmpfs (see tmpfsDir).
  const tmp = await tmpfsDir("netfs-nfs-bench-");
  const dirs = ["ganesha", "unused", "before"].map((d) => `${tmp.path}/${d}`);
  // What the nfs-cp rows copy in, from the same tmpfs.
  const cpFile = `${tmp.path}/cp-source.dat`;
  await Deno.writeFile(cpFile, seqData(seqMiB));
  for (const d of [dirs[0], dirs[2]]) await Deno.mkdir(d);
  // netfs first (one server per LocalFs engine), then ganesha, then the
  // "before" checkout: every netfs column gets a ratio to ganesha.
  const engines = kind === "local"
    ? args.values.engines.split(",") as ("native" | "portable")[]
    : [undefined];
  const servers: NfsServer[] = [];
  for (const [i, engine] of engines.entries()) {
    const dir = `${tmp.path}/netfs${i}`;
    if (kind === "local") await Deno.mkdir(dir);
    servers.push(
      await startNetfs(kind, dir, { profileDir: args.values.profile, engine }),
    );
  }
  const peerAt = servers.length;
  servers.push(await startGanesha(kind === "mem" ? "MEM" : "VFS", dirs[0]));
  if (before) {
    servers.push(
      // The same LocalFs engine as the first netfs server.
      await startNetfs(kind, dirs[2], {
        root: before,
        tag: "before",
        engine: engines[0],
      }),
    );
  }
  const floorAt = floor ? servers.push(await startFloor()) - 1 : -1;
  const peer = servers[peerAt];
  for (const srv of servers) await pinServer(srv);
  try {
    if (version === 4) {
      // The data the NFSv4 rows read, written over NFSv3.
      for (const srv of servers) {
        const v3 = srv.url(3);
        await client(tool, [v3, "seqwrite", "-s", `${seqMiB}`, "-q", "4"]);
        await client(tool, [v3, "create", "-n", `${files}`, "-q", "4"]);
      }
    }
    const names = servers.map((s) => s.name);
    // Each other server's rate over ganesha's, then netfs's over Deno's
    // floor, then after over before.
    const others = servers.map((_, i) => i).filter((i) => i !== peerAt);
    const short = (i: number) =>
      servers[i].name.replace(/^netfs-(mem|local)fs-?/, "");
    const ratioNames = [
      ...others.map((i) => `${short(i) || "netfs"} ÷ ganesha`),
      ...(floor ? ["netfs ÷ deno floor"] : []),
      ...(before ? ["after ÷ before"] : []),
    ];
    const ours = others.filter((i) =>
      i !== floorAt && !servers[i].name.includes("before")
    );
    out += `\n| ${servers[0].name} vs ${peer.name} | unit | ${
      names.join(" | ")
    } | ${ratioNames.join(" | ")} | CPU µs ${
      names.join(" / ")
    } | ganesha CPU ÷ netfs CPU | steal |\n|---|---|${
      "---:|".repeat(servers.length + ratioNames.length + 3)
    }\n`;
    const runs = rows.filter((row) =>
      (version === 3 || row.v4) &&
      (!args.values.only || row.name.includes(args.values.only))
    );
    const op = (re: RegExp) =>
      runs.some((row) => re.test(row.cp === "out" ? "seqread" : row.argv[0]));
    if (version === 3 && op(/^(seq|rand)read$/) && !op(/^seqwrite$/)) {
      // The file the read rows read, when --only leaves out its writing.
      for (const srv of servers) {
        await client(tool, [srv.url(3), "seqwrite", "-s", `${seqMiB}`]);
      }
    }
    let turn = 0;
    for (const row of runs) {
      const samples: Sample[][] = servers.map(() => []);
      const ticks0 = await cpuTicks();
      for (let i = 0; i < reps; i++) {
        for (let k = 0; k < servers.length; k++) {
          const s = (k + turn) % servers.length;
          if (s === floorAt && !row.floor) continue;
          const srv = servers[s];
          samples[s].push(await measure(tool, srv, row, cpFile));
          // Metadata rows change the tree: undo so the next run starts equal.
          const undo = row.argv[0] === "create"
            ? "remove"
            : row.argv[0] === "remove"
            ? "create"
            : undefined;
          if (undo && i < reps - 1) {
            await client(tool, [srv.url(3), undo, "-n", `${files}`]);
          }
        }
        turn++;
      }
      const rates = samples.map((ss) => ss.map((s) => s.rate));
      // CPU µs per operation over all runs of a server: /proc counts in
      // 10 ms ticks, too coarse for one short run.
      const cpus = samples.map((ss) =>
        ss.reduce((a, s) => a + s.cpu, 0) * 1e6 /
        ss.reduce((a, s) => a + s.work, 0)
      );
      // "–" where Deno's floor did not run the row.
      const ratio = (a: number, b: number) =>
        rates[a].length && rates[b].length ? fmtRatio(rates[a], rates[b]) : "–";
      const ratios = [
        ...others.map((i) => ratio(i, peerAt)),
        ...(floor ? [ratio(0, floorAt)] : []),
        ...(before ? [ratio(0, peerAt + 1)] : []),
      ];
      const line = `| ${row.name} | ${row.unit} | ${
        rates.map((r) => r.length ? fmtSpread(r) : "–").join(" | ")
      } | ${ratios.join(" | ")} | ${
        cpus.map((c, i) => rates[i].length ? c.toFixed(1) : "–").join(" / ")
      } | ${
        ours.map((i) => `${(cpus[peerAt] / cpus[i]).toFixed(2)}×`).join(" / ")
      } | ${stealShare(ticks0, await cpuTicks())} |`;
      console.log(line);
      out += line + "\n";
    }
  } finally {
    for (const srv of servers) await srv.stop();
    await tmp.remove();
  }
}
console.log(out);
if (args.values.record && !quick) {
  await Deno.writeTextFile(`${here}RESULTS.md`, out, { append: true });
}
