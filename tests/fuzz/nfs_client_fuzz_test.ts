// A fuzzing peer for the NFS client: a tiny RPC server that answers MOUNT
// and NFSv3 calls with truncated, oversized, mismatched, self-contradicting
// and randomly mutated replies. Whatever it sends, each call must settle
// with a value or a clear protocol, RPC or NFS error, within its timeout,
// never with a TypeError or RangeError, a hang, or memory that grows with a
// length the peer made up. Bounded by count and time; NETFS_FUZZ_SEED
// replays a run.
import assert from "node:assert/strict";
import { ReconnectingRpc } from "../../client/caller.ts";
import { NfsError, NfsProtocolError } from "../../client/errors.ts";
import { Nfs3Client } from "../../client/nfs3.ts";
import { NfsClient } from "../../client/nfs_client.ts";
import { encodeMntRes, MOUNT_PROGRAM } from "../../proto/mount.ts";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc, NFS_PROGRAM } from "../../proto/nfs3.ts";
import { RpcClosedError, RpcError, RpcTimeoutError } from "../../rpc/client.ts";
import {
  AcceptStat,
  type CallHeader,
  decodeCallHeader,
  encodeAcceptedReply,
} from "../../rpc/message.ts";
import { recordMark, RecordReader } from "../../rpc/record.ts";
import {
  type XdrReader,
  XdrReader as Reader,
  XdrWriter,
} from "../../rpc/xdr.ts";
import { fuzzMs, fuzzRecords } from "./_fuzz.ts";

const SEED = Number(Deno.env.get("NETFS_FUZZ_SEED") ?? Date.now() % 2 ** 31);
const CALLS = fuzzRecords(400);
const TIME_LIMIT_MS = fuzzMs(15_000);
const ROOT_FH = new Uint8Array([1, 2, 3, 4]);
const FILE_FH = new Uint8Array([5, 6, 7, 8]);
const T = { sec: 1, nsec: 0 };

function attrs(type: number, size = 0): P.Fattr3 {
  return {
    type,
    mode: 0o755,
    nlink: 1,
    uid: 0,
    gid: 0,
    size,
    used: size,
    rdev: { major: 0, minor: 0 },
    fsid: 1,
    fileid: type === P.Ftype3.DIR ? 1 : 2,
    atime: T,
    mtime: T,
    ctime: T,
  };
}

/** A whole reply record: accepted, SUCCESS, then `body`. */
function reply(xid: number, body: (w: XdrWriter) => void): Uint8Array {
  const w = new XdrWriter({ reserve: 4 });
  encodeAcceptedReply(w, xid, AcceptStat.SUCCESS);
  body(w);
  return w.withHeader(recordMark);
}

/** What the peer does with one call. */
type Answer = Uint8Array | "close" | "silent" | undefined;
type Call = CallHeader & { args: XdrReader };

/**
 * Honest answers for what connecting needs (NULL, MNT, FSINFO) and for
 * GETATTR and LOOKUP: the root is a directory, anything else a file of
 * `fileSize` bytes.
 */
function honest(c: Call, fileSize = 100): Answer {
  if (c.program === MOUNT_PROGRAM) {
    return reply(
      c.xid,
      (w) =>
        c.procedure === 1
          ? encodeMntRes(w, { status: 0, handle: ROOT_FH, flavors: [1] })
          : undefined,
    );
  }
  if (c.program !== NFS_PROGRAM) return undefined;
  switch (c.procedure) {
    case Nfs3Proc.NULL:
      return reply(c.xid, () => {});
    case Nfs3Proc.FSINFO:
      return reply(c.xid, (w) =>
        P.encodeFsinfoRes(w, {
          status: 0,
          rtmax: 65536,
          rtpref: 65536,
          wtmax: 65536,
          wtpref: 65536,
          dtpref: 8192,
          maxfilesize: 2 ** 40,
        }));
    case Nfs3Proc.GETATTR: {
      const fh = P.decodeFhArgs(c.args).object;
      const isRoot = fh.every((b, i) => b === ROOT_FH[i]);
      return reply(c.xid, (w) =>
        P.encodeGetattrRes(w, {
          status: 0,
          attrs: isRoot ? attrs(P.Ftype3.DIR) : attrs(P.Ftype3.REG, fileSize),
        }));
    }
    case Nfs3Proc.LOOKUP:
      return reply(c.xid, (w) =>
        P.encodeLookupRes(w, {
          status: 0,
          object: FILE_FH,
          objAttrs: attrs(P.Ftype3.REG, fileSize),
        }));
  }
  return undefined;
}

