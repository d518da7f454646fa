// Issue 16's create target against the Node peer: NFSv4.0 creates, one at a
// time, against the NFSv4.0 server of @jsonjoy.com/json-pack 17.67.0 on
// node 22 (bench/_node_peer.ts) over a private tmpfs folder, netfs LocalFs
// over another folder of the same tmpfs (the fair pair: both make real
// files), netfs MemFs and, with --ganesha, nfs-ganesha's MEM FSAL. LocalFs
// fsyncs the directory after each create (knfsd's `sync`; the peer never
// fsyncs): --async adds a LocalFs server that does not.
//
// The client is this process (bench/_nfs40_creates.ts): per file a COMPOUND
// PUTFH OPEN(CREATE) GETFH GETATTR, OPEN_CONFIRM if asked, then PUTFH CLOSE,
// as the Linux client's create loop sends them. The peer's reply framing
// breaks once a connection has had about 64 KiB of replies (see
// bench/RESULTS.md, "the Node 22 TypeScript peer"), so every server gets a
// fresh connection and client ID before a connection passes --budget bytes
// of replies (default 40 KiB); the set-up of each connection is neither timed
// nor charged. Every call has a timeout, so a stall fails the run. The
// servers take turns within each repetition; afterwards the files are
// counted in each server's folder (tmpfs) or over NFSv3 (MemFs, ganesha).
//
// Needs root (the tmpfs mount; ganesha's mount namespace):
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-env --allow-sys bench/create4_bench.ts [--files 2000] [--reps 3] [--warmup 2000] [--budget 40960] [--guarded] [--ganesha] [--async] [--engine native|portable] [--pin S,C] [--timeout 5000] [--record]
import { parseArgs } from "node:util";
import {
  cpuTicks,
  fmt,
  fmtRatio,
  fmtSpread,
  machineLine,
  parsePin,
  pinProcess,
  spread,
  stealShare,
  tmpfsDir,
} from "./_bench_util.ts";
import {
  type NfsServer,
  rootClient,
  startGanesha,
  startNetfs,
} from "./_nfs_servers.ts";
import { startNodePeer } from "./_node_peer.ts";
import { createFiles, type CreatePass } from "./_nfs40_creates.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    files: { type: "string", default: "2000" },
    reps: { type: "string", default: "3" },
    warmup: { type: "string", default: "2000" },
    budget: { type: "string", default: `${40 * 1024}` },
    guarded: { type: "boolean", default: false },
    ganesha: { type: "boolean", default: false },
    async: { type: "boolean", default: false },
    engine: { type: "string", default: "native" },
    pin: { type: "string" },
    timeout: { type: "string", default: "5000" },
    record: { type: "boolean", default: false },
  },
});
const files = Number(values.files);
const reps = Number(values.reps);
const warmup = Number(values.warmup);
const budget = Number(values.budget);
const timeoutMs = Number(values.timeout);
const pin = parsePin(values.pin);
for (const [k, v] of [["files", files], ["reps", reps], ["budget", budget]]) {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new Error(`--${k} takes a positive integer: ${v}`);
  }
}

