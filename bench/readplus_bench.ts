// NFSv4.2 READ_PLUS against READ of a mostly-hole file, on netfs's MemFs
// and LocalFs (native engine, over a private tmpfs): a 1 GiB file with ten
// 1 MiB data regions read whole, 1 MiB per request, 4 requests in flight
// on a 4.2 session. The Linux 6.1 guest of the kernel suite is built
// without CONFIG_NFS_V4_2_READ_PLUS and never sends READ_PLUS, so this
// client speaks the COMPOUNDs itself (proto/nfs4 codecs, rpc/ RpcClient,
// the session set-up of tests/server/nfs4/_clients.ts) against the server
// in its own process; bytes are the RPC replies' (RPC header included,
// record marks not).
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-env --allow-sys bench/readplus_bench.ts [--reps 3] [--record]
import { parseArgs } from "node:util";
import {
  cpuSeconds,
  fmtRatio,
  fmtSpread,
  machineLine,
  tmpfsDir,
} from "./_bench_util.ts";
import { type NfsServer, startNetfs } from "./_nfs_servers.ts";
import { NfsClient } from "../client/mod.ts";
import { RpcClient } from "../rpc/client.ts";
import {
  decode_COMPOUND4res,
  encode_COMPOUND4args,
  type nfs_argop4,
  nfs_opnum4 as OP,
  nfsstat4,
} from "../proto/nfs4/mod.ts";
import type { Nfs4Harness } from "../tests/server/nfs4/_harness.ts";
import { chanAttrs, session41 } from "../tests/server/nfs4/_clients.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "3" },
    record: { type: "boolean", default: false },
  },
});
const reps = Number(values.reps);
const MIB = 1 << 20;
const SIZE = 1024 * MIB;
const LANES = 4;
const enc = new TextEncoder();

/** Writes the file: ten 1 MiB regions at 0, 100, ... 900 MiB, 1 GiB long. */
async function makeSparse(srv: NfsServer): Promise<void> {
  await using nfs = await NfsClient.connect(`${srv.url(3)}&uid=0&gid=0`, {
    auth: { stamp: 0, machineName: "bench", uid: 0, gid: 0, gids: [] },
  });
  const f = await nfs.open("/sparse", { write: true, create: true });
  const data = new Uint8Array(MIB).map((_, i) => (i * 31 + 7) & 0xff);
  for (let k = 0; k < 10; k++) {
    await f.seek(k * 100 * MIB, Deno.SeekMode.Start);
    for (let n = 0; n < MIB;) n += await f.write(data.subarray(n));
  }
  await f.close();
  await nfs.truncate("/sparse", SIZE);
}

interface Pass {
  seconds: number;
  bytes: number;
  requests: number;
  cpu: number;
}

/** Reads the whole file with `op` (READ or READ_PLUS) over one session. */
async function readAll(
  srv: NfsServer,
  op: "READ" | "READ_PLUS",
): Promise<Pass> {
  const rpc = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: srv.port,
    auth: { stamp: 0, machineName: "bench", uid: 0, gid: 0, gids: [] },
  });
  let bytes = 0;
  const compound = async (argarray: nfs_argop4[], o: { minor?: number }) => {
    const r = await rpc.call(100003, 4, 1, (w) =>
      encode_COMPOUND4args(w, {
        tag: new Uint8Array(0),
        minorversion: o.minor ?? 2,
        argarray,
      }));
    bytes += r.buf.byteLength;
    const res = decode_COMPOUND4res(r);
    if (res.status !== nfsstat4.NFS4_OK) {
      throw new Error(`COMPOUND failed: ${res.status}`);
    }
    return res;
  };
  try {
    const h = { compound } as unknown as Nfs4Harness;
    const s = await session41(h, `bench-${op}-${Math.random()}`, {
      minor: 2,
      fore: {
        ...chanAttrs(LANES),
        ca_maxrequestsize: 2 * MIB,
        ca_maxresponsesize: 2 * MIB,
      },
    });
    const look = await s.call([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_LOOKUP, oplookup: { objname: enc.encode("sparse") } },
      { argop: OP.OP_GETFH },
    ]);
    const gf = look.resarray[3];
    if (
      gf.resop !== OP.OP_GETFH || gf.opgetfh.status !== nfsstat4.NFS4_OK
    ) throw new Error("No GETFH result");
    const fh = gf.opgetfh.resok4.object;
    const anon = { seqid: 0, other: new Uint8Array(12) };
    bytes = 0;
    let next = 0, requests = 0;
    const cpu0 = await cpuSeconds(srv.pid);
    const t0 = performance.now();
    const lane = async (slot: number) => {
      while (next < SIZE) {
        const offset = next;
        next += MIB;
        requests++;
        await s.call([
          { argop: OP.OP_PUTFH, opputfh: { object: fh } },
          op === "READ"
            ? {
              argop: OP.OP_READ,
              opread: { stateid: anon, offset, count: MIB },
            }
            : {
              argop: OP.OP_READ_PLUS,
              opread_plus: {
                rpa_stateid: anon,
                rpa_offset: offset,
                rpa_count: MIB,
              },
            },
        ], { slot });
      }
    };
    await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = await cpuSeconds(srv.pid) - cpu0;
    return { seconds, bytes, requests, cpu };
  } finally {
    rpc.close();
  }
}