interface Peer {
  port: number;
  /** Calls seen, by procedure number (NFS) or 100+procedure (MOUNT). */
  seen: number[];
  close(): Promise<void>;
}

/** The peer: `answer` first, then `honest`; anything else is ignored. */
function peer(answer: (c: Call) => Answer): Peer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const seen: number[] = [];
  const serveConn = async (conn: Deno.Conn) => {
    conns.add(conn);
    try {
      const records = new RecordReader(conn);
      for (let rec = await records.next(); rec; rec = await records.next()) {
        const args = new Reader(rec);
        const c = { ...decodeCallHeader(args), args };
        seen.push(
          c.program === MOUNT_PROGRAM ? 100 + c.procedure : c.procedure,
        );
        const a = answer(c) ?? honest(c);
        if (a === "close") break;
        if (a === "silent" || a === undefined) continue;
        for (let at = 0; at < a.length;) at += await conn.write(a.subarray(at));
      }
    } catch {
      /* the client hung up */
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) void serveConn(conn);
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    seen,
    async close() {
      listener.close();
      for (const c of conns) c.close();
      await accepting.catch(() => {});
      // Let the connection loops see their closed sockets.
      await new Promise((r) => setTimeout(r, 10));
    },
  };
}

async function withRaw(
  answer: (c: Call) => Answer,
  body: (nfs: Nfs3Client, p: Peer) => Promise<void>,
): Promise<void> {
  const p = peer(answer);
  const rpc = await ReconnectingRpc.connect({
    hostname: "127.0.0.1",
    port: p.port,
    timeoutMs: 2000,
    retries: 1,
    retryDelayMs: 10,
  });
  const nfs = new Nfs3Client(rpc);
  try {
    await body(nfs, p);
  } finally {
    nfs.close();
    await rpc.closed;
    await p.close();
  }
}

async function withClient(
  answer: (c: Call) => Answer,
  body: (nfs: NfsClient, p: Peer) => Promise<void>,
): Promise<void> {
  const p = peer(answer);
  const nfs = await NfsClient.connect(`nfs://127.0.0.1:${p.port}/`, {
    timeoutMs: 2000,
    retries: 1,
  });
  try {
    await body(nfs, p);
  } finally {
    await nfs.close();
    await p.close();
  }
}

const isNfs = (c: Call, proc: number) =>
  c.program === NFS_PROGRAM && c.procedure === proc;

/** Answers NFS procedure `proc` with results `body` writes; others honestly. */
function on(proc: number, body: (w: XdrWriter) => void): (c: Call) => Answer {
  return (c) => isNfs(c, proc) ? reply(c.xid, body) : undefined;
}

Deno.test("nfs fuzz: a truncated GETATTR reply is a protocol error naming GETATTR", async () => {
  await withRaw(
    // A fattr3 cut short after three fields.
    on(Nfs3Proc.GETATTR, (w) => w.u32(0).u32(1).u32(0o644)),
    async (nfs) => {
      await assert.rejects(
        nfs.getattr(ROOT_FH),
        (e) =>
          e instanceof NfsProtocolError && e.procedure === "GETATTR" &&
          e.message.startsWith("Malformed GETATTR reply: "),
      );
    },
  );
});

