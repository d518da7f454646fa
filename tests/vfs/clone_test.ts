// The optional `clone` capability (reflinks): offered by a wrapper exactly
// when what it wraps has it, refused by a read-only view, and on LocalFs
// present with the native engine only.
import assert from "node:assert/strict";
import {
  type Credentials,
  type FileId,
  type FileSystem,
  LocalFs,
  MemFs,
  PassthroughFs,
  PerUserFs,
  ReadOnlyFs,
  ROOT,
} from "../../vfs/mod.ts";
import { bare, withRoot } from "./_bare.ts";

type CloneArgs = { srcOffset: number; dstOffset: number; length: number };

/** A MemFs with a `clone` that records its calls and copies the range. */
function cloning(calls: string[]): FileSystem {
  const fs = new MemFs();
  return Object.assign(fs, {
    async clone(cred: Credentials, src: FileId, dst: FileId, o: CloneArgs) {
      calls.push(`uid ${cred.uid}: ${src}->${dst} ${o.length}`);
      await fs.copy(cred, src, dst, o);
    },
  });
}

Deno.test("clone: a passthrough wrapper offers clone exactly when the wrapped file system does, through forward", async () => {
  assert.equal("clone" in new MemFs(), false, "MemFs has no reflinks");
  assert.equal("clone" in new PassthroughFs(new MemFs()), false);
  assert.equal("clone" in new PassthroughFs(bare()), false);
  const calls: string[] = [];
  const forwarded: number[] = [];
  class Logged extends PassthroughFs {
    protected override forward<T>(
      cred: Credentials,
      op: (fs: FileSystem) => Promise<T>,
    ): Promise<T> {
      forwarded.push(cred.uid);
      return super.forward(cred, op);
    }
  }
  const inner = cloning(calls);
  const fs = new Logged(inner);
  assert.ok("clone" in fs, "clone passes through");
  const a = await inner.create(ROOT, inner.root, "a");
  await inner.write(ROOT, a.fileid, 0, new Uint8Array([1, 2, 3]));
  const b = await inner.create(ROOT, inner.root, "b");
  await fs.clone!(ROOT, a.fileid, b.fileid, {
    srcOffset: 0,
    dstOffset: 0,
    length: 0,
  });
  assert.deepEqual(calls, [`uid 0: ${a.fileid}->${b.fileid} 0`]);
  assert.deepEqual(forwarded, [0]);
  assert.deepEqual(
    (await inner.read(ROOT, b.fileid, 0, 10)).data,
    new Uint8Array([1, 2, 3]),
  );
});

Deno.test("clone: a read-only view offers clone only over one that has it, and refuses it with EROFS", async () => {
  assert.equal("clone" in new ReadOnlyFs(new MemFs()), false);
  const calls: string[] = [];
  const inner = cloning(calls);
  const f = await inner.create(ROOT, inner.root, "f");
  const ro = new ReadOnlyFs(inner);
  assert.ok("clone" in ro);
  await assert.rejects(
    ro.clone!(ROOT, f.fileid, f.fileid, {
      srcOffset: 0,
      dstOffset: 4096,
      length: 1,
    }),
    { code: "EROFS", message: "Read-only file system: cannot clone" },
  );
  assert.deepEqual(calls, [], "nothing reached the wrapped file system");
});

Deno.test("clone: per-user offers root's instance's clone; a caller whose instance lacks it gets ENOTSUP", async () => {
  const calls: string[] = [];
  const full = cloning(calls);
  const fs = await PerUserFs.open((cred) =>
    cred.uid === 0 ? full : withRoot(bare(), full.root)
  );
  try {
    assert.ok("clone" in fs);
    const user = { uid: 1000, gid: 1000, groups: [] };
    await assert.rejects(
      fs.clone!(user, 5, 6, { srcOffset: 0, dstOffset: 0, length: 0 }),
      { code: "ENOTSUP", message: "Operation not supported: clone" },
    );
    assert.deepEqual(calls, []);
  } finally {
    await fs.close();
  }
});

Deno.test({
  name:
    "clone: LocalFs offers clone on the native engine only; it reflinks or answers ENOTSUP",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netfs-clone-" });
    try {
      const portable = await LocalFs.open(dir, { engine: "portable" });
      assert.equal("clone" in portable, false);
      await portable.close();
      const fs = await LocalFs.open(dir, { engine: "native" });
      try {
        assert.ok("clone" in fs);
        const data = crypto.getRandomValues(new Uint8Array(8192));
        const a = await fs.create(ROOT, fs.root, "a");
        await fs.write(ROOT, a.fileid, 0, data);
        const b = await fs.create(ROOT, fs.root, "b");
        const whole = { srcOffset: 0, dstOffset: 0, length: 0 };
        let outcome: string;
        try {
          await fs.clone!(ROOT, a.fileid, b.fileid, whole);
          outcome = "cloned";
        } catch (e) {
          outcome = (e as { code?: string }).code ?? String(e);
        }
        if (outcome === "cloned") {
          // A reflinking host file system (btrfs, XFS): the data is there.
          assert.deepEqual((await fs.read(ROOT, b.fileid, 0, 9000)).data, data);
        } else {
          // ext4, tmpfs: no reflinks, and nothing was written.
          assert.equal(outcome, "ENOTSUP");
          assert.equal((await fs.getattr(ROOT, b.fileid)).size, 0);
        }
        const stranger = { uid: 4242, gid: 4242, groups: [] };
        await fs.setattr(ROOT, b.fileid, { mode: 0o644 });
        await assert.rejects(
          fs.clone!(stranger, a.fileid, b.fileid, whole),
          { code: "EACCES" },
          "the destination must be writable by the caller",
        );
      } finally {
        await fs.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
