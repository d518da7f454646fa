// Fuzz the NBD server with mutated handshakes and requests: at least
// 100,000 mutated messages, bounded in time. The server must not crash or
// hang, and must keep serving a well-behaved client throughout.
import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import {
  Cmd,
  CmdFlag,
  encodeGoOption,
  encodeMetaContextOption,
  encodeOption,
  encodeRequest,
  Opt,
} from "../../nbd/protocol.ts";
import { serveNbd } from "../../nbd/server.ts";
import { fuzzMs, fuzzRecords, fuzzTimeBound, LineSink, SEED } from "./_fuzz.ts";

const TARGET = fuzzRecords(100_000);
const DEADLINE_MS = fuzzMs(40_000);
const PER_CONN = 60;
const WORKERS = 6;
/** The run's seed (NETFS_FUZZ_SEED or NBD_FUZZ_SEED replays one). */
const FUZZ_SEED = Number(Deno.env.get("NBD_FUZZ_SEED") ?? SEED);

// A small deterministic PRNG so failures can be replayed from the seed.
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const enc = (s: string) => new TextEncoder().encode(s);

function optionSeeds(): Uint8Array[] {
  const mc = (q: string[]) =>
    encodeMetaContextOption({ name: "mem", queries: q });
  return [
    encodeOption(Opt.LIST),
    encodeOption(
      Opt.INFO,
      encodeGoOption({ name: "mem", requests: [0, 1, 2, 3] }),
    ),
    encodeOption(Opt.INFO, encodeGoOption({ name: "", requests: [] })),
    encodeOption(Opt.STRUCTURED_REPLY),
    encodeOption(Opt.EXTENDED_HEADERS),
    encodeOption(Opt.LIST_META_CONTEXT, mc([])),
    encodeOption(Opt.LIST_META_CONTEXT, mc(["base:"])),
    encodeOption(Opt.SET_META_CONTEXT, mc(["base:allocation"])),
    encodeOption(Opt.STARTTLS),
    encodeOption(Opt.PEEK_EXPORT, enc("x")),
    encodeOption(77, new Uint8Array(40)),
  ];
}

function requestSeeds(extended: boolean): Uint8Array[] {
  const r = (
    type: number,
    flags: number,
    offset: number,
    length: number,
    data?: Uint8Array,
  ) =>
    encodeRequest({
      type,
      flags: flags | (extended && data ? CmdFlag.PAYLOAD_LEN : 0),
      cookie: 1,
      offset,
      length,
    }, {
      extended,
      data,
    });
  return [
    r(Cmd.READ, 0, 0, 4096),
    r(Cmd.READ, CmdFlag.DF, 65536, 65536),
    r(Cmd.WRITE, 0, 8192, 512, new Uint8Array(512).fill(7)),
    r(Cmd.WRITE, CmdFlag.FUA, 1 << 19, 16, new Uint8Array(16)),
    r(Cmd.FLUSH, 0, 0, 0),
    r(Cmd.TRIM, 0, 0, 65536),
    r(Cmd.CACHE, 0, 0, 4096),
    r(Cmd.WRITE_ZEROES, CmdFlag.NO_HOLE, 4096, 8192),
    r(Cmd.WRITE_ZEROES, CmdFlag.FAST_ZERO, 0, 65536),
    r(Cmd.BLOCK_STATUS, 0, 0, 1 << 20),
    r(Cmd.BLOCK_STATUS, CmdFlag.REQ_ONE, 4096, 4096),
  ];
}

const BOUNDARY = [
  0,
  1,
  2,
  0x7f,
  0x80,
  0xff,
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
];

