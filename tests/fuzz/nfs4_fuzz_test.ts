// Fuzzing NFSv4 COMPOUND: mutated requests against a live server over a
// small MemFs, and straight into the COMPOUND decoders. The corpus is valid
// COMPOUNDs made with the generated encoders (filehandle, attribute, data,
// namespace, client ID, session and open/lock operations, and 4.2's sparse
// file, copy and xattr operations from ./_nfs4_42.ts; minor versions 0, 1
// and 2); mutations flip bits, cut, extend, overwrite words with edge
// values, swap operation numbers and splice operations of different
// requests together. A second live server steers every SEQUENCE onto a
// real session (./_nfs4_42.ts), so that mutated 4.1 and 4.2 operations run
// instead of stopping at SEQUENCE. Bounded by count and by time. Set
// NETFS_FUZZ_SEED to replay a run; the seed is printed when a test fails.
//
// Failing means: a SERVERFAULT the server logged (an exception that was not
// an Nfs4Error or VfsError), an RPC-level SYSTEM_ERR, a reply that does not
// decode, a connection that stops answering, unbounded memory, or a server
// that no longer answers NULL and a plain COMPOUND afterwards.
import assert from "node:assert/strict";
import { authSysCredential } from "../../rpc/auth.ts";
import { RpcClient } from "../../rpc/client.ts";
import { decodeReplyHeader, encodeCallHeader } from "../../rpc/message.ts";
import { fragmentRecord, RecordReader } from "../../rpc/record.ts";
import { serveRpc } from "../../rpc/server.ts";
import { XdrError, XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import {
  decode_COMPOUND4res,
  decodeCompoundArgs,
  encode_COMPOUND4args,
  encode_nfs_argop4,
  type nfs_argop4,
  nfs_opnum4 as OP,
} from "../../proto/nfs4/mod.ts";
import type { RpcProgram } from "../../rpc/program.ts";
import { ExportTable } from "../../server/exports.ts";
import { nfs4Program } from "../../server/nfs4/program.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/types.ts";
import {
  concat,
  endedStream,
  fuzzMs,
  fuzzRecords,
  LineSink,
  type Rng,
  rng,
  SEED,
  writeAll,
} from "./_fuzz.ts";
import { operations42, steeredProgram } from "./_nfs4_42.ts";
import { operations } from "./_nfs4_ops.ts";
import { within } from "../_within.ts";

const RECORDS = fuzzRecords(100_000);
const TIME_LIMIT_MS = fuzzMs(20_000);

const enc = new TextEncoder();
const name = (s: string) => enc.encode(s);

/** A request to mutate: the RPC call and where its COMPOUND's parts lie. */
interface Seed {
  bytes: Uint8Array;
  /** Where the COMPOUND arguments start (after the RPC header). */
  body: number;
  /** Where the minor version and the operation count are. */
  minorAt: number;
  countAt: number;
  /** Each operation's [start, end). */
  ops: [number, number][];
}

const SYS = authSysCredential({
  stamp: 1,
  machineName: "fuzz.example",
  uid: 0,
  gid: 0,
  gids: [],
});

function seed(ops: nfs_argop4[], minor: number, xid: number): Seed {
  const w = new XdrWriter();
  encodeCallHeader(w, {
    xid,
    program: 100003,
    version: 4,
    procedure: 1,
    cred: SYS,
  });
  const body = w.offset;
  w.opaque(name(xid % 3 === 0 ? "fuzz tag" : ""));
  const minorAt = w.offset;
  w.u32(minor);
  const countAt = w.offset;
  w.u32(ops.length);
  const spans: [number, number][] = [];
  for (const op of ops) {
    const start = w.offset;
    encode_nfs_argop4(w, op);
    spans.push([start, w.offset]);
  }
  return { bytes: w.bytes().slice(), body, minorAt, countAt, ops: spans };
}

/** Valid requests: each operation after a path to a file, and workloads. */
function corpus(): Seed[] {
  const all = [...operations(), ...operations42()];
  const by = (n: number) => all.find((o) => o.argop === n)!;
  const lookup = (s: string): nfs_argop4 => ({
    argop: OP.OP_LOOKUP,
    oplookup: { objname: name(s) },
  });
  const out: Seed[] = [];
  let xid = 1;
  const sequence = by(OP.OP_SEQUENCE);
  for (const op of all) {
    out.push(seed([by(OP.OP_PUTROOTFH), lookup("file"), op], 0, xid++));
    out.push(
      seed([sequence, by(OP.OP_PUTROOTFH), lookup("dir"), op], 1, xid++),
    );
    out.push(seed([op], 0, xid++));
    out.push(
      seed([sequence, by(OP.OP_PUTROOTFH), lookup("file"), op], 2, xid++),
    );
  }
  // 4.2 workloads: sparse files, copies between files, xattrs.
  out.push(
    seed(
      [
        sequence,
        by(OP.OP_PUTROOTFH),
        lookup("file"),
        by(OP.OP_ALLOCATE),
        by(OP.OP_SEEK),
        by(OP.OP_DEALLOCATE),
        by(OP.OP_READ_PLUS),
        by(OP.OP_IO_ADVISE),
      ],
      2,
      xid++,
    ),
  );
  out.push(
    seed(
      [
        sequence,
        by(OP.OP_PUTROOTFH),
        lookup("file"),
        by(OP.OP_SAVEFH),
        by(OP.OP_PUTROOTFH),
        lookup("copy"),
        by(OP.OP_COPY),
        by(OP.OP_CLONE),
        by(OP.OP_OFFLOAD_STATUS),
        by(OP.OP_READ_PLUS),
      ],
      2,
      xid++,
    ),
  );
  out.push(
    seed(
      [
        sequence,
        by(OP.OP_PUTROOTFH),
        lookup("file"),
        by(OP.OP_SETXATTR),
        by(OP.OP_GETXATTR),
        by(OP.OP_LISTXATTRS),
        by(OP.OP_REMOVEXATTR),
        by(OP.OP_ACCESS),
      ],
      2,
      xid++,
    ),
  );
  const read = by(OP.OP_READ);
  const getattr = by(OP.OP_GETATTR);
  out.push(seed([by(OP.OP_SETCLIENTID)], 0, xid++));
  out.push(seed([by(OP.OP_SETCLIENTID_CONFIRM)], 0, xid++));
  out.push(seed([by(OP.OP_EXCHANGE_ID)], 1, xid++));
  out.push(seed([by(OP.OP_CREATE_SESSION)], 1, xid++));
  out.push(
    seed(
      [
        by(OP.OP_PUTROOTFH),
        lookup("file"),
        by(OP.OP_GETFH),
        getattr,
        read,
        by(OP.OP_WRITE),
        by(OP.OP_COMMIT),
        getattr,
      ],
      0,
      xid++,
    ),
  );
  out.push(
    seed(
      [
        by(OP.OP_PUTROOTFH),
        by(OP.OP_OPEN),
        by(OP.OP_GETFH),
        getattr,
        read,
        by(OP.OP_CLOSE),
      ],
      0,
      xid++,
    ),
  );
  out.push(
    seed(
      [
        by(OP.OP_PUTROOTFH),
        lookup("data"),
        lookup("dir"),
        by(OP.OP_READDIR),
        by(OP.OP_SAVEFH),
        by(OP.OP_LOOKUPP),
        by(OP.OP_RESTOREFH),
        getattr,
      ],
      0,
      xid++,
    ),
  );
  out.push(seed([], 0, xid++));
  out.push(seed([by(OP.OP_PUTROOTFH)], 2, xid++));
  return out;
}

const EXTREMES = [
  0,
  1,
  2,
  3,
  0x7fffffff,
  0x80000000,
  0xffffffff,
  0xfffffffc,
  10044, // OP_ILLEGAL
  58, // the last 4.1 operation
  59, // the first 4.2 operation
  76, // one past the last 4.2 operation
  40, // one past the last 4.0 operation
  256,
  4096,
  1 << 20,
];

function word(b: Uint8Array, at: number, v: number): void {
  if (at + 4 <= b.length) {
    new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0);
  }
}

