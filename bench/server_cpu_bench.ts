// The RPC server's own CPU per NFSv3 call over loopback, socket included:
// the server (MemFs) runs in this process, which reads its CPU time around
// each run, and the client (RpcClient) in a child process, so the client's
// work is not counted. Where bench/call_bench.ts measures the calls' own
// JavaScript, this measures everything the server does per call (the
// record reader, dispatch, reply queue and Deno's socket ops).
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-run --allow-env bench/server_cpu_bench.ts [--count N] [--rounds R] [--only REGEXP]
//
// Steps: 4 KiB WRITE (UNSTABLE) and READ within a 1 MiB file, GETATTR and
// ACCESS, each at 1 and 32 calls in flight on one connection, and
// READDIRPLUS of a directory of 10,000 files with libnfs's 8 KiB pages (µs
// per entry). Prints the best of `--rounds` per step, as JSON.
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import * as P from "../proto/nfs3.ts";
import { Nfs3Proc, NFS_PROGRAM } from "../proto/nfs3.ts";
import { RpcClient } from "../rpc/client.ts";
import type { XdrWriter } from "../rpc/xdr.ts";
import { bigDirectory, readdirplusAll } from "./_bench_util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    count: { type: "string", default: "20000" },
    rounds: { type: "string", default: "3" },
    only: { type: "string", default: "" },
    client: { type: "string" },
  },
});
const count = Number(values.count);
const rounds = Number(values.rounds);
const ENTRIES = 10_000;

interface Step {
  name: string;
  /** Calls in flight. */
  depth: number;
  /** The call to make, or READDIRPLUS listings for "list". */
  proc: number | "list";
}
const steps = ([
  { name: "WRITE 4 KiB x1", depth: 1, proc: Nfs3Proc.WRITE },
  { name: "WRITE 4 KiB x32", depth: 32, proc: Nfs3Proc.WRITE },
  { name: "READ 4 KiB x1", depth: 1, proc: Nfs3Proc.READ },
  { name: "READ 4 KiB x32", depth: 32, proc: Nfs3Proc.READ },
  { name: "GETATTR x1", depth: 1, proc: Nfs3Proc.GETATTR },
  { name: "GETATTR x32", depth: 32, proc: Nfs3Proc.GETATTR },
  { name: "ACCESS x1", depth: 1, proc: Nfs3Proc.ACCESS },
  { name: "READDIRPLUS per entry", depth: 1, proc: "list" },
] as Step[]).filter((s) => new RegExp(values.only).test(s.name));

if (values.client !== undefined) await client(Number(values.client));
else await server();

