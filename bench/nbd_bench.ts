// deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-env --allow-sys bench/nbd_bench.ts [--runtime 5] [--record]
//
// Our NBD server (examples/nbd_memory.ts, in its own process) against
// nbdkit's memory plugin, in the same run, with the same clients: fio's nbd
// engine (libnbd) and nbdcopy. Both exports are 1 GiB and are first filled
// with the same 256 MiB of random data, so reads move real bytes (a sparse
// export would answer reads with holes). Rows alternate which server goes
// first to spread out drift. Prints a markdown section; --record appends it
// to bench/RESULTS.md.
import { parseArgs } from "node:util";
import { freePort, waitForPort } from "./_bench_util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runtime: { type: "string", default: "5" },
    record: { type: "boolean", default: false },
    only: { type: "string" },
  },
});
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
  stop: () => Promise<void>;
}

async function startOurs(): Promise<Server> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      `${here}../examples/nbd_memory.ts`,
      "--port",
      String(port),
      "--size",
      "1G",
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  await waitForPort(port, 20000);
  return {
    name: "netfs",
    uri: `nbd://127.0.0.1:${port}/mem`,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
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
  return {
    name: "nbdkit",
    uri: `nbd://127.0.0.1:${port}/`,
    stop: async () => {
      const pid = Number((await Deno.readTextFile(pidFile)).trim());
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

/** Runs one fio job; returns [MiB/s, IOPS] summed over jobs. */
async function fio(uri: string, r: Row): Promise<[number, number]> {
  const out = await sh("fio", [
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
  return [side.bw_bytes / MiB, side.iops];
}

/** nbdcopy of 256 MiB; returns MiB/s. */
async function nbdcopy(args: string[]): Promise<number> {
  const t = performance.now();
  await sh("nbdcopy", args);
  return 256 / ((performance.now() - t) / 1000);
}

const servers = [await startOurs(), await startNbdkit()];
const results: { label: string; unit: string; ours: number; theirs: number }[] =
  [];
const tmp = await Deno.makeTempDir({ prefix: "nbd-bench-" });
try {
  const src = `${tmp}/random.img`;
  await sh("sh", ["-c", `head -c ${256 * MiB} /dev/urandom > ${src}`]);
  for (const s of servers) await sh("nbdcopy", [src, s.uri]);

  let flip = false;
  for (const r of rows) {
    if (values.only && !r.label.includes(values.only)) continue;
    const order = flip ? [1, 0] : [0, 1];
    flip = !flip;
    const got: [number, number][] = [[0, 0], [0, 0]];
    for (const i of order) got[i] = await fio(servers[i].uri, r);
    const iops = r.bs === "4k";
    results.push({
      label: `fio ${r.label}`,
      unit: iops ? "IOPS" : "MiB/s",
      ours: iops ? got[0][1] : got[0][0],
      theirs: iops ? got[1][1] : got[1][0],
    });
    console.error(
      `${r.label}: netfs ${got[0].map(Math.round)} nbdkit ${
        got[1].map(Math.round)
      }`,
    );
  }
  for (const conns of [1, 4]) {
    for (const dir of ["in", "out"] as const) {
      const label = `nbdcopy 256 MiB ${
        dir === "in" ? "file → export" : "export → null"
      }, ${conns} connection(s)`;
      if (values.only && !label.includes(values.only)) continue;
      const speed: number[] = [0, 0];
      for (const i of flip ? [1, 0] : [0, 1]) {
        const args = dir === "in"
          ? [`--connections=${conns}`, src, servers[i].uri]
          : [`--connections=${conns}`, servers[i].uri, "null:"]; // the 768 MiB of holes are skipped
        // Best of three: a single copy takes well under a second.
        speed[i] = Math.max(
          await nbdcopy(args),
          await nbdcopy(args),
          await nbdcopy(args),
        );
      }
      flip = !flip;
      results.push({ label, unit: "MiB/s", ours: speed[0], theirs: speed[1] });
      console.error(
        `${label}: netfs ${Math.round(speed[0])} nbdkit ${
          Math.round(speed[1])
        }`,
      );
    }
  }
} finally {
  for (const s of servers) await s.stop();
  await Deno.remove(tmp, { recursive: true });
}

const fmt = (n: number) =>
  n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
const lines = [
  "## NBD",
  "",
  `Our server (examples/nbd_memory.ts, 1 GiB) vs nbdkit ${
    (await sh("nbdkit", ["--version"])).trim().split(" ")[1]
  } memory plugin (1 GiB),`,
  `both filled with the same 256 MiB of random data; fio ${
    (await sh("fio", ["--version"])).trim()
  } nbd engine,`,
  `${runtime} s per run after 1 s ramp, --size=256M; ${
    new Date().toISOString().slice(0, 16)
  }Z, ${navigator.hardwareConcurrency} CPUs.`,
  "",
  "| workload | unit | netfs | nbdkit memory | ratio |",
  "| --- | --- | ---: | ---: | ---: |",
  ...results.map((r) =>
    `| ${r.label} | ${r.unit} | ${fmt(r.ours)} | ${fmt(r.theirs)} | ${
      (r.ours / r.theirs).toFixed(2)
    }× |`
  ),
  "",
];
const text = lines.join("\n");
console.log(text);
if (values.record) {
  await Deno.writeTextFile(`${here}RESULTS.md`, `\n${text}`, { append: true });
}
