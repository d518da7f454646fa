// What the fuzz tests share: a seedable generator, the seed of the run, a
// write loop, mutations of valid inputs and the rule decoders must keep.

import { RpcAcceptError, type RpcClient } from "../../rpc/client.ts";
import { XdrError, XdrReader } from "../../rpc/xdr.ts";

/** The seed: NETFS_FUZZ_SEED to replay a run, else taken from the clock. */
export const SEED: number = fromEnv("NETFS_FUZZ_SEED") ??
  Date.now() % 2 ** 31;

/** A positive number from the environment, or undefined. */
function fromEnv(name: string): number | undefined {
  let text: string | undefined;
  try {
    text = Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: the fuzzer's own budget
  }
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Inputs a fuzzer sends: NETFS_FUZZ_RECORDS (set by `deno task fuzz
 * --records N`), else the fuzzer's own `fallback`.
 */
export function fuzzRecords(fallback: number): number {
  return Math.floor(fromEnv("NETFS_FUZZ_RECORDS") ?? fallback);
}

/**
 * A fuzzer's time limit in ms: NETFS_FUZZ_SECONDS (set by `deno task fuzz
 * --seconds S`) times 1000, else the fuzzer's own `fallbackMs`.
 */
export function fuzzMs(fallbackMs: number): number {
  const s = fromEnv("NETFS_FUZZ_SECONDS");
  return s === undefined ? fallbackMs : Math.floor(s * 1000);
}

/**
 * Whether the run is bounded by time on purpose (`--seconds`): a fuzzer that
 * must reach its count in its own time limit may stop short then.
 */
export function fuzzTimeBound(): boolean {
  return fromEnv("NETFS_FUZZ_SECONDS") !== undefined;
}

/**
 * A log sink whose memory does not grow with the run: it counts every line
 * and keeps the first `keep` that `match` accepts (all lines by default), so
 * a 1,000,000-record run that makes a log line per record stays bounded.
 */
export class LineSink {
  /** Lines seen. */
  count = 0;
  /** The first lines that matched, at most `keep`. */
  readonly kept: string[] = [];
  readonly #keep: number;
  readonly #match: RegExp | undefined;

  constructor(keep = 20, match?: RegExp) {
    this.#keep = keep;
    this.#match = match;
  }

  /** Takes one line: pass it as a server's `log`. */
  readonly log = (line: string): void => {
    this.count++;
    if (this.kept.length < this.#keep && (this.#match?.test(line) ?? true)) {
      this.kept.push(line);
    }
  };
}

/** mulberry32: small, fast, seedable. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    bytes: (n: number) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
      return out;
    },
  };
}

/** A generator made by {@link rng}. */
export type Rng = ReturnType<typeof rng>;

/**
 * Whether `e`, thrown while draining replies, is the connection ending:
 * the server closing (reset) a connection it would not read on, or a read
 * cut short by our own close. Anything else (a reply cut mid-record, one
 * over the size limit, a decoder's or an assertion's error) is a failure.
 */
export function endedStream(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BadResource ||
    e instanceof Deno.errors.Interrupted;
}

/** Writes all of `bytes` (conn.write may write part). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** The parts one after another in one array (one write for a batch). */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const EXTREMES = [
  0,
  1,
  0x7fffffff,
  0x80000000,
  0xffffffff,
  0xfffffffc,
  401,
  256,
  17,
  65536,
];

/**
 * One input made from `seeds`: random bytes, or a seed with bits flipped,
 * cut short, extended, or aligned words overwritten with edge values
 * (lengths, counts, discriminants).
 */
export function mutate(r: Rng, seeds: readonly Uint8Array[]): Uint8Array {
  const kind = r.int(6);
  if (kind === 0) return r.bytes(r.int(200));
  const base = seeds[r.int(seeds.length)];
  let b = base.slice();
  switch (kind) {
    case 1: // flip bits
      for (let i = 1 + r.int(8); i > 0; i--) {
        b[r.int(b.length)] ^= 1 << r.int(8);
      }
      break;
    case 2: // truncate
      b = b.subarray(0, r.int(b.length));
      break;
    case 3: { // extend with random bytes
      const tail = r.bytes(1 + r.int(64));
      const out = new Uint8Array(b.length + tail.length);
      out.set(b);
      out.set(tail, b.length);
      b = out;
      break;
    }
    default: { // overwrite an aligned word: lengths, counts, discriminants
      const words = b.length >> 2;
      for (let i = 1 + r.int(3); i > 0 && words > 0; i--) {
        const at = r.int(words) * 4;
        const v = r.next() < 0.7
          ? EXTREMES[r.int(EXTREMES.length)]
          : r.int(2 ** 32);
        new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0);
      }
    }
  }
  return b;
}