Deno.test("nfs fuzz: an oversized record mark fails fast without allocating it", async () => {
  await withRaw(
    (c) =>
      isNfs(c, Nfs3Proc.GETATTR)
        ? new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])
        : undefined,
    async (nfs) => {
      const t0 = performance.now();
      await assert.rejects(
        nfs.getattr(ROOT_FH),
        (e) =>
          e instanceof RpcClosedError &&
          /^Server went away: 127\.0\.0\.1:\d+ after 2 tries: .*Record too large/
            .test(e.message),
      );
      assert.ok(performance.now() - t0 < 1500, "no waiting for 2 GiB");
    },
  );
});

Deno.test("nfs fuzz: a READ whose data length is absurd is a protocol error", async () => {
  await withRaw(
    on(
      Nfs3Proc.READ,
      (w) => w.u32(0).u32(0).u32(16).bool(true).u32(0x7ffffff0),
    ),
    async (nfs) => {
      await assert.rejects(
        nfs.read({ file: FILE_FH, offset: 0, count: 16 }),
        (e) => e instanceof NfsProtocolError && e.procedure === "READ",
      );
    },
  );
});

Deno.test("nfs fuzz: READ data longer than asked for is refused", async () => {
  await withRaw(
    on(Nfs3Proc.READ, (w) =>
      P.encodeReadRes(w, {
        status: 0,
        eof: true,
        data: new Uint8Array(32),
      })),
    async (nfs) => {
      await assert.rejects(
        nfs.read({ file: FILE_FH, offset: 0, count: 16 }),
        (e) =>
          e instanceof NfsProtocolError &&
          e.message === "Malformed READ reply: 32 bytes returned, 16 asked for",
      );
    },
  );
});

Deno.test("nfs fuzz: a reply with another xid is ignored and the call times out", async () => {
  await withRaw(
    (c) =>
      isNfs(c, Nfs3Proc.GETATTR)
        ? reply(
          (c.xid + 1) >>> 0,
          (w) => P.encodeGetattrRes(w, { status: 0, attrs: attrs(2) }),
        )
        : undefined,
    async (nfs) => {
      await assert.rejects(
        nfs.getattr(ROOT_FH, { timeoutMs: 150 }),
        (e) => e instanceof RpcTimeoutError && /after 150 ms/.test(e.message),
      );
    },
  );
});

Deno.test("nfs fuzz: a CREATE cut off by a closed connection is not sent twice", async () => {
  await withRaw(
    (c) => isNfs(c, Nfs3Proc.CREATE) ? "close" : undefined,
    async (nfs, p) => {
      await assert.rejects(
        nfs.create({ dir: ROOT_FH, name: "x", mode: 0, attrs: {} }),
        (e) =>
          e instanceof RpcClosedError &&
          /not resent as it may have run/.test(e.message),
      );
      assert.equal(
        p.seen.filter((n) => n === Nfs3Proc.CREATE).length,
        1,
        "one CREATE on the wire",
      );
    },
  );
});

Deno.test("nfs fuzz: a listing that repeats a cookie ends with a protocol error", async () => {
  await withClient(
    on(Nfs3Proc.READDIRPLUS, (w) =>
      P.encodeReaddirplusRes(w, {
        status: 0,
        cookieverf: new Uint8Array(8),
        entries: [{ fileid: 9, name: "same", cookie: 7n }],
        eof: false,
      })),
    async (nfs) => {
      let count = 0;
      await assert.rejects(
        (async () => {
          for await (const _ of nfs.readDir("/")) count++;
        })(),
        (e) =>
          e instanceof NfsProtocolError &&
          /cookie 7 repeated in the listing of \//.test(e.message),
      );
      assert.equal(count, 1, "the first page was delivered");
    },
  );
});

