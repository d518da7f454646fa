// Small helpers shared by the benchmarks: building a C load generator into a
// cache folder, finding a free port, waiting for a listener, starting a Deno
// server in its own process, undoing what a run set up if it is stopped
// half way, running a tool
// that prints one JSON line, and a large directory made and listed over
// NFSv3.

import {
  CreateMode,
  decodeCreateRes,
  decodeReaddirplusRes,
  encodeCreateArgs,
  encodeMkdirArgs,
  encodeReaddirplusArgs,
  Nfs3Proc,
} from "../proto/nfs3.ts";
import type { XdrReader, XdrWriter } from "../rpc/xdr.ts";

/** The cache folder for built tools (outside the repository). */
export const cacheDir: string = `${
  Deno.env.get("NETFS_CACHE") ??
    `${Deno.env.get("HOME") ?? "/tmp"}/.cache/netfs`
}/bench`;

/** Compiles `source` with `cc -O2` unless a build of the same text exists. */
export async function buildTool(
  name: string,
  source: string,
  libs: string[],
): Promise<string> {
  const text = await Deno.readFile(source);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", text));
  const tag = [...digest.slice(0, 6)].map((b) =>
    b.toString(16).padStart(2, "0")
  ).join("");
  const out = `${cacheDir}/${name}-${tag}`;
  try {
    await Deno.stat(out);
    return out;
  } catch { /* build it */ }
  await Deno.mkdir(cacheDir, { recursive: true });
  const r = await new Deno.Command("cc", {
    args: ["-O2", "-Wall", "-o", out, source, ...libs],
  }).output();
  if (!r.success) {
    throw new Error(
      `Building ${name} failed: ${new TextDecoder().decode(r.stderr)}`,
    );
  }
  return out;
}

import { freePort, waitForPort } from "../tests/_net.ts";
export { freePort, waitForPort };

/** A benchmark's server in a child process. */
/** What {@link atExit} runs, newest first. */
const cleanups = new Set<() => void>();

/**
 * Runs `fn` if the program ends before its owner undoes what `fn` would:
 * when it ends normally, on an uncaught error, or on SIGINT or SIGTERM,
 * which then exit as the signal would have (128 + its number). So a bench
 * stopped half way leaves no server running, no tmpfs mounted and no
 * /sys setting changed. `fn` must be synchronous; what it throws is shown
 * and the rest still run. The newest run first: a server goes before the
 * tmpfs it serves. Returns what takes `fn` back, for the owner's own
 * clean-up.
 */
export function atExit(fn: () => void): () => void {
  if (!exitHooked) hookExit();
  cleanups.add(fn);
  return () => void cleanups.delete(fn);
}

let exitHooked = false;

function hookExit(): void {
  exitHooked = true;
  const runAll = () => {
    for (const fn of [...cleanups].reverse()) {
      cleanups.delete(fn);
      try {
        fn();
      } catch (e) {
        console.error(`bench: a clean-up failed: ${e}`);
      }
    }
  };
  globalThis.addEventListener("unload", runAll);
  globalThis.addEventListener("error", runAll);
  globalThis.addEventListener("unhandledrejection", runAll);
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    Deno.addSignalListener(signal, () => {
      runAll();
      Deno.exit(code);
    });
  }
}

/** Sends SIGTERM to `pid` unless it is gone already. */
export function terminate(pid: number): void {
  try {
    Deno.kill(pid, "SIGTERM");
  } catch { /* gone */ }
}

export interface ServerProcess {
  /** Its TCP port on 127.0.0.1. */
  port: number;
  /** The process, for its CPU time. */
  pid: number;
  /** Ends it with SIGTERM and waits for it. */
  stop(): Promise<void>;
}

/**
 * Runs `cmd` with the arguments `args` gives for a free port P of 127.0.0.1
 * (its stdout dropped, its stderr shown), once something accepts
 * connections on P.
 */
