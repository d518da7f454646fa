// LocalFs attributes reused within one synchronous turn: what the reuse may
// never hide (changes made through the LocalFs, host changes in a later turn).
import assert from "node:assert/strict";
import { LocalFs, type LocalFsEngine } from "../../vfs/localfs.ts";
import { ROOT } from "../../vfs/types.ts";

const ENGINES: readonly LocalFsEngine[] = Deno.build.os === "linux"
  ? ["portable", "native"]
  : ["portable"];

async function withFs(
  fn: (fs: LocalFs, dir: string) => Promise<void>,
  engine?: LocalFsEngine,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "netfs-localfs-attrs-" });
  const fs = await LocalFs.open(dir, { stateDir: false, engine });
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

for (const engine of ENGINES) {
  Deno.test(`localfs attrs (${engine}): change never goes backwards when mtime is set into the past`, async () => {
    await withFs(async (fs) => {
      const f = await fs.create(ROOT, fs.root, "f", {});
      const seen = [f.change];
      const note = (a: { change: number }) => {
        assert.ok(
          a.change > seen.at(-1)!,
          `change only grows (NFSv4.2 MONOTONIC_INCR): ${
            seen.join(", ")
          } then ${a.change}`,
        );
        seen.push(a.change);
      };
      // What tar, cp -p and rsync -t do: write, then set mtime to a time
      // in the past, within the same second of ctime.
      note((await fs.write(ROOT, f.fileid, 0, new Uint8Array([1]))).attrs);
      note(await fs.setattr(ROOT, f.fileid, { mtime: { sec: 5, nsec: 0 } }));
      const again = await fs.getattr(ROOT, f.fileid);
      assert.equal(again.change, seen.at(-1), "unchanged without a change");
      // An mtime an hour ahead, then set back: the time base drops by an
      // hour on either engine.
      const ahead = Math.floor(Date.now() / 1000) + 3600;
      note(
        await fs.setattr(ROOT, f.fileid, { mtime: { sec: ahead, nsec: 0 } }),
      );
      note(await fs.setattr(ROOT, f.fileid, { mtime: { sec: 7, nsec: 0 } }));
      note((await fs.write(ROOT, f.fileid, 1, new Uint8Array([2]))).attrs);
      assert.equal((await fs.getattr(ROOT, f.fileid)).change, seen.at(-1));
    }, engine);
  });
}