const head = await machineLine();
const tmp = await tmpfsDir("netfs-create4-bench-");
if (!tmp.tmpfs) {
  await tmp.remove();
  throw new Error("No private tmpfs (needs root): the peer would use the disk");
}
const servers: NfsServer[] = [];
let peerLog = "";
/** The folder each tmpfs-backed server creates in, by server name. */
const folders = new Map<string, string>();
let out = "";
try {
  for (const d of ["node", "netfs", "netfs-async"]) {
    await Deno.mkdir(`${tmp.path}/${d}`);
    await Deno.chmod(`${tmp.path}/${d}`, 0o755);
  }
  const engine = values.engine as "native" | "portable";
  servers.push(
    await startNetfs("local", `${tmp.path}/netfs`, { engine }),
    await startNetfs("mem", ""),
  );
  folders.set(servers[0].name, `${tmp.path}/netfs`);
  if (values.async) {
    const dir = `${tmp.path}/netfs-async`;
    servers.push(await startNetfs("local", dir, { engine, async: true }));
    folders.set(servers.at(-1)!.name, dir);
  }
  if (values.ganesha) servers.push(await startGanesha("MEM", ""));
  const peer = await startNodePeer(`${tmp.path}/node`);
  peerLog = peer.log;
  servers.push(peer);
  folders.set(peer.name, `${tmp.path}/node`);
  const peerAt = servers.length - 1;
  if (pin) {
    for (const s of servers) await pinProcess(s.pid, pin[0]);
    await pinProcess(Deno.pid, pin[1]);
  }

  const options = { budget, timeoutMs, guarded: values.guarded };
  // Untimed: the JIT of both sides warms up on the same calls.
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new Error(`--warmup takes a count: ${values.warmup}`);
  }
  if (warmup > 0) {
    for (const srv of servers) {
      await createFiles(srv, { ...options, files: warmup, dirName: "warmup" });
    }
  }
  const passes: CreatePass[][] = servers.map(() => []);
  /** The hypervisor's share of the CPUs' time during each pass (%). */
  const steals: number[][] = servers.map(() => []);
  const ticks0 = await cpuTicks();
  for (let i = 0; i < reps; i++) {
    for (let k = 0; k < servers.length; k++) {
      const s = (k + i) % servers.length;
      const ticks = await cpuTicks();
      const p = await createFiles(servers[s], {
        ...options,
        files,
        dirName: `rep-${i}`,
      });
      passes[s].push(p);
      const stolen = stealShare(ticks, await cpuTicks());
      steals[s].push(parseFloat(stolen));
      console.log(
        `rep ${i} ${servers[s].name}: ${fmt(files / p.seconds)} files/s, ${
          (p.cpu * 1e6 / files).toFixed(0)
        } µs CPU/create, ${p.connections} connections (≤ ${p.maxConnBytes} reply bytes each), steal ${stolen}`,
      );
    }
  }
  const steal = stealShare(ticks0, await cpuTicks());
  await verify(servers, folders);
  const logged = (await Deno.readTextFile(peerLog)).trim();
  console.log(
    logged
      ? `node-peer log (last lines):\n${
        logged.split("\n").slice(-20).join("\n")
      }`
      : "node-peer log: empty",
  );

  const rates = passes.map((ps) => ps.map((p) => files / p.seconds));
  const sum = (ps: CreatePass[], f: (p: CreatePass) => number) =>
    ps.reduce((a, p) => a + f(p), 0);
  out =
    `\n${head}. bench/create4_bench.ts: ${files} files per pass, ${reps} repetitions, the servers taking turns (order rotated each repetition) after ${warmup} untimed creates each; median (min–max). Per create: OPEN(${
      values.guarded ? "GUARDED4" : "UNCHECKED4"
    }, WRITE) with GETFH and the kernel's GETATTR, OPEN_CONFIRM if asked, CLOSE; 1 in flight; a fresh connection and NFSv4.0 client ID before a connection's replies pass ${budget} bytes; connection set-up neither timed nor charged. CPU: the server's user + system time over the creates (/proc/PID/stat, 10 ms ticks summed over each connection's creates); the client's is this process's (Deno, the same code for every server). LocalFs (${engine} engine; it fsyncs the directory after each create, the peer does not${
      values.async ? ", -async does not either" : ""
    }) and the peer on one private tmpfs. Steal: the hypervisor's share of the CPUs' time, ${steal} over the run, per pass in the last column.${
      pin
        ? ` Pinned: servers on CPU ${pin[0]}, the client on CPU ${pin[1]}.`
        : ""
    }\n\n| server | files/s | ÷ ${
      servers[peerAt].name
    } | server CPU µs per create | client CPU µs per create | reply bytes per create | RPCs per create | connections per pass | steal % |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n`;
  for (const [s, srv] of servers.entries()) {
    const ps = passes[s];
    out += `| ${srv.name} | ${fmtSpread(rates[s])} | ${
      s === peerAt ? "1" : fmtRatio(rates[s], rates[peerAt])
    } | ${(sum(ps, (p) => p.cpu) * 1e6 / (files * ps.length)).toFixed(0)} | ${
      (sum(ps, (p) => p.clientCpu) * 1e6 / (files * ps.length)).toFixed(0)
    } | ${(sum(ps, (p) => p.bytes) / (files * ps.length)).toFixed(0)} | ${
      (sum(ps, (p) => p.calls) / (files * ps.length)).toFixed(2)
    } | ${spread(ps.map((p) => p.connections)).median} | ${
      fmtSpread(steals[s])
    } |\n`;
  }
} catch (e) {
  if (peerLog) {
    const log = await Deno.readTextFile(peerLog).catch(() => "");
    console.error(`node-peer log:\n${log.split("\n").slice(-40).join("\n")}`);
  }
  throw e;
} finally {
  for (const srv of servers) await srv.stop();
  await tmp.remove();
}
console.log(out);
if (values.record) {
  const here = new URL(".", import.meta.url).pathname;
  await Deno.writeTextFile(`${here}RESULTS.md`, out, { append: true });
}

/**
 * Checks that every pass's files exist: counted in the folder of a server
 * that serves one, else listed over NFSv3.
 */
async function verify(
  servers: NfsServer[],
  folders: Map<string, string>,
): Promise<void> {
  for (const srv of servers) {
    const folder = folders.get(srv.name);
    await using nfs = folder === undefined ? await rootClient(srv) : undefined;
    for (let i = 0; i < reps; i++) {
      let n = 0;
      if (nfs) {
        for await (const e of nfs.readDir(`/rep-${i}`)) {
          if (e.isFile && /^f-\d+$/.test(e.name)) n++;
        }
      } else {
        for await (const e of Deno.readDir(`${folder}/rep-${i}`)) {
          if (e.isFile && /^f-\d+$/.test(e.name)) n++;
        }
      }
      if (n !== files) {
        throw new Error(
          `Files missing: ${srv.name} rep-${i} has ${n} of ${files}`,
        );
      }
    }
    console.log(
      `${srv.name}: ${reps} × ${files} files found ${
        folder ? `in ${folder}` : "over NFSv3"
      }`,
    );
  }
}
