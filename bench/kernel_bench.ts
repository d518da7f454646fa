// The Linux kernel's NFS client against netfs and nfs-ganesha in one guest
// boot: dd write and read of a big file, and a create / stat / remove loop
// over many files (bench/kbench.c), over NFSv4.1 by default. `--suite v42`
// measures NFSv4.2 on netfs alone instead (see kernel_guest.sh's visit42): a
// 1 GiB sparse file read over 4.2 and 4.1, and a server-side COPY of --mb
// MiB against the client's read + write, with the bytes on the wire.
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-env --allow-sys bench/kernel_bench.ts [--suite io|v42] [--reps 3] [--mb 256] [--files 10000] [--vers 4.1] [--engine native|portable] [--node-peer] [--metadata] [--watchdog 600] [--profile DIR] [--record]
//
// Needs what the kernel suite needs (tests/kernel/README.md: root, the
// user-mode Linux guest, its own cache under NETFS_KERNEL_CACHE) and what
// nfs_bench.ts needs for ganesha. Four servers run on the host's loopback,
// each in its own process: netfs MemFs and ganesha's MEM FSAL (which keeps no
// file data), netfs LocalFs and ganesha's VFS FSAL over one private tmpfs.
// LocalFs runs the native engine unless --engine says otherwise.
// The guest (bench/kernel_guest.sh) visits them in turn, every repetition in
// an order rotated by one, and asks the host over a control port for each
// server's CPU time around each phase. A cell is the median with the range
// of the repetitions; the ratio's range is that of the per-repetition ratios.
// --profile DIR writes a V8 CPU profile of each netfs server into DIR.
// --node-peer adds issue 16's Node 22 TypeScript peer (bench/_node_peer.ts,
// installed on first use; NFSv4.0 only, so with --vers 4.0) as a fifth
// server over its own folder of the tmpfs, compared with both netfs servers.
// --metadata runs the create / stat / remove rows alone (no dd). A create /
// stat / remove loop still running after --watchdog seconds ends the run:
// the guest prints what the client waits for (INFO stall lines) and powers
// off, and the tables show what came before ("stalled" where a server has
// no sample; the run exits 1). --vers 4.0
// mounts with clientaddr=0.0.0.0, as the kernel suite does: no callbacks
// (the host could not reach the guest's callback port).
import { parseArgs } from "node:util";
import {
  buildTool,
  cpuSeconds,
  fmtRatio,
  fmtSpread,
  machineLine,
  tmpfsDir,
} from "./_bench_util.ts";
import { type NfsServer, startGanesha, startNetfs } from "./_nfs_servers.ts";
import { startNodePeer } from "./_node_peer.ts";
import {
  controlPort,
  kernelSkipReason,
  runGuest,
} from "../tests/kernel/_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "3" },
    mb: { type: "string", default: "256" },
    files: { type: "string", default: "10000" },
    vers: { type: "string", default: "4.1" },
    suite: { type: "string", default: "io" },
    engine: { type: "string", default: "native" },
    profile: { type: "string" },
    "node-peer": { type: "boolean", default: false },
    metadata: { type: "boolean", default: false },
    watchdog: { type: "string", default: "600" },
    record: { type: "boolean", default: false },
  },
});
const here = new URL(".", import.meta.url).pathname;
const v42 = values.suite === "v42";
const skip = kernelSkipReason();
if (skip) {
  console.error(`kernel bench skipped: ${skip}`);
  Deno.exit(0);
}

/** The phases the guest reports, in table order, and their work unit. */
const ALL_PHASES = [
  { phase: "write", label: `dd write ${values.mb} MiB`, unit: "MiB/s" },
  { phase: "read", label: `dd read ${values.mb} MiB`, unit: "MiB/s" },
  { phase: "create", label: `create ${values.files}`, unit: "files/s" },
  { phase: "stat", label: `stat ${values.files}`, unit: "files/s" },
  { phase: "remove", label: `remove ${values.files}`, unit: "files/s" },
] as const;
const PHASES = ALL_PHASES.filter((p) =>
  !values.metadata || !["write", "read"].includes(p.phase)
);

interface Sample {
  seconds: number;
  work: number;
  cpu: number;
}

