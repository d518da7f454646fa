// Storage offered for one call (store/_offers.ts) and the chunk backing that
// adopts it (store/_chunk_backings.ts MapChunks): when storage may be
// taken, when it goes back to its owner, and that storage a reader was lent
// a view of never does.
import assert from "node:assert/strict";
import { ChunkStore } from "../../store/_chunks.ts";
import { ChunkSpares, MapChunks } from "../../store/_chunk_backings.ts";
import {
  closeOffer,
  offered,
  offerStorage,
  StorageOffer,
} from "../../store/_offers.ts";

const MiB = 1 << 20;
/** A 1 MiB WRITE's record as the pool serves it: 1 MiB and a 4 KiB step. */
const RECORD = MiB + 4096;

/** A record, its data (a view at an offset, as a WRITE's), and what came back. */
function record(fill = 1) {
  const rec = new Uint8Array(RECORD);
  const data = rec.subarray(148, 148 + MiB).fill(fill);
  const back: Uint8Array[] = [];
  offerStorage(rec, (r) => back.push(r));
  return { rec, data, back };
}

function store(pooled = 64 * MiB) {
  const spares = new ChunkSpares(undefined, undefined, pooled);
  const chunks = new MapChunks(MiB, 4096, spares);
  return { spares, chunks, store: new ChunkStore(chunks) };
}

Deno.test("StorageOffer: taken once, only while the call runs", () => {
  const { rec, data, back } = record();
  const offer = offered(data)!;
  assert.ok(offer instanceof StorageOffer);
  assert.equal(offer.bytes, RECORD, "the taker holds the whole record");
  assert.equal(offer.take(), true);
  assert.equal(offer.take(), false, "a second taker gets nothing");
  assert.equal(offered(data), undefined, "a taken offer is no longer offered");
  assert.equal(
    closeOffer(rec),
    false,
    "taken and not released: not the caller's",
  );
  assert.deepEqual(back, []);
  offer.release();
  assert.deepEqual(back, [rec], "released after the call: back at once");
});

Deno.test("StorageOffer: released while the call runs, it goes back when the call ends", () => {
  const { rec, data, back } = record();
  const offer = offered(data)!;
  offer.take();
  offer.release();
  assert.deepEqual(back, [], "the call may still read its data");
  assert.equal(closeOffer(rec), true, "the caller gives it back itself");
  assert.deepEqual(back, [], "and the offer does not give it twice");
});

Deno.test("StorageOffer: a closed offer is not found, and not taken", () => {
  const { rec, data } = record();
  const offer = offered(data)!;
  assert.equal(closeOffer(rec), true);
  assert.equal(offered(data), undefined);
  assert.equal(offer.take(), false);
  assert.equal(closeOffer(rec), true, "no offer: the storage is the caller's");
});

Deno.test("MapChunks: adopted storage is the chunk, charged whole, and given back once its chunk is freed and the next adoption swaps it out", () => {
  const { spares, chunks, store: s } = store();
  const a = record(1);
  const offer = offered(a.data)!;
  assert.equal(s.adoptGrowth(0, offer), RECORD);
  assert.equal(s.adoptGrowth(4096, offer), undefined, "not a chunk's start");
  assert.ok(offer.take());
  s.adopt(0, a.data, offer);
  assert.equal(s.allocated, RECORD);
  assert.equal(chunks.get(0), a.data);
  assert.equal(closeOffer(a.rec), false);
  s.truncate(0);
  assert.equal(s.allocated, 0);
  assert.deepEqual(a.back, [], "kept for the next adoption's swap");
  assert.equal(spares.freeBytes, RECORD);
  const b = record(2);
  const next = offered(b.data)!;
  assert.ok(next.take());
  s.adopt(0, b.data, next);
  assert.deepEqual(a.back, [a.rec], "the kept record goes back to its pool");
  assert.equal(spares.freeBytes, 0);
  closeOffer(b.rec);
  // Overwritten whole by a third record: the second goes straight back.
  const c = record(3);
  const third = offered(c.data)!;
  assert.equal(s.adoptGrowth(0, third), 0);
  assert.ok(third.take());
  s.adopt(0, c.data, third);
  assert.deepEqual(b.back, [b.rec]);
  assert.equal(s.allocated, RECORD);
});

Deno.test("MapChunks: adopted storage a reader was lent a view of never goes back", () => {
  const { spares, store: s } = store();
  const a = record(1);
  const offer = offered(a.data)!;
  offer.take();
  s.adopt(0, a.data, offer);
  closeOffer(a.rec);
  const view = s.bytes(0, 4096);
  assert.equal(view.buffer, a.rec.buffer, "the read is a view of the record");
  assert.equal(
    s.adoptGrowth(0, offer),
    undefined,
    "a lent chunk is written in place, not swapped",
  );
  s.truncate(0);
  assert.equal(spares.freeBytes, 0, "not kept");
  const b = record(2);
  const next = offered(b.data)!;
  next.take();
  s.adopt(0, b.data, next);
  assert.deepEqual(a.back, [], "a reader may still hold a view: never reused");
});

Deno.test("MapChunks: adopted storage freed while its call runs goes back when the call ends", () => {
  const { spares, store: s } = store();
  const a = record(1);
  const offer = offered(a.data)!;
  offer.take();
  s.adopt(0, a.data, offer);
  s.truncate(0);
  assert.equal(spares.freeBytes, 0, "not kept: its call may still read it");
  assert.deepEqual(a.back, []);
  assert.equal(closeOffer(a.rec), true, "the call's end gives it back");
});

Deno.test("MapChunks: a lent chunk of its own storage is not replaced by adoption", () => {
  const { store: s } = store();
  s.write(0, new Uint8Array(MiB).fill(9));
  const a = record(1);
  const offer = offered(a.data)!;
  assert.equal(s.adoptGrowth(0, offer), RECORD - MiB, "unlent: swapped");
  s.bytes(0, 10);
  assert.equal(s.adoptGrowth(0, offer), undefined, "lent: written in place");
  closeOffer(a.rec);
});

Deno.test("MapChunks: a chunk cut below half gives its adopted storage back", () => {
  const { chunks, store: s } = store();
  const a = record(1);
  const offer = offered(a.data)!;
  offer.take();
  s.adopt(0, a.data, offer);
  closeOffer(a.rec);
  s.truncate(1000);
  assert.equal(s.allocated, 4096, "the chunk's first bytes, copied");
  assert.ok(chunks.get(0)!.buffer !== a.rec.buffer);
  assert.deepEqual([...chunks.get(0)!.subarray(0, 1000)], Array(1000).fill(1));
  s.truncate(0);
  const b = record(2);
  const next = offered(b.data)!;
  next.take();
  s.adopt(0, b.data, next);
  assert.deepEqual(a.back, [a.rec]);
});
