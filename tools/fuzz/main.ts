/**
 * Runs every fuzzer, one after another, with one budget.
 *
 * ```sh
 * deno task fuzz                                 # each fuzzer's own count and time limit
 * deno task fuzz --records 100000 --seconds 120  # CI: 100,000 inputs per fuzzer
 * deno task fuzz --records 1000000 --seconds 1200 --only nfs3,nbd
 * deno task fuzz --seed 12345                    # replay a run (its first line names the seed)
 * ```
 *
 * A thin runner: the fuzzers stay in `tests/fuzz/` (and the random-bytes
 * test of `tests/proto/nfs3_test.ts` and the mutated NBD sessions of
 * `tests/nbd/session_test.ts`, which drive the handshake and transmission
 * state machines without a socket) and run as `deno test` files; the
 * budget reaches them as NETFS_FUZZ_RECORDS, NETFS_FUZZ_SECONDS and
 * NETFS_FUZZ_SEED (read by `tests/fuzz/_fuzz.ts`). The seed is `--seed`,
 * else one from the clock, named in the report's first line. `--seconds`
 * bounds each fuzzer test; a file that runs past twice its tests' limits
 * plus a minute is killed and counted as a hang. The report gives, per file, the result,
 * the time, the largest RSS of its process seen by `ps` every 250 ms, and
 * the fuzzers' own summary lines; the exit status is 1 when any file failed
 * or hung.
 *
 * @module
 */

import { parseArgs } from "node:util";

interface Fuzzer {
  /** Protocols it covers, for `--only`. */
  protocols: string[];
  file: string;
  filter?: string;
  /** Fuzzer tests in the file (each bounded by `--seconds`). */
  tests: number;
}

const FUZZERS: Fuzzer[] = [
  {
    protocols: ["rpc", "portmap"],
    file: "tests/fuzz/rpc_fuzz_test.ts",
    tests: 2,
  },
  {
    protocols: ["nfs3", "mount"],
    file: "tests/fuzz/nfs3_fuzz_test.ts",
    tests: 2,
  },
  {
    protocols: ["nfs3"],
    file: "tests/proto/nfs3_test.ts",
    filter: "random bytes",
    tests: 1,
  },
  {
    protocols: ["nfs2", "mount"],
    file: "tests/fuzz/nfs2_fuzz_test.ts",
    tests: 2,
  },
  { protocols: ["nfs4"], file: "tests/fuzz/nfs4_fuzz_test.ts", tests: 3 },
  { protocols: ["nfs4"], file: "tests/fuzz/nfs4_codec_fuzz_test.ts", tests: 2 },
  { protocols: ["nbd"], file: "tests/fuzz/nbd_fuzz_test.ts", tests: 1 },
  {
    protocols: ["nbd"],
    file: "tests/nbd/session_test.ts",
    filter: "malformed requests and options",
    tests: 1,
  },
  {
    protocols: ["client"],
    file: "tests/fuzz/nfs_client_fuzz_test.ts",
    tests: 1,
  },
];

const PERMISSIONS = [
  "--allow-net=127.0.0.1,[::1],localhost",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string" },
    seconds: { type: "string" },
    seed: { type: "string" },
    only: { type: "string" },
  },
});

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} takes a positive number: ${text}`);
    Deno.exit(2);
  }
  return n;
}

const records = positive("records", values.records);
const seconds = positive("seconds", values.seconds);
// One seed for every fuzzer, printed first, so that `--seed` replays the
// whole run; without `--seed` it comes from the clock, as each fuzzer's own.
const seed = positive("seed", values.seed) ??
  (Date.now() % 2 ** 31 || 1);
const only = values.only?.split(",").map((s) => s.trim().toLowerCase());
const known = new Set(FUZZERS.flatMap((f) => f.protocols));
for (const p of only ?? []) {
  if (!known.has(p)) {
    console.error(`Unknown protocol: ${p} (one of ${[...known].join(", ")})`);
    Deno.exit(2);
  }
}
const chosen = FUZZERS.filter((f) =>
  only === undefined || f.protocols.some((p) => only.includes(p))
);

const env: Record<string, string> = { NO_COLOR: "1" };
if (records !== undefined) env.NETFS_FUZZ_RECORDS = String(records);
if (seconds !== undefined) env.NETFS_FUZZ_SECONDS = String(seconds);
env.NETFS_FUZZ_SEED = String(seed);

/**
 * The resident set of a live process in bytes, from `ps` (Deno reads
 * /proc only with --allow-all); 0 where there is no `ps`.
 */
async function rssOf(pid: number): Promise<number> {
  try {
    const out = await new Deno.Command("ps", {
      args: ["-o", "rss=", "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
    }).output();
    const kb = Number(new TextDecoder().decode(out.stdout).trim());
    return Number.isFinite(kb) ? kb * 1024 : 0;
  } catch {
    return 0;
  }
}

interface Outcome {
  file: string;
  result: "ok" | "FAILED" | "HUNG";
  ms: number;
  rss: number;
  lines: string[];
}

async function run(f: Fuzzer): Promise<Outcome> {
  const started = performance.now();
  const args = [
    "test",
    "--sanitize-ops",
    "--sanitize-resources",
    ...PERMISSIONS,
  ];
  if (f.filter) args.push(`--filter=${f.filter}`);
  const child = new Deno.Command("deno", {
    args: [...args, f.file],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Sampled every 250 ms: the peak seen, not the exact peak.
  let rss = 0;
  let sampling = false;
  const poll = setInterval(async () => {
    if (sampling) return;
    sampling = true;
    rss = Math.max(rss, await rssOf(child.pid));
    sampling = false;
  }, 250);
  // Each test stops at its time limit; twice that plus a minute is a hang.
  const limitMs = seconds === undefined
    ? 30 * 60_000
    : 2 * f.tests * seconds * 1000 + 60_000;
  let hung = false;
  const watchdog = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, limitMs);
  const out = await child.output();
  clearTimeout(watchdog);
  clearInterval(poll);
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  // The fuzzers' summary lines ("nbd fuzz: 100000 mutated messages ..."),
  // not the test names.
  const lines = text.split("\n").filter((l) =>
    /fuzz[^:]*: \d/.test(l) && !/ \.\.\.( |$)/.test(l)
  );
  return {
    file: f.file + (f.filter ? ` (${f.filter})` : ""),
    result: hung ? "HUNG" : out.success ? "ok" : "FAILED",
    ms: performance.now() - started,
    rss,
    lines: out.success ? lines : text.split("\n").slice(-60),
  };
}

console.log(
  `fuzz: ${chosen.length} files, records ${records ?? "default"}, seconds ${
    seconds ?? "default"
  }, seed ${seed}${
    values.seed === undefined ? " (from the clock: --seed replays it)" : ""
  }`,
);
const outcomes: Outcome[] = [];
for (const f of chosen) {
  const o = await run(f);
  outcomes.push(o);
  console.log(
    `${o.result.padEnd(6)} ${o.file}  ${(o.ms / 1000).toFixed(1)} s, peak RSS ${
      o.rss ? `${Math.round(o.rss / 2 ** 20)} MiB` : "n/a"
    }`,
  );
  for (const l of o.lines) console.log(`       ${l}`);
}
const bad = outcomes.filter((o) => o.result !== "ok");
console.log(
  `fuzz: ${outcomes.length - bad.length} of ${outcomes.length} files passed`,
);
if (bad.length > 0) Deno.exit(1);
