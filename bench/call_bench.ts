// The server's JavaScript per NFSv3 call, in one process and without a
// socket: each call's arguments are decoded, run against a MemFs and the
// reply encoded as the RPC dispatcher does, with the duplicate-request
// cache's id, begin and finish for the procedures it caches (CREATE,
// REMOVE). What a call costs the server above the socket, measured apart
// from the machine's network noise: CPU µs per call, the best of `--rounds`.
//
//   deno run --allow-read --allow-env bench/call_bench.ts [--count N] [--rounds R]
//     [--entries E] [--only REGEXP] [--bytes]
//
// --bytes: JS heap bytes allocated per call (V8's total_allocated_bytes,
// garbage included, the bench's own share too: encoding the arguments,
// decoding the reply) instead of CPU µs, the least of the rounds. Unlike
// the CPU time it does not depend on the machine's load. An ArrayBuffer's
// backing store is not on the JS heap: only its object counts.
//
// Each round: CREATE UNCHECKED of N new names, LOOKUP of each, LOOKUP of N
// names that do not exist, GETATTR and ACCESS of each file, REMOVE of
// each, then CREATE GUARDED of N new names and their REMOVE, in one
// directory of N entries at most; then N random 4 KiB READs, UNSTABLE
// WRITEs and FILE_SYNC WRITEs within a 1 MiB file, and READDIRPLUS of a
// directory of `--entries` files from start to end (µs per entry, with
// libnfs's dircount and maxcount, 8 KiB: about 54 entries a call).
import { cpuUsage } from "node:process";
import v8 from "node:v8";
import { parseArgs } from "node:util";
import * as P from "../proto/nfs3.ts";
import { Nfs3Proc } from "../proto/nfs3.ts";
import type { CallContext, Procedure, RpcProgram } from "../rpc/program.ts";
import { type DrcKey, DuplicateRequestCache } from "../rpc/drc.ts";
import { XdrReader, XdrWriter } from "../rpc/xdr.ts";
import { ExportTable } from "../server/exports.ts";
import { mountProgram } from "../server/mount.ts";
import { nfs3Program } from "../server/nfs3/program.ts";
import { MemFs } from "../vfs/memfs.ts";
import { RecordPool } from "../rpc/record.ts";
import { bigDirectory, readdirplusAll } from "./_bench_util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    count: { type: "string", default: "20000" },
    rounds: { type: "string", default: "5" },
    entries: { type: "string", default: "10000" },
    // A regular expression: only the steps it matches run (for profiling
    // one; GETATTR, ACCESS and REMOVE need CREATE UNCHECKED's files).
    only: { type: "string", default: "" },
    bytes: { type: "boolean", default: false },
  },
});
const count = Number(values.count);
const rounds = Number(values.rounds);
const entries = Number(values.entries);
const only = new RegExp(values.only);
/** CPU µs so far, or with --bytes the JS heap bytes allocated so far. */
const meter: () => number = values.bytes
  ? () =>
    (v8.getHeapStatistics() as unknown as { total_allocated_bytes: number })
      .total_allocated_bytes
  : () => {
    const c = cpuUsage();
    return c.user + c.system;
  };

const exports = new ExportTable([{
  path: "/",
  fs: new MemFs(),
  squash: "none",
}]);
const mount = mountProgram({ exports });
const nfs = nfs3Program({ exports, log: () => {} });
const drc = new DuplicateRequestCache();
const remote = { transport: "tcp", hostname: "127.0.0.1", port: 700 } as const;
const call: CallContext = {
  xid: 0,
  program: 100003,
  version: 3,
  procedure: 0,
  auth: {
    flavor: 1,
    sys: { stamp: 0, machineName: "bench", uid: 0, gid: 0, gids: [] },
  },
  remote,
  local: { ...remote, port: 2049 },
  connectionId: 1,
};
// What the server's reply queue copies a cached reply with, as this tree
// has it (a slab arena, or a slice per reply before there was one).
const replies = await import("../rpc/_replies.ts") as Record<string, unknown>;
const Arena = replies.ReplyArena as
  | (new () => { copy(h: Uint8Array, t: null): Uint8Array })
  | undefined;
const arena = Arena === undefined ? undefined : new Arena();
// The cache's own copy (`finishCopy`, where this tree has it) or a slice.
const finish = (key: DrcKey, b: Uint8Array) => {
  const d = drc as unknown as {
    finishCopy?: (k: DrcKey, h: Uint8Array, t: null) => void;
  };
  if (arena === undefined && d.finishCopy !== undefined) {
    d.finishCopy(key, b, null);
  } else drc.finish(key, arena?.copy(b, null) ?? b.slice());
};
const args = new XdrWriter();
const reply = new XdrWriter();
// A record arrives as a view of the receive buffer, which the dispatcher
// copies: into the record pool's storage for a row that borrows its
// arguments (given back once the call is answered), else into an array of
// its own (rpc/_dispatch.ts `#own`).
const pool = new RecordPool();

