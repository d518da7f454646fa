// MemFs file data on the chunk store: sparse ranges, punching, seeking, copies.
import assert from "node:assert/strict";
import { MemFs, ROOT } from "../../vfs/mod.ts";

Deno.test("memfs data: punching and capacity checks cost what is allocated, not the range", async () => {
  const fs = new MemFs({ capacityBytes: 1 << 30 });
  const a = await fs.create(ROOT, fs.root, "a");
  await fs.setattr(ROOT, a.fileid, { size: 2 ** 50 });
  await fs.write(ROOT, a.fileid, 2 ** 49, new Uint8Array([1]));
  await fs.write(ROOT, a.fileid, 0, new Uint8Array([2]));
  assert.equal((await fs.getattr(ROOT, a.fileid)).used, 2 * 4096);
  await assert.rejects(fs.allocate!(ROOT, a.fileid, 0, 2 ** 50), {
    code: "ENOSPC",
  });
  await fs.deallocate!(ROOT, a.fileid, 0, 2 ** 50);
  assert.equal((await fs.getattr(ROOT, a.fileid)).used, 0);
  const r = await fs.read(ROOT, a.fileid, 2 ** 49 - 1, 3);
  assert.deepEqual([...r.data], [0, 0, 0]);
});

Deno.test("memfs data: a hole punched to the end of file frees its last, partial chunk", async () => {
  const fs = new MemFs();
  const a = await fs.create(ROOT, fs.root, "a");
  await fs.write(ROOT, a.fileid, 0, new Uint8Array(10).fill(3));
  await fs.deallocate!(ROOT, a.fileid, 1, 100);
  assert.equal((await fs.getattr(ROOT, a.fileid)).used, 4096, "not from 0");
  await fs.deallocate!(ROOT, a.fileid, 0, 10);
  const attrs = await fs.getattr(ROOT, a.fileid);
  assert.equal(attrs.used, 0);
  assert.equal(attrs.size, 10);
  assert.deepEqual([...(await fs.read(ROOT, a.fileid, 0, 10)).data], [
    ...new Uint8Array(10),
  ]);
});

Deno.test("memfs data: seek finds data and holes in a file sparse near 2^53", async () => {
  const fs = new MemFs();
  const a = await fs.create(ROOT, fs.root, "a");
  const end = Number.MAX_SAFE_INTEGER;
  const last = end - 100;
  await fs.write(ROOT, a.fileid, last, new Uint8Array(100).fill(1));
  assert.deepEqual(await fs.seek!(ROOT, a.fileid, 0, "data"), {
    offset: Math.floor(last / (1 << 20)) * (1 << 20), // chunk granularity
    eof: false,
  });
  assert.deepEqual(await fs.seek!(ROOT, a.fileid, 5, "hole"), {
    offset: 5,
    eof: false,
  });
  assert.deepEqual(await fs.seek!(ROOT, a.fileid, last, "hole"), {
    offset: end,
    eof: true,
  });
  const r = await fs.read(ROOT, a.fileid, end - 2, 10);
  assert.deepEqual([...r.data], [1, 1]);
  assert.equal(r.eof, true);
});

Deno.test("memfs data: copy keeps holes holes and charges only what it writes", async () => {
  const fs = new MemFs();
  const src = await fs.create(ROOT, fs.root, "src");
  const dst = await fs.create(ROOT, fs.root, "dst");
  await fs.write(ROOT, src.fileid, 3 << 20, new Uint8Array(5).fill(4));
  await fs.write(ROOT, dst.fileid, 1 << 20, new Uint8Array(1 << 20).fill(9));
  const n = await fs.copy!(ROOT, src.fileid, dst.fileid, {
    srcOffset: 0,
    dstOffset: 0,
    length: 0,
  });
  assert.equal(n, (3 << 20) + 5);
  const attrs = await fs.getattr(ROOT, dst.fileid);
  assert.equal(attrs.size, (3 << 20) + 5);
  assert.equal(attrs.used, 4096, "the overwritten chunk became a hole");
  const r = await fs.read(ROOT, dst.fileid, (3 << 20) - 1, 10);
  assert.deepEqual([...r.data], [0, 4, 4, 4, 4, 4]);
  const st = await fs.statfs(ROOT, fs.root);
  assert.equal(st.totalBytes - st.freeBytes, 2 * 4096);
});

Deno.test("memfs data: a read's view keeps its bytes when the file is truncated or removed and others are written", async () => {
  const fs = new MemFs();
  const MIB = 1 << 20;
  const a = await fs.create(ROOT, fs.root, "a");
  const b = await fs.create(ROOT, fs.root, "b");
  await fs.write(ROOT, a.fileid, 0, new Uint8Array(2 * MIB).fill(1));
  // A READ reply holds this view until its socket write is done.
  const { data } = await fs.read(ROOT, a.fileid, 0, MIB);
  assert.equal(data.length, MIB);
  await fs.setattr(ROOT, a.fileid, { size: 0 });
  await fs.write(ROOT, b.fileid, 0, new Uint8Array(2 * MIB).fill(2));
  await fs.write(ROOT, a.fileid, 0, new Uint8Array(MIB).fill(3));
  assert.ok(
    data.every((x) => x === 1),
    "a truncate's freed storage is not reused under a view",
  );
  const view2 = (await fs.read(ROOT, b.fileid, MIB, MIB)).data;
  await fs.remove(ROOT, fs.root, "b");
  const c = await fs.create(ROOT, fs.root, "c");
  await fs.write(ROOT, c.fileid, 0, new Uint8Array(4 * MIB).fill(4));
  assert.ok(view2.every((x) => x === 2), "nor a removed file's");
  // Storage freed unread (c's, full of 4s) is reused for a new chunk, and
  // reads back as what was written there, zeros around it.
  await fs.remove(ROOT, fs.root, "c");
  const d = await fs.create(ROOT, fs.root, "d");
  await fs.write(ROOT, d.fileid, 2 * MIB - 9, new Uint8Array(9).fill(5));
  const back = (await fs.read(ROOT, d.fileid, MIB, MIB)).data;
  assert.ok(back.subarray(0, MIB - 9).every((x) => x === 0), "no stale byte");
  assert.ok(back.subarray(MIB - 9).every((x) => x === 5));
});