/** A position in the COMPOUND part mostly, sometimes in the RPC header. */
function position(r: Rng, s: Seed, n: number): number {
  return r.next() < 0.9 && n > s.body ? s.body + r.int(n - s.body) : r.int(n);
}

function mutate(r: Rng, seeds: Seed[]): Uint8Array {
  const s = seeds[r.int(seeds.length)];
  let b = s.bytes.slice();
  switch (r.int(9)) {
    case 0: { // a valid header, random operations
      const out = new Uint8Array(s.countAt + 4 + r.int(200));
      out.set(b.subarray(0, s.countAt));
      out.set(r.bytes(out.length - s.countAt), s.countAt);
      word(out, s.countAt, r.int(8));
      return out;
    }
    case 1: // flip bits
      for (let i = 1 + r.int(8); i > 0; i--) {
        b[position(r, s, b.length)] ^= 1 << r.int(8);
      }
      return b;
    case 2: // truncate
      return b.subarray(0, s.body + r.int(b.length - s.body + 1));
    case 3: { // extend with random bytes
      const out = new Uint8Array(b.length + 1 + r.int(64));
      out.set(b);
      out.set(r.bytes(out.length - b.length), b.length);
      return out;
    }
    case 4: // an operation number: another, an unknown one, an edge
      if (s.ops.length > 0) {
        const [start] = s.ops[r.int(s.ops.length)];
        word(
          b,
          start,
          r.next() < 0.6 ? 3 + r.int(73) : EXTREMES[r.int(EXTREMES.length)],
        );
      }
      return b;
    case 5: // the operation count or the minor version
      word(
        b,
        r.next() < 0.5 ? s.countAt : s.minorAt,
        r.next() < 0.5 ? r.int(4) : EXTREMES[r.int(EXTREMES.length)],
      );
      return b;
    case 6: { // operations of several requests spliced together
      const parts: Uint8Array[] = [];
      const k = 1 + r.int(8);
      for (let i = 0; i < k; i++) {
        const from = seeds[r.int(seeds.length)];
        if (from.ops.length === 0) continue;
        const [a, z] = from.ops[r.int(from.ops.length)];
        parts.push(from.bytes.subarray(a, z));
      }
      const out = concat([b.subarray(0, s.countAt + 4), ...parts]);
      word(out, s.countAt, r.next() < 0.9 ? parts.length : r.int(12));
      return out;
    }
    default: { // aligned words: lengths, counts, discriminants
      const words = (b.length - s.body) >> 2;
      for (let i = 1 + r.int(3); i > 0 && words > 0; i--) {
        const at = s.body + r.int(words) * 4;
        word(
          b,
          at,
          r.next() < 0.7 ? EXTREMES[r.int(EXTREMES.length)] : r.int(2 ** 32),
        );
      }
      b = b.subarray(0, b.length);
      return b;
    }
  }
}

