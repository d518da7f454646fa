// NFSv3 LOOKUP of a name that may be absent: through `find` when the file
// system has it (no error built for an absent name), through `lookup` with
// ENOENT caught when it does not; the same replies either way.
import assert from "node:assert/strict";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc, Nfs3Status as S } from "../../proto/nfs3.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { Counted, withoutFind } from "../vfs/_bare.ts";
import { start, sys } from "./_harness.ts";
import { create, lookup, mkdir } from "./_nfs3.ts";

Deno.test("nfs3 LOOKUP: asks find, not lookup, and answers NOENT with the directory's attributes", async () => {
  const fs = new Counted();
  const h = await start({ fs });
  try {
    await create(h, h.root, "f");
    const hit = await lookup(h, h.root, "f");
    const miss = await lookup(h, h.root, "absent");
    assert.equal(hit.status, 0);
    assert.equal(miss.status, S.NOENT);
    assert.ok(miss.dirAttrs, "a failed LOOKUP carries the directory's");
    assert.equal(fs.finds, 2);
    assert.equal(fs.lookups, 0, "no lookup that would build an error");
  } finally {
    await h.close();
  }
});

Deno.test("nfs3 LOOKUP: a file system without find gives the same replies", async () => {
  const h = await start({ fs: withoutFind(new MemFs()) });
  try {
    const d = await mkdir(h, h.root, "d");
    await create(h, d, "f");
    assert.equal((await lookup(h, d, "f")).status, 0);
    const miss = await lookup(h, d, "absent");
    assert.equal(miss.status, S.NOENT);
    assert.ok(miss.dirAttrs);
    const f = (await lookup(h, d, "f")).object!;
    assert.equal((await lookup(h, f, "x")).status, S.NOTDIR);
  } finally {
    await h.close();
  }
});

Deno.test("nfs3 LOOKUP: a search refused is ACCES, with or without find", async () => {
  for (const fs of [new MemFs(), withoutFind(new MemFs())]) {
    const h = await start({ fs });
    try {
      await fs.mkdir({ uid: 0, gid: 0, groups: [] }, fs.root, "priv", {
        mode: 0o700,
      });
      const priv = (await lookup(h, h.root, "priv")).object!;
      const r = await h.nfs(
        Proc.LOOKUP,
        (w) => P.encodeDirOpArgs(w, { dir: priv, name: "absent" }),
        P.decodeLookupRes,
        sys(1000),
      );
      assert.equal(r.status, S.ACCES);
    } finally {
      await h.close();
    }
  }
});
