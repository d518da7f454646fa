// NFSv4.1 sequential 1 MiB WRITEs and READs against netfs's MemFs server
// (bench/_nfs_server.ts in its own process), at 1 and 4 in flight on one
// session: the server's CPU seconds per GiB moved, which is what the
// COMPOUND's reply sizing and its record reuse cost. The client is this
// benchmark's own COMPOUND loop (proto/nfs4 codecs, rpc/ RpcClient, the
// session set-up of tests/server/nfs4/_clients.ts): SEQUENCE, PUTFH, WRITE
// or READ under an open stateid, as Linux sends them. With --before DIR (a
// `git archive` of another commit; may be repeated) that checkout's server
// runs too, interleaved with this one's, repetition by repetition.
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-env --allow-sys bench/nfs4_io_bench.ts [--mib 256] [--reps 3] [--before DIR] [--record]
import { parseArgs } from "node:util";
import { cpuSeconds, fmtSpread, machineLine, spread } from "./_bench_util.ts";
import { type NfsServer, startNetfs } from "./_nfs_servers.ts";
import { RpcClient } from "../rpc/client.ts";
import {
  decode_COMPOUND4res,
  encode_COMPOUND4args,
  type nfs_argop4,
  nfs_opnum4 as OP,
  nfsstat4,
  stable_how4,
  type stateid4,
} from "../proto/nfs4/mod.ts";
import type { Nfs4Harness } from "../tests/server/nfs4/_harness.ts";
import {
  chanAttrs,
  createHow,
  openArgs,
  session41,
} from "../tests/server/nfs4/_clients.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "256" },
    reps: { type: "string", default: "3" },
    before: { type: "string", multiple: true },
    record: { type: "boolean", default: false },
  },
});
const MIB = 1 << 20;
const total = Number(values.mib);
const reps = Number(values.reps);
const ROWS = [
  { op: "write", lanes: 1 },
  { op: "write", lanes: 4 },
  { op: "read", lanes: 1 },
  { op: "read", lanes: 4 },
] as const;
type Row = (typeof ROWS)[number];

interface Pass {
  seconds: number;
  cpu: number;
}

/** One session on `srv` with the file "seq" open for reading and writing. */
async function connect(srv: NfsServer) {
  const rpc = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: srv.port,
    auth: { stamp: 0, machineName: "bench", uid: 0, gid: 0, gids: [] },
  });
  const compound = async (argarray: nfs_argop4[], o: { minor?: number }) => {
    const r = await rpc.call(100003, 4, 1, (w) =>
      encode_COMPOUND4args(w, {
        tag: new Uint8Array(0),
        minorversion: o.minor ?? 1,
        argarray,
      }));
    const res = decode_COMPOUND4res(r);
    if (res.status !== nfsstat4.NFS4_OK) {
      throw new Error(`COMPOUND failed: ${res.status}`);
    }
    return res;
  };
  const h = { compound } as unknown as Nfs4Harness;
  const s = await session41(h, `bench-${Math.random()}`, {
    fore: {
      ...chanAttrs(4),
      ca_maxrequestsize: 2 * MIB,
      ca_maxresponsesize: 2 * MIB,
    },
  });
  const res = await s.call([
    { argop: OP.OP_PUTROOTFH },
    openArgs("seq", { owner: "bench", access: 3, how: createHow() }),
    { argop: OP.OP_GETFH },
  ]);
  const o = res.resarray[2], g = res.resarray[3];
  if (
    o.resop !== OP.OP_OPEN || o.opopen.status !== nfsstat4.NFS4_OK ||
    g.resop !== OP.OP_GETFH || g.opgetfh.status !== nfsstat4.NFS4_OK
  ) throw new Error("OPEN failed");
  return {
    s,
    fh: g.opgetfh.resok4.object,
    stateid: o.opopen.resok4.stateid as stateid4,
    close: () => rpc.close(),
  };
}

/** Writes or reads `total` MiB in order, `row.lanes` requests in flight. */
async function pass(srv: NfsServer, row: Row): Promise<Pass> {
  const { s, fh, stateid, close } = await connect(srv);
  const data = new Uint8Array(MIB).map((_, i) => (i * 31 + 7) & 0xff);
  try {
    let next = 0;
    const cpu0 = await cpuSeconds(srv.pid);
    const t0 = performance.now();
    const lane = async (slot: number) => {
      while (next < total * MIB) {
        const offset = next;
        next += MIB;
        const res = await s.call([
          { argop: OP.OP_PUTFH, opputfh: { object: fh } },
          row.op === "write"
            ? {
              argop: OP.OP_WRITE,
              opwrite: { stateid, offset, stable: stable_how4.UNSTABLE4, data },
            }
            : { argop: OP.OP_READ, opread: { stateid, offset, count: MIB } },
        ], { slot });
        const r = res.resarray[2];
        const n = r.resop === OP.OP_READ && r.opread.status === nfsstat4.NFS4_OK
          ? r.opread.resok4.data.byteLength
          : r.resop === OP.OP_WRITE && r.opwrite.status === nfsstat4.NFS4_OK
          ? r.opwrite.resok4.count
          : -1;
        if (n !== MIB) throw new Error(`Short ${row.op} at ${offset}: ${n}`);
      }
    };
    await Promise.all(Array.from({ length: row.lanes }, (_, i) => lane(i)));
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, cpu: await cpuSeconds(srv.pid) - cpu0 };
  } finally {
    close();
  }
}

const head = await machineLine();
const servers = [await startNetfs("mem", "")];
for (const root of values.before ?? []) {
  // Named after the checkout's folder: "netfs-memfs-v4hot-before".
  const tag = root.replace(/\/+$/, "").split("/").pop();
  servers.push(await startNetfs("mem", "", { root, tag }));
}
const label = (r: Row) => `seq ${r.op} 1 MiB ×${r.lanes}`;
let out =
  `\n### NFSv4.1 sequential 1 MiB WRITE and READ (netfs MemFs)\n\n${head}. bench/nfs4_io_bench.ts: ${total} MiB written, then read, in 1 MiB WRITEs (UNSTABLE) or READs under an open stateid (SEQUENCE, PUTFH, WRITE or READ) on one NFSv4.1 session over loopback, 1 or 4 in flight; ${reps} repetitions, servers interleaved; median (min–max). Server CPU: user + system seconds per GiB moved.\n\n| row | server | MiB/s | server CPU s/GiB |\n|---|---|---:|---:|\n`;
try {
  const passes = new Map<string, Pass[]>();
  for (let i = 0; i < reps; i++) {
    for (const row of ROWS) {
      const order = i % 2 ? [...servers].reverse() : servers;
      for (const srv of order) {
        const key = `${label(row)}|${srv.name}`;
        const p = await pass(srv, row);
        passes.set(key, [...passes.get(key) ?? [], p]);
      }
    }
  }
  for (const row of ROWS) {
    for (const srv of servers) {
      const ps = passes.get(`${label(row)}|${srv.name}`)!;
      const line = `| ${label(row)} | ${srv.name} | ${
        fmtSpread(ps.map((p) => total / p.seconds))
      } | ${spread(ps.map((p) => p.cpu / (total / 1024))).median.toFixed(2)} |`;
      console.log(line);
      out += line + "\n";
    }
  }
} finally {
  for (const srv of servers) await srv.stop();
}
console.log(out);
if (values.record) {
  const here = new URL(".", import.meta.url).pathname;
  await Deno.writeTextFile(`${here}RESULTS.md`, out, { append: true });
}
