// Fuzzing NFSv4 COMPOUND: mutated requests against a live server over a
// small MemFs, and straight into the COMPOUND decoders. The corpus is valid
// COMPOUNDs made with the generated encoders (filehandle, attribute, data,
// namespace, client ID, session and open/lock operations, minor versions 0
// and 1); mutations flip bits, cut, extend, overwrite words with edge
// values, swap operation numbers and splice operations of different
// requests together. Bounded by count and by time. Set NETFS_FUZZ_SEED to
// replay a run; the seed is printed when a test fails.
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
  AUTH_NONE,
  AUTH_SYS,
  createmode4,
  decode_COMPOUND4res,
  decodeCompoundArgs,
  encode_COMPOUND4args,
  encode_nfs_argop4,
  type nfs_argop4,
  nfs_ftype4,
  nfs_lock_type4,
  nfs_opnum4 as OP,
  open_claim_type4,
  opentype4,
  state_protect_how4,
  type stateid4,
} from "../../proto/nfs4/mod.ts";
import { ExportTable } from "../../server/exports.ts";
import { nfs4Program } from "../../server/nfs4/program.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/types.ts";
import {
  concat,
  fuzzMs,
  fuzzRecords,
  type Rng,
  rng,
  SEED,
  writeAll,
} from "./_fuzz.ts";

const RECORDS = fuzzRecords(100_000);
const TIME_LIMIT_MS = fuzzMs(20_000);

const enc = new TextEncoder();
const name = (s: string) => enc.encode(s);
const ZERO_SID: stateid4 = { seqid: 0, other: new Uint8Array(12) };
const ONES_SID: stateid4 = {
  seqid: 0xffffffff,
  other: new Uint8Array(12).fill(0xff),
};
const SOME_SID: stateid4 = {
  seqid: 1,
  other: new Uint8Array([0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2]),
};
const SESSION = new Uint8Array(16).fill(7);
const VERF = new Uint8Array(8).fill(3);
// type, size, fileid | mode, owner, owner_group, time_modify: a usual ask.
const ATTRS = [(1 << 1) | (1 << 4) | (1 << 20), (1 << 1) | (1 << 4) | (1 << 5)];
const ALL_ATTRS = [0xffffffff, 0xffffffff, 0xffffffff];