async function seeded(): Promise<MemFs> {
  const fs = new MemFs({
    capacityBytes: 32 << 20,
    capacityFiles: 5000,
    rootMode: 0o777,
  });
  const f = await fs.create(ROOT, fs.root, "file");
  await fs.write(ROOT, f.fileid, 0, new Uint8Array(10000).fill(0x61));
  // Sparse: data, a hole, data.
  const c = await fs.create(ROOT, fs.root, "copy");
  await fs.write(ROOT, c.fileid, 0, new Uint8Array(5000).fill(0x62));
  await fs.write(ROOT, c.fileid, 3 << 20, new Uint8Array(5000).fill(0x63));
  await fs.xattrs.setxattr(ROOT, f.fileid, "user.colour", new Uint8Array(4));
  const d = await fs.mkdir(ROOT, fs.root, "dir");
  for (let i = 0; i < 40; i++) await fs.create(ROOT, d.fileid, `entry-${i}`);
  await fs.symlink(ROOT, fs.root, "link", "file");
  return fs;
}

/**
 * Sends `records` mutated COMPOUNDs (at most `timeLimit` ms' worth) to a
 * live server of `program` over a seeded MemFs, and checks what the
 * failure rules above say.
 */
async function fuzzLive(
  what: string,
  salt: number,
  program: (exports: ExportTable, log: (m: string) => void) => RpcProgram,
  RECORDS: number,
  TIME_LIMIT_MS: number,
  expect42 = false,
): Promise<void> {
  const ran42 = new Set<number>();
  let primed = !expect42;
  const r = rng(SEED ^ salt);
  const seeds = corpus();
  const fs = await seeded();
  const exports = new ExportTable([
    { path: "/", fs, squash: "none" },
    { path: "/data", fs, squash: "none" },
  ]);
  const faults = new LineSink();
  const rpcLines = new LineSink(20, /SYSTEM_ERR|Call failed/);
  const server = serveRpc({
    port: 0,
    log: rpcLines.log,
    maxRecordSize: (1 << 20) + 65536,
    programs: [program(exports, faults.log)],
  });
  const memBefore = Deno.memoryUsage();
  const started = Date.now();
  let sent = 0;
  let replies = 0;
  let compounds = 0;
  const CONNS = 4;
  try {
    await Promise.all(Array.from({ length: CONNS }, async () => {
      while (sent < RECORDS && Date.now() - started < TIME_LIMIT_MS) {
        const conn = await Deno.connect({ port: server.addr.port });
        const reader = new RecordReader(conn, { maxRecordSize: 4 << 20 });
        const drain = (async () => {
          try {
            for (;;) {
              const rec = await reader.next();
              if (rec === null) return;
              const x = new XdrReader(rec);
              const h = decodeReplyHeader(x);
              replies++;
              if (
                h.replyStat === 0 && h.acceptStat === 0 && x.remaining > 0
              ) {
                // A COMPOUND reply (NULL's is empty) must decode whole.
                const res = decode_COMPOUND4res(x);
                for (const op of res.resarray) {
                  if (
                    op.resop >= OP.OP_ALLOCATE && op.resop <= OP.OP_REMOVEXATTR
                  ) {
                    ran42.add(op.resop);
                  }
                }
                assert.equal(x.remaining, 0, "COMPOUND reply has no tail");
                compounds++;
              }
            }
          } catch (e) {
            // A malformed or truncated reply is a bug; a reset is not.
            if (!endedStream(e)) throw e;
          }
        })();
        try {
          for (let batch = 0; batch < 50 && sent < RECORDS; batch++) {
            const parts: Uint8Array[] = [];
            if (!primed) {
              // Every seed once as it is, so that each operation is reached
              // whatever the budget, and only broken steering misses one.
              primed = true;
              for (const s of seeds) parts.push(fragmentRecord(s.bytes));
              sent += seeds.length;
            }
            for (let i = 0; i < 40; i++) {
              parts.push(fragmentRecord(mutate(r, seeds)));
              sent++;
            }
            await writeAll(conn, concat(parts));
            if (Date.now() - started > TIME_LIMIT_MS) break;
          }
        } catch {
          // The server closed a connection it would not read on: allowed.
        } finally {
          try {
            conn.closeWrite();
          } catch { /* already closed */ }
        }
        await within(drain, 10_000, "the server stopped answering");
        try {
          conn.close();
        } catch { /* already closed */ }
      }
    }));
    const elapsed = Date.now() - started;
    const mem = Deno.memoryUsage();
    const grew = (mem.heapUsed + mem.external) -
      (memBefore.heapUsed + memBefore.external);
    console.log(
      `fuzz ${what}: ${sent} requests, ${replies} replies (${compounds} COMPOUND) in ${elapsed} ms; memory +${
        Math.round(grew / 1048576)
      } MiB`,
    );
    assert.deepEqual(
      faults.kept,
      [],
      "no operation failed with an unexpected exception",
    );
    assert.deepEqual(
      rpcLines.kept,
      [],
      "no procedure or encoder threw",
    );
    if (elapsed < TIME_LIMIT_MS) assert.ok(sent >= RECORDS);
    assert.ok(
      compounds > sent / 2,
      `most requests were answered with a COMPOUND reply: ${compounds} of ${sent}`,
    );
    assert.ok(grew < 512 << 20, `memory stayed bounded: +${grew} bytes`);
    if (expect42) {
      const missing = [];
      for (let op = OP.OP_ALLOCATE; op <= OP.OP_REMOVEXATTR; op++) {
        if (!ran42.has(op)) missing.push(op);
      }
      assert.deepEqual(
        missing,
        [],
        `each of the 17 NFSv4.2 operations (${OP.OP_ALLOCATE} to ${OP.OP_REMOVEXATTR}) ran past SEQUENCE; these did not`,
      );
    }
    // The server still answers NULL and a plain COMPOUND.
    const client = await RpcClient.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
    });
    try {
      await client.call(100003, 4, 0, () => {});
      const res = decode_COMPOUND4res(
        await client.call(100003, 4, 1, (w) =>
          encode_COMPOUND4args(w, {
            tag: new Uint8Array(),
            minorversion: 0,
            argarray: [{ argop: OP.OP_PUTROOTFH }, { argop: OP.OP_GETFH }],
          })),
      );
      assert.equal(res.status, 0);
    } finally {
      client.close();
      await client.closed;
    }
  } catch (e) {
    console.error(`fuzz ${what} seed ${SEED}`);
    throw e;
  } finally {
    await server.shutdown();
  }
}

