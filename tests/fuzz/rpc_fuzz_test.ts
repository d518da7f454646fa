// Fuzzing the RPC layer: random and mutated records against a live server
// (with the portmapper registered, so its decoders are hit too) and straight
// into the decoders. Bounded by count and by time. Set NETFS_FUZZ_SEED to
// replay a run; the seed is printed when a test fails.
import assert from "node:assert/strict";
import {
  authSysCredential,
  checkCredentials,
  decodeAuthSys,
} from "../../rpc/auth.ts";
import { RpcClient } from "../../rpc/client.ts";
import {
  decodeCallHeader,
  decodeReplyHeader,
  encodeCallHeader,
} from "../../rpc/message.ts";
import { fragmentRecord, RecordError, RecordReader } from "../../rpc/record.ts";
import { serveRpc } from "../../rpc/server.ts";
import { XdrError, XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import {
  decodeMapping,
  decodeMappingList,
  decodeNetbuf,
  decodeRpcb,
  decodeRpcbEntryList,
  decodeRpcbList,
  formatUniversalAddress,
  parseUniversalAddress,
  transportToUniversal,
  universalToTransport,
} from "../../proto/portmap.ts";
import { portmapPrograms } from "../../server/portmap.ts";
import type { RpcProgram } from "../../rpc/program.ts";
import {
  concat,
  endedStream,
  fuzzMs,
  fuzzRecords,
  LineSink,
  mutate,
  type Rng,
  rng,
  SEED,
  writeAll,
} from "./_fuzz.ts";

const RECORDS = fuzzRecords(100_000);
const TIME_LIMIT_MS = fuzzMs(20_000); // per test; both together stay well under 45 s

const FUZZ_PROG = 0x20000202;

const fuzzProgram: RpcProgram = {
  program: FUZZ_PROG,
  version: 1,
  name: "fuzz",
  procedures: {
    0: { name: "NULL", handler: () => {} },
    1: {
      name: "ECHO",
      handler: (args, reply) => {
        reply.opaque(args.opaque(4096));
        args.end();
      },
    },
    2: {
      name: "LIST",
      handler: (args, reply) => {
        const items = args.array(64, (r) => r.string(64));
        reply.u32(items.length);
      },
    },
    3: {
      name: "BOOM",
      handler: () => {
        throw new TypeError("Handler bug on purpose");
      },
    },
    4: {
      name: "MUTATE",
      cached: true,
      handler: (args, reply) => void reply.u64(args.u64()),
    },
  },
};

/** Valid call bodies (no record mark) to mutate. */
function corpus(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const sys = authSysCredential({
    stamp: 1,
    machineName: "fuzz.example",
    uid: 1000,
    gid: 1000,
    gids: [1, 2, 3],
  });
  const call = (
    program: number,
    version: number,
    procedure: number,
    args: (w: XdrWriter) => void = () => {},
    withSys = false,
  ) => {
    const w = new XdrWriter();
    encodeCallHeader(w, {
      xid: out.length + 1,
      program,
      version,
      procedure,
      cred: withSys ? sys : undefined,
    });
    args(w);
    out.push(w.bytes().slice());
  };
  for (const withSys of [false, true]) {
    call(FUZZ_PROG, 1, 0, undefined, withSys);
    call(FUZZ_PROG, 1, 1, (w) => w.opaque(new Uint8Array(37).fill(5)), withSys);
    call(
      FUZZ_PROG,
      1,
      2,
      (w) => w.array(["a", "bc", "def"], (x, s) => x.string(s)),
      withSys,
    );
    call(FUZZ_PROG, 1, 3, undefined, withSys);
    call(FUZZ_PROG, 1, 4, (w) => w.u64(12345), withSys);
  }
  const mapping = (w: XdrWriter) => w.u32(100005).u32(3).u32(6).u32(20048);
  const rpcb = (w: XdrWriter) =>
    w.u32(100005).u32(3).string("tcp").string("127.0.0.1.78.80").string("me");
  call(100000, 2, 0);
  call(100000, 2, 1, mapping);
  call(100000, 2, 2, mapping);
  call(100000, 2, 3, mapping);
  call(100000, 2, 4);
  for (const v of [3, 4]) {
    for (const p of [1, 2, 3, 9, 11]) call(100000, v, p, rpcb);
    call(100000, v, 4);
    call(100000, v, 6);
    call(100000, v, 7, (w) => w.string("::1.0.111"));
    call(
      100000,
      v,
      8,
      (w) => w.u32(16).opaque(universalToTransport("10.0.0.1.8.1")!.buf),
    );
    call(100000, v, 12);
  }
  call(0x2fffffff, 1, 0);
  return out;
}

/** A record mark around `body`, sometimes split into several fragments. */
function frame(r: Rng, body: Uint8Array): Uint8Array {
  if (r.next() < 0.1 && body.length > 1) {
    return fragmentRecord(body, { fragmentSize: 1 + r.int(body.length) });
  }
  return fragmentRecord(body);
}

Deno.test({
  name:
    `fuzz: ${RECORDS} random and mutated records to a live server (seed ${SEED})`,
  async fn() {
    const r = rng(SEED);
    const seeds = corpus();
    const lines = new LineSink(0);
    const server = serveRpc({
      port: 0,
      log: lines.log,
      maxRecordSize: 8192,
      programs: [fuzzProgram],
    });
    for (const p of portmapPrograms(server)) server.register(p);
    const started = Date.now();
    let sent = 0;
    let replies = 0;
    const CONNS = 4;
    try {
      await Promise.all(Array.from({ length: CONNS }, async (_, ci) => {
        while (sent < RECORDS && Date.now() - started < TIME_LIMIT_MS) {
          const conn = await Deno.connect({ port: server.addr.port });
          // Drain replies concurrently, checking each is a well-formed reply.
          const reader = new RecordReader(conn, { maxRecordSize: 1 << 20 });
          const drain = (async () => {
            try {
              for (;;) {
                const rec = await reader.next();
                if (rec === null) return;
                decodeReplyHeader(new XdrReader(rec));
                replies++;
              }
            } catch (e) {
              // A malformed or truncated reply is a bug; a reset is not.
              if (!endedStream(e)) throw e;
            }
          })();
          try {
            // Connection 0 sometimes sends raw garbage, record marks and all,
            // which the server must survive by closing that connection.
            const chaos = ci === 0 && r.next() < 0.3;
            for (let batch = 0; batch < 50 && sent < RECORDS; batch++) {
              const parts: Uint8Array[] = [];
              for (let i = 0; i < 40; i++) {
                parts.push(
                  chaos ? r.bytes(r.int(64)) : frame(r, mutate(r, seeds)),
                );
                sent++;
              }
              await writeAll(conn, concat(parts));
              if (Date.now() - started > TIME_LIMIT_MS) break;
            }
          } catch {
            // The server closed a connection it could not resync: expected.
          } finally {
            try {
              conn.closeWrite();
            } catch { /* already closed */ }
          }
          await drain;
          try {
            conn.close();
          } catch { /* already closed */ }
        }
      }));
      const elapsed = Date.now() - started;
      console.log(
        `fuzz: ${sent} records, ${replies} replies, ${lines.count} log lines in ${elapsed} ms`,
      );
      if (elapsed < TIME_LIMIT_MS) assert.ok(sent >= RECORDS);
      assert.ok(
        replies > sent / 4,
        `most calls were answered: ${replies} of ${sent}`,
      );
      // The server still answers a plain NULL call.
      const client = await RpcClient.connect({
        hostname: "127.0.0.1",
        port: server.addr.port,
      });
      try {
        await client.call(FUZZ_PROG, 1, 0, () => {});
        await client.call(100000, 2, 0, () => {});
      } finally {
        client.close();
        await client.closed;
      }
    } catch (e) {
      console.error(`fuzz seed ${SEED}`);
      throw e;
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name: `fuzz: decoders are total on ${RECORDS} mutated inputs (seed ${SEED})`,
  async fn() {
    const r = rng(SEED ^ 0x5bd1e995);
    const seeds = corpus();
    // Reply and argument shapes too, not only calls.
    for (const s of [...seeds]) seeds.push(s.subarray(40));
    const expected = (e: unknown) =>
      e instanceof XdrError || e instanceof RecordError;
    const started = Date.now();
    let n = 0;
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        if (!expected(e)) {
          console.error(`fuzz seed ${SEED}, input ${n}`);
          throw e;
        }
      }
    };
    for (; n < RECORDS && Date.now() - started < TIME_LIMIT_MS; n++) {
      const b = mutate(r, seeds);
      attempt(() => {
        const h = decodeCallHeader(new XdrReader(b));
        checkCredentials(h.cred, h.verf);
      });
      attempt(() => decodeReplyHeader(new XdrReader(b)));
      attempt(() => decodeAuthSys(b));
      attempt(() => decodeMapping(new XdrReader(b)));
      attempt(() => decodeMappingList(new XdrReader(b)));
      attempt(() => decodeRpcb(new XdrReader(b)));
      attempt(() => decodeRpcbList(new XdrReader(b)));
      attempt(() => decodeRpcbEntryList(new XdrReader(b)));
      attempt(() => decodeNetbuf(new XdrReader(b)));
      const t = transportToUniversal(b);
      if (t !== undefined) assert.ok(parseUniversalAddress(t), t);
      const text = new TextDecoder().decode(b.subarray(0, 40));
      const u = universalToTransport(text);
      if (u !== undefined) assert.ok(transportToUniversal(u.buf));
      if (n % 16 === 0) {
        // A random stream through the record reader, in random chunks.
        const stream = b;
        let at = 0;
        const reader = new RecordReader({
          read(p) {
            if (at >= stream.length) return Promise.resolve(null);
            const k = Math.min(p.length, 1 + r.int(16), stream.length - at);
            p.set(stream.subarray(at, at + k));
            at += k;
            return Promise.resolve(k);
          },
        }, { maxRecordSize: 4096 });
        try {
          while ((await reader.next()) !== null) { /* drain */ }
        } catch (e) {
          if (!expected(e)) throw e;
        }
      }
    }
    console.log(
      `fuzz: ${n} inputs through every decoder in ${Date.now() - started} ms`,
    );
    if (Date.now() - started < TIME_LIMIT_MS) assert.equal(n, RECORDS);
    assert.equal(
      formatUniversalAddress({ hostname: "::1", port: 1 }),
      "::1.0.1",
    );
  },
});