/** Operations to build requests from, each valid on its own. */
function operations(): nfs_argop4[] {
  const attrs = { attrmask: [0, 1 << 1], attr_vals: new Uint8Array(4) }; // mode
  const owner = { clientid: 0x1234n, owner: name("owner") };
  return [
    { argop: OP.OP_PUTROOTFH },
    { argop: OP.OP_PUTPUBFH },
    { argop: OP.OP_GETFH },
    { argop: OP.OP_SAVEFH },
    { argop: OP.OP_RESTOREFH },
    { argop: OP.OP_LOOKUPP },
    { argop: OP.OP_LOOKUP, oplookup: { objname: name("file") } },
    { argop: OP.OP_LOOKUP, oplookup: { objname: name("dir") } },
    { argop: OP.OP_LOOKUP, oplookup: { objname: name("data") } },
    { argop: OP.OP_PUTFH, opputfh: { object: new Uint8Array(20).fill(0x4e) } },
    { argop: OP.OP_GETATTR, opgetattr: { attr_request: ATTRS } },
    { argop: OP.OP_GETATTR, opgetattr: { attr_request: ALL_ATTRS } },
    { argop: OP.OP_ACCESS, opaccess: { access: 0x3f } },
    { argop: OP.OP_READLINK },
    {
      argop: OP.OP_READ,
      opread: { stateid: ZERO_SID, offset: 0, count: 4096 },
    },
    {
      argop: OP.OP_READ,
      opread: { stateid: ONES_SID, offset: 100, count: 1 << 20 },
    },
    {
      argop: OP.OP_WRITE,
      opwrite: {
        stateid: ZERO_SID,
        offset: 10,
        stable: 0,
        data: name("fuzzed data"),
      },
    },
    {
      argop: OP.OP_WRITE,
      opwrite: {
        stateid: SOME_SID,
        offset: 4096,
        stable: 2,
        data: new Uint8Array(300),
      },
    },
    { argop: OP.OP_COMMIT, opcommit: { offset: 0, count: 0 } },
    {
      argop: OP.OP_READDIR,
      opreaddir: {
        cookie: 0n,
        cookieverf: new Uint8Array(8),
        dircount: 4096,
        maxcount: 8192,
        attr_request: ATTRS,
      },
    },
    {
      argop: OP.OP_SETATTR,
      opsetattr: { stateid: ZERO_SID, obj_attributes: attrs },
    },
    {
      argop: OP.OP_CREATE,
      opcreate: {
        objtype: { type: nfs_ftype4.NF4DIR },
        objname: name("newdir"),
        createattrs: attrs,
      },
    },
    {
      argop: OP.OP_CREATE,
      opcreate: {
        objtype: { type: nfs_ftype4.NF4LNK, linkdata: name("target") },
        objname: name("link"),
        createattrs: { attrmask: [], attr_vals: new Uint8Array() },
      },
    },
    { argop: OP.OP_REMOVE, opremove: { target: name("newdir") } },
    {
      argop: OP.OP_RENAME,
      oprename: { oldname: name("file"), newname: name("renamed") },
    },
    { argop: OP.OP_LINK, oplink: { newname: name("hard") } },
    {
      argop: OP.OP_SETCLIENTID,
      opsetclientid: {
        client: { verifier: VERF, id: name("fuzz-client") },
        callback: {
          cb_program: 0x40000000,
          cb_location: { na_r_netid: "tcp", na_r_addr: "127.0.0.1.8.1" },
        },
        callback_ident: 1,
      },
    },
    {
      argop: OP.OP_SETCLIENTID_CONFIRM,
      opsetclientid_confirm: { clientid: 0x1234n, setclientid_confirm: VERF },
    },
    { argop: OP.OP_RENEW, oprenew: { clientid: 0x1234n } },
    {
      argop: OP.OP_OPEN,
      opopen: {
        seqid: 1,
        share_access: 3,
        share_deny: 0,
        owner,
        openhow: {
          opentype: opentype4.OPEN4_CREATE,
          how: { mode: createmode4.UNCHECKED4, createattrs: attrs },
        },
        claim: { claim: open_claim_type4.CLAIM_NULL, file: name("new") },
      },
    },
    {
      argop: OP.OP_OPEN,
      opopen: {
        seqid: 2,
        share_access: 1,
        share_deny: 0,
        owner,
        openhow: { opentype: opentype4.OPEN4_NOCREATE },
        claim: { claim: open_claim_type4.CLAIM_NULL, file: name("file") },
      },
    },
    {
      argop: OP.OP_OPEN_CONFIRM,
      opopen_confirm: { open_stateid: SOME_SID, seqid: 2 },
    },
    {
      argop: OP.OP_OPEN_DOWNGRADE,
      opopen_downgrade: {
        open_stateid: SOME_SID,
        seqid: 3,
        share_access: 1,
        share_deny: 0,
      },
    },
    { argop: OP.OP_CLOSE, opclose: { seqid: 4, open_stateid: SOME_SID } },
    {
      argop: OP.OP_LOCK,
      oplock: {
        locktype: nfs_lock_type4.WRITE_LT,
        reclaim: false,
        offset: 0n,
        length: 0xffffffffffffffffn,
        locker: {
          new_lock_owner: true,
          open_owner: {
            open_seqid: 3,
            open_stateid: SOME_SID,
            lock_seqid: 0,
            lock_owner: owner,
          },
        },
      },
    },
    {
      argop: OP.OP_LOCKT,
      oplockt: {
        locktype: nfs_lock_type4.READ_LT,
        offset: 10n,
        length: 10n,
        owner,
      },
    },
    {
      argop: OP.OP_LOCKU,
      oplocku: {
        locktype: nfs_lock_type4.WRITE_LT,
        seqid: 1,
        lock_stateid: SOME_SID,
        offset: 0n,
        length: 1n,
      },
    },
    {
      argop: OP.OP_RELEASE_LOCKOWNER,
      oprelease_lockowner: { lock_owner: owner },
    },
    {
      argop: OP.OP_EXCHANGE_ID,
      opexchange_id: {
        eia_clientowner: { co_verifier: VERF, co_ownerid: name("fuzz-41") },
        eia_flags: 0,
        eia_state_protect: { spa_how: state_protect_how4.SP4_NONE },
        eia_client_impl_id: [],
      },
    },
    {
      argop: OP.OP_CREATE_SESSION,
      opcreate_session: {
        csa_clientid: 0x1234n,
        csa_sequence: 1,
        csa_flags: 0,
        csa_fore_chan_attrs: {
          ca_headerpadsize: 0,
          ca_maxrequestsize: 1 << 20,
          ca_maxresponsesize: 1 << 20,
          ca_maxresponsesize_cached: 4096,
          ca_maxoperations: 16,
          ca_maxrequests: 8,
          ca_rdma_ird: [],
        },
        csa_back_chan_attrs: {
          ca_headerpadsize: 0,
          ca_maxrequestsize: 4096,
          ca_maxresponsesize: 4096,
          ca_maxresponsesize_cached: 0,
          ca_maxoperations: 2,
          ca_maxrequests: 1,
          ca_rdma_ird: [],
        },
        csa_cb_program: 0x40000000,
        csa_sec_parms: [
          { cb_secflavor: AUTH_NONE },
          {
            cb_secflavor: AUTH_SYS,
            cbsp_sys_cred: {
              stamp: 1,
              machinename: "fuzz",
              uid: 0,
              gid: 0,
              gids: [],
            },
          },
        ],
      },
    },
    {
      argop: OP.OP_SEQUENCE,
      opsequence: {
        sa_sessionid: SESSION,
        sa_sequenceid: 1,
        sa_slotid: 0,
        sa_highest_slotid: 0,
        sa_cachethis: true,
      },
    },
    {
      argop: OP.OP_RECLAIM_COMPLETE,
      opreclaim_complete: { rca_one_fs: false },
    },
    {
      argop: OP.OP_DESTROY_SESSION,
      opdestroy_session: { dsa_sessionid: SESSION },
    },
    {
      argop: OP.OP_DESTROY_CLIENTID,
      opdestroy_clientid: { dca_clientid: 0x1234n },
    },
    {
      argop: OP.OP_TEST_STATEID,
      optest_stateid: { ts_stateids: [SOME_SID, ZERO_SID] },
    },
    { argop: OP.OP_FREE_STATEID, opfree_stateid: { fsa_stateid: SOME_SID } },
    { argop: OP.OP_SECINFO_NO_NAME, opsecinfo_no_name: 0 },
    { argop: OP.OP_SECINFO, opsecinfo: { name: name("file") } },
  ];
}

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
  const all = operations();
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
  }
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
  58, // one past the last 4.1 operation
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
          r.next() < 0.6 ? 3 + r.int(56) : EXTREMES[r.int(EXTREMES.length)],
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
  const d = await fs.mkdir(ROOT, fs.root, "dir");
  for (let i = 0; i < 40; i++) await fs.create(ROOT, d.fileid, `entry-${i}`);
  await fs.symlink(ROOT, fs.root, "link", "file");
  return fs;
}