Deno.test("nfs fuzz: an empty page that is not the last ends the listing", async () => {
  await withClient(
    on(Nfs3Proc.READDIRPLUS, (w) =>
      P.encodeReaddirplusRes(w, {
        status: 0,
        cookieverf: new Uint8Array(8),
        entries: [],
        eof: false,
      })),
    async (nfs) => {
      await assert.rejects(
        (async () => {
          for await (const _ of nfs.readDir("/")) { /* nothing */ }
        })(),
        (e) =>
          e instanceof NfsProtocolError &&
          /no entries and no end/.test(e.message),
      );
    },
  );
});

Deno.test("nfs fuzz: READ with no data and no end of file does not loop", async () => {
  await withClient(
    on(Nfs3Proc.READ, (w) =>
      P.encodeReadRes(w, {
        status: 0,
        eof: false,
        data: new Uint8Array(0),
      })),
    async (nfs) => {
      await assert.rejects(
        nfs.readFile("/f"),
        (e) =>
          e instanceof NfsProtocolError &&
          /no data and no end of file at offset 0 of \/f/.test(e.message),
      );
    },
  );
});

Deno.test("nfs fuzz: a file claiming 4 PiB is read by what arrives, not by the claim", async () => {
  await withClient(
    (c) => {
      if (isNfs(c, Nfs3Proc.GETATTR) || isNfs(c, Nfs3Proc.LOOKUP)) {
        return honest(c, 2 ** 52);
      }
      return isNfs(c, Nfs3Proc.READ)
        ? reply(
          c.xid,
          (w) =>
            P.encodeReadRes(w, {
              status: 0,
              eof: true,
              data: new Uint8Array(10),
            }),
        )
        : undefined;
    },
    async (nfs) => {
      assert.equal((await nfs.stat("/f")).size, 2 ** 52);
      assert.equal((await nfs.readFile("/f")).byteLength, 10);
    },
  );
});

Deno.test("nfs fuzz: a WRITE that stores nothing does not loop", async () => {
  await withClient(
    (c) => {
      if (isNfs(c, Nfs3Proc.SETATTR)) {
        return reply(c.xid, (w) => P.encodeWccRes(w, { status: 0 }));
      }
      return isNfs(c, Nfs3Proc.WRITE)
        ? reply(c.xid, (w) =>
          P.encodeWriteRes(w, {
            status: 0,
            count: 0,
            committed: 0,
            verf: new Uint8Array(8),
          }))
        : undefined;
    },
    async (nfs) => {
      await assert.rejects(
        nfs.writeFile("/f", new Uint8Array(10)),
        (e) =>
          e instanceof NfsProtocolError && /nothing written/.test(e.message),
      );
    },
  );
});