// The call in progress (calls run one at a time): module state rather than
// a closure per call, so that the bench's own garbage stays small.
let proc: Procedure;
let rec: Uint8Array;
let key: DrcKey | null = null;

/**
 * One call, as the dispatcher makes it: the reply's bytes, or their promise
 * (not an async function: the bench's own frames would weigh on the
 * server's numbers).
 */
function run(
  prog: RpcProgram,
  n: number,
  encode: (w: XdrWriter) => void,
): Uint8Array | Promise<Uint8Array> {
  args.reset();
  encode(args);
  const view = args.bytes();
  proc = prog.procedures[n] as Procedure;
  if (proc.borrowsArgs === true) {
    rec = pool.take(view.byteLength);
    rec.set(view);
  } else rec = view.slice();
  call.xid++;
  call.procedure = n;
  key = null;
  if (proc.cached) {
    key = DuplicateRequestCache.id(remote, {
      xid: call.xid,
      program: call.program,
      version: call.version,
      procedure: n,
      args: rec,
    });
    drc.begin(key, Date.now(), 1);
  }
  const a = proc.decode?.(new XdrReader(rec));
  const r = proc.run(a, call);
  if (!(r instanceof Promise)) return answer(r);
  // As the dispatcher waits: one `then`, with the row's rescue on rejection.
  return r.then(answer, (e) => Promise.resolve(rescue(e)).then(answer));
}

/** The call in progress's failure reply, as the dispatcher asks for it. */
function rescue(e: unknown): unknown {
  if (proc.rescue === undefined) throw e;
  return proc.rescue(e, call);
}

/** Encodes the call in progress's result; the reply's bytes. */
function answer(res: unknown): Uint8Array {
  if (proc.borrowsArgs === true) pool.give(rec);
  reply.reset();
  proc.encode?.(reply, res);
  const out = reply.bytes();
  if (key !== null) finish(key, out);
  return out;
}

const mnt = new XdrReader(await run(mount, 1, (w) => w.string("/")));
if (mnt.u32() !== 0) throw new Error("MNT failed");
const root = mnt.opaque(64).slice();

/** A step: its i-th call (the reply's bytes), and what it reads of them. */
type Step = [
  string,
  (i: number) => Uint8Array | Promise<Uint8Array>,
  ((i: number, reply: Uint8Array) => void)?,
];
/** CREATE UNCHECKED's handles, views of one array (made once). */
const handles: Uint8Array[] = [];
const handleBytes = new Uint8Array(count * 64);
const status = (b: Uint8Array) =>
  ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
/** Names, made before they are timed. */
const names = (prefix: string) =>
  Array.from({ length: count }, (_, i) => `${prefix}${i}`);
const creating = (mode: number, prefix: string): Step[1] => {
  const name = names(prefix);
  return (i) =>
    run(nfs, Nfs3Proc.CREATE, (w) =>
      P.encodeCreateArgs(w, {
        dir: root,
        name: name[i],
        mode,
        attrs: { mode: 0o644 },
      }));
};
/** The handle of a CREATE reply (status, then post_op_fh3), kept. */
const keepHandle = (i: number, b: Uint8Array) => {
  if (status(b) !== 0 || status(b.subarray(4)) !== 1) return;
  const n = status(b.subarray(8));
  const at = i * 64;
  handleBytes.set(b.subarray(12, 12 + n), at);
  handles[i] = handleBytes.subarray(at, at + n);
};
const dirOp = (proc: number, prefix: string): Step[1] => {
  const name = names(prefix);
  return (i) =>
    run(nfs, proc, (w) => P.encodeDirOpArgs(w, { dir: root, name: name[i] }));
};
const steps: Step[] = [
  ["CREATE UNCHECKED", creating(P.CreateMode.UNCHECKED, "f"), keepHandle],
  ["LOOKUP found", dirOp(Nfs3Proc.LOOKUP, "f")],
  ["LOOKUP absent", dirOp(Nfs3Proc.LOOKUP, "none")],
  [
    "GETATTR",
    (i) =>
      run(
        nfs,
        Nfs3Proc.GETATTR,
        (w) => P.encodeFhArgs(w, { object: handles[i] }),
      ),
  ],
  [
    "ACCESS",
    (i) =>
      run(
        nfs,
        Nfs3Proc.ACCESS,
        (w) => P.encodeAccessArgs(w, { object: handles[i], access: 0x3f }),
      ),
  ],
  ["REMOVE", dirOp(Nfs3Proc.REMOVE, "f")],
  ["CREATE GUARDED", creating(P.CreateMode.GUARDED, "g")],
  ["REMOVE (guarded's)", dirOp(Nfs3Proc.REMOVE, "g")],
];

