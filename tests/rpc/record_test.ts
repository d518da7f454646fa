import assert from "node:assert/strict";
import {
  fragmentRecord,
  LAST_FRAGMENT,
  RECORD_POOL_MIN,
  RecordError,
  recordMark,
  RecordPool,
  RecordReader,
} from "../../rpc/record.ts";
import { XdrWriter } from "../../rpc/xdr.ts";

/** A byte source that hands out `stream` in chunks of the given sizes. */
function chunked(stream: Uint8Array, sizes: number[] = [stream.length]) {
  let at = 0;
  let i = 0;
  return {
    reads: 0,
    read(p: Uint8Array): Promise<number | null> {
      this.reads++;
      if (at >= stream.length) return Promise.resolve(null);
      const n = Math.min(
        sizes[i++ % sizes.length],
        p.length,
        stream.length - at,
      );
      p.set(stream.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function body(n: number, seed = 1): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 31 + seed) & 255);
}

Deno.test("record: single- and multi-fragment records, any chunking", async () => {
  const records = [body(0), body(1), body(7), body(100_000, 3), body(4096, 5)];
  const stream = concat(
    fragmentRecord(records[0]),
    fragmentRecord(records[1]),
    fragmentRecord(records[2], { fragmentSize: 2 }),
    fragmentRecord(records[3], { fragmentSize: 30_000 }),
    fragmentRecord(records[4], { fragmentSize: 1 }),
  );
  for (
    const sizes of [[stream.length], [1], [3, 5, 7], [65536], [4, 1000, 2]]
  ) {
    const reader = new RecordReader(chunked(stream, sizes), {
      bufferSize: 1024,
    });
    for (const want of records) assert.deepEqual(await reader.next(), want);
    assert.equal(await reader.next(), null);
    assert.equal(reader.bytesRead, stream.length);
  }
});

Deno.test("record: empty non-last fragments are allowed and cost nothing", async () => {
  const marks = new Uint8Array(4 * 1000); // 1000 empty non-last fragments
  const last = new Uint8Array([0x80, 0, 0, 2, 9, 8]);
  const reader = new RecordReader(chunked(concat(marks, last)));
  assert.deepEqual(await reader.next(), new Uint8Array([9, 8]));
});

Deno.test("record: the maximum size counts every fragment", async () => {
  const ok = new RecordReader(
    chunked(fragmentRecord(body(100), { fragmentSize: 10 })),
    {
      maxRecordSize: 100,
    },
  );
  assert.equal((await ok.next())!.length, 100);
  const over = new RecordReader(
    chunked(fragmentRecord(body(101), { fragmentSize: 10 })),
    {
      maxRecordSize: 100,
    },
  );
  await assert.rejects(() => over.next(), (e) =>
    e instanceof RecordError &&
    /Record too large: 101 bytes, maximum 100/.test(e.message));
  // A single huge mark is refused before anything is allocated for it.
  const huge = new RecordReader(
    chunked(new Uint8Array([0xff, 0xff, 0xff, 0xff])),
  );
  await assert.rejects(() => huge.next(), /Record too large: 2147483647/);
});

Deno.test("record: a stream that ends inside a record is an error", async () => {
  const full = fragmentRecord(body(50), { fragmentSize: 20 });
  for (const cut of [1, 3, 4, 10, 24, 30, full.length - 1]) {
    const reader = new RecordReader(chunked(full.subarray(0, cut)));
    await assert.rejects(() => reader.next(), RecordError, `cut at ${cut}`);
  }
  assert.equal(await new RecordReader(chunked(new Uint8Array(0))).next(), null);
});

Deno.test("record: a large record is read straight into its own buffer", async () => {
  const big = body(300_000);
  const src = chunked(fragmentRecord(big), [70_000]);
  const reader = new RecordReader(src, { bufferSize: 4096 });
  assert.deepEqual(await reader.next(), big);
});

Deno.test("record: records handed out stay valid after later reads", async () => {
  const a = body(10, 1);
  const b = body(10, 2);
  const reader = new RecordReader(
    chunked(concat(fragmentRecord(a), fragmentRecord(b))),
  );
  const ra = await reader.next();
  const rb = await reader.next();
  assert.deepEqual(ra, a);
  assert.deepEqual(rb, b);
});

Deno.test("record pool: a given-back record's storage serves the next large record, wholly overwritten", async () => {
  const a = body(300_000, 1);
  const b = body(300_000, 2);
  const pool = new RecordPool();
  const reader = new RecordReader(
    chunked(concat(fragmentRecord(a), fragmentRecord(b)), [4096]),
    { bufferSize: 4096, pool },
  );
  const ra = (await reader.next())!;
  assert.deepEqual(ra, a);
  pool.give(ra);
  assert.ok(pool.freeBytes >= a.length, "the storage is back in the pool");
  const rb = (await reader.next())!;
  assert.equal(rb.buffer, ra.buffer, "the same storage is reused");
  assert.deepEqual(rb, b, "no stale byte of the first record shows");
  assert.equal(pool.freeBytes, 0);
});

Deno.test("record pool: records not given back are never reused", async () => {
  const a = body(300_000, 1);
  const b = body(300_000, 2);
  const pool = new RecordPool();
  const reader = new RecordReader(
    chunked(concat(fragmentRecord(a), fragmentRecord(b)), [70_000]),
    { bufferSize: 4096, pool },
  );
  const ra = (await reader.next())!;
  const rb = (await reader.next())!;
  assert.notEqual(rb.buffer, ra.buffer);
  assert.deepEqual(ra, a, "a record kept by the caller keeps its bytes");
  assert.deepEqual(rb, b);
});

Deno.test("record pool: foreign arrays, views, second gives and storage over the limit are ignored", () => {
  const pool = new RecordPool({ maxBytes: 2 * RECORD_POOL_MIN });
  pool.give(new Uint8Array(RECORD_POOL_MIN));
  assert.equal(pool.freeBytes, 0, "an array the pool did not make");
  const r = pool.take(RECORD_POOL_MIN);
  pool.give(r.subarray(1));
  assert.equal(pool.freeBytes, 0, "a view that does not start the storage");
  pool.give(r);
  pool.give(r);
  assert.equal(pool.freeBytes, RECORD_POOL_MIN, "given twice, kept once");
  const big = pool.take(3 * RECORD_POOL_MIN);
  pool.give(big);
  assert.equal(pool.freeBytes, RECORD_POOL_MIN, "over maxBytes: dropped");
});

Deno.test("record pool: small records and multi-fragment records do not come from the pool", async () => {
  const small = body(1000);
  const big = body(200_000);
  const pool = new RecordPool();
  const reader = new RecordReader(
    chunked(
      concat(
        fragmentRecord(small),
        fragmentRecord(big, { fragmentSize: 100_000 }),
      ),
      [500],
    ),
    { bufferSize: 4096, pool },
  );
  const rs = (await reader.next())!;
  const rb = (await reader.next())!;
  assert.deepEqual(rs, small);
  assert.deepEqual(rb, big);
  pool.give(rs);
  pool.give(rb);
  assert.equal(pool.freeBytes, 0, "neither was the pool's");
});

Deno.test("record: recordMark and fragment encode the last-fragment bit", () => {
  const w = new XdrWriter({ reserve: 4 }).u32(1).u32(2);
  const bytes = w.withHeader(recordMark);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x80, 0, 0, 8]);
  const f = fragmentRecord(body(5), { fragmentSize: 2 });
  const v = new DataView(f.buffer);
  assert.equal(v.getUint32(0), 2);
  assert.equal(v.getUint32(6), 2);
  assert.equal(v.getUint32(12), (LAST_FRAGMENT | 1) >>> 0);
  assert.equal(fragmentRecord(new Uint8Array(0)).length, 4);
});

