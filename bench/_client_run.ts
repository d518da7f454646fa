// The NfsClient side of bench/client_bench.ts: the operations of
// bench/nfsbench.c (the libnfs side) through netfs's NfsClient, on the same
// paths, printing the same JSON line ({"ops", "bytes", "seconds"}, and
// "cpu": the CPU seconds this process used in the timed part). The time
// leaves out connecting and opening, as nfsbench does, but includes closing
// a written file (its COMMIT), which nfsbench leaves out.
//
//   deno run --allow-net=127.0.0.1 bench/_client_run.ts URL OP [-s MiB] [-n count]
//
//   OP  seqwrite (-s MiB to /nfsbench.dat, 1 MiB writes through the file's
//       writable stream) | seqread (all of /nfsbench.dat through its readable
//       stream) | seqreadinto (the same through read() into one 1 MiB
//       buffer) | create | stat | remove (-n files /nfsbench.d/f000000 ...,
//       one call at a time) | readdir (/nfsbench.d)
import { cpuUsage } from "node:process";
import { NfsClient } from "../client/mod.ts";

const [url, op, ...rest] = Deno.args;
const flag = (name: string, dflt: number) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : dflt;
};
const mib = flag("-s", 256);
const count = flag("-n", 10000);
const name = (i: number) => `/nfsbench.d/f${String(i).padStart(6, "0")}`;

await using nfs = await NfsClient.connect(url, {
  auth: { stamp: 0, machineName: "bench", uid: 0, gid: 0, gids: [] },
});
let ops = 0, bytes = 0, t0 = 0;
let cpu0 = cpuUsage();
const start = () => {
  cpu0 = cpuUsage();
  t0 = performance.now();
};
switch (op) {
  case "seqwrite": {
    const f = await nfs.open("/nfsbench.dat", { write: true, create: true });
    const block = new Uint8Array(1 << 20).map((_, i) => (i * 7 + 1) & 0xff);
    // A chunk of its own per write (a stream may keep what it was given),
    // made before the clock starts, as nfsbench's buffer is.
    const chunks = Array.from({ length: mib }, () => block.slice());
    start();
    await ReadableStream.from(chunks).pipeTo(f.writable);
    ops = mib;
    bytes = mib << 20;
    break;
  }
  case "seqread": {
    const f = await nfs.open("/nfsbench.dat");
    start();
    for await (const chunk of f.readable) {
      bytes += chunk.byteLength;
      ops++;
    }
    break;
  }
  case "seqreadinto": {
    // As nfsbench reads: into one buffer, used again for every read.
    const f = await nfs.open("/nfsbench.dat");
    const buf = new Uint8Array(1 << 20);
    start();
    for (let n = await f.read(buf); n !== null; n = await f.read(buf)) {
      bytes += n;
      ops++;
    }
    break;
  }
  case "create":
    await nfs.mkdir("/nfsbench.d", { recursive: true });
    start();
    for (; ops < count; ops++) {
      const f = await nfs.open(name(ops), { write: true, createNew: true });
      await f.close();
    }
    break;
  case "stat":
    start();
    for (; ops < count; ops++) await nfs.stat(name(ops));
    break;
  case "remove":
    start();
    for (; ops < count; ops++) await nfs.remove(name(ops));
    break;
  case "readdir":
    start();
    for await (const _ of nfs.readDir("/nfsbench.d")) ops++;
    break;
  default:
    throw new Error(`Unknown operation: ${op}`);
}
const seconds = (performance.now() - t0) / 1000;
const used = cpuUsage(cpu0);
const cpu = (used.user + used.system) / 1e6;
if (op === "remove") await nfs.remove("/nfsbench.d");
console.log(JSON.stringify({ op, ops, bytes, seconds, cpu }));