/** Runs `fn`; only XdrError may escape it. Returns true when it decoded. */
export function total(
  fn: () => void,
  what: string,
  input: Uint8Array,
): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof XdrError) return false;
    throw new Error(
      `${what} threw ${e} (seed ${SEED}, input ${
        Array.from(input, (x) => x.toString(16).padStart(2, "0")).join("")
      })`,
    );
  }
}

/**
 * Sends mutations of `seeds` through every decoder, each input through all
 * of them (a type's bytes as another's too), until `count` inputs or `ms`.
 * Only XdrError may escape a decoder (see {@link total}).
 */
export function throughDecoders(
  r: Rng,
  seeds: readonly Uint8Array[],
  decoders: readonly ((r: XdrReader) => unknown)[],
  limits: { count: number; ms: number },
): { inputs: number; decoded: number; refused: number } {
  const started = performance.now();
  let decoded = 0;
  let refused = 0;
  let n = 0;
  for (; n < limits.count && performance.now() - started < limits.ms; n++) {
    const input = mutate(r, seeds);
    for (const decode of decoders) {
      if (total(() => decode(new XdrReader(input)), decode.name, input)) {
        decoded++;
      } else refused++;
    }
  }
  return { inputs: n, decoded, refused };
}

/**
 * Runs `one` `count` times, `inFlight` at a time, until done or `ms` have
 * passed; returns how many ran.
 */
export async function pipelined(
  one: () => Promise<void>,
  limits: { count: number; ms: number; inFlight: number },
): Promise<number> {
  const started = performance.now();
  let sent = 0;
  while (sent < limits.count && performance.now() - started < limits.ms) {
    const batch: Promise<void>[] = [];
    for (let i = 0; i < limits.inFlight && sent < limits.count; i++, sent++) {
      batch.push(one());
    }
    await Promise.all(batch);
  }
  return sent;
}

/** Counts of {@link mutatedCall}'s outcomes. */
export interface CallCounts {
  /** Answered, and the result decoded. */
  ok: number;
  /** Refused with GARBAGE_ARGS. */
  garbage: number;
}

/**
 * Calls `call` with `input` as its argument bytes and counts the outcome: a
 * result `decode` accepts, or GARBAGE_ARGS. Anything else (a result that
 * does not decode, another RPC error) throws, naming the seed.
 */
export async function mutatedCall(
  client: RpcClient,
  call: { program: number; version: number; procedure: number },
  input: Uint8Array,
  decode: (r: XdrReader) => unknown,
  counts: CallCounts,
): Promise<void> {
  let reply: XdrReader;
  try {
    reply = await client.call(
      call.program,
      call.version,
      call.procedure,
      (w) => void w.fixedOpaque(input),
    );
  } catch (e) {
    if (e instanceof RpcAcceptError && e.statusName === "GARBAGE_ARGS") {
      counts.garbage++;
      return;
    }
    throw e;
  }
  try {
    decode(reply);
  } catch (e) {
    throw new Error(
      `Reply of ${call.program} procedure ${call.procedure} does not decode: ${e} (seed ${SEED})`,
    );
  }
  counts.ok++;
}
