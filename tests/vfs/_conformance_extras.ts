// Conformance cases of the optional operations (xattrs, allocate,
// deallocate, seek, copy) and of a declared capacity (ENOSPC).
import assert from "node:assert/strict";
import { ROOT } from "../../vfs/mod.ts";
import {
  dec,
  enc,
  type Features,
  put,
  rejects,
  type Test,
} from "./_conformance_shared.ts";

/**
 * Registers the cases with `test`, for a back end with features `f`; the
 * ENOSPC case, on its own factory, is a Deno.test named after `name`.
 */
export function extraCases(test: Test, f: Features, name: string): void {
  test("xattrs, when supported", async (fs) => {
    const x = fs.xattrs;
    if (x === undefined) return;
    const a = await put(fs, fs.root, "x", "x");
    await rejects(x.getxattr(ROOT, a.fileid, "user.k"), "ENODATA");
    await x.setxattr(ROOT, a.fileid, "user.k", enc.encode("v1"));
    assert.equal(dec.decode(await x.getxattr(ROOT, a.fileid, "user.k")), "v1");
    await rejects(
      x.setxattr(ROOT, a.fileid, "user.k", enc.encode("v2"), "create"),
      "EEXIST",
    );
    await rejects(
      x.setxattr(ROOT, a.fileid, "user.n", enc.encode("v2"), "replace"),
      "ENODATA",
    );
    await x.setxattr(ROOT, a.fileid, "user.k", enc.encode("v3"), "replace");
    assert.deepEqual(await x.listxattrs(ROOT, a.fileid), ["user.k"]);
    await x.removexattr(ROOT, a.fileid, "user.k");
    await rejects(x.removexattr(ROOT, a.fileid, "user.k"), "ENODATA");
    assert.deepEqual(await x.listxattrs(ROOT, a.fileid), []);
  });

  test("allocate, deallocate, seek, copy, when supported", async (fs) => {
    const a = await put(fs, fs.root, "a", "");
    if (fs.allocate) {
      await fs.allocate(ROOT, a.fileid, 0, 8192);
      assert.ok((await fs.getattr(ROOT, a.fileid)).size >= 8192);
    }
    const block = new Uint8Array(1 << 20).fill(7);
    await fs.write(ROOT, a.fileid, 0, block);
    await fs.write(ROOT, a.fileid, 4 << 20, block);
    if (fs.deallocate) {
      await fs.deallocate(ROOT, a.fileid, 0, 1 << 20);
      const r = await fs.read(ROOT, a.fileid, 0, 1 << 20);
      assert.ok(r.data.every((x) => x === 0), "punched range reads zeros");
      assert.equal((await fs.getattr(ROOT, a.fileid)).size, 5 << 20);
    }
    if (fs.seek) {
      const d = await fs.seek(ROOT, a.fileid, 0, "data");
      assert.ok(d.offset <= 4 << 20);
      const d2 = await fs.seek(ROOT, a.fileid, (4 << 20) + 10, "data");
      assert.equal(d2.offset, (4 << 20) + 10);
      const h = await fs.seek(ROOT, a.fileid, 4 << 20, "hole");
      assert.equal(h.offset, 5 << 20);
      await rejects(fs.seek(ROOT, a.fileid, 6 << 20, "data"), "ENXIO");
    }
    if (fs.copy) {
      const b = await fs.create(ROOT, fs.root, "b");
      const n = await fs.copy(ROOT, a.fileid, b.fileid, {
        srcOffset: 4 << 20,
        dstOffset: 10,
        length: 100,
      });
      assert.equal(n, 100);
      const r = await fs.read(ROOT, b.fileid, 0, 1000);
      assert.equal(r.data.length, 110);
      assert.ok(r.data.subarray(0, 10).every((x) => x === 0));
      assert.ok(r.data.subarray(10).every((x) => x === 7));
    }
  });

  if (f.capacity !== undefined) {
    const cap = f.capacity.bytes;
    const small = f.capacity.factory;
    Deno.test(`${name}: ENOSPC when the capacity is used up`, async () => {
      const s = await small();
      const fs = s.fs;
      const a = await fs.create(ROOT, fs.root, "fill");
      await rejects(
        fs.write(ROOT, a.fileid, 0, new Uint8Array(cap + 1)),
        "ENOSPC",
      );
      const st0 = await fs.statfs(ROOT, fs.root);
      assert.equal(st0.totalBytes, cap);
      await fs.write(ROOT, a.fileid, 0, new Uint8Array(cap / 2));
      const st = await fs.statfs(ROOT, fs.root);
      assert.ok(st.freeBytes <= cap / 2);
      const b = await fs.create(ROOT, fs.root, "more");
      await rejects(
        fs.write(ROOT, b.fileid, 0, new Uint8Array(cap / 2 + 1)),
        "ENOSPC",
      );
      await fs.remove(ROOT, fs.root, "fill");
      await fs.write(ROOT, b.fileid, 0, new Uint8Array(cap / 2 + 1));
      await s.close();
    });
  }
}