Deno.test({
  name:
    `fuzz nfs4: ${RECORDS} mutated COMPOUNDs to a live server (seed ${SEED})`,
  fn: () =>
    fuzzLive(
      "nfs4",
      0,
      (exports, log) => nfs4Program({ exports, graceTime: 0, log }),
      RECORDS,
      TIME_LIMIT_MS,
    ),
});

Deno.test({
  name: `fuzz nfs4: ${
    RECORDS / 2
  } mutated COMPOUNDs past a steered SEQUENCE, 4.1 and 4.2 operations running (seed ${SEED})`,
  fn: () =>
    fuzzLive(
      "nfs4 steered",
      0x42,
      steeredProgram,
      RECORDS / 2,
      TIME_LIMIT_MS / 2,
      true,
    ),
});

Deno.test({
  name:
    `fuzz nfs4: COMPOUND decoders are total on ${RECORDS} mutated inputs (seed ${SEED})`,
  fn() {
    const r = rng(SEED ^ 0x5bd1e995);
    const seeds = corpus();
    const started = Date.now();
    let n = 0;
    for (; n < RECORDS && Date.now() - started < TIME_LIMIT_MS; n++) {
      const b = mutate(r, seeds);
      const body = b.subarray(Math.min(seeds[0].body, b.length));
      for (const decode of [decodeCompoundArgs, decode_COMPOUND4res]) {
        try {
          decode(new XdrReader(body));
        } catch (e) {
          if (!(e instanceof XdrError)) {
            console.error(`fuzz nfs4 seed ${SEED}, input ${n}`);
            throw e;
          }
        }
      }
    }
    console.log(
      `fuzz nfs4: ${n} inputs through the COMPOUND decoders in ${
        Date.now() - started
      } ms`,
    );
    if (Date.now() - started < TIME_LIMIT_MS) assert.equal(n, RECORDS);
  },
});
