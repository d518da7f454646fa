// Whole sessions through the Stream interface, without a socket: the same
// bytes in, cut into chunks of any size, give the same bytes out; malformed
// streams end the session cleanly and promptly.
import assert from "node:assert/strict";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import {
  Cmd,
  CmdFlag,
  encodeGoOption,
  encodeMetaContextOption,
  encodeOption,
  encodeRequest,
  Opt,
  Rep,
} from "../../nbd/protocol.ts";
import {
  type PipeEnd,
  PipeServer,
  type PipeServerOptions,
  random,
} from "./_pipe.ts";
import { concat, enc } from "./_raw.ts";
import { fuzzMs, fuzzRecords, SEED } from "../fuzz/_fuzz.ts";

const u32 = (x: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, x >>> 0);
  return b;
};

async function exports() {
  const mem = new MemoryDevice(1 << 20, { chunkSize: 4096 });
  await mem.writeAt(65536, new Uint8Array(8192).fill(3));
  return [{ name: "mem", device: mem, description: "disk" }];
}

/**
 * Sends `input` in pieces of `sizes()` bytes, then end of stream; returns
 * everything the server sent until it closed. Bounded: fails after `ms`.
 */
async function exchange(
  end: PipeEnd,
  input: Uint8Array,
  sizes: () => number,
  ms = 5000,
): Promise<Uint8Array> {
  const got: Uint8Array[] = [];
  const reading = (async () => {
    const b = new Uint8Array(65536);
    for (;;) {
      const n = await end.read(b).catch(() => null);
      if (n === null) return;
      got.push(b.slice(0, n));
    }
  })();
  try {
    for (let at = 0; at < input.length;) {
      const n = Math.min(sizes(), input.length - at);
      await end.write(input.subarray(at, at + n));
      at += n;
    }
  } catch { /* the server hung up early: allowed */ }
  end.closeWrite();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) =>
    timer = setTimeout(() => r("late"), ms)
  );
  const outcome = await Promise.race([reading.then(() => "ok" as const), late]);
  clearTimeout(timer);
  assert.equal(outcome, "ok", `the session ended within ${ms} ms`);
  end.close();
  return concat(got);
}

async function session(
  input: Uint8Array,
  serverChunk: number | (() => number),
  clientChunk: () => number,
  extra: Partial<PipeServerOptions> = {},
): Promise<{ out: Uint8Array; server: PipeServer }> {
  const server = new PipeServer({
    exports: await exports(),
    defaultExport: "mem",
    chunk: serverChunk,
    ...extra,
  });
  const out = await exchange(server.open(), input, clientChunk);
  await server.finished();
  assert.deepEqual(server.unexpected(), [], "no session ended in an exception");
  return { out, server };
}

/**
 * A complete script: handshake in the given reply shape, every command,
 * DISC. Returns the bytes and the length each READ's cookie asks for.
 */
function script(
  shape: "simple" | "structured" | "extended",
): { input: Uint8Array; reads: Map<number, number> } {
  const extended = shape === "extended";
  const mc = encodeMetaContextOption({
    name: "mem",
    queries: ["base:allocation"],
  });
  const parts = [u32(3), encodeOption(Opt.LIST)];
  if (shape !== "simple") {
    parts.push(
      encodeOption(extended ? Opt.EXTENDED_HEADERS : Opt.STRUCTURED_REPLY),
    );
    parts.push(encodeOption(Opt.SET_META_CONTEXT, mc));
  }
  parts.push(
    encodeOption(
      Opt.INFO,
      encodeGoOption({ name: "mem", requests: [1, 2, 3] }),
    ),
  );
  parts.push(
    encodeOption(Opt.GO, encodeGoOption({ name: "mem", requests: [3] })),
  );
  const reads = new Map<number, number>();
  let cookie = 1;
  const r = (
    type: number,
    offset: number,
    length: number,
    flags = 0,
    data?: Uint8Array,
  ) => {
    if (type === Cmd.READ) reads.set(cookie, length);
    parts.push(encodeRequest({
      type,
      flags: flags | (extended && data ? CmdFlag.PAYLOAD_LEN : 0),
      cookie: cookie++,
      offset,
      length,
    }, { extended, data }));
  };
  r(Cmd.WRITE, 100, 5, 0, enc("hello"));
  r(Cmd.READ, 96, 16);
  r(Cmd.READ, 0, 131072, shape === "simple" ? 0 : CmdFlag.DF);
  r(Cmd.READ, 0, 131072);
  r(Cmd.READ, 2 ** 30, 1);
  r(Cmd.FLUSH, 0, 0);
  r(Cmd.WRITE_ZEROES, 4096, 4096);
  if (shape !== "simple") r(Cmd.BLOCK_STATUS, 0, 1 << 20);
  r(Cmd.RESIZE, 0, 0);
  r(Cmd.DISC, 0, 0);
  r(Cmd.READ, 0, 1); // after DISC: never answered
  return { input: concat(parts), reads };
}

