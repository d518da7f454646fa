// NFSv3 sequential 1 MiB WRITEs (into a new file, then again after a
// truncating CREATE) and READs at 1 in flight against netfs's
// MemFs server (bench/_nfs_server.ts in its own process), client this
// repository's Nfs3Client: the server's CPU per MiB moved, read from the
// nanosecond run times of its threads (/proc/PID/task/*/schedstat) rather
// than /proc/PID/stat's 10 ms ticks. With --before DIR (a `git archive` of
// another commit; may be repeated) that checkout's server runs too,
// interleaved with this one's, repetition by repetition. Run the whole
// benchmark under `taskset -c 0` to put client and server on one CPU.
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-run --allow-env --allow-sys bench/seqio_bench.ts [--mib 256] [--reps 5] [--before DIR] [--profile DIR]
import { parseArgs } from "node:util";
import { fmtSpread, machineLine, spread } from "./_bench_util.ts";
import { type NfsServer, startNetfs } from "./_nfs_servers.ts";
import { MountClient } from "../client/mount.ts";
import { Nfs3Client } from "../client/nfs3.ts";
import { CreateMode, StableHow } from "../proto/nfs3/types.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "256" },
    reps: { type: "string", default: "5" },
    before: { type: "string", multiple: true },
    profile: { type: "string" },
  },
});
const MIB = 1 << 20;
const total = Number(values.mib);
const reps = Number(values.reps);

/** CPU nanoseconds the threads of `pid` have run so far. */
async function cpuNs(pid: number): Promise<number> {
  const r = await new Deno.Command("sh", {
    args: ["-c", `cat /proc/${pid}/task/*/schedstat`],
    stdout: "piped",
    stderr: "null",
  }).output();
  let ns = 0;
  for (const line of new TextDecoder().decode(r.stdout).split("\n")) {
    if (line !== "") ns += Number(line.split(" ")[0]);
  }
  return ns;
}

type Op = "fresh write" | "rewrite" | "read";
const OPS: Op[] = ["fresh write", "rewrite", "read"];
/** Per op: MiB/s and server CPU µs per MiB. */
type Pass = Record<Op, { mibs: number; cpu: number }>;

/**
 * `total` MiB written into a new file, then written again after CREATE
 * truncated it (as bench/nfsbench.c's seqwrite does on every run after the
 * first), then read, one call at a time.
 */
async function pass(srv: NfsServer): Promise<Pass> {
  const opts = {
    hostname: "127.0.0.1",
    port: srv.port,
    auth: { stamp: 0, machineName: "bench", uid: 0, gid: 0, gids: [] },
  };
  const mount = await MountClient.connect(opts);
  const { handle: root } = await mount.mnt(srv.exportPath);
  mount.close();
  const nfs = await Nfs3Client.connect(opts);
  const data = new Uint8Array(MIB).fill(0x5a);
  const out: Partial<Pass> = {};
  let file: Uint8Array = new Uint8Array(0);
  for (const op of OPS) {
    if (op !== "read") {
      const made = await nfs.create({
        dir: root,
        name: "seq",
        mode: CreateMode.UNCHECKED,
        attrs: { size: 0 },
      });
      file = made.object!;
    }
    const c0 = await cpuNs(srv.pid!);
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      if (op === "read") {
        const r = await nfs.read({ file, offset: i * MIB, count: MIB });
        if (r.data.byteLength !== MIB) throw new Error("Short read");
      } else {
        await nfs.write({
          file,
          offset: i * MIB,
          count: MIB,
          stable: StableHow.UNSTABLE,
          data,
        });
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = (await cpuNs(srv.pid!)) - c0;
    out[op] = { mibs: total / seconds, cpu: cpu / 1000 / total };
  }
  nfs.close();
  return out as Pass;
}

const sides = [
  { tag: "", root: undefined as string | undefined },
  ...(values.before ?? []).map((root, i) => ({
    tag: `before${i === 0 ? "" : i + 1}`,
    root,
  })),
];
console.log(await machineLine());
const results = sides.map(() => [] as Pass[]);
for (let rep = 0; rep < reps; rep++) {
  for (let k = 0; k < sides.length; k++) {
    const j = (k + rep) % sides.length;
    const srv = await startNetfs("mem", "", {
      root: sides[j].root,
      tag: sides[j].tag,
      profileDir: values.profile,
    });
    try {
      results[j].push(await pass(srv));
    } finally {
      await srv.stop();
    }
  }
}
for (let j = 0; j < sides.length; j++) {
  const rs = results[j];
  for (const op of OPS) {
    const cpu = rs.map((r) => r[op].cpu);
    console.log(
      `${sides[j].tag || "this"} ${op}: ${
        fmtSpread(rs.map((r) => r[op].mibs))
      } MiB/s, server CPU µs per MiB ${fmtSpread(cpu)} (best ${
        spread(cpu).min.toFixed(0)
      })`,
    );
  }
}
