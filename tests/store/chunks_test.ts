// The sparse chunk store under MemFs and the memory devices, over both backings.
import assert from "node:assert/strict";
import { ChunkStore, DATA, HOLE, ZERO } from "../../store/_chunks.ts";
import { FlatChunks, MapChunks } from "../../store/_chunk_backings.ts";

const C = 4096;
// Report states as themselves, to read extents plainly.
const STATES = [HOLE, DATA, ZERO];
const MAX = Number.MAX_SAFE_INTEGER;

function flat(size: number, chunk = C): ChunkStore {
  return new ChunkStore(
    new FlatChunks(
      new Uint8Array(new SharedArrayBuffer(size)),
      new Uint8Array(new SharedArrayBuffer(Math.ceil(size / chunk))),
      chunk,
    ),
  );
}

const backings: [string, () => ChunkStore][] = [
  ["map", () => new ChunkStore(new MapChunks(C))],
  ["flat", () => flat(16 * C)],
];

function read(s: ChunkStore, offset: number, length: number): number[] {
  const out = new Uint8Array(length).fill(0xee); // stale bytes must go
  s.read(offset, out);
  return [...out];
}

function bytes(n: number, seed = 1): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 7 + seed) % 251 + 1);
}

for (const [name, make] of backings) {
  Deno.test(`chunks (${name}): an empty store reads zeros and holds nothing`, () => {
    const s = make();
    assert.equal(s.allocated, 0);
    assert.deepEqual(read(s, 0, 0), []);
    assert.deepEqual(read(s, C - 2, 4), [0, 0, 0, 0]);
    assert.equal(s.allocated, 0, "reading allocates nothing");
    assert.deepEqual(s.extents(0, 3 * C, 10, STATES), [
      { length: 3 * C, flags: HOLE },
    ]);
    assert.equal(s.nextData(0, 3 * C), undefined);
    assert.equal(s.nextHole(5, 3 * C), 5);
  });

  Deno.test(`chunks (${name}): writes of 0, 1, chunk-1, chunk, chunk+1 bytes at chunk edges read back`, () => {
    for (const n of [0, 1, C - 1, C, C + 1]) {
      for (const at of [0, 1, C - 1, C, 2 * C - 1]) {
        const s = make();
        const data = bytes(n, at);
        s.write(at, data);
        assert.deepEqual(read(s, at, n), [...data], `${n} bytes at ${at}`);
        assert.deepEqual(read(s, at - Math.min(at, 1), Math.min(at, 1)), [
          ...new Uint8Array(Math.min(at, 1)),
        ], `before ${at}`);
        assert.deepEqual(read(s, at + n, 3), [0, 0, 0], `after ${at}+${n}`);
        const chunks = n === 0
          ? 0
          : Math.floor((at + n - 1) / C) - Math.floor(at / C) + 1;
        assert.equal(s.allocated, chunks * C, `${n} bytes at ${at}: chunks`);
      }
    }
  });

  Deno.test(`chunks (${name}): zeroing frees whole chunks and fills parts`, () => {
    const s = make();
    s.write(0, bytes(4 * C));
    s.zero(C, 3 * C);
    assert.equal(s.allocated, 2 * C, "two whole chunks freed");
    s.zero(C - 2, C - 1);
    assert.deepEqual(read(s, C - 3, 3), [bytes(C)[C - 3], 0, bytes(C)[C - 1]]);
    assert.equal(s.allocated, 2 * C, "a partial zero keeps the chunk");
    s.zero(3 * C, 3 * C + 10, { size: 3 * C + 10 });
    assert.equal(s.allocated, C, "a chunk zeroed up to the size is whole");
    assert.deepEqual(s.extents(0, 4 * C, 10, STATES), [
      { length: C, flags: DATA },
      { length: 3 * C, flags: HOLE },
    ]);
  });

  Deno.test(`chunks (${name}): zeroing with keep provisions ZERO chunks, a write makes them DATA`, () => {
    const s = make();
    s.zero(C, 3 * C, { keep: true });
    s.zero(3 * C + 5, 3 * C + 9, { keep: true }); // part of a hole: DATA
    assert.equal(s.allocated, 3 * C);
    assert.deepEqual(s.extents(0, 5 * C, 10, STATES), [
      { length: C, flags: HOLE },
      { length: 2 * C, flags: ZERO },
      { length: C, flags: DATA },
      { length: C, flags: HOLE },
    ]);
    s.write(2 * C + 1, new Uint8Array([1]));
    assert.deepEqual(s.extents(C, 3 * C, 10, STATES), [
      { length: C, flags: ZERO },
      { length: C, flags: DATA },
    ]);
    s.write(C, new Uint8Array([9]));
    s.zero(C, 2 * C, { keep: true });
    assert.deepEqual(read(s, C, 2), [0, 0], "keep still zeroes");
    assert.equal(s.extents(C, 2 * C, 10, STATES)[0].flags, ZERO);
  });

  Deno.test(`chunks (${name}): extents merge, stop at max and clip to the range`, () => {
    const s = make();
    for (const i of [1, 2, 4, 6]) s.write(i * C, new Uint8Array([1]));
    assert.deepEqual(s.extents(10, 7 * C - 10, 100, STATES), [
      { length: C - 10, flags: HOLE },
      { length: 2 * C, flags: DATA },
      { length: C, flags: HOLE },
      { length: C, flags: DATA },
      { length: C, flags: HOLE },
      { length: C - 10, flags: DATA },
    ]);
    assert.deepEqual(s.extents(0, 7 * C, 2, STATES), [
      { length: C, flags: HOLE },
      { length: 2 * C, flags: DATA },
    ]);
    assert.deepEqual(s.extents(5, 5, 2, STATES), []);
    assert.equal(s.nextData(0, 7 * C), C);
    assert.equal(s.nextData(C + 7, 7 * C), C + 7);
    assert.equal(s.nextData(3 * C, 4 * C), undefined, "the end is exclusive");
    assert.equal(s.nextHole(C + 1, 7 * C), 3 * C);
    assert.equal(s.nextHole(6 * C, 7 * C), 7 * C);
    assert.equal(s.nextHole(6 * C, 6 * C + 3), 6 * C + 3);
  });

  Deno.test(`chunks (${name}): truncate drops everything past the size`, () => {
    const s = make();
    s.write(0, bytes(3 * C));
    s.truncate(C + 10);
    assert.equal(s.allocated, 2 * C);
    assert.deepEqual(read(s, C + 8, 4), [
      bytes(C + 10)[C + 8],
      bytes(C + 10)[C + 9],
      0,
      0,
    ]);
    assert.deepEqual(read(s, 2 * C, 2), [0, 0]);
    s.truncate(0);
    assert.equal(s.allocated, 0);
    assert.deepEqual(read(s, 0, 2), [0, 0]);
  });

  Deno.test(`chunks (${name}): views are the storage within one chunk`, () => {
    const s = make();
    assert.equal(s.allocated, 0);
    const w = s.view(C + 4, 4, true)!;
    w.set([1, 2, 3, 4]);
    assert.deepEqual(read(s, C + 4, 4), [1, 2, 3, 4]);
    assert.equal(s.allocated, C, "a write view allocates");
    const a = s.view(C + 4, 4)!;
    const b = s.view(C, C)!;
    assert.equal(a.buffer, b.buffer, "no copy");
    const copy = s.bytes(C - 1, 3);
    assert.deepEqual([...copy], [0, 0, 0]);
    assert.equal(
      s.bytes(C + 4, 2).buffer,
      a.buffer,
      "bytes within a chunk is a view",
    );
  });

  Deno.test(`chunks (${name}): growth predicts what a write allocates`, () => {
    const s = make();
    s.write(C, new Uint8Array(3));
    for (const [at, n] of [[0, 1], [C - 1, 2], [0, 4 * C], [2 * C + 5, 7]]) {
      const before = s.allocated;
      const g = s.growth(at, at + n);
      s.write(at, new Uint8Array(n).fill(1));
      assert.equal(s.allocated - before, g, `write ${at}+${n}`);
    }
    assert.equal(s.growth(0, 4 * C), 0);
  });

  Deno.test(`chunks (${name}): copyFrom keeps holes holes`, () => {
    const src = make();
    src.write(C, bytes(C + 5));
    const dst = make();
    dst.write(5 * C, bytes(2 * C, 3)); // to be replaced by the copy
    const size = dst.copyFrom(src, 0, 5 * C, 3 * C, 7 * C);
    assert.equal(size, 8 * C);
    assert.deepEqual(dst.extents(5 * C, 8 * C, 10, STATES), [
      { length: C, flags: HOLE },
      { length: 2 * C, flags: DATA },
    ]);
    assert.deepEqual(read(dst, 6 * C, C + 6), [...bytes(C + 5), 0]);
  });
}

