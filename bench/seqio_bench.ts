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
// --floor: where a 1 MiB WRITE's server CPU goes instead. A light client
// (one pre-encoded WRITE record per call, one socket write, then the
// reply) drives a bare Deno receiver of RPC records (bench/_recv_deno.ts),
// netfs over a MemFs whose writes keep nothing (--discard), and netfs over
// MemFs (and each --before): the Deno floor, the RPC and NFS path above
// it, and MemFs's copy. The file is written over in place after the first
// `--mib` MiB, which are not measured.
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-run --allow-env --allow-sys bench/seqio_bench.ts [--mib 256] [--reps 5] [--before DIR] [--profile DIR] [--floor] [--inflight N]
import { parseArgs } from "node:util";
import { fmtSpread, machineLine, spread, startDeno } from "./_bench_util.ts";
import { type NfsServer, startNetfs } from "./_nfs_servers.ts";
import { MountClient } from "../client/mount.ts";
import { Nfs3Client } from "../client/nfs3.ts";
import { CreateMode, StableHow } from "../proto/nfs3/types.ts";
import { encodeWriteArgs } from "../proto/nfs3/args.ts";
import { authSysCredential } from "../rpc/auth.ts";
import { encodeCallHeader } from "../rpc/message.ts";
import { recordMark } from "../rpc/record.ts";
import { XdrWriter } from "../rpc/xdr.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "256" },
    reps: { type: "string", default: "5" },
    before: { type: "string", multiple: true },
    profile: { type: "string" },
    floor: { type: "boolean", default: false },
    inflight: { type: "string", default: "1" },
  },
});
const MIB = 1 << 20;
const total = Number(values.mib);
const reps = Number(values.reps);
const inflight = Math.max(1, Number(values.inflight));

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
    let next = 0;
    // `inflight` loops, each taking the next MiB when its call is answered.
    const loop = async () => {
      for (let i = next++; i < total; i = next++) {
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
    };
    await Promise.all(Array.from({ length: inflight }, loop));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = (await cpuNs(srv.pid!)) - c0;
    out[op] = { mibs: total / seconds, cpu: cpu / 1000 / total };
  }
  nfs.close();
  return out as Pass;
}

const AUTH = { stamp: 0, machineName: "bench", uid: 0, gid: 0, gids: [] };

/** `total` pre-encoded 1 MiB WRITE records of `file`, offsets 0 up. */
function writeRecords(file: Uint8Array): Uint8Array[] {
  const data = new Uint8Array(MIB).fill(0x5a);
  const cred = authSysCredential(AUTH);
  return Array.from({ length: total }, (_, i) => {
    const w = new XdrWriter({ size: MIB + 4096, reserve: 4 });
    encodeCallHeader(w, {
      xid: i + 1,
      program: 100003,
      version: 3,
      procedure: 7,
      cred,
    });
    encodeWriteArgs(w, {
      file,
      offset: i * MIB,
      count: MIB,
      stable: StableHow.UNSTABLE,
      data,
    });
    return w.withHeader(recordMark).slice();
  });
}

/** Sends `records` one at a time, each as one write, reading each reply. */
async function lightWrites(
  port: number,
  records: Uint8Array[],
  rounds: number,
): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const buf = new Uint8Array(65536);
  const view = new DataView(buf.buffer);
  try {
    for (let i = 0; i < rounds * records.length; i++) {
      const rec = records[i % records.length];
      for (let at = 0; at < rec.length;) {
        at += await conn.write(at === 0 ? rec : rec.subarray(at));
      }
      let got = 0;
      while (got < 4 || got < 4 + (view.getUint32(0) & 0x7fffffff)) {
        const n = await conn.read(buf.subarray(got));
        if (n === null) throw new Error("Server hung up");
        got += n;
      }
    }
  } finally {
    conn.close();
  }
}

/**
 * Server CPU µs per MiB of `3 * total` MiB of light WRITEs after `total`
 * MiB not measured; `nfs` false for the bare receiver (no file to make).
 */
async function floorPass(srv: NfsServer, nfs: boolean): Promise<number> {
  let file = new Uint8Array(32) as Uint8Array;
  if (nfs) {
    const opts = { hostname: "127.0.0.1", port: srv.port, auth: AUTH };
    const mount = await MountClient.connect(opts);
    const { handle: root } = await mount.mnt(srv.exportPath);
    mount.close();
    const client = await Nfs3Client.connect(opts);
    file = (await client.create({
      dir: root,
      name: "seq",
      mode: CreateMode.UNCHECKED,
      attrs: { size: 0 },
    })).object!;
    client.close();
  }
  const records = writeRecords(file);
  await lightWrites(srv.port, records, 1);
  const c0 = await cpuNs(srv.pid!);
  await lightWrites(srv.port, records, 3);
  return ((await cpuNs(srv.pid!)) - c0) / 1000 / (3 * total);
}

/** bench/_recv_deno.ts in its own process. */
async function startRecv(): Promise<NfsServer> {
  const here = new URL(".", import.meta.url).pathname;
  const child = await startDeno(
    ["--allow-net=127.0.0.1"],
    `${here}_recv_deno.ts`,
  );
  return {
    name: "Deno receiver",
    port: child.port,
    mountPort: child.port,
    exportPath: "/",
    pid: child.pid,
    url: () => "",
    stop: child.stop,
  };
}

if (values.floor) {
  const kinds = [
    { name: "bare Deno receiver", start: startRecv, nfs: false },
    {
      name: "netfs, writes kept nowhere",
      start: () => startNetfs("mem", "", { discard: true }),
      nfs: true,
    },
    { name: "netfs MemFs", start: () => startNetfs("mem", ""), nfs: true },
    ...(values.before ?? []).map((root, i) => ({
      name: `netfs MemFs, before${i === 0 ? "" : i + 1}`,
      start: () => startNetfs("mem", "", { root }),
      nfs: true,
    })),
  ];
  console.log(await machineLine());
  const cpu = kinds.map(() => [] as number[]);
  for (let rep = 0; rep < reps; rep++) {
    for (let k = 0; k < kinds.length; k++) {
      const j = (k + rep) % kinds.length;
      const srv = await kinds[j].start();
      try {
        cpu[j].push(await floorPass(srv, kinds[j].nfs));
      } finally {
        await srv.stop();
      }
    }
  }
  for (const [j, kind] of kinds.entries()) {
    console.log(
      `${kind.name}: server CPU µs per 1 MiB WRITE ${fmtSpread(cpu[j])}`,
    );
  }
  Deno.exit(0);
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
