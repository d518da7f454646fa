// NFSv3 over MemFs: SETATTR and ACCESS.
import assert from "node:assert/strict";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc, Nfs3Status as S } from "../../proto/nfs3.ts";
import { start, sys } from "./_harness.ts";
import { create, getattr, write } from "./_nfs3.ts";

Deno.test("nfs3: SETATTR with and without the ctime guard", async () => {
  const h = await start();
  try {
    const c = await create(h, h.root, "f");
    const fh = c.object!;
    await write(h, fh, 0, new Uint8Array(100));
    const before = (await getattr(h, fh)).attrs!;
    const stale = await h.nfs(
      Proc.SETATTR,
      (w) =>
        P.encodeSetattrArgs(w, {
          object: fh,
          attrs: { mode: 0o600 },
          guard: { sec: before.ctime.sec - 1, nsec: before.ctime.nsec },
        }),
      P.decodeWccRes,
    );
    assert.equal(stale.status, S.NOT_SYNC);
    assert.ok(stale.wcc?.before && stale.wcc.after);
    const ok = await h.nfs(
      Proc.SETATTR,
      (w) =>
        P.encodeSetattrArgs(w, {
          object: fh,
          attrs: { mode: 0o600, size: 10, mtime: { sec: 1000, nsec: 5 } },
          guard: before.ctime,
        }),
      P.decodeWccRes,
    );
    assert.equal(ok.status, 0);
    assert.equal(ok.wcc!.before!.size, 100);
    assert.equal(ok.wcc!.after!.size, 10);
    assert.equal(ok.wcc!.after!.mode, 0o600);
    assert.deepEqual(ok.wcc!.after!.mtime, { sec: 1000, nsec: 5 });
    const srv = await h.nfs(
      Proc.SETATTR,
      (w) => P.encodeSetattrArgs(w, { object: fh, attrs: { atime: "server" } }),
      P.decodeWccRes,
    );
    assert.equal(srv.status, 0);
    // Another user may not chmod: PERM, with wcc data.
    const perm = await h.nfs(
      Proc.SETATTR,
      (w) => P.encodeSetattrArgs(w, { object: fh, attrs: { mode: 0o777 } }),
      P.decodeWccRes,
      sys(1000),
    );
    assert.equal(perm.status, S.PERM);
    assert.ok(perm.wcc?.after);
  } finally {
    await h.close();
  }
});

Deno.test("nfs3: ACCESS from attributes and credentials, attributes on errors", async () => {
  const h = await start();
  try {
    const c = await create(h, h.root, "private", { attrs: { mode: 0o600 } });
    const all = 0x3f;
    const acc = async (fh: Uint8Array, uid: number) =>
      await h.nfs(
        Proc.ACCESS,
        (w) => P.encodeAccessArgs(w, { object: fh, access: all }),
        P.decodeAccessRes,
        sys(uid),
      );
    const owner = await acc(c.object!, 0);
    assert.equal(owner.status, 0);
    assert.equal(
      owner.access! & (P.Access3.READ | P.Access3.MODIFY),
      P.Access3.READ | P.Access3.MODIFY,
    );
    assert.ok(owner.attrs);
    const other = await acc(c.object!, 1000);
    assert.equal(other.status, 0);
    assert.equal(other.access! & (P.Access3.READ | P.Access3.MODIFY), 0);
    assert.ok(other.attrs, "attributes with a denial");
    const dir = await acc(h.root, 1000);
    assert.equal(dir.access! & P.Access3.LOOKUP, P.Access3.LOOKUP);
    assert.equal(dir.access! & P.Access3.MODIFY, 0);
    // The denied read itself.
    const r = await h.nfs(
      Proc.READ,
      (w) => P.encodeReadArgs(w, { file: c.object!, offset: 0, count: 1 }),
      P.decodeReadRes,
      sys(1000),
    );
    assert.equal(r.status, S.ACCES);
    assert.ok(r.attrs);
  } finally {
    await h.close();
  }
});
