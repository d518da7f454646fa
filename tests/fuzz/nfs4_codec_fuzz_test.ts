// Fuzzing the NFSv4 decoders: valid COMPOUND requests and replies, built
// at random from nfs4.x, then mutated (bytes flipped, words set to edge
// values, cut short, spliced). Decoding must succeed or throw XdrError;
// nothing else. Bounded by count and by time. Set NETFS_FUZZ_SEED to
// replay a run; the seed is printed when a test fails.
import assert from "node:assert/strict";
import { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import {
  decode_COMPOUND4args,
  decode_COMPOUND4res,
  decodeCompoundArgs,
  decodeFattr4,
  encode_COMPOUND4args,
  encode_COMPOUND4res,
  nfs_opnum4,
  nfsstat4,
} from "../../proto/nfs4/mod.ts";
import type { COMPOUND4args, COMPOUND4res } from "../../proto/nfs4/mod.ts";
import { prng, Samples } from "../proto/nfs4/_samples.ts";
import { fuzzMs, fuzzRecords, SEED, total } from "./_fuzz.ts";

const MUTATIONS = fuzzRecords(20_000);
const TIME_LIMIT_MS = fuzzMs(10_000);

const EDGES = [0, 1, 2, 3, 4, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function mutate(
  base: Uint8Array,
  other: Uint8Array,
  rand: () => number,
): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  let b = base.slice();
  for (let k = 1 + int(3); k > 0; k--) {
    switch (int(5)) {
      case 0: // flip a byte
        if (b.length) b[int(b.length)] ^= 1 + int(255);
        break;
      case 1: { // set an aligned word to an edge value
        if (b.length < 4) break;
        const at = int(b.length >> 2) * 4;
        new DataView(b.buffer).setUint32(at, EDGES[int(EDGES.length)]);
        break;
      }
      case 2: // cut short
        b = b.slice(0, int(b.length + 1));
        break;
      case 3: { // append random bytes
        const tail = Uint8Array.from({ length: int(16) }, () => int(256));
        const out = new Uint8Array(b.length + tail.length);
        out.set(b);
        out.set(tail, b.length);
        b = out;
        break;
      }
      case 4: { // splice in a piece of another encoding
        const from = int(other.length + 1);
        const piece = other.subarray(from, from + int(64));
        const at = int(b.length + 1) & ~3;
        const out = new Uint8Array(at + piece.length + (b.length - at));
        out.set(b.subarray(0, at));
        out.set(piece, at);
        out.set(b.subarray(at), at + piece.length);
        b = out;
        break;
      }
    }
  }
  return b;
}

function encoded<T>(fn: (w: XdrWriter, v: T) => void, v: T): Uint8Array {
  const w = new XdrWriter();
  fn(w, v);
  return w.bytes().slice();
}

Deno.test("nfs4 fuzz: mutated COMPOUND requests and replies only ever give XdrError", () => {
  const s = new Samples(SEED);
  const rand = prng(SEED ^ 0x5a5a5a5a);
  const args = Array.from(
    { length: 100 },
    () =>
      encoded(encode_COMPOUND4args, s.value("COMPOUND4args") as COMPOUND4args),
  );
  const res = Array.from(
    { length: 100 },
    () => encoded(encode_COMPOUND4res, s.value("COMPOUND4res") as COMPOUND4res),
  );
  const started = performance.now();
  let decoded = 0;
  let refused = 0;
  let n = 0;
  for (; n < MUTATIONS && performance.now() - started < TIME_LIMIT_MS; n++) {
    const pool = n % 2 === 0 ? args : res;
    const input = mutate(
      pool[Math.floor(rand() * pool.length)],
      pool[Math.floor(rand() * pool.length)],
      rand,
    );
    let ok: boolean;
    if (pool === args) {
      ok = total(
        () => decode_COMPOUND4args(new XdrReader(input)),
        "decode_COMPOUND4args",
        input,
      );
      total(
        () => decodeCompoundArgs(new XdrReader(input)),
        "decodeCompoundArgs",
        input,
      );
    } else {
      ok = total(
        () => {
          const r = decode_COMPOUND4res(new XdrReader(input));
          // Attribute values inside GETATTR results go through fattr4 too.
          for (const op of r.resarray) {
            if (
              op.resop === nfs_opnum4.OP_GETATTR &&
              op.opgetattr.status === nfsstat4.NFS4_OK
            ) {
              const f = op.opgetattr.resok4.obj_attributes;
              total(() => decodeFattr4(f), "decodeFattr4", input);
            }
          }
        },
        "decode_COMPOUND4res",
        input,
      );
    }
    if (ok) decoded++;
    else refused++;
  }
  assert.ok(
    n >= 1000,
    `at least 1000 inputs within the time limit (${n}, seed ${SEED})`,
  );
  assert.ok(
    decoded > 0 && refused > 0,
    `both outcomes seen: ${decoded} decoded, ${refused} refused`,
  );
});

Deno.test("nfs4 fuzz: random bytes through decodeFattr4 only ever give XdrError", () => {
  const rand = prng(SEED);
  const int = (n: number) => Math.floor(rand() * n);
  for (let n = 0; n < 5000; n++) {
    const attrmask = Array.from(
      { length: int(4) },
      () => (int(2) ? int(2 ** 32) : 1 << int(32)) >>> 0,
    );
    const attr_vals = Uint8Array.from({ length: int(64) }, () => int(256));
    total(
      () => decodeFattr4({ attrmask, attr_vals }),
      "decodeFattr4",
      attr_vals,
    );
  }
});