const head = await machineLine();
const tmp = await tmpfsDir("netfs-readplus-bench-");
await Deno.mkdir(`${tmp.path}/local`);
const servers = [
  await startNetfs("mem", ""),
  await startNetfs("local", `${tmp.path}/local`, { engine: "native" }),
];
let out =
  `\n### NFSv4.2 READ_PLUS vs READ of a sparse file (netfs)\n\n${head}. bench/readplus_bench.ts: a 1 GiB file with ten 1 MiB data regions (at 0, 100, … 900 MiB), written through NfsClient (NFSv3) and truncated up, read whole in 1 MiB READ or READ_PLUS requests (anonymous stateid), ${LANES} in flight on one NFSv4.2 session over loopback; the client is this benchmark's own COMPOUND loop (the guest kernel has no READ_PLUS, see the kernel table). ${reps} repetitions, READ and READ_PLUS alternating (order swapped each repetition); median (min–max). Bytes: the RPC replies as received (RPC header included). Server CPU: user + system ms per pass.\n\n| server | op | MiB/s (file size ÷ time) | ms | reply MiB | requests | server CPU ms |\n|---|---|---:|---:|---:|---:|---:|\n`;
try {
  for (const srv of servers) {
    await makeSparse(srv);
    const passes: Record<string, Pass[]> = { READ: [], READ_PLUS: [] };
    for (let i = 0; i < reps; i++) {
      const order = i % 2 ? ["READ_PLUS", "READ"] : ["READ", "READ_PLUS"];
      for (const op of order as ("READ" | "READ_PLUS")[]) {
        passes[op].push(await readAll(srv, op));
      }
    }
    const rate = (ps: Pass[]) => ps.map((p) => SIZE / MIB / p.seconds);
    for (const op of ["READ", "READ_PLUS"]) {
      const ps = passes[op];
      const line = `| ${srv.name} | ${op} | ${fmtSpread(rate(ps))} | ${
        fmtSpread(ps.map((p) => p.seconds * 1000))
      } | ${(ps[0].bytes / MIB).toFixed(2)} | ${ps[0].requests} | ${
        fmtSpread(ps.map((p) => p.cpu * 1000))
      } |`;
      console.log(line);
      out += line + "\n";
    }
    const line = `| ${srv.name} | READ_PLUS ÷ READ | ${
      fmtRatio(rate(passes.READ_PLUS), rate(passes.READ))
    } | | ${
      (passes.READ_PLUS[0].bytes / passes.READ[0].bytes).toFixed(4)
    }× | | |`;
    console.log(line);
    out += line + "\n";
  }
} finally {
  for (const srv of servers) await srv.stop();
  await tmp.remove();
}
console.log(out);
if (values.record) {
  const here = new URL(".", import.meta.url).pathname;
  await Deno.writeTextFile(`${here}RESULTS.md`, out, { append: true });
}