/**
 * Splits a session's output into the handshake (strictly in order) and the
 * replies by cookie (in any order: requests run concurrently).
 */
function replies(
  out: Uint8Array,
  reads: Map<number, number>,
): { handshake: Uint8Array; byCookie: Map<number, Uint8Array[]> } {
  const v = new DataView(out.buffer, out.byteOffset, out.length);
  let at = 18;
  for (;;) {
    const option = v.getUint32(at + 8);
    const type = v.getUint32(at + 12);
    at += 20 + v.getUint32(at + 16);
    if (option === Opt.GO && type === Rep.ACK) break;
  }
  const byCookie = new Map<number, Uint8Array[]>();
  const handshake = out.subarray(0, at);
  while (at < out.length) {
    const magic = v.getUint32(at);
    const cookie = v.getUint32(at + 12); // cookies here fit in 32 bits
    let n: number;
    if (magic === 0x67446698) {
      n = 16 + (v.getUint32(at + 4) === 0 ? reads.get(cookie) ?? 0 : 0);
    } else if (magic === 0x668e33ef) n = 20 + v.getUint32(at + 16);
    else if (magic === 0x6e8a278c) n = 32 + v.getUint32(at + 28);
    else throw new Error(`Bad reply magic at ${at}: 0x${magic.toString(16)}`);
    const list = byCookie.get(cookie) ?? [];
    list.push(out.subarray(at, at + n));
    byCookie.set(cookie, list);
    at += n;
  }
  assert.equal(at, out.length, "the replies end exactly");
  return { handshake, byCookie };
}

Deno.test("session: the same bytes in any chunks give the same bytes out", async () => {
  for (const shape of ["simple", "structured", "extended"] as const) {
    const { input, reads } = script(shape);
    const whole = replies(
      (await session(input, 1 << 30, () => input.length)).out,
      reads,
    );
    assert.deepEqual(
      [...whole.byCookie.keys()].sort((a, b) => a - b),
      shape === "simple"
        ? [1, 2, 3, 4, 5, 6, 7, 8]
        : [1, 2, 3, 4, 5, 6, 7, 8, 9],
      `${shape}: every request before DISC is answered, none after`,
    );
    const r = random(99);
    const odd = () => 1 + Math.floor(r() * 61);
    for (
      const [what, server, client] of [
        ["one byte at a time", 1, () => 1],
        ["uneven chunks", odd, odd],
      ] as const
    ) {
      const { out, server: s } = await session(input, server, client);
      const got = replies(out, reads);
      assert.deepEqual(got.handshake, whole.handshake, `${shape}, ${what}`);
      assert.deepEqual(got.byCookie, whole.byCookie, `${shape}, ${what}`);
      assert.deepEqual(s.logs, [], "DISC ends the session quietly");
    }
  }
});

Deno.test("session: end of stream mid-message ends the session at every cut", async () => {
  const { input } = script("extended");
  for (let cut = 0; cut < input.length; cut += 7) {
    const { server } = await session(input.subarray(0, cut), 5, () => 3);
    assert.deepEqual(
      server.logs,
      [],
      `cut at ${cut}: nothing to complain about`,
    );
  }
});

Deno.test("session: STARTTLS with an unusable certificate acknowledges, logs and closes", async () => {
  const input = concat([
    u32(3),
    encodeOption(Opt.STARTTLS),
    encodeOption(Opt.LIST),
  ]);
  const { out, server } = await session(input, 1 << 30, () => 64, {
    tls: { mode: "optional", cert: "not a certificate", key: "nor a key" },
  });
  assert.equal(out.length, 18 + 20, "greeting and the ACK, nothing after");
  assert.equal(new DataView(out.buffer).getUint32(18 + 12), Rep.ACK);
  assert.equal(server.logs.length, 1);
  assert.match(server.logs[0], /^connection 1: TLS handshake failed: /);
});

const KNOWN_LOGS = [
  /^connection \d+: bad request magic, closing$/,
  /^connection \d+: extended WRITE without PAYLOAD_LEN, closing$/,
  /^connection \d+: payload of \d+ bytes, closing$/,
  /^connection \d+: option \d+ length \d+ too large, closing$/,
  /^connection \d+: unknown client flags 0x[0-9a-f]+, closing$/,
  /^connection \d+: unknown export ".*", closing$/,
];

