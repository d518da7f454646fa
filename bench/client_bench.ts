// netfs's NfsClient against libnfs on the same server in the same run: a
// 256 MiB file written and read sequentially, then a create / stat /
// readdir / remove pass over many small files, against netfs (MemFs) and
// nfs-ganesha 4.3 (VFS FSAL over a private tmpfs), NFSv3 over loopback.
//
//   deno run --allow-net=127.0.0.1,[::1],localhost --allow-read --allow-write --allow-run --allow-env --allow-sys bench/client_bench.ts [--reps 3] [--mb 256] [--files 10000] [--record]
//
// libnfs is bench/nfsbench.c (libnfs 4.0.0's async API, 1 MiB READs and
// WRITEs, 8 in flight: NfsClient's default window); NfsClient is
// bench/_client_run.ts in its own Deno process, through the file streams
// and the path API a user would write. Every repetition runs each server
// with each client, in an order rotated by one per repetition. libnfs's
// nfs-cp copies the same file for reference (its time includes connecting
// and mounting, the others' does not). Needs root for ganesha (see
// tests/interop/_ganesha.ts).
import { parseArgs } from "node:util";
import {
  buildTool,
  cpuSeconds,
  fmtRatio,
  fmtSpread,
  machineLine,
  runJson,
  tmpfsDir,
} from "./_bench_util.ts";
import {
  nfsCp,
  type NfsServer,
  removeFile,
  startGanesha,
  startNetfs,
} from "./_nfs_servers.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "3" },
    mb: { type: "string", default: "256" },
    files: { type: "string", default: "10000" },
    record: { type: "boolean", default: false },
    // A checkout whose client/ runs too, as "NfsClient before", through
    // this checkout's bench/_client_run.ts copied in (the same harness).
    baseline: { type: "string" },
    // Only these rows (comma-separated ops: seqwrite,seqread,...).
    ops: { type: "string" },
  },
});
const reps = Number(values.reps);
const mb = values.mb;
const files = values.files;
const here = new URL(".", import.meta.url).pathname;

/** One client: how it runs an operation ("seqwrite", "stat", ...). */
interface Client {
  name: string;
  run(srv: NfsServer, op: string): Promise<Record<string, number>>;
}

const nfsbench = await buildTool("nfsbench", `${here}nfsbench.c`, ["-lnfs"]);
const libnfsArgs: Record<string, string[]> = {
  seqwrite: ["-s", mb, "-b", "1048576", "-q", "8"],
  seqread: ["-b", "1048576", "-q", "8"],
  seqreadinto: ["-b", "1048576", "-q", "8"],
  create: ["-n", files, "-q", "1"],
  stat: ["-n", files, "-q", "1"],
  readdir: [],
  remove: ["-n", files, "-q", "1"],
};
const libnfs: Client = {
  name: "libnfs",
  // nfsbench always reads into one buffer: it has one seqread.
  run: (srv, op) =>
    timedJson(nfsbench, [
      srv.url(3),
      op === "seqreadinto" ? "seqread" : op,
      ...libnfsArgs[op],
    ]),
};

/**
 * runJson, with the process's CPU seconds (user + system, whole process,
 * from /usr/bin/time) as `cpu`.
 */
async function timedJson(
  tool: string,
  args: string[],
): Promise<Record<string, number>> {
  const r = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "cpu %U %S", tool, ...args],
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`${tool} ${args.join(" ")} failed: ${err}`);
  const m = err.match(/cpu ([\d.]+) ([\d.]+)/);
  const out = new TextDecoder().decode(r.stdout).trim().split("\n").pop()!;
  return { ...JSON.parse(out), cpu: m ? Number(m[1]) + Number(m[2]) : NaN };
}
const nfsClientAt = (name: string, bench: string): Client => ({
  name,
  run: (srv, op) =>
    runJson(Deno.execPath(), [
      "run",
      "--allow-net=127.0.0.1",
      `${bench}_client_run.ts`,
      `${srv.url(3)}&uid=0&gid=0`,
      op,
      "-s",
      mb,
      "-n",
      files,
    ]),
});
const nfsClient = nfsClientAt("NfsClient", here);

/**
 * nfs-cp of the big file to the server (as a new file, removed afterwards),
 * or of /nfsbench.dat from it into a tmpfs file (nfs-cp cannot open
 * /dev/null).
 */
async function nfsCpRow(
  srv: NfsServer,
  op: string,
  local: string,
): Promise<Record<string, number>> {
  const seconds = op === "seqwrite"
    ? await nfsCp(srv, "in", local, "nfscp.dat")
    : await nfsCp(srv, "out", `${local}.out`, "nfsbench.dat");
  if (op === "seqwrite") await removeFile(srv, "nfscp.dat");
  else await Deno.remove(`${local}.out`);
  return { ops: Number(mb), bytes: Number(mb) * 1048576, seconds };
}

const allRows = [
  { op: "seqwrite", label: `seq write ${mb} MiB`, unit: "MiB/s" },
  { op: "seqread", label: `seq read ${mb} MiB`, unit: "MiB/s" },
  {
    op: "seqreadinto",
    label: `seq read ${mb} MiB, read() into one buffer`,
    unit: "MiB/s",
  },
  { op: "create", label: `create ${files}`, unit: "files/s" },
  { op: "stat", label: `stat ${files}`, unit: "files/s" },
  { op: "readdir", label: `readdir ${files}`, unit: "entries/s" },
  { op: "remove", label: `remove ${files}`, unit: "files/s" },
] as const;
const rows = values.ops === undefined
  ? allRows
  : allRows.filter((r) => values.ops!.split(",").includes(r.op));

