import assert from "node:assert/strict";
import { MemFs, ROOT } from "../../vfs/mod.ts";
import { conformance } from "./conformance.ts";

const memfs = (options = {}) => () =>
  Promise.resolve({
    fs: new MemFs(options),
    close: () => Promise.resolve(),
  });

conformance("memfs", memfs(), {
  capacity: { bytes: 1 << 22, factory: memfs({ capacityBytes: 1 << 22 }) },
});

Deno.test("memfs: used counts allocated chunks, not size", async () => {
  const fs = new MemFs();
  const a = await fs.create(ROOT, fs.root, "a");
  await fs.write(ROOT, a.fileid, 0, new Uint8Array(10).fill(1));
  assert.equal((await fs.getattr(ROOT, a.fileid)).used, 4096);
  await fs.setattr(ROOT, a.fileid, { size: 2 ** 40 });
  const big = await fs.getattr(ROOT, a.fileid);
  assert.equal(big.size, 2 ** 40);
  assert.equal(big.used, 4096);
  await fs.write(ROOT, a.fileid, 2 ** 39, new Uint8Array(1 << 20));
  assert.equal((await fs.getattr(ROOT, a.fileid)).used, 4096 + (1 << 20));
  await fs.deallocate(ROOT, a.fileid, 2 ** 39, 1 << 20);
  assert.equal((await fs.getattr(ROOT, a.fileid)).used, 4096);
  await fs.setattr(ROOT, a.fileid, { size: 5 });
  const st = await fs.statfs(ROOT, fs.root);
  assert.equal(st.totalBytes - st.freeBytes, 4096);
  const r = await fs.read(ROOT, a.fileid, 0, 100);
  assert.deepEqual([...r.data], [1, 1, 1, 1, 1]);
  await fs.setattr(ROOT, a.fileid, { size: 10 });
  const r2 = await fs.read(ROOT, a.fileid, 0, 100);
  assert.deepEqual([...r2.data], [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
});

Deno.test("memfs: ENOSPC for file slots and xattrs", async () => {
  const fs = new MemFs({ capacityFiles: 3, capacityBytes: 100 });
  await fs.create(ROOT, fs.root, "a");
  await fs.mkdir(ROOT, fs.root, "b");
  await assert.rejects(fs.create(ROOT, fs.root, "c"), { code: "ENOSPC" });
  await assert.rejects(
    fs.xattrs.setxattr(ROOT, fs.root, "user.x", new Uint8Array(200)),
    { code: "ENOSPC" },
  );
  await fs.remove(ROOT, fs.root, "a");
  await fs.create(ROOT, fs.root, "c");
});

Deno.test("memfs: EMLINK at maxLinks", async () => {
  const fs = new MemFs({ maxLinks: 3 });
  const a = await fs.create(ROOT, fs.root, "a");
  await fs.link(ROOT, a.fileid, fs.root, "b");
  await fs.link(ROOT, a.fileid, fs.root, "c");
  await assert.rejects(fs.link(ROOT, a.fileid, fs.root, "d"), {
    code: "EMLINK",
  });
});

Deno.test("memfs: readdir of 10,000 entries pages by cookie after removals", async () => {
  const fs = new MemFs();
  const d = await fs.mkdir(ROOT, fs.root, "big");
  for (let i = 0; i < 10_000; i++) await fs.create(ROOT, d.fileid, `f${i}`);
  // Remove most entries to force compaction of the slot list.
  for (let i = 0; i < 9_000; i++) {
    if (i % 10 !== 0) await fs.remove(ROOT, d.fileid, `f${i}`);
  }
  const seen: string[] = [];
  let cookie = 0n;
  let pages = 0;
  for (;;) {
    const page = await fs.readdir(ROOT, d.fileid, { cookie, limit: 97 });
    pages++;
    seen.push(...page.entries.map((e) => e.name));
    if (page.eof) break;
    cookie = page.entries[page.entries.length - 1].cookie;
  }
  assert.equal(seen.length, 900 + 1000);
  assert.equal(new Set(seen).size, seen.length);
  assert.equal(pages, Math.ceil(1900 / 97));
  assert.ok(seen.includes("f9999") && seen.includes("f8990"));
});

Deno.test("memfs: a read inside one chunk returns a view, holes return zeros", async () => {
  const fs = new MemFs();
  const a = await fs.create(ROOT, fs.root, "a");
  const data = new Uint8Array(1 << 20).fill(9);
  await fs.write(ROOT, a.fileid, 0, data);
  data.fill(0);
  const r1 = await fs.read(ROOT, a.fileid, 0, 1 << 20);
  const r2 = await fs.read(ROOT, a.fileid, 0, 1 << 20);
  assert.equal(r1.data.buffer, r2.data.buffer, "no copy per read");
  assert.ok(r1.data.every((x) => x === 9), "write copied the caller's data");
});

Deno.test("memfs: times strictly increase and setgid directories pass on their group", async () => {
  const fs = new MemFs();
  const a = await fs.create(ROOT, fs.root, "a");
  let last = (await fs.getattr(ROOT, a.fileid)).mtime;
  for (let i = 0; i < 50; i++) {
    const w = await fs.write(ROOT, a.fileid, 0, new Uint8Array([i]));
    const t = w.attrs.mtime;
    assert.ok(t.sec > last.sec || (t.sec === last.sec && t.nsec > last.nsec));
    last = t;
  }
  const g = await fs.mkdir(ROOT, fs.root, "g", { mode: 0o2777, gid: 50 });
  const user = { uid: 7, gid: 7, groups: [] };
  const f = await fs.create(user, g.fileid, "f");
  assert.equal(f.gid, 50);
  const sub = await fs.mkdir(user, g.fileid, "sub");
  assert.equal(sub.gid, 50);
  assert.equal(sub.mode & 0o2000, 0o2000);
});

Deno.test("memfs: fixed clock and custom root ownership", async () => {
  const fs = new MemFs({
    clock: () => ({ sec: 42, nsec: 7 }),
    rootMode: 0o777,
    rootUid: 1000,
    rootGid: 100,
    fsid: 9,
  });
  const r = await fs.getattr(ROOT, fs.root);
  assert.equal(r.mode, 0o777);
  assert.equal(r.uid, 1000);
  assert.equal(r.gid, 100);
  assert.equal(r.fsid, 9);
  assert.deepEqual(r.mtime, { sec: 42, nsec: 7 });
});
