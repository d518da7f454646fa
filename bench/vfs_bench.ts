// The file-system layer on its own, without a protocol: MemFs and LocalFs
// (each engine, over tmpfs and over the disk), read and write MiB/s at 4 KiB
// and 1 MiB, create/stat/readdir ops/s, and the process CPU time per call
// (steadier than rates on a shared machine). Appends the tables to
// bench/RESULTS.md (not with --quick); --localfs leaves MemFs out.
//
//   deno run --allow-read --allow-write --allow-sys --allow-env --allow-run --allow-ffi bench/vfs_bench.ts [--quick] [--localfs] [--no-sync-metadata]
//
// --no-sync-metadata opens LocalFs with `syncMetadata: false` (no directory
// fsync after creates and removes), to see what that durability costs.
//
// Without --allow-ffi the native LocalFs engine's columns are left out.
//
// As root it mounts a private tmpfs for the LocalFs-on-tmpfs column.
import process from "node:process";
import { parseArgs } from "node:util";
import {
  type FileSystem,
  LocalFs,
  type LocalFsEngine,
  MemFs,
  ROOT,
} from "../vfs/mod.ts";
import { tmpfsDir } from "./_bench_util.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    localfs: { type: "boolean", default: false },
    "no-sync-metadata": { type: "boolean", default: false },
  },
});
const quick = args.values.quick;
const localfsOnly = args.values.localfs;
// The native LocalFs engine runs on Linux with --allow-ffi; its columns are
// left out elsewhere.
const engines: LocalFsEngine[] = Deno.build.os === "linux" &&
    Deno.permissions.querySync({ name: "ffi" }).state === "granted"
  ? ["native", "portable"]
  : ["portable"];
const here = new URL(".", import.meta.url).pathname;
const fileMiB = quick ? 32 : 256;
const files = quick ? 2000 : 10000;
const smallOps = quick ? 5000 : 50000;

interface Result {
  name: string;
  value: number;
  unit: string;
  /** Process CPU time (user + system) per call or entry, in microseconds. */
  cpuUs: number;
}

/** CPU time of this process in microseconds: steadier than wall time on a shared machine. */
function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

let lastCpu = 0;
let lastCalls = 1;

/** Runs `fn` (which returns bytes or items done) with `calls` calls; records its CPU time. */
async function timed(
  fn: () => Promise<number>,
  calls?: number,
): Promise<[number, number]> {
  const c0 = cpuNow();
  const t0 = performance.now();
  const n = await fn();
  const s = (performance.now() - t0) / 1000;
  lastCpu = cpuNow() - c0;
  lastCalls = calls ?? n;
  return [n, s];
}

function row(name: string, value: number, unit: string): Result {
  return { name, value, unit, cpuUs: lastCpu / lastCalls };
}

async function measure(fs: FileSystem): Promise<Result[]> {
  const out: Result[] = [];
  const f = await fs.create(ROOT, fs.root, "bench.dat");
  const big = new Uint8Array(1 << 20).map((_, i) => i * 7);
  const small = big.subarray(0, 4096);
  const total = fileMiB << 20;

  let [bytes, s] = await timed(async () => {
    for (let off = 0; off < total; off += big.length) {
      await fs.write(ROOT, f.fileid, off, big, "unstable");
    }
    return total;
  }, fileMiB);
  out.push(row("write 1 MiB", bytes / 1048576 / s, "MiB/s"));
  [bytes, s] = await timed(async () => {
    let n = 0;
    for (let off = 0; off < total; off += big.length) {
      n += (await fs.read(ROOT, f.fileid, off, big.length)).data.length;
    }
    return n;
  }, fileMiB);
  out.push(row("read 1 MiB", bytes / 1048576 / s, "MiB/s"));

  const blocks = total / 4096;
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) % blocks;
  [bytes, s] = await timed(async () => {
    for (let i = 0; i < smallOps; i++) {
      await fs.write(ROOT, f.fileid, rand() * 4096, small, "unstable");
    }
    return smallOps * 4096;
  }, smallOps);
  out.push(row("write 4 KiB random", bytes / 1048576 / s, "MiB/s"));
  [bytes, s] = await timed(async () => {
    let n = 0;
    for (let i = 0; i < smallOps; i++) {
      n += (await fs.read(ROOT, f.fileid, rand() * 4096, 4096)).data.length;
    }
    return n;
  }, smallOps);
  out.push(row("read 4 KiB random", bytes / 1048576 / s, "MiB/s"));
  await fs.remove(ROOT, fs.root, "bench.dat");

  const dir = await fs.mkdir(ROOT, fs.root, "meta");
  let [n, t] = await timed(async () => {
    for (let i = 0; i < files; i++) {
      await fs.create(ROOT, dir.fileid, `f${i}`, { exclusive: true });
    }
    return files;
  });
  out.push(row(`create ${files}`, n / t, "ops/s"));
  [n, t] = await timed(async () => {
    for (let i = 0; i < files; i++) await fs.lookup(ROOT, dir.fileid, `f${i}`);
    return files;
  });
  out.push(row(`lookup+getattr ${files}`, n / t, "ops/s"));
  [n, t] = await timed(async () => {
    let cookie = 0n;
    let seen = 0;
    for (;;) {
      const page = await fs.readdir(ROOT, dir.fileid, {
        cookie,
        limit: 256,
        withAttributes: true,
      });
      seen += page.entries.length;
      if (page.eof || page.entries.length === 0) break;
      cookie = page.entries[page.entries.length - 1].cookie;
    }
    return seen;
  });
  out.push(row(`readdir+attrs ${files}`, n / t, "entries/s"));
  [n, t] = await timed(async () => {
    for (let i = 0; i < files; i++) await fs.remove(ROOT, dir.fileid, `f${i}`);
    return files;
  });
  out.push(row(`remove ${files}`, n / t, "ops/s"));
  await fs.rmdir(ROOT, fs.root, "meta");
  return out;
}