function mutate(msg: Uint8Array, rnd: () => number): Uint8Array {
  const m = msg.slice();
  const v = new DataView(m.buffer);
  const pick = (n: number) => Math.floor(rnd() * n);
  switch (pick(7)) {
    case 0: // flip a bit
      m[pick(m.length)] ^= 1 << pick(8);
      return m;
    case 1: // random byte
      m[pick(m.length)] = pick(256);
      return m;
    case 2: { // boundary value in an aligned 32-bit field
      const at = pick(Math.max(1, (m.length >> 2) - 1)) * 4;
      if (at + 4 <= m.length) v.setUint32(at, BOUNDARY[pick(BOUNDARY.length)]);
      return m;
    }
    case 3: { // nudge a 32-bit field by a little
      const at = pick(Math.max(1, (m.length >> 2) - 1)) * 4;
      if (at + 4 <= m.length) {
        v.setUint32(at, (v.getUint32(at) + pick(9) - 4) >>> 0);
      }
      return m;
    }
    case 4: // truncate
      return m.subarray(0, pick(m.length));
    case 5: { // append garbage
      const g = new Uint8Array(pick(64));
      for (let i = 0; i < g.length; i++) g[i] = pick(256);
      const out = new Uint8Array(m.length + g.length);
      out.set(m);
      out.set(g, m.length);
      return out;
    }
    default: // several random bytes
      for (let i = 0, n = 1 + pick(6); i < n; i++) {
        m[pick(m.length)] = pick(256);
      }
      return m;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const u32 = (x: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, x);
  return b;
};

/** One connection: a prefix, then PER_CONN messages (most mutated); returns the mutated count. */
async function session(port: number, rnd: () => number): Promise<number> {
  const parts: Uint8Array[] = [];
  let mutated = 0;
  const inTransmission = rnd() < 0.6;
  parts.push(
    u32(rnd() < 0.9 ? 3 : [0, 1, 2, 4, 0xffffffff][Math.floor(rnd() * 5)]),
  );
  let extended = false;
  if (inTransmission) {
    extended = rnd() < 0.3;
    if (extended) parts.push(encodeOption(Opt.EXTENDED_HEADERS));
    else if (rnd() < 0.5) parts.push(encodeOption(Opt.STRUCTURED_REPLY));
    parts.push(
      encodeOption(
        Opt.SET_META_CONTEXT,
        encodeMetaContextOption({ name: "mem", queries: ["base:allocation"] }),
      ),
    );
    parts.push(
      encodeOption(Opt.GO, encodeGoOption({ name: "mem", requests: [3] })),
    );
  }
  const seeds = inTransmission ? requestSeeds(extended) : optionSeeds();
  for (let i = 0; i < PER_CONN; i++) {
    const seed = seeds[Math.floor(rnd() * seeds.length)];
    if (rnd() < 0.75) {
      parts.push(mutate(seed, rnd));
      mutated++;
    } else parts.push(seed);
  }
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const reader = (async () => {
      const b = new Uint8Array(65536);
      try {
        while (await conn.read(b) !== null) { /* drain replies */ }
      } catch { /* reset by the server: fine */ }
    })();
    try {
      const all = concat(parts);
      let at = 0;
      while (at < all.length) at += await conn.write(all.subarray(at));
      await conn.closeWrite();
    } catch { /* the server may hang up early: that is an allowed outcome */ }
    await reader;
  } finally {
    conn.close();
  }
  return mutated;
}

Deno.test(`fuzz: ${TARGET} mutated handshakes and requests; the server keeps serving (seed ${FUZZ_SEED})`, async () => {
  const device = new MemoryDevice(1 << 20);
  // The health checks get a device of their own: a mutated TRIM or
  // WRITE_ZEROES on "mem" may zero any range of it between a check's write
  // and its read (seed 1333314956 did).
  const healthDevice = new MemoryDevice(1 << 20);
  const errors = new LineSink(0);
  const s = serveNbd({
    port: 0,
    exports: [
      { name: "mem", device },
      { name: "health-check", device: healthDevice },
    ],
    defaultExport: "mem",
    maxPayload: 1 << 16,
    log: errors.log,
  });
  const started = Date.now();
  let count = 0;
  let sessions = 0;
  let health = 0;
  try {
    const worker = async (w: number) => {
      const rnd = prng(FUZZ_SEED + w * 7919);
      while (count < TARGET && Date.now() - started < DEADLINE_MS) {
        const n = await session(s.addr.port, rnd); // not `count += await`: that loses updates
        count += n;
        sessions++;
      }
    };
    const checker = (async () => {
      // A well-behaved client must be served all along.
      while (count < TARGET && Date.now() - started < DEADLINE_MS) {
        const d = await connectNbd({
          port: s.addr.port,
          export: "health-check",
        });
        const mark = new TextEncoder().encode(`health ${health}`);
        await d.writeAt(900_000, mark);
        assert.deepEqual(await d.readAt(900_000, mark.length), mark);
        await d.close();
        health++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await Promise.all([
      ...Array.from({ length: WORKERS }, (_, w) => worker(w)),
      checker,
    ]);
  } finally {
    await s.shutdown();
  }
  const secs = (Date.now() - started) / 1000;
  console.log(
    `nbd fuzz: ${count} mutated messages in ${sessions} sessions, ${health} health checks, ${
      secs.toFixed(1)
    } s (seed ${FUZZ_SEED})`,
  );
  assert.ok(
    count >= TARGET || (fuzzTimeBound() && secs * 1000 >= DEADLINE_MS),
    `only ${count} mutated messages before the ${DEADLINE_MS} ms deadline (seed ${FUZZ_SEED})`,
  );
  assert.ok(health > 0);
  assert.ok(
    errors.count > 0,
    "some mutations must have been refused as protocol violations",
  );
});