// The data file, 1 MiB, and the directory READDIRPLUS lists.
const made = async (
  dir: Uint8Array,
  name: string,
  mode = P.CreateMode.UNCHECKED,
) => {
  const b = await run(
    nfs,
    Nfs3Proc.CREATE,
    (w) => P.encodeCreateArgs(w, { dir, name, mode, attrs: { mode: 0o644 } }),
  );
  return P.decodeCreateRes(new XdrReader(b)).object!.slice();
};
const file = await made(root, "data");
const block = new Uint8Array(4096).fill(7);
for (let off = 0; off < 1 << 20; off += 4096) {
  await run(nfs, Nfs3Proc.WRITE, (w) =>
    P.encodeWriteArgs(w, {
      file,
      offset: off,
      count: 4096,
      stable: P.StableHow.UNSTABLE,
      data: block,
    }));
}
const big = await bigDirectory(
  root,
  entries,
  async (proc, args) => new XdrReader(await run(nfs, proc, args)),
);
// The same random offsets every round: 4 KiB aligned within the file.
const offsets = Array.from(
  { length: count },
  (_, i) => ((i * 2654435761) % 256) * 4096,
);
const writing = (stable: number): Step[1] => (i) =>
  run(nfs, Nfs3Proc.WRITE, (w) =>
    P.encodeWriteArgs(w, {
      file,
      offset: offsets[i],
      count: 4096,
      stable,
      data: block,
    }));
steps.push(
  [
    "READ 4 KiB",
    (i) =>
      run(
        nfs,
        Nfs3Proc.READ,
        (w) => P.encodeReadArgs(w, { file, offset: offsets[i], count: 4096 }),
      ),
  ],
  ["WRITE 4 KiB UNSTABLE", writing(P.StableHow.UNSTABLE)],
  ["WRITE 4 KiB FILE_SYNC", writing(P.StableHow.FILE_SYNC)],
);
/**
 * Lists `big` from start to end; the entries seen. The CPU time of the
 * server's calls alone (not the client's decoding of the replies) is
 * added to `cpu.us`.
 */
function listAll(cpu: { us: number }): Promise<number> {
  return readdirplusAll(big, async (args) => {
    const m0 = meter();
    const b = await run(nfs, Nfs3Proc.READDIRPLUS, args);
    cpu.us += meter() - m0;
    return new XdrReader(b);
  });
}
const want: Record<string, number> = { "LOOKUP absent": P.Nfs3Status.NOENT };
// CPU time (user + system, every thread of the process: the garbage
// collector's too) rather than the clock, so that time spent descheduled on
// a busy machine does not count.
const best = new Map<string, number>();
// The CREATE whose files each REMOVE step removes.
const undoes: Record<string, string> = {
  "REMOVE": "CREATE UNCHECKED",
  "REMOVE (guarded's)": "CREATE GUARDED",
};
for (let round = 0; round < rounds; round++) {
  const ran = new Set<string>();
  for (const [name, step, after] of steps) {
    if (!only.test(name)) {
      // A REMOVE left out still runs, untimed, after the CREATE it undoes,
      // so that the next round's CREATEs find the directory as the full
      // run does (CREATE GUARDED would otherwise meet its own names: EXIST).
      if (ran.has(undoes[name])) {
        for (let i = 0; i < count; i++) await step(i);
      }
      continue;
    }
    ran.add(name);
    const m0 = meter();
    for (let i = 0; i < count; i++) {
      const b = await step(i);
      after?.(i, b);
      const s = status(b);
      if (s !== (want[name] ?? 0)) throw new Error(`${name} ${i}: status ${s}`);
    }
    const us = (meter() - m0) / count;
    best.set(name, Math.min(best.get(name) ?? Infinity, us));
  }
  if (!only.test("READDIRPLUS per entry")) continue;
  // READDIRPLUS per entry: whole listings, at least `count` entries.
  const cpu = { us: 0 };
  let seen = 0;
  while (seen < count) seen += await listAll(cpu);
  const us = cpu.us / seen;
  const name = "READDIRPLUS per entry";
  best.set(name, Math.min(best.get(name) ?? Infinity, us));
}
console.log(
  JSON.stringify(
    Object.fromEntries([...best].map(([k, v]) => [k, Number(v.toFixed(2))])),
  ),
);