const head = await machineLine();
const kbench = await buildTool("kbench", `${here}kbench.c`, ["-static"]);
const tmp = await tmpfsDir("netfs-kernel-bench-");
const servers: NfsServer[] = [];
let output: string[] = [];
/** The guest's log when it ended badly: the tables show what came before. */
let failure = "";
try {
  for (const d of ["netfs", "ganesha", "node"]) {
    await Deno.mkdir(`${tmp.path}/${d}`);
    await Deno.chmod(`${tmp.path}/${d}`, 0o755);
  }
  const engine = values.engine as "native" | "portable";
  servers.push(
    await startNetfs("mem", "", { profileDir: values.profile }),
    await startNetfs("local", `${tmp.path}/netfs`, {
      profileDir: values.profile,
      engine,
    }),
  );
  // ganesha 4.3 as configured serves NFSv4.0 and 4.1 only: the v42 suite
  // measures netfs against itself.
  if (!v42) {
    servers.splice(1, 0, await startGanesha("MEM", ""));
    servers.push(await startGanesha("VFS", `${tmp.path}/ganesha`));
  }
  if (values["node-peer"]) {
    if (v42) {
      throw new Error(
        "The Node peer speaks NFSv4.0 only: not with --suite v42",
      );
    }
    // A file the host wrote, for the guest's listing of the export.
    await Deno.writeTextFile(`${tmp.path}/node/from-host.txt`, "hello\n");
    servers.push(await startNodePeer(`${tmp.path}/node`));
  }
  const control = controlPort((command) => {
    const [verb, name] = command.split(" ");
    const srv = servers.find((s) => s.name === name);
    if (verb !== "cpu" || !srv) return Promise.resolve(`unknown: ${command}`);
    return cpuSeconds(srv.pid).then((c) => c.toFixed(2));
  });
  try {
    const run = await runGuest(`${here}kernel_guest.sh`, {
      forwards: [
        ...servers.map((s, i): [number, number] => [2049 + i, s.port]),
        [7000, control.port],
      ],
      files: [[kbench, "/root/kbench"]],
      env: {
        SERVERS: servers.map((s, i) => `${s.name}:${2049 + i}:${s.exportPath}`)
          .join(" "),
        NFS_OPTS: `vers=${values.vers},proto=tcp${
          values.vers === "4.0" ? ",clientaddr=0.0.0.0" : ""
        }`,
        REPS: values.reps,
        BIG_MB: values.mb,
        FILES: values.files,
        CTL_PORT: "7000",
        SUITE: values.suite,
        PHASES: values.metadata ? "metadata" : "all",
        WATCHDOG: values.watchdog,
      },
      timeout: 3600,
    });
    output = run.output;
    for (const line of output) {
      if (!/^(RESULT|RPCS|WIRE) /.test(line)) {
        console.log(line);
      }
    }
    if (run.code !== 0) failure = `Guest run ended with ${run.code}`;
    if (failure) console.error(`${failure}:\n${run.log}`);
  } finally {
    await control.close();
  }
} finally {
  for (const s of servers) await s.stop();
  if (values["node-peer"]) {
    // The peer's own log (its errors), for a run that failed on it.
    const log = await Deno.readTextFile(`${tmp.path}/node.log`).catch(() => "");
    if (log) {
      console.log(`node-peer log:\n${log.split("\n").slice(-40).join("\n")}`);
    }
  }
  await tmp.remove();
}

// RESULT <server> <rep> <phase> <seconds> <work> <cpu>
const samples = new Map<string, Sample[]>();
for (const line of output) {
  const f = line.split(" ");
  if (f[0] !== "RESULT" || f.length !== 7) continue;
  const key = `${f[1]} ${f[3]}`;
  if (!samples.has(key)) samples.set(key, []);
  samples.get(key)!.push({
    seconds: Number(f[4]),
    work: Number(f[5]),
    cpu: Number(f[6]),
  });
}
const rates = (name: string, phase: string) =>
  (samples.get(`${name} ${phase}`) ?? []).map((s) => s.work / s.seconds);
/** Server CPU µs per MiB or per file over all repetitions. */
const cpuPer = (name: string, phase: string) => {
  const ss = samples.get(`${name} ${phase}`) ?? [];
  return ss.reduce((a, s) => a + s.cpu, 0) * 1e6 /
    ss.reduce((a, s) => a + s.work, 0);
};