Deno.test("chunks (map): freed and grown storage is never reused, so old views keep their bytes", () => {
  const s = new ChunkStore(new MapChunks(C, 512));
  s.write(0, new Uint8Array([7, 7]));
  const small = s.view(0, 2)!;
  s.write(1000, new Uint8Array([1])); // grows 512 -> 1024 into a new array
  assert.deepEqual([...small], [7, 7]);
  const grown = s.view(0, 2)!;
  s.zero(0, C);
  s.write(0, new Uint8Array([9, 9]));
  assert.deepEqual([...grown], [7, 7], "a freed chunk is not recycled");
  assert.deepEqual([...s.view(0, 2)!], [9, 9]);
});

Deno.test("chunks (map): chunks start small and double; truncate shrinks the last one", () => {
  const s = new ChunkStore(new MapChunks(1 << 20, 4096));
  s.write(0, new Uint8Array(10).fill(1));
  assert.equal(s.allocated, 4096);
  assert.equal(s.growth(0, 5000), 8192 - 4096);
  s.write(4999, new Uint8Array([2]));
  assert.equal(s.allocated, 8192);
  s.write(0, new Uint8Array(1 << 20).fill(3)); // the whole chunk
  s.write(1 << 20, new Uint8Array(1 << 20).fill(4)); // a whole new chunk
  assert.equal(s.allocated, 2 << 20);
  s.truncate(100);
  assert.equal(s.allocated, 4096);
  assert.deepEqual(read(s, 98, 4), [3, 3, 0, 0]);
  s.reserve(0, 20000);
  assert.equal(s.allocated, 32768, "reserve grows to the power of two");
  assert.deepEqual(read(s, 98, 4), [3, 3, 0, 0], "reserve keeps contents");
  assert.equal(s.nextHole(0, 1 << 20), 32768, "past the storage is a hole");
  // Zeroing a small chunk from its start to the end of its storage frees it.
  s.zero(0, 32768);
  assert.equal(s.allocated, 0);
});