/** Resolves with `p`, or fails after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Hang: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

Deno.test({
  name:
    `fuzz nfs4: ${RECORDS} mutated COMPOUNDs to a live server (seed ${SEED})`,
  async fn() {
    const r = rng(SEED);
    const seeds = corpus();
    const fs = await seeded();
    const exports = new ExportTable([
      { path: "/", fs, squash: "none" },
      { path: "/data", fs, squash: "none" },
    ]);
    const faults: string[] = [];
    const rpcLines: string[] = [];
    const server = serveRpc({
      port: 0,
      log: (m) => void rpcLines.push(m),
      maxRecordSize: (1 << 20) + 65536,
      programs: [
        nfs4Program({ exports, graceTime: 0, log: (m) => void faults.push(m) }),
      ],
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
                  decode_COMPOUND4res(x);
                  assert.equal(x.remaining, 0, "COMPOUND reply has no tail");
                  compounds++;
                }
              }
            } catch (e) {
              if (e instanceof XdrError || e instanceof assert.AssertionError) {
                throw e; // a malformed reply is a bug
              }
            }
          })();
          try {
            for (let batch = 0; batch < 50 && sent < RECORDS; batch++) {
              const parts: Uint8Array[] = [];
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
        `fuzz nfs4: ${sent} requests, ${replies} replies (${compounds} COMPOUND) in ${elapsed} ms; memory +${
          Math.round(grew / 1048576)
        } MiB`,
      );
      assert.deepEqual(
        faults,
        [],
        "no operation failed with an unexpected exception",
      );
      assert.deepEqual(
        rpcLines.filter((l) => /SYSTEM_ERR|Call failed/.test(l)),
        [],
        "no procedure or encoder threw",
      );
      if (elapsed < TIME_LIMIT_MS) assert.ok(sent >= RECORDS);
      assert.ok(
        compounds > sent / 2,
        `most requests were answered with a COMPOUND reply: ${compounds} of ${sent}`,
      );
      assert.ok(grew < 512 << 20, `memory stayed bounded: +${grew} bytes`);
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
      console.error(`fuzz nfs4 seed ${SEED}`);
      throw e;
    } finally {
      await server.shutdown();
    }
  },
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