/** mulberry32, as in rpc_fuzz_test.ts. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("nfs fuzz: mutated replies settle every call with a clear error or a value", async () => {
  const rand = rng(SEED);
  const int = (n: number) => Math.floor(rand() * n);
  // Valid replies for each procedure the loop calls, then mutated.
  const good = (c: Call): Uint8Array | undefined => {
    const x = c.xid;
    switch (c.procedure) {
      case Nfs3Proc.READ:
        return reply(x, (w) =>
          P.encodeReadRes(w, {
            status: 0,
            attrs: attrs(1, 64),
            eof: true,
            data: new Uint8Array(int(65)),
          }));
      case Nfs3Proc.READDIRPLUS:
        return reply(x, (w) =>
          P.encodeReaddirplusRes(w, {
            status: 0,
            dirAttrs: attrs(2),
            cookieverf: new Uint8Array(8),
            entries: [
              {
                fileid: 3,
                name: "a",
                cookie: 1n,
                attrs: attrs(1),
                handle: FILE_FH,
              },
              { fileid: 4, name: "b", cookie: 2n },
            ],
            eof: true,
          }));
      case Nfs3Proc.WRITE:
        return reply(x, (w) =>
          P.encodeWriteRes(w, {
            status: 0,
            count: 8,
            committed: 2,
            verf: new Uint8Array(8),
          }));
      default:
        return honest(c) as Uint8Array | undefined;
    }
  };
  const mutate = (rec: Uint8Array): Answer => {
    const body = rec.slice(4);
    switch (int(5)) {
      case 0: { // truncate the body
        const n = 24 + int(Math.max(1, body.length - 24));
        const w = new XdrWriter({ reserve: 4 });
        w.fixedOpaque(body.subarray(0, n - (n % 4)));
        return w.withHeader(recordMark);
      }
      case 1: { // flip bytes after the RPC header
        for (let k = 0; k < 1 + int(4); k++) {
          const at = 24 + int(Math.max(1, body.length - 24));
          if (at < body.length) body[at] = int(256);
        }
        const w = new XdrWriter({ reserve: 4 });
        w.fixedOpaque(body.subarray(0, body.length & ~3));
        return w.withHeader(recordMark);
      }
      case 2: { // a length word made huge
        const v = new DataView(body.buffer);
        const at = 24 + 4 * int(Math.max(1, (body.length - 24) >> 2));
        if (at + 4 <= body.length) v.setUint32(at, 0x7fffff00 + int(256));
        const w = new XdrWriter({ reserve: 4 });
        w.fixedOpaque(body);
        return w.withHeader(recordMark);
      }
      case 3:
        return int(2) === 0 ? "close" : rec; // the connection drops, or fine
      default:
        return rec;
    }
  };
  const procs = [
    Nfs3Proc.READ,
    Nfs3Proc.READDIRPLUS,
    Nfs3Proc.WRITE,
    Nfs3Proc.GETATTR,
    Nfs3Proc.LOOKUP,
  ];
  let fuzzing = false;
  const p = peer((c) => {
    if (!fuzzing || c.program !== NFS_PROGRAM) return undefined;
    const g = good(c);
    return g && mutate(g);
  });
  const rpc = await ReconnectingRpc.connect({
    hostname: "127.0.0.1",
    port: p.port,
    timeoutMs: 1000,
    retries: 1,
    retryDelayMs: 1,
  });
  const nfs = new Nfs3Client(rpc);
  fuzzing = true;
  const outcomes = { ok: 0, protocol: 0, rpc: 0, nfs: 0 };
  const end = performance.now() + TIME_LIMIT_MS;
  try {
    for (let i = 0; i < CALLS && performance.now() < end; i++) {
      const proc = procs[int(procs.length)];
      const call = proc === Nfs3Proc.READ
        ? nfs.read({ file: FILE_FH, offset: 0, count: 64 })
        : proc === Nfs3Proc.READDIRPLUS
        ? nfs.readdirplus({
          dir: ROOT_FH,
          cookie: 0n,
          cookieverf: new Uint8Array(8),
          dircount: 1024,
          maxcount: 4096,
        })
        : proc === Nfs3Proc.WRITE
        ? nfs.write({
          file: FILE_FH,
          offset: 0,
          count: 8,
          stable: 2,
          data: new Uint8Array(8),
        })
        : proc === Nfs3Proc.GETATTR
        ? nfs.getattr(ROOT_FH)
        : nfs.lookup({ dir: ROOT_FH, name: "x" });
      try {
        await call;
        outcomes.ok++;
      } catch (e) {
        if (e instanceof NfsProtocolError) outcomes.protocol++;
        else if (e instanceof NfsError) outcomes.nfs++;
        else if (e instanceof RpcError) outcomes.rpc++;
        else {
          assert.fail(
            `seed ${SEED}, call ${i} (procedure ${proc}): unexpected ${e}`,
          );
        }
      }
    }
  } finally {
    nfs.close();
    await rpc.closed;
    await p.close();
  }
  assert.ok(
    outcomes.ok > 0 && outcomes.protocol > 0,
    `seed ${SEED}: ${JSON.stringify(outcomes)}`,
  );
});
