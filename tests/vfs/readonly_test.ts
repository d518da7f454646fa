import assert from "node:assert/strict";
import { CallbackFs, MemFs, ReadOnlyFs, ROOT } from "../../vfs/mod.ts";
import { bare, OPTIONAL } from "./_bare.ts";
import { store } from "./_store.ts";
import { conformance } from "./conformance.ts";

conformance("readonly", () => {
  const inner = new MemFs();
  return Promise.resolve({
    fs: new ReadOnlyFs(inner),
    setup: inner,
    close: () => Promise.resolve(),
  });
}, { readOnly: true });

conformance("readonly over callback", () => {
  const inner = new CallbackFs(store());
  return Promise.resolve({
    fs: new ReadOnlyFs(inner),
    setup: inner,
    close: () => Promise.resolve(),
  });
}, { readOnly: true, openHooks: true });

Deno.test("read-only: offers allocate, deallocate and copy only when the wrapped file system does, and they fail with EROFS", async () => {
  const none = new ReadOnlyFs(bare());
  for (const name of OPTIONAL) {
    assert.equal(name in none, false, `no ${name} over a file system without`);
  }
  const inner = new MemFs();
  const f = await inner.create(ROOT, inner.root, "f", {
    attrs: { size: 8192 },
  });
  const ro = new ReadOnlyFs(inner);
  for (const name of OPTIONAL) assert.ok(name in ro, `${name} offered`);
  await assert.rejects(ro.allocate!(ROOT, f.fileid, 0, 4096), {
    code: "EROFS",
  });
  await assert.rejects(ro.deallocate!(ROOT, f.fileid, 0, 4096), {
    code: "EROFS",
  });
  await assert.rejects(
    ro.copy!(ROOT, f.fileid, f.fileid, {
      srcOffset: 0,
      dstOffset: 4096,
      length: 1,
    }),
    { code: "EROFS" },
  );
  await assert.rejects(
    ro.xattrs!.setxattr(ROOT, f.fileid, "user.k", new Uint8Array(1)),
    { code: "EROFS" },
  );
  assert.deepEqual(await ro.seek!(ROOT, f.fileid, 0, "data"), {
    offset: 8192,
    eof: true,
  }, "seek passes through: the file is one hole");
});