type Column = [
  string,
  () => Promise<{ fs: FileSystem; done: () => Promise<void> }>,
];

const columns: Column[] = ([
  ["MemFs", () => {
    const fs = new MemFs();
    return Promise.resolve({ fs, done: () => Promise.resolve() });
  }],
  ...engines.flatMap((engine) =>
    [true, false].map((tmpfs) =>
      [
        `LocalFs ${engine} on ${tmpfs ? "tmpfs" : "disk"}`,
        async () => {
          const d = tmpfs ? await tmpfsDir("netfs-vfs-bench-") : {
            path: await Deno.makeTempDir({ prefix: "netfs-vfs-bench-" }),
            remove(this: { path: string }) {
              return Deno.remove(this.path, { recursive: true });
            },
          };
          const fs = await LocalFs.open(d.path, {
            engine,
            syncMetadata: !args.values["no-sync-metadata"],
          });
          return {
            fs,
            done: async () => {
              await fs.close?.();
              await d.remove();
            },
          };
        },
      ] as Column
    )
  ),
] as Column[]).filter(([name]) => !localfsOnly || name.startsWith("LocalFs"));

const table = new Map<string, { unit: string; values: string[] }>();
const cpuTable = new Map<string, string[]>();
for (const [name, make] of columns) {
  const { fs, done } = await make();
  const results = await measure(fs);
  await done();
  console.log(
    name,
    results.map((r) => `${r.name}: ${r.value.toFixed(0)} ${r.unit}`).join(", "),
  );
  for (const r of results) {
    const row = table.get(r.name) ?? { unit: r.unit, values: [] };
    row.values.push(r.value.toFixed(0));
    table.set(r.name, row);
    const cpu = cpuTable.get(r.name) ?? [];
    cpu.push(r.cpuUs.toFixed(1));
    cpuTable.set(r.name, cpu);
  }
}

const date = new Date().toISOString().slice(0, 10);
let md =
  `\n## VFS\n\n\`deno run … bench/vfs_bench.ts\`: the FileSystem methods called ` +
  `directly, one at a time, as root; ${fileMiB} MiB file, ${files} files. ` +
  `LocalFs writes are unstable (no fsync)${
    args.values["no-sync-metadata"] ? ", directories not fsynced" : ""
  }. ${date}, load average ${
    Deno.loadavg()[0].toFixed(1)
  }.\n\n| operation | unit | ${
    columns.map(([n]) => n).join(" | ")
  } |\n|---|---|${columns.map(() => "---").join("|")}|\n`;
for (const [name, row] of table) {
  md += `| ${name} | ${row.unit} | ${row.values.join(" | ")} |\n`;
}
md +=
  `\nCPU time of the process per call (per entry for readdir), µs:\n\n| operation | ${
    columns.map(([n]) => n).join(" | ")
  } |\n|---|${columns.map(() => "---").join("|")}|\n`;
for (const [name, row] of cpuTable) md += `| ${name} | ${row.join(" | ")} |\n`;
console.log(md);
if (!quick) await Deno.writeTextFile(`${here}RESULTS.md`, md, { append: true });