Deno.test("chunks (map): offsets near 2^53 and huge sparse ranges stay exact and cheap", () => {
  const c = 1 << 20;
  const s = new ChunkStore(new MapChunks(c));
  const lastBase = Math.floor(MAX / c) * c;
  s.write(MAX - 5, new Uint8Array([1, 2, 3, 4, 5]));
  s.write(2 ** 45, new Uint8Array([6]));
  assert.deepEqual(read(s, MAX - 6, 6), [0, 1, 2, 3, 4, 5]);
  assert.equal(s.allocated, 2 * c);
  assert.equal(
    s.growth(0, 2 ** 50),
    2 ** 50 - c,
    "growth skips holes by count",
  );
  assert.deepEqual(s.extents(0, MAX, 10, STATES), [
    { length: 2 ** 45, flags: HOLE },
    { length: c, flags: DATA },
    { length: lastBase - 2 ** 45 - c, flags: HOLE },
    { length: MAX - lastBase, flags: DATA },
  ]);
  assert.equal(s.nextData(1, MAX), 2 ** 45);
  assert.equal(s.nextData(2 ** 45 + c, MAX), lastBase);
  assert.equal(s.nextHole(lastBase, MAX), MAX);
  s.zero(2 ** 44, MAX, { size: MAX });
  assert.equal(
    s.allocated,
    0,
    "zeroing to the end freed the last, partial chunk",
  );
  s.write(MAX - 1, new Uint8Array([8]));
  s.truncate(2 ** 50);
  assert.equal(s.allocated, 0);
});