interface Sample {
  rate: number;
  work: number;
  /** The server's CPU seconds. */
  cpu: number;
  /** The client's CPU seconds. */
  clientCpu: number;
}

const head = await machineLine();
const tmp = await tmpfsDir("netfs-client-bench-");
await Deno.mkdir(`${tmp.path}/ganesha`);
const local = `${tmp.path}/local.dat`;
await Deno.writeFile(local, crypto.getRandomValues(new Uint8Array(65536)));
await new Deno.Command("bash", {
  args: [
    "-c",
    `for i in $(seq ${Number(mb) * 16}); do cat ${local}; done >${local}.big`,
  ],
}).output();
const servers: NfsServer[] = [
  await startNetfs("mem", ""),
  await startGanesha("VFS", `${tmp.path}/ganesha`),
];
const clients = [libnfs, nfsClient];
if (values.baseline !== undefined) {
  const bench = `${values.baseline}/bench/`;
  await Deno.copyFile(`${here}_client_run.ts`, `${bench}_client_run.ts`);
  clients.push(nfsClientAt("NfsClient before", bench));
}
const named = clients.map((c) => c.name).join(" / ");
let out =
  `\n### NfsClient vs libnfs, same servers, same run\n\n${head}. bench/client_bench.ts: NFSv3 over loopback; libnfs = bench/nfsbench.c (libnfs 4.0.0 async API, 1 MiB READ/WRITE, 8 in flight), NfsClient = bench/_client_run.ts (its own Deno process; the file's writable and readable streams, or read() into one 1 MiB buffer as nfsbench reads, default window of 8; one path call at a time for the metadata rows, as libnfs with 1 in flight). NfsClient's write time includes the close (COMMIT), libnfs's does not. "NfsClient before": the client/ of another checkout (--baseline) through the same bench/_client_run.ts. ${reps} repetitions, each running every server × client in an order rotated by one; median (min–max); the ratio's range is that of the per-repetition ratios. Server CPU: user + system µs per MiB or per file over all runs; client CPU the same for the client process (libnfs: the whole process, connecting included; NfsClient: its timed part, from process.cpuUsage()). nfs-cp (libnfs 4.0.0's, whole process timed, connecting and mounting included; reads into a tmpfs file) for reference.\n`;
try {
  // One table per server.
  const tables = servers.map((srv) =>
    `\n| ${srv.name} | unit | libnfs | ${
      clients.slice(1).map((c) => `${c.name} | ${c.name} ÷ libnfs`).join(
        " | ",
      )
    } | nfs-cp | server CPU µs ${named} | client CPU µs ${named} |\n|---|---|${
      "---:|".repeat(2 * clients.length + 2)
    }\n`
  );
  let turn = 0;
  for (const row of rows) {
    // The remove row removes what the create row made.
    if (row.op === "remove" && !rows.some((r) => r.op === "create")) {
      for (const srv of servers) await libnfs.run(srv, "create");
    }
    // samples[server][client]
    const samples = servers.map(() => clients.map((): Sample[] => []));
    const cps = servers.map((): number[] => []);
    const pairs = servers.flatMap((_, s) => clients.map((_, c) => [s, c]));
    const runs = servers.map(() => 0);
    for (let i = 0; i < reps; i++) {
      for (let k = 0; k < pairs.length; k++) {
        const [s, c] = pairs[(k + turn) % pairs.length];
        const srv = servers[s];
        const cpu0 = await cpuSeconds(srv.pid);
        const r = await clients[c].run(srv, row.op);
        const cpu = await cpuSeconds(srv.pid) - cpu0;
        const work = row.unit === "MiB/s" ? r.bytes / 1048576 : r.ops;
        samples[s][c].push({
          rate: work / r.seconds,
          work,
          cpu,
          clientCpu: r.cpu,
        });
        // Metadata rows change the tree: undo all but each server's last.
        const last = ++runs[s] === reps * clients.length;
        if (row.op === "create" && !last) await libnfs.run(srv, "remove");
        if (row.op === "remove" && !last) await libnfs.run(srv, "create");
      }
      if (row.op === "seqwrite" || row.op === "seqread") {
        for (const [s, srv] of servers.entries()) {
          const r = await nfsCpRow(srv, row.op, `${local}.big`);
          cps[s].push(r.bytes / 1048576 / r.seconds);
        }
      }
      turn++;
    }
    for (const [s, srv] of servers.entries()) {
      const rates = samples[s].map((ss) => ss.map((x) => x.rate));
      const perWork = (ss: Sample[], cpu: (x: Sample) => number) =>
        ss.reduce((a, x) => a + cpu(x), 0) * 1e6 /
        ss.reduce((a, x) => a + x.work, 0);
      const cpus = samples[s].map((ss) => perWork(ss, (x) => x.cpu));
      const clientCpus = samples[s].map((ss) =>
        perWork(ss, (x) => x.clientCpu)
      );
      const line = `| ${row.label} | ${row.unit} | ${fmtSpread(rates[0])} | ${
        rates.slice(1).map((r) => `${fmtSpread(r)} | ${fmtRatio(r, rates[0])}`)
          .join(" | ")
      } | ${cps[s].length ? fmtSpread(cps[s]) : ""} | ${
        cpus.map((c) => c.toFixed(1)).join(" / ")
      } | ${clientCpus.map((c) => c.toFixed(1)).join(" / ")} |`;
      console.log(srv.name, line);
      tables[s] += line + "\n";
    }
  }
  out += tables.join("");
} finally {
  for (const srv of servers) await srv.stop();
  await tmp.remove();
}
console.log(out);
if (values.record) {
  await Deno.writeTextFile(`${here}RESULTS.md`, out, { append: true });
}