Deno.test("record: tryNext hands out whole buffered records only", async () => {
  const stream = concat(
    fragmentRecord(body(3)),
    fragmentRecord(body(5)),
    fragmentRecord(body(6), { fragmentSize: 2 }),
    fragmentRecord(body(9)),
  );
  // Everything arrives in one read, but the last record is cut off.
  const reader = new RecordReader(chunked(stream, [stream.length - 2, 2]));
  assert.equal(reader.tryNext(), undefined, "nothing buffered yet");
  assert.deepEqual(await reader.next(), body(3));
  assert.deepEqual(reader.tryNext(), body(5));
  assert.equal(reader.tryNext(), undefined, "multi-fragment: use next()");
  assert.deepEqual(await reader.next(), body(6));
  assert.equal(reader.tryNext(), undefined, "incomplete");
  assert.deepEqual(await reader.next(), body(9));
  assert.equal(await reader.next(), null);
  // An oversized mark is left for next() to report.
  const big = new RecordReader(chunked(new Uint8Array([0x80, 0, 1, 0, 0])), {
    maxRecordSize: 16,
  });
  await big.next().catch(() => {});
  assert.equal(big.tryNext(), undefined);
});

Deno.test("record pool: small storage comes back by its size in 512-byte steps", () => {
  const pool = new RecordPool({ maxBytes: 8192 });
  const a = pool.take(4200);
  assert.equal(a.byteLength, 4200);
  assert.equal(a.buffer.byteLength, 4608, "nine 512-byte steps");
  pool.give(a);
  assert.equal(pool.freeBytes, 4608);
  pool.give(a);
  assert.equal(pool.freeBytes, 4608, "given twice, kept once");
  const b = pool.take(4100);
  assert.equal(b.buffer, a.buffer, "a size in the same step reuses it");
  assert.equal(b.byteLength, 4100);
  assert.equal(pool.freeBytes, 0);
  const c = pool.take(4200);
  assert.notEqual(c.buffer, a.buffer, "in use storage is not handed out twice");
  const d = pool.take(100);
  pool.give(d);
  assert.notEqual(pool.take(1000).buffer, d.buffer, "another step's storage");
  pool.give(new Uint8Array(512));
  pool.give(b.subarray(1));
  assert.equal(pool.freeBytes, 512, "foreign arrays and views are ignored");
  pool.give(b);
  pool.give(c);
  assert.equal(pool.freeBytes, 512 + 4608, "over maxBytes: dropped");
});

