// LocalFs attributes reused within one synchronous turn: what the reuse may
// never hide (changes made through the LocalFs, host changes in a later turn).
import assert from "node:assert/strict";
import { LocalFs } from "../../vfs/localfs.ts";
import { ROOT } from "../../vfs/types.ts";

async function withFs(
  fn: (fs: LocalFs, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "netfs-localfs-attrs-" });
  const fs = await LocalFs.open(dir, { stateDir: false });
  try {
    await fn(fs, dir);
  } finally {
    await fs.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("localfs attrs: a getattr in the lookup's turn matches a fresh one", async () => {
  await withFs(async (fs) => {
    const d = await fs.mkdir(ROOT, fs.root, "d", { mode: 0o755 });
    await fs.create(ROOT, d.fileid, "a", {});
    const found = fs.lookup(ROOT, d.fileid, "a");
    const same = fs.getattr(ROOT, d.fileid);
    assert.equal((await found).type, 1);
    assert.deepEqual(await same, await fs.getattr(ROOT, d.fileid));
  });
});

Deno.test("localfs attrs: a change through the LocalFs in the same turn is seen", async () => {
  await withFs(async (fs) => {
    const d = await fs.mkdir(ROOT, fs.root, "d", { mode: 0o755 });
    await fs.create(ROOT, d.fileid, "a", {});
    const before = await fs.getattr(ROOT, d.fileid);
    // All three run synchronously, one after the other, in this turn.
    const found = fs.lookup(ROOT, d.fileid, "a");
    const made = fs.create(ROOT, d.fileid, "b", {});
    const after = fs.getattr(ROOT, d.fileid);
    await Promise.all([found, made]);
    const now = await fs.getattr(ROOT, d.fileid);
    assert.deepEqual(await after, now);
    assert.notDeepEqual(now, before, "the create changed the directory");
    const gone = fs.lookup(ROOT, d.fileid, "b");
    const removed = fs.remove(ROOT, d.fileid, "b");
    const afterRemove = fs.getattr(ROOT, d.fileid);
    await Promise.all([gone, removed]);
    assert.deepEqual(await afterRemove, await fs.getattr(ROOT, d.fileid));
    assert.notDeepEqual(await afterRemove, now, "the remove changed it");
  });
});

Deno.test("localfs attrs: a host change after the turn is seen", async () => {
  await withFs(async (fs, dir) => {
    const d = await fs.mkdir(ROOT, fs.root, "d", { mode: 0o755 });
    const missing = fs.lookup(ROOT, d.fileid, "h");
    const first = fs.getattr(ROOT, d.fileid);
    await assert.rejects(missing, { code: "ENOENT" });
    await first;
    Deno.chmodSync(`${dir}/d`, 0o700);
    assert.equal((await fs.getattr(ROOT, d.fileid)).mode & 0o777, 0o700);
    // The host removes the directory: the next getattr finds it gone.
    const found = fs.lookup(ROOT, fs.root, "d");
    await found;
    Deno.removeSync(`${dir}/d`);
    await assert.rejects(fs.getattr(ROOT, d.fileid), { code: "ESTALE" });
  });
});
