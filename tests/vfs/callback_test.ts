import assert from "node:assert/strict";
import { CallbackFs } from "../../vfs/callback.ts";
import { FileType, ROOT } from "../../vfs/mod.ts";
import { store } from "./_store.ts";
import { conformance } from "./conformance.ts";

conformance(
  "callback",
  () =>
    Promise.resolve({
      fs: new CallbackFs(store()),
      close: () => Promise.resolve(),
    }),
  { mknod: false, hardLinks: false, sparse: false },
);

Deno.test("callback: open contexts are reused, closed on eviction and close()", async () => {
  const events: string[] = [];
  const fs = new CallbackFs(store(events), { openFiles: 2 });
  const ids = [];
  for (const n of ["a", "b", "c"]) {
    const f = await fs.create(ROOT, fs.root, n);
    await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode(n));
    ids.push(f.fileid);
  }
  for (let i = 0; i < 5; i++) await fs.read(ROOT, ids[2], 0, 1);
  assert.equal(events.filter((e) => e === "open /c rw").length, 1);
  assert.ok(events.includes("close /a"), "evicted when over the limit");
  await fs.write(ROOT, ids[2], 0, new Uint8Array([1]), "file");
  assert.ok(events.includes("commit /c"));
  await fs.close();
  assert.ok(events.includes("close /c"));
});

Deno.test("callback: FileIds follow renames, hard links through createLink", async () => {
  const fs = new CallbackFs(store());
  const d = await fs.mkdir(ROOT, fs.root, "d");
  const sub = await fs.mkdir(ROOT, d.fileid, "sub");
  const f = await fs.create(ROOT, sub.fileid, "f");
  await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode("x"));
  await fs.rename(ROOT, fs.root, "d", fs.root, "e");
  // The FileId of a file inside the moved directory still works.
  assert.equal(
    new TextDecoder().decode((await fs.read(ROOT, f.fileid, 0, 9)).data),
    "x",
  );
  assert.equal((await fs.lookup(ROOT, d.fileid, "sub")).fileid, sub.fileid);
  const l = await fs.link(ROOT, f.fileid, fs.root, "hard");
  assert.equal(l.nlink, 2);
  assert.equal((await fs.getattr(ROOT, f.fileid)).nlink, 2);
  await fs.remove(ROOT, sub.fileid, "f");
  assert.equal((await fs.getattr(ROOT, l.fileid)).nlink, 1);
  await assert.rejects(fs.getattr(ROOT, f.fileid), { code: "ESTALE" });
});

Deno.test("callback: readDir stops when the page is full", async () => {
  let calls = 0;
  const handlers = store();
  const fs = new CallbackFs({
    ...handlers,
    readDir(path, fill, ctx) {
      return handlers.readDir(path, (name) => {
        calls++;
        return fill(name);
      }, ctx);
    },
  });
  for (let i = 0; i < 100; i++) await fs.create(ROOT, fs.root, `f${i}`);
  calls = 0;
  const page = await fs.readdir(ROOT, fs.root, { limit: 10 });
  assert.equal(page.entries.length, 10);
  assert.equal(page.eof, false);
  assert.ok(calls <= 11, `fill called ${calls} times`);
});

Deno.test("callback: missing handlers answer ENOTSUP, handler crashes EIO", async () => {
  const fs = new CallbackFs({
    getAttr: (p) =>
      p === "/"
        ? { type: FileType.Directory, mode: 0o777 }
        : p === "/boom"
        ? { type: FileType.Regular, size: 5 }
        : undefined,
    readDir: (_p, fill) => {
      fill("boom");
    },
    read: () => {
      throw new Error("disk on fire");
    },
  });
  await assert.rejects(fs.create(ROOT, fs.root, "x"), { code: "ENOTSUP" });
  await assert.rejects(fs.mkdir(ROOT, fs.root, "x"), { code: "ENOTSUP" });
  const b = await fs.lookup(ROOT, fs.root, "boom");
  await assert.rejects(fs.read(ROOT, b.fileid, 0, 5), { code: "EIO" });
  await assert.rejects(fs.write(ROOT, b.fileid, 0, new Uint8Array(1)), {
    code: "ENOTSUP",
  });
});