Deno.test("chunks (flat): two stores over the same shared buffers are one store", () => {
  const memory = new SharedArrayBuffer(10 * C + 100);
  const state = new SharedArrayBuffer(11);
  const open = () =>
    new ChunkStore(
      new FlatChunks(new Uint8Array(memory), new Uint8Array(state), C),
    );
  const a = open();
  const b = open();
  a.write(C - 1, new Uint8Array([1, 2]));
  assert.deepEqual(read(b, C - 1, 2), [1, 2]);
  assert.equal(b.allocated, 2 * C);
  b.zero(0, 2 * C);
  assert.equal(a.allocated, 0);
  assert.deepEqual(
    [...new Uint8Array(memory, 0, 2 * C)].some((x) => x !== 0),
    false,
    "a freed chunk is zero-filled in the shared buffer",
  );
  a.write(10 * C, new Uint8Array(100).fill(5)); // the short last chunk
  assert.equal(b.allocated, 100);
  b.zero(10 * C, 10 * C + 100, { size: 10 * C + 100 });
  assert.deepEqual(b.extents(0, 10 * C + 100, 10, STATES), [
    { length: 10 * C + 100, flags: HOLE },
  ]);
  assert.deepEqual(read(a, 10 * C, 3), [0, 0, 0]);
});

Deno.test("chunks (flat): views span chunks, and zeroing holes leaves them untouched", () => {
  const s = flat(8 * C);
  const v = s.view(C - 2, C + 4, true)!;
  assert.equal(v.length, C + 4);
  assert.deepEqual(s.extents(0, 4 * C, 10, STATES), [
    { length: 3 * C, flags: DATA },
    { length: C, flags: HOLE },
  ]);
  s.zero(4 * C, 8 * C);
  assert.equal(s.allocated, 3 * C);
  assert.throws(() => s.write(8 * C, new Uint8Array(1)), RangeError);
  assert.throws(
    () => new FlatChunks(new Uint8Array(2 * C), new Uint8Array(1), C),
    /State array too short: 1 bytes for 2 chunks/,
  );
});

Deno.test("map chunks: a chunk freed and written again reuses its storage, zeroed, within the spares budget", async () => {
  const { ChunkSpares } = await import("../../store/_chunk_backings.ts");
  const spares = new ChunkSpares(3 * C, 2 * C);
  const a = new ChunkStore(new MapChunks(1 << 20, C, spares));
  a.write(0, new Uint8Array(6000).fill(0xaa));
  const before = a.bytes(0, 6000);
  a.truncate(0); // what an NFS client's writeFile sends first
  assert.equal(a.allocated, 0, "freed storage is not charged");
  assert.equal(spares.bytes, 2 * C, "kept for the next write");
  a.write(0, new Uint8Array(5000).fill(0xbb));
  assert.equal(a.bytes(0, 5000).buffer, before.buffer, "the same storage");
  assert.equal(spares.bytes, 0);
  assert.equal(a.allocated, 2 * C);
  // No stale byte survives: past the new data it reads zeros.
  assert.ok(a.bytes(5000, 2 * C - 5000).every((b) => b === 0));
  assert.ok(before.subarray(0, 5000).every((b) => b === 0xbb));

  // Another store never gets it: spares are kept per store and chunk.
  const b = new ChunkStore(new MapChunks(1 << 20, C, spares));
  a.truncate(0);
  b.write(0, new Uint8Array(6000).fill(1));
  assert.notEqual(b.bytes(0, 6000).buffer, before.buffer);
  // Over `largest` (2 chunks of C here) or past `max`: not kept.
  b.truncate(0);
  assert.equal(spares.bytes, 2 * C, "b's spare would pass max: dropped");
  const big = new ChunkStore(new MapChunks(1 << 20, C, spares));
  big.write(0, new Uint8Array(3 * C));
  big.truncate(0);
  assert.equal(spares.bytes, 2 * C);
  // Dropping a store's spare gives the budget back.
  a.dropSpare();
  assert.equal(spares.bytes, 0);
});