export async function startServer(
  cmd: string,
  args: (port: number) => string[],
): Promise<ServerProcess> {
  const port = freePort();
  const child = new Deno.Command(cmd, {
    args: args(port),
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const forget = atExit(() => terminate(child.pid));
  try {
    await waitForPort(port, 20000);
  } catch (e) {
    forget();
    terminate(child.pid);
    await child.status;
    throw e;
  }
  return {
    port,
    pid: child.pid,
    async stop() {
      forget();
      terminate(child.pid);
      await child.status;
    },
  };
}

/** {@link startServer} of `deno run FLAGS... SCRIPT --port P ARGS...`. */
export function startDeno(
  flags: string[],
  script: string,
  args: string[] = [],
): Promise<ServerProcess> {
  return startServer(
    Deno.execPath(),
    (port) => ["run", ...flags, script, "--port", String(port), ...args],
  );
}

/**
 * Makes directory "big" in `root` with `entries` empty files in it
 * ("entry-0" …); its handle. `call` makes one NFSv3 call (procedure,
 * arguments) and answers the whole reply's results, status first.
 */
export async function bigDirectory(
  root: Uint8Array,
  entries: number,
  call: (proc: number, args: (w: XdrWriter) => void) => Promise<XdrReader>,
): Promise<Uint8Array> {
  const made = async (proc: number, args: (w: XdrWriter) => void) => {
    const r = decodeCreateRes(await call(proc, args));
    if (r.status !== 0) throw new Error(`Call ${proc}: status ${r.status}`);
    return r.object!.slice();
  };
  const dir = await made(
    Nfs3Proc.MKDIR,
    (w) =>
      encodeMkdirArgs(w, { dir: root, name: "big", attrs: { mode: 0o755 } }),
  );
  for (let i = 0; i < entries; i++) {
    await made(Nfs3Proc.CREATE, (w) =>
      encodeCreateArgs(w, {
        dir,
        name: `entry-${i}`,
        mode: CreateMode.UNCHECKED,
        attrs: { mode: 0o644 },
      }));
  }
  return dir;
}

/**
 * Lists directory `dir` whole with NFSv3 READDIRPLUS in libnfs's pages
 * (dircount and maxcount 8 KiB, about 54 entries a call); the entries
 * seen. `call` makes one READDIRPLUS call with the arguments it is given
 * and answers the reply's results.
 */
export async function readdirplusAll(
  dir: Uint8Array,
  call: (args: (w: XdrWriter) => void) => Promise<XdrReader>,
): Promise<number> {
  let cookie = 0n;
  let cookieverf = new Uint8Array(8);
  let seen = 0;
  for (let pages = 0; pages < 1_000_000; pages++) {
    const r = decodeReaddirplusRes(
      await call((w) =>
        encodeReaddirplusArgs(w, {
          dir,
          cookie,
          cookieverf,
          dircount: 8192,
          maxcount: 8192,
        })
      ),
    );
    if (r.status !== 0) throw new Error(`READDIRPLUS: status ${r.status}`);
    seen += r.entries!.length;
    if (r.eof) return seen;
    cookie = r.entries!.at(-1)!.cookie;
    cookieverf = r.cookieverf!.slice();
  }
  throw new Error("READDIRPLUS: no end");
}

/** Runs `tool` and parses the JSON line it prints. */
export async function runJson(
  tool: string,
  args: string[],
): Promise<Record<string, number>> {
  const r = await new Deno.Command(tool, { args }).output();
  const text = new TextDecoder().decode(r.stdout).trim();
  if (!r.success) {
    throw new Error(
      `${tool} ${args.join(" ")} failed: ${new TextDecoder().decode(r.stderr)}`,
    );
  }
  return JSON.parse(text.split("\n").pop()!);
}

/**
 * A fresh tmpfs mounted on a new folder under /tmp (Deno's permission
 * checks treat everything under /dev, /dev/shm included, as needing
 * --allow-all, so a private tmpfs is mounted instead; needs root). Falls back
 * to a plain temporary folder, with a note, when mounting fails.
 */
export async function tmpfsDir(
  prefix: string,
): Promise<{ path: string; tmpfs: boolean; remove(): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix });
  const r = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=4g,mode=0755", "tmpfs", path],
    stderr: "piped",
  }).output();
  if (!r.success) {
    console.error(
      `bench: no tmpfs at ${path}, using the disk: ${
        new TextDecoder().decode(r.stderr).trim()
      }`,
    );
  }
  // Stopped half way, the servers may still hold files: a lazy unmount.
  const forget = atExit(() => {
    if (r.success) {
      new Deno.Command("umount", { args: ["-l", path] }).outputSync();
    }
    Deno.removeSync(path, { recursive: true });
  });
  return {
    path,
    tmpfs: r.success,
    async remove() {
      forget();
      if (r.success) {
        await new Deno.Command("umount", { args: [path] }).output();
      }
      await Deno.remove(path, { recursive: true });
    },
  };
}

/**
 * CPU seconds (user + system, all threads, reaped children not counted) a
 * process has used so far.
 */
