import assert from "node:assert/strict";
import {
  CallbackFs,
  MemFs,
  ReadOnlyFs,
  ROOT,
  ShareAccess,
  ShareDeny,
} from "../../vfs/mod.ts";
import { bare, OPTIONAL } from "./_bare.ts";
import { store, traced } from "./_store.ts";
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

Deno.test("read-only: offers open only when the wrapped file system does; passes read opens through, refuses write access with EROFS", async () => {
  assert.equal("open" in new ReadOnlyFs(bare()), false);
  assert.equal("release" in new ReadOnlyFs(new MemFs()), false);
  const events: string[] = [];
  const inner = new CallbackFs(traced(events));
  const a = await inner.create(ROOT, inner.root, "a");
  await inner.write(ROOT, a.fileid, 0, new Uint8Array([7]));
  await inner.close();
  events.length = 0;
  const ro = new ReadOnlyFs(inner);
  assert.ok("open" in ro && "release" in ro);
  for (const access of [ShareAccess.Write, ShareAccess.Both]) {
    await assert.rejects(
      ro.open!(ROOT, a.fileid, { access, deny: ShareDeny.None }),
      {
        code: "EROFS",
        message: "Read-only file system: cannot open for writing",
      },
    );
  }
  assert.deepEqual(events, [], "a refused open never reaches the handler");
  const ctx = await ro.open!(ROOT, a.fileid, {
    access: ShareAccess.Read,
    deny: ShareDeny.Both,
  });
  assert.deepEqual(
    (await ro.read(ROOT, a.fileid, 0, 1, ctx)).data,
    new Uint8Array([7]),
  );
  await ro.release!(ROOT, a.fileid, ctx);
  assert.deepEqual(events, [
    "open /a #2 client access 1 deny 3",
    "read /a #2",
    "close /a #2",
  ]);
});