Deno.test("map chunks: storage freed unread serves any store's next chunk; storage a reader was lent never does", async () => {
  const { ChunkSpares } = await import("../../store/_chunk_backings.ts");
  const CHUNK = 4 * C;
  const spares = new ChunkSpares(0, 0, 3 * CHUNK);
  const a = new ChunkStore(new MapChunks(CHUNK, C, spares));
  const b = new ChunkStore(new MapChunks(CHUNK, C, spares));
  // Two whole chunks written, never read, then freed: both go to the list.
  a.write(0, new Uint8Array(2 * CHUNK).fill(0xaa));
  a.truncate(0);
  assert.equal(spares.freeBytes, 2 * CHUNK);
  assert.equal(a.allocated, 0, "listed storage is not charged");
  // Another store's whole-chunk write takes one and overwrites all of it.
  b.write(CHUNK, new Uint8Array(CHUNK).fill(0xbb));
  assert.equal(spares.freeBytes, CHUNK);
  assert.ok(b.bytes(CHUNK, CHUNK).every((x) => x === 0xbb));
  // A partial write into a listed chunk: the stale bytes around it read 0.
  b.write(4 * CHUNK - 15, new Uint8Array(5).fill(0xcc));
  assert.equal(spares.freeBytes, 0, "the chunk came from the list");
  const got = b.bytes(3 * CHUNK, CHUNK);
  assert.ok(got.subarray(0, CHUNK - 15).every((x) => x === 0));
  assert.ok(got.subarray(CHUNK - 15, CHUNK - 10).every((x) => x === 0xcc));
  assert.ok(got.subarray(CHUNK - 10).every((x) => x === 0));

  // A chunk a reader holds a view of is never listed: the view keeps its bytes.
  a.write(0, new Uint8Array(CHUNK).fill(0x11));
  const view = a.bytes(0, CHUNK);
  const nbd = a.view(0, 8); // the device path lends too
  assert.ok(nbd !== undefined);
  a.truncate(0);
  assert.equal(spares.freeBytes, 0, "lent storage stays off the list");
  b.write(4 * CHUNK, new Uint8Array(CHUNK).fill(0x22));
  a.write(0, new Uint8Array(CHUNK).fill(0x33));
  assert.ok(view.every((x) => x === 0x11), "no other data shows through");
  // Past the budget, freed storage is dropped, not listed.
  const c = new ChunkStore(new MapChunks(CHUNK, C, spares));
  c.write(0, new Uint8Array(4 * CHUNK).fill(1));
  c.truncate(0);
  assert.equal(spares.freeBytes, 3 * CHUNK);
  // Storage smaller than a whole chunk is never listed.
  c.write(0, new Uint8Array(C).fill(1));
  c.truncate(0);
  assert.equal(spares.freeBytes, 3 * CHUNK);
  spares.take(CHUNK);
  c.write(0, new Uint8Array(C).fill(1));
  c.truncate(0);
  assert.equal(spares.freeBytes, 2 * CHUNK, "a partial chunk is dropped");
  // Without a list budget (the default), nothing is listed.
  const plain = new ChunkSpares();
  const d = new ChunkStore(new MapChunks(CHUNK, C, plain));
  d.write(0, new Uint8Array(CHUNK));
  d.truncate(0);
  assert.equal(plain.freeBytes, 0);
});