Deno.test("record reader: lowWater hears the bytes each read inside a large record waits for, then 0", async () => {
  const body = new Uint8Array(100_000).map((_, i) => i * 7);
  const small = new Uint8Array([1, 2, 3]);
  const stream = new Uint8Array([
    ...fragmentRecord(body),
    ...fragmentRecord(small),
  ]);
  const marks: number[] = [];
  const source = chunked(stream, [30_004, 50_000, 40_000]);
  const reader = new RecordReader(source, {
    bufferSize: 4096,
    lowWater: (n) => marks.push(n),
  });
  assert.deepEqual(await reader.next(), body);
  // The first read fills the 4 KiB staging buffer (a mark and 4,092 bytes
  // of body); the rest is read straight into the record, 50,000 and
  // 40,000 bytes at a time, each read told what is still missing.
  assert.deepEqual(marks, [95_908, 45_908, 5_908, 0]);
  assert.deepEqual(await reader.next(), small);
  assert.deepEqual(marks.length, 4, "a buffered small record: no mark");
});

Deno.test("RecordReader.filledLast: a record whose tail was read into its own storage", async () => {
  const record = (n: number) => {
    const b = new Uint8Array(4 + n).fill(9);
    new DataView(b.buffer).setUint32(0, 0x80000000 | n);
    return b;
  };
  // A 100-byte record that arrives whole, then a 1,000-byte one in pieces.
  const chunks = [record(100), record(1000).subarray(0, 300)];
  chunks.push(record(1000).subarray(300));
  const reader = new RecordReader({
    read(p: Uint8Array) {
      const c = chunks.shift();
      if (c === undefined) return Promise.resolve(null);
      p.set(c);
      return Promise.resolve(c.length);
    },
  }, { bufferSize: 512 });
  assert.equal((await reader.next())?.length, 100);
  assert.equal(reader.filledLast, false, "taken from the buffer");
  assert.equal((await reader.next())?.length, 1000);
  assert.equal(reader.filledLast, true, "its tail read straight in");
  assert.equal(await reader.next(), null);
  assert.equal(reader.filledLast, false);
});