export async function cpuSeconds(pid: number): Promise<number> {
  // Through cat: Deno asks for --allow-all to read another process's /proc.
  const r = await new Deno.Command("cat", {
    args: [`/proc/${pid}/stat`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const stat = new TextDecoder().decode(r.stdout);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks
}

/** Median, minimum and maximum of some samples. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The {@link Spread} of `xs` (the mean of the middle two for an even count). */
export function spread(xs: readonly number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
}

/** A number for a table: thousands separated from 100 up, else one decimal. */
export function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
}

/** "1,234 (1,100–1,300)": the median, then the range of the samples. */
export function fmtSpread(xs: readonly number[]): string {
  const s = spread(xs);
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

/**
 * The ratio of two sides' medians, with the range of the per-repetition
 * ratios (sample i of `a` over sample i of `b`: interleaved runs of the same
 * repetition saw the same load): "1.12× (0.98–1.30)".
 */
export function fmtRatio(a: readonly number[], b: readonly number[]): string {
  const r = spread(a.map((x, i) => x / b[i]));
  return `${(spread(a).median / spread(b).median).toFixed(2)}× (${
    r.min.toFixed(2)
  }–${r.max.toFixed(2)})`;
}

/** The machine line of a RESULTS.md section. */
export async function machineLine(): Promise<string> {
  // Through cat, as in cpuSeconds.
  const read = async (path: string) =>
    new TextDecoder().decode(
      (await new Deno.Command("cat", { args: [path], stderr: "null" })
        .output()).stdout,
    );
  const cpu = (await read("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)
    ?.[1] ?? "unknown CPU";
  const load = (await read("/proc/loadavg")).split(" ")[0];
  const poll = Number.parseInt(await read(HALT_POLL));
  // A guest whose idle CPUs halt at once wakes each one for every call at
  // 1 in flight, tens of µs per wake-up on this VM: it sets those rows.
  const halt = Number.isNaN(poll)
    ? ""
    : `, guest halt polling ${poll === 0 ? "off" : `${poll / 1000} µs`}`;
  return `${
    new Date().toISOString().slice(0, 16)
  }Z, ${cpu}, ${navigator.hardwareConcurrency} cores, linux ${Deno.osRelease()}, Deno ${Deno.version.deno}${halt}, load average ${load} at start`;
}

/** The guest kernel's halt-polling window (cpuidle-haltpoll), in ns. */
const HALT_POLL = "/sys/module/haltpoll/parameters/guest_halt_poll_ns";

/**
 * `--halt-poll NS` (`flag`, its text; nothing when not given): sets how long
 * an idle CPU of this guest polls for work before it halts, for the rest of
 * the run, and puts back what it was when the program ends: normally, on an
 * uncaught error, or on SIGINT or SIGTERM. Needs root and `--allow-run`
 * (Deno opens nothing under /sys without `-A`, so `cat` and `sh` do). This
 * VM ships with 0, so every wait at 1 in flight is a halted vCPU that the
 * next call wakes; the kernel's own default is 200,000. The same for every
 * server of a run: it compares them under another idle policy and favours
 * none; {@link machineLine} says which value applied.
 */
export function haltPollForRun(flag: string | undefined): void {
  if (flag === undefined) return;
  const ns = Number(flag);
  if (flag.trim() === "" || !Number.isInteger(ns) || ns < 0) {
    throw new Error(`--halt-poll takes nanoseconds: ${flag}`);
  }
  const was = new TextDecoder().decode(
    new Deno.Command("cat", { args: [HALT_POLL] }).outputSync().stdout,
  ).trim();
  const set = (value: string) => {
    const r = new Deno.Command("sh", {
      args: ["-c", 'echo "$1" > "$2"', "sh", value, HALT_POLL],
    }).outputSync();
    if (!r.success) throw new Error(`cannot set ${HALT_POLL} (root?)`);
  };
  set(`${ns}`);
  atExit(() => set(was));
}

/** The CPUs' time so far, in ticks: all of it, and what the hypervisor took. */
export interface CpuTicks {
  total: number;
  steal: number;
}

/** The machine's {@link CpuTicks} now, from /proc/stat. */
export async function cpuTicks(): Promise<CpuTicks> {
  // cpu user nice system idle iowait irq softirq steal ...
  const f = (await proc("stat")).split("\n")[0].trim().split(/\s+/).slice(1)
    .map(Number);
  return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
}

/**
 * The share of the CPUs' time the hypervisor took (steal) between two
 * {@link cpuTicks}, as "1.2 %": runs where it is high are disturbed.
 */
export function stealShare(a: CpuTicks, b: CpuTicks): string {
  const total = b.total - a.total;
  return total > 0
    ? `${(100 * (b.steal - a.steal) / total).toFixed(1)} %`
    : "–";
}

/** A file of /proc: through cat, since Deno asks for --allow-all to read it. */
export async function proc(path: string): Promise<string> {
  const r = await new Deno.Command("cat", {
    args: [`/proc/${path}`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(r.stdout);
}

/** The median of `v` (not empty). */
export function median(v: readonly number[]): number {
  return spread(v).median;
}

/**
 * `--pin S,C` parsed: the servers' CPU, then the client's; undefined when
 * not given.
 */
export function parsePin(
  text: string | undefined,
): [number, number] | undefined {
  if (text === undefined) return undefined;
  const pin = text.split(",").map(Number);
  if (pin.length !== 2 || pin.some((n) => !Number.isInteger(n))) {
    throw new Error(`--pin takes SERVER_CPU,CLIENT_CPU: ${text}`);
  }
  return [pin[0], pin[1]];
}

/** Moves every thread of process `pid` to CPU `cpu` (taskset). */
export async function pinProcess(pid: number, cpu: number): Promise<void> {
  const r = await new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", `${cpu}`, `${pid}`],
    stdout: "null",
  }).output();
  if (!r.success) throw new Error(`taskset failed: pid ${pid}, CPU ${cpu}`);
}
