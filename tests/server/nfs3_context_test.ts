import assert from "node:assert/strict";
import { decodeHandle, encodeHandle } from "../../server/handles.ts";
import { ExportTable } from "../../server/exports.ts";
import { Nfs3Context } from "../../server/nfs3/context.ts";
import { MemFs } from "../../vfs/memfs.ts";

Deno.test("nfs3 context: cached handles are the encoded handles, per export", () => {
  const table = new ExportTable([
    { path: "/a", fs: new MemFs() },
    { path: "/b", fs: new MemFs() },
  ]);
  const c = new Nfs3Context({ exports: table });
  const [a, b] = table.exports;
  // More ids than the cache keeps, then the first ones again.
  const ids = [...Array(70_000).keys()].map((i) => i + 1);
  for (const id of [...ids, 1, 2, 3, 2 ** 40 + 7]) {
    for (const exp of [a, b]) {
      const fh = c.handle(exp, id);
      assert.deepEqual(
        fh,
        encodeHandle({ exportId: exp.id, verifier: exp.verifier, fileid: id }),
      );
      const d = decodeHandle(fh);
      assert.equal(d?.fileid, id);
      assert.equal(d?.exportId, exp.id);
    }
  }
  assert.notDeepEqual(c.handle(a, 5), c.handle(b, 5));
});
