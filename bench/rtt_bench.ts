// The round trip at 1 in flight, from the floor up: one client
// (bench/rttbench.c, blocking socket, one NULL call record at a time)
// against a C epoll echo server, Node.js's node:net, Deno's node:net, a bare
// Deno TCP echo server, netfs's NFS server (NULL, program 100003 v3) and
// nfs-ganesha's (when it can run here). Echo servers send the call back,
// which is one whole record too, so the client is the same for all.
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-env --allow-sys bench/rtt_bench.ts [--secs 2] [--reps 3]
//
// Each server runs `--reps` times, interleaved; the table gives the median
// µs per round trip with min–max, and the server's CPU (user + system, all
// threads) per round trip, median. Nothing is recorded: copy the table
// into bench/RESULTS.md. `--baseline DIR` (repeatable) adds the NFS server
// of the netfs checkout in DIR (the commit before a change, say) to the run.
import { parseArgs } from "node:util";
import {
  buildTool,
  cpuSeconds,
  median,
  parsePin,
  pinProcess,
  proc,
  startServer,
} from "./_bench_util.ts";
import { ganeshaMissing, startGanesha } from "../tests/interop/_ganesha.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    secs: { type: "string", default: "2" },
    reps: { type: "string", default: "3" },
    baseline: { type: "string", multiple: true },
    pin: { type: "string" },
  },
});
// --pin S,C: every server (all threads) on CPU S, the client on CPU C (see
// bench/nfs_bench.ts): the same wake-up cost for every server.
const pin = parsePin(args.values.pin);
const here = new URL(".", import.meta.url).pathname;
const tool = await buildTool("rttbench", `${here}rttbench.c`, []);

interface Server {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** `cmd ARGV... PORT`, once it listens. */
async function spawn(
  name: string,
  cmd: string,
  argv: string[],
): Promise<Server> {
  return { name, ...await startServer(cmd, (port) => [...argv, `${port}`]) };
}

const deno = Deno.execPath();
const net = "--allow-net=127.0.0.1";
const starts: (() => Promise<Server | undefined>)[] = [
  () => spawn("C epoll echo", tool, ["server"]),
  () => spawn("Node.js node:net echo", "node", [`${here}_echo_node.mjs`]),
  () =>
    spawn("Deno node:net echo", deno, ["run", net, `${here}_echo_node.mjs`]),
  () => spawn("Deno.listen echo", deno, ["run", net, `${here}_echo_deno.ts`]),
  () =>
    spawn("netfs NFS NULL", deno, [
      "run",
      net,
      `${here}_nfs_server.ts`,
      "--port",
    ]),
  ...(args.values.baseline ?? []).map((dir) => () =>
    spawn(`netfs NFS NULL, ${dir}`, deno, [
      "run",
      net,
      `${dir}/bench/_nfs_server.ts`,
      "--port",
    ])
  ),
  async () => {
    const why = ganeshaMissing("MEM");
    if (why !== null) {
      console.error(`rtt_bench: no ganesha: ${why}`);
      return undefined;
    }
    const g = await startGanesha("MEM", "/unused");
    return {
      name: "nfs-ganesha NFS NULL",
      port: g.nfsPort,
      pid: g.pid,
      stop: g.stop,
    };
  },
];

const servers: Server[] = [];
for (const start of starts) {
  const s = await start();
  if (s === undefined) continue;
  servers.push(s);
  if (pin) await pinProcess(s.pid, pin[0]);
}
const load = (await proc("loadavg")).split(" ", 3).join(" ");
const rtt = servers.map(() => [] as number[]);
const cpu = servers.map(() => [] as number[]);
try {
  for (let rep = 0; rep < Number(args.values.reps); rep++) {
    for (const [i, s] of servers.entries()) {
      const cpu0 = await cpuSeconds(s.pid);
      const argv = ["client", `${s.port}`, args.values.secs];
      const r = await new Deno.Command(pin ? "taskset" : tool, {
        args: pin ? ["-c", `${pin[1]}`, tool, ...argv] : argv,
      }).output();
      if (!r.success) {
        throw new Error(
          `rttbench against ${s.name} failed: ${
            new TextDecoder().decode(r.stderr)
          }`,
        );
      }
      const used = await cpuSeconds(s.pid) - cpu0;
      const { ops, seconds } = JSON.parse(new TextDecoder().decode(r.stdout));
      rtt[i].push(seconds / ops * 1e6);
      cpu[i].push(used / ops * 1e6);
    }
  }
} finally {
  for (const s of servers) await s.stop();
}
const f1 = (x: number) => x.toFixed(1);
let out =
  `Round trip at 1 in flight (bench/rtt_bench.ts, ${
    new Date().toISOString().slice(0, 16)
  }Z, load average ${load} at start; ${args.values.reps} interleaved runs of ${args.values.secs} s)\n\n` +
  "| server | µs per round trip, median (min–max) | calls/s | server CPU µs per call |\n|---|---|---|---|\n";
for (const [i, s] of servers.entries()) {
  const m = median(rtt[i]);
  out += `| ${s.name} | ${f1(m)} (${f1(Math.min(...rtt[i]))}–${
    f1(Math.max(...rtt[i]))
  }) | ${(1e6 / m).toFixed(0)} | ${f1(median(cpu[i]))} |\n`;
}
console.log(out);