/** The parent: the server, timed around each step the child runs. */
async function server(): Promise<void> {
  const { serveNfs } = await import("../server/serve.ts");
  const { MemFs } = await import("../vfs/memfs.ts");
  const srv = serveNfs({
    port: 0,
    quiet: true,
    versions: [3],
    exports: [{ path: "/", fs: new MemFs(), squash: "none" }],
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-env",
      new URL(import.meta.url).pathname,
      ...Deno.args,
      "--client",
      String(srv.addr.port),
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  const line = async (): Promise<string> => {
    for (let i = 0; i < 1_000_000 && !pending.includes("\n"); i++) {
      const { value, done } = await lines.read();
      if (done) throw new Error("Client ended early");
      pending += value;
    }
    const at = pending.indexOf("\n");
    const l = pending.slice(0, at);
    pending = pending.slice(at + 1);
    return l;
  };
  const go = child.stdin.getWriter();
  const best = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    for (const step of steps) {
      await line(); // the client is ready
      const c0 = cpuUsage();
      await go.write(new TextEncoder().encode("go\n"));
      const calls = Number(await line()); // done: the units it made
      const c = cpuUsage(c0);
      const us = (c.user + c.system) / calls;
      best.set(step.name, Math.min(best.get(step.name) ?? Infinity, us));
    }
  }
  await go.close();
  await child.status;
  await srv.shutdown();
  console.log(
    JSON.stringify(
      Object.fromEntries([...best].map(([k, v]) => [k, Number(v.toFixed(2))])),
    ),
  );
}

/** The child: makes the calls when the parent says go. */
async function client(port: number): Promise<void> {
  const c = await RpcClient.connect({
    hostname: "127.0.0.1",
    port,
    auth: { stamp: 0, machineName: "bench", uid: 0, gid: 0, gids: [] },
  });
  const call = async (proc: number, args: (w: XdrWriter) => void) => {
    const r = await c.call(NFS_PROGRAM, 3, proc, args);
    const status = r.u32();
    if (status !== 0) throw new Error(`Call ${proc} failed: status ${status}`);
    return r;
  };
  const mnt = await c.call(100005, 3, 1, (w) => w.string("/"));
  if (mnt.u32() !== 0) throw new Error("Mount failed");
  const root = mnt.opaque(64).slice();
  const create = async (dir: Uint8Array, name: string) =>
    P.decodeCreateRes(
      await c.call(NFS_PROGRAM, 3, Nfs3Proc.CREATE, (w) =>
        P.encodeCreateArgs(w, {
          dir,
          name,
          mode: P.CreateMode.UNCHECKED,
          attrs: { mode: 0o644 },
        })),
    ).object!.slice();
  const file = await create(root, "data");
  const block = new Uint8Array(4096).fill(7);
  const offset = (i: number) => ((i * 2654435761) % 256) * 4096;
  const args: Record<number, (w: XdrWriter, i: number) => void> = {
    [Nfs3Proc.WRITE]: (w, i) =>
      P.encodeWriteArgs(w, {
        file,
        offset: offset(i),
        count: 4096,
        stable: P.StableHow.UNSTABLE,
        data: block,
      }),
    [Nfs3Proc.READ]: (w, i) =>
      P.encodeReadArgs(w, { file, offset: offset(i), count: 4096 }),
    [Nfs3Proc.GETATTR]: (w) => P.encodeFhArgs(w, { object: file }),
    [Nfs3Proc.ACCESS]: (w) =>
      P.encodeAccessArgs(w, { object: file, access: 0x3f }),
  };
  // The file's 1 MiB, so that every READ finds 4 KiB.
  for (let at = 0; at < 1 << 20; at += 4096) {
    await call(Nfs3Proc.WRITE, (w) =>
      P.encodeWriteArgs(w, {
        file,
        offset: at,
        count: 4096,
        stable: P.StableHow.UNSTABLE,
        data: block,
      }));
  }
  let big: Uint8Array | undefined;
  if (steps.some((s) => s.proc === "list")) {
    big = await bigDirectory(
      root,
      ENTRIES,
      (proc, args) => c.call(NFS_PROGRAM, 3, proc, args),
    );
  }
  /** Lists `big` whole; the entries. */
  const list = () =>
    readdirplusAll(
      big!,
      (args) => c.call(NFS_PROGRAM, 3, Nfs3Proc.READDIRPLUS, args),
    );
  const input = Deno.stdin.readable.pipeThrough(new TextDecoderStream())
    .getReader();
  const out = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s));
  for (let round = 0; round < rounds; round++) {
    for (const step of steps) {
      out("ready\n");
      await input.read();
      let units = 0;
      if (step.proc === "list") {
        while (units < count) units += await list();
      } else {
        const proc = step.proc;
        let next = 0;
        await Promise.all(
          Array.from({ length: step.depth }, async () => {
            while (next < count) {
              const i = next++;
              const r = await call(proc, (w) => args[proc](w, i));
              if (proc === Nfs3Proc.READ) {
                P.decodePostOpAttr(r);
                const n = r.u32();
                if (n !== 4096) throw new Error(`READ: ${n} bytes`);
              }
            }
          }),
        );
        units = count;
      }
      out(`${units}\n`);
    }
  }
  c.close();
}