// `deno task fuzz` sets the count, the time and the seed; by default 2,000
// sessions, 20 s and the fuzzers' seed of this run (from the clock, in the
// test's name: NETFS_FUZZ_SEED or NBD_SESSION_SEED replays it).
const SESSIONS = fuzzRecords(2000);
const SESSIONS_MS = fuzzMs(20_000);
const SESSION_SEED = Number(Deno.env.get("NBD_SESSION_SEED") ?? SEED);

Deno.test(`session: malformed requests and options end sessions cleanly (${SESSIONS} sessions, seed ${SESSION_SEED})`, async () => {
  const rnd = random(SESSION_SEED);
  const pick = (n: number) => Math.floor(rnd() * n);
  const started = Date.now();
  let sessions = 0;
  for (
    ;
    sessions < SESSIONS && Date.now() - started < SESSIONS_MS;
    sessions++
  ) {
    const extended = rnd() < 0.3;
    const parts: Uint8Array[] = [u32(rnd() < 0.95 ? 3 : pick(8))];
    const seeds: Uint8Array[] = [];
    if (rnd() < 0.7) {
      parts.push(
        encodeOption(extended ? Opt.EXTENDED_HEADERS : Opt.STRUCTURED_REPLY),
      );
      parts.push(
        encodeOption(
          Opt.SET_META_CONTEXT,
          encodeMetaContextOption({
            name: "mem",
            queries: ["base:allocation"],
          }),
        ),
      );
      parts.push(
        encodeOption(Opt.GO, encodeGoOption({ name: "mem", requests: [] })),
      );
      for (
        const [type, flags, offset, length] of [
          [0, 0, 0, 4096],
          [0, 4, 60000, 70000],
          [1, 1, 512, 16],
          [3, 0, 0, 0],
          [4, 0, 0, 4096],
          [6, 2, 0, 8192],
          [6, 16, 0, 4096],
          [7, 8, 0, 1 << 20],
          [7, 0, 4096, 512],
          [2, 0, 0, 0],
        ]
      ) {
        const data = type === Cmd.WRITE ? new Uint8Array(length) : undefined;
        seeds.push(encodeRequest({
          type,
          flags: flags | (extended && data ? CmdFlag.PAYLOAD_LEN : 0),
          cookie: pick(1000),
          offset,
          length,
        }, { extended, data }));
      }
    } else {
      seeds.push(
        encodeOption(Opt.LIST),
        encodeOption(
          Opt.INFO,
          encodeGoOption({ name: "mem", requests: [0, 1, 2, 3] }),
        ),
        encodeOption(
          Opt.LIST_META_CONTEXT,
          encodeMetaContextOption({ name: "mem", queries: ["base:"] }),
        ),
        encodeOption(Opt.STRUCTURED_REPLY),
        encodeOption(Opt.EXTENDED_HEADERS),
        encodeOption(Opt.STARTTLS),
        encodeOption(99, new Uint8Array(12)),
        encodeOption(Opt.EXPORT_NAME, enc("mem")),
      );
    }
    for (let i = 0, n = 1 + pick(12); i < n; i++) {
      const m = seeds[pick(seeds.length)].slice();
      const v = new DataView(m.buffer);
      switch (pick(5)) {
        case 0:
          m[pick(m.length)] ^= 1 << pick(8);
          break;
        case 1:
          for (let k = 0; k < 1 + pick(4); k++) m[pick(m.length)] = pick(256);
          break;
        case 2: {
          const at = 4 * pick(m.length >> 2);
          if (at + 4 <= m.length) {
            v.setUint32(at, [0, 1, 0x7fffffff, 0xffffffff][pick(4)]);
          }
          break;
        }
        case 3:
          parts.push(m.subarray(0, pick(m.length)));
          continue;
        default:
          break; // sent as it is
      }
      parts.push(m);
    }
    const chunk = 1 + pick(40);
    const { server } = await session(concat(parts), chunk, () => 1 + pick(100));
    for (const l of server.logs) {
      assert.ok(
        KNOWN_LOGS.some((k) => k.test(l)),
        `session ${sessions} (seed ${SESSION_SEED}): unexpected log ${l}`,
      );
    }
  }
  assert.ok(
    sessions >= Math.min(500, SESSIONS),
    `enough sessions ran (${sessions}, seed ${SESSION_SEED})`,
  );
  console.log(`nbd session fuzz: ${sessions} sessions (seed ${SESSION_SEED})`);
});
