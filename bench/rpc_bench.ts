// RPC benchmark: NULL calls per second over loopback with our client and
// server (1 and 64 calls in flight, server in this process and in a child
// process), and the cost of encoding and decoding an NFSv3 fattr3.
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-sys bench/rpc_bench.ts
//
// Flags: --quick (short runs, nothing written), --seconds N (per measurement,
// default 3). Results are added to the "## RPC" section of bench/RESULTS.md.
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { decodeFattr3, encodeFattr3, type Fattr3 } from "../proto/nfs3.ts";
import { RpcClient } from "../rpc/client.ts";
import { serveRpc } from "../rpc/server.ts";
import { XdrReader, XdrWriter } from "../rpc/xdr.ts";

const PROG = 0x20000303;
const here = new URL(".", import.meta.url).pathname;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    seconds: { type: "string", default: "3" },
    serve: { type: "boolean", default: false },
  },
});

function startServer() {
  return serveRpc({
    port: 0,
    log: () => {},
    programs: [{
      program: PROG,
      version: 1,
      name: "bench",
      procedures: { 0: { name: "NULL", run: () => {} } },
    }],
  });
}

// Child mode: serve until stdin closes, print the port.
if (flags.serve) {
  const server = startServer();
  console.log(server.addr.port);
  for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
  await server.shutdown();
  Deno.exit(0);
}

const seconds = flags.quick ? 0.5 : Number(flags.seconds);

async function nullRate(port: number, inFlight: number): Promise<number> {
  const client = await RpcClient.connect({ hostname: "127.0.0.1", port });
  const noArgs = () => {};
  let calls = 0;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      await client.call(PROG, 1, 0, noArgs);
      calls++;
    }
  };
  // Warm up, then measure.
  const warm = Date.now() + 300;
  while (Date.now() < warm) await client.call(PROG, 1, 0, noArgs);
  calls = 0;
  const t0 = performance.now();
  const timer = setTimeout(() => stop = true, seconds * 1000);
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  clearTimeout(timer);
  client.close();
  await client.closed;
  return calls / elapsed;
}

function fattrCost(): { encodeNs: number; decodeNs: number } {
  const attr: Fattr3 = {
    type: 1,
    mode: 0o644,
    nlink: 1,
    uid: 1000,
    gid: 1000,
    size: 123_456_789,
    used: 123_461_632,
    rdev: { major: 0, minor: 0 },
    fsid: 0x1234_5678_9abc,
    fileid: 2 ** 40 + 17,
    atime: { sec: 1_763_700_000, nsec: 123_456_789 },
    mtime: { sec: 1_763_700_001, nsec: 1 },
    ctime: { sec: 1_763_700_002, nsec: 999_999_999 },
  };
  const w = new XdrWriter({ size: 128 });
  const n = flags.quick ? 100_000 : 2_000_000;
  let sink = 0;
  for (let i = 0; i < 50_000; i++) { // warm up the JIT
    w.reset();
    encodeFattr3(w, attr);
    sink += decodeFattr3(new XdrReader(w.bytes())).nlink;
  }
  let t0 = performance.now();
  for (let i = 0; i < n; i++) {
    w.reset();
    encodeFattr3(w, attr);
  }
  const encodeNs = ((performance.now() - t0) * 1e6) / n;
  const bytes = w.bytes();
  t0 = performance.now();
  for (let i = 0; i < n; i++) {
    sink += decodeFattr3(new XdrReader(bytes)).size;
  }
  const decodeNs = ((performance.now() - t0) * 1e6) / n;
  if (sink === 42) console.log("unlikely");
  return { encodeNs, decodeNs };
}

const loadAtStart = Deno.loadavg()[0];

function machine(): string {
  // /proc/cpuinfo needs --allow-all in Deno; node:os needs only --allow-sys.
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os} ${Deno.osRelease()}, Deno ${Deno.version.deno}, load average ${
    loadAtStart.toFixed(1)
  } at start`;
}

const INTRO = "`deno run … bench/rpc_bench.ts`: NULL calls per second over " +
  "loopback with netfs's RpcClient and serveRpc, each caller awaiting its " +
  "reply before the next call (1 or 64 callers on one connection), with the " +
  "server in the same process (one thread does both sides) or in a child " +
  "process; and the cost of encoding and decoding one NFSv3 fattr3 with " +
  "proto/nfs3.ts. The machine is shared: compare runs by their load average.";

const rows: [string, string][] = [];
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");

// Client and server in this process (one thread does both sides).
{
  const server = startServer();
  for (const k of [1, 64]) {
    const rate = await nullRate(server.addr.port, k);
    rows.push([`NULL calls/s, ${k} in flight, one process`, fmt(rate)]);
    console.log(rows.at(-1)!.join(": "));
  }
  await server.shutdown();
}

// Server in a child process: client and server each get a core.
{
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      new URL(import.meta.url).pathname,
      "--serve",
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error("Benchmark server exited before printing its port");
    }
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = Number(text.trim());
  for (const k of [1, 64]) {
    const rate = await nullRate(port, k);
    rows.push([
      `NULL calls/s, ${k} in flight, server in a child process`,
      fmt(rate),
    ]);
    console.log(rows.at(-1)!.join(": "));
  }
  await child.stdin.close();
  await child.stdout.cancel();
  await child.status;
}

const f = fattrCost();
rows.push(["fattr3 encode (84 bytes), ns", f.encodeNs.toFixed(0)]);
rows.push(["fattr3 decode, ns", f.decodeNs.toFixed(0)]);
rows.push(["fattr3 encode + decode, ns", (f.encodeNs + f.decodeNs).toFixed(0)]);
console.log(rows.slice(-3).map((r) => r.join(": ")).join("\n"));

const block =
  `\n### ${new Date().toISOString().slice(0, 10)} — ${machine()}\n\n` +
  `| measurement | value |\n|---|---|\n` +
  rows.map(([k, v]) => `| ${k} | ${v} |`).join("\n") + "\n";
console.log(block);

if (!flags.quick) {
  // Insert at the end of the "## RPC" section, creating it if needed, so
  // other benchmarks' sections stay where they are.
  const path = `${here}RESULTS.md`;
  let doc = "";
  try {
    doc = await Deno.readTextFile(path);
  } catch { /* first run */ }
  if (!doc) doc = "# Benchmark results\n";
  const head = doc.indexOf("\n## RPC\n");
  if (head < 0) {
    doc = `${doc.trimEnd()}\n\n## RPC\n\n${INTRO}\n${block}`;
  } else {
    const next = doc.indexOf("\n## ", head + 1);
    const at = next < 0 ? doc.length : next;
    doc = `${doc.slice(0, at).trimEnd()}\n${block}${doc.slice(at)}`;
  }
  await Deno.writeTextFile(path, doc);
}