function ioReport(): string {
  const peer = values["node-peer"] ? " and the Node peer" : "";
  let out =
    `\n### Linux NFSv${values.vers} client vs nfs-ganesha 4.3${peer} (kernel guest)\n\n` +
    `${head}. bench/kernel_bench.ts: Debian's user-mode Linux 6.1 guest (one CPU, tap + socat forwarders), ${values.reps} repetitions, each visiting the ${servers.length} servers in turn (order rotated by one per repetition); ${
      values.metadata
        ? ""
        : "dd bs=1M (write with conv=fsync from the guest's tmpfs, read after drop_caches), then "
    }bench/kbench.c: create (open O_CREAT|O_EXCL + close), stat and remove of ${values.files} files, caches dropped before stat and remove. Median (min–max); server CPU: user + system µs per MiB or per file over all repetitions.\n`;
  // netfs MemFs against ganesha MEM, LocalFs against ganesha VFS, then both
  // against the Node peer (over tmpfs, as LocalFs).
  const pairs = [[0, 1], [2, 3]];
  if (values["node-peer"]) pairs.push([0, 4], [2, 4]);
  for (const [ours, theirs] of pairs) {
    const a = servers[ours].name, b = servers[theirs].name;
    const them = b === "node-peer" ? "peer" : "ganesha";
    out +=
      `\n| ${a} vs ${b} | unit | netfs | ${them} | netfs ÷ ${them} | CPU µs netfs / ${them} | ${them} CPU ÷ netfs CPU |\n|---|---|---:|---:|---:|---:|---:|\n`;
    for (const p of PHASES) {
      const ca = cpuPer(a, p.phase), cb = cpuPer(b, p.phase);
      // A server that stalled (see WATCHDOG in kernel_guest.sh) has fewer
      // repetitions, or none: the ratio takes the repetitions both have.
      const ra = rates(a, p.phase), rb = rates(b, p.phase);
      const n = Math.min(ra.length, rb.length);
      const cell = (xs: number[]) => xs.length ? fmtSpread(xs) : "stalled";
      out += `| ${p.label} | ${p.unit} | ${cell(ra)} | ${cell(rb)} | ${
        n ? fmtRatio(ra.slice(0, n), rb.slice(0, n)) : "—"
      } | ${ca.toFixed(1)} / ${cb.toFixed(1)} | ${(cb / ca).toFixed(2)}× |\n`;
    }
  }
  // RPCS <server> <rep> <phase> OP=n ...: the first repetition's, per unit of
  // work (the client sends the same calls each time).
  out +=
    `\nRPCs the client sent per file (per MiB for dd), first repetition, from the guest's /proc/self/mountstats:\n\n| phase | ${
      servers.map((s) => s.name).join(" | ")
    } |\n|---|${"---|".repeat(servers.length)}\n`;
  for (const p of PHASES) {
    const cells = servers.map((srv) => {
      const line = output.find((l) =>
        l.startsWith(`RPCS ${srv.name} 1 ${p.phase} `)
      );
      const work = samples.get(`${srv.name} ${p.phase}`)?.[0]?.work ?? 1;
      return (line?.split(" ").slice(4) ?? []).filter((f) => f.includes("="))
        .map((f) => {
          const [op, n] = f.split("=");
          return `${op} ${(Number(n) / work).toFixed(2)}`;
        }).join(", ");
    });
    out += `| ${p.phase} | ${cells.join(" | ")} |\n`;
  }
  return out;
}

/** The v42 suite's tables: sparse reads over 4.2 and 4.1, COPY vs dd. */
function v42Report(): string {
  // WIRE <server> <rep> <phase> OP=requests/sent/received ...: the first
  // repetition's (the client sends the same each time).
  const wire = (name: string, phase: string) => {
    const line = output.find((l) => l.startsWith(`WIRE ${name} 1 ${phase} `));
    const ops = (line?.split(" ").slice(4) ?? []).filter((f) => f.includes("="))
      .map((f) => {
        const [op, v] = f.split("=");
        const [n, sent, recv] = v.split("/").map(Number);
        return { op, n, sent, recv };
      });
    const mib = (b: number) => (b / 1048576).toFixed(1);
    const sent = ops.reduce((a, o) => a + o.sent, 0);
    const recv = ops.reduce((a, o) => a + o.recv, 0);
    return `${mib(sent)} / ${mib(recv)} (${
      ops.filter((o) => o.n >= 2).map((o) => `${o.op} ${o.n}`).join(", ")
    })`;
  };
  let out =
    `\n### Linux NFSv4.2 client on netfs: sparse reads and server-side copy (kernel guest)\n\n${head}. bench/kernel_bench.ts --suite v42: Debian's user-mode Linux 6.1 guest (one CPU), ${values.reps} repetitions, each visiting the servers in turn (order rotated by one); each server mounted with vers=4.2 and vers=4.1 at once. Sparse: a 1 GiB file with ten 1 MiB data regions (at 0, 100, … 900 MiB), read whole with dd bs=1M after drop_caches over each mount. Copy: ${values.mb} MiB written with dd conv=fsync, then copied by copy_file_range(2) (tests/kernel/sparse.c: the client sends COPY) and by dd bs=1M conv=fsync (the client reads and writes), caches dropped before each; both over the 4.2 mount. Median (min–max); server CPU: user + system µs per MiB; wire: MiB the client sent / received in the first repetition (mountstats bytes per operation, RPC headers included), with the operations it sent at least twice.\n`;
  const pairs = [
    ["sparse-read-4.2", "sparse-read-4.1", "sparse 1 GiB read"],
    ["copy-server", "copy-client", `copy ${values.mb} MiB`],
  ];
  for (const srv of servers) {
    const a = srv.name;
    out +=
      `\n| ${a} | MiB/s | seconds | server CPU µs/MiB | wire MiB sent / received (requests) |\n|---|---:|---:|---:|---|\n`;
    for (const [p, q, label] of pairs) {
      for (const phase of [p, q]) {
        const secs = (samples.get(`${a} ${phase}`) ?? []).map((x) => x.seconds);
        out += `| ${label}: ${phase} | ${fmtSpread(rates(a, phase))} | ${
          fmtSpread(secs)
        } | ${cpuPer(a, phase).toFixed(1)} | ${wire(a, phase)} |\n`;
      }
      out += `| ${label}: ${p} ÷ ${q} (rate) | ${
        fmtRatio(rates(a, p), rates(a, q))
      } | | | |\n`;
    }
  }
  return out;
}

const out = (v42 ? v42Report() : ioReport()) +
  (failure ? `\nPartial: ${failure.toLowerCase()}; see its INFO lines.\n` : "");
console.log(out);
if (values.record) {
  await Deno.writeTextFile(`${here}RESULTS.md`, out, { append: true });
}
if (failure) Deno.exit(1);
