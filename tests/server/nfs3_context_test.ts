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

Deno.test("nfs3 context: handles cut from shared storage keep their own bytes", () => {
  const table = new ExportTable([{ path: "/", fs: new MemFs() }]);
  const c = new Nfs3Context({ exports: table });
  const [exp] = table.exports;
  // Made one after another (several share a block), checked after all.
  const made = [...Array(50).keys()].map((i) => c.handle(exp, 1000 + i));
  made.forEach((fh, i) => {
    assert.equal(fh.byteLength, 20);
    assert.deepEqual(
      fh,
      encodeHandle({
        exportId: exp.id,
        verifier: exp.verifier,
        fileid: 1000 + i,
      }),
      `handle ${i} is intact after the others were written`,
    );
  });
});

Deno.test("nfs3 context: encodeHandle writes into a caller's array, whole", () => {
  const verifier = new Uint8Array(8).fill(3);
  const into = new Uint8Array(24).fill(0xee);
  const out = encodeHandle(
    { exportId: 2, verifier, fileid: 9 },
    into.subarray(2, 22),
  );
  assert.deepEqual(out, encodeHandle({ exportId: 2, verifier, fileid: 9 }));
  assert.deepEqual([into[0], into[1], into[22], into[23]], [
    0xee,
    0xee,
    0xee,
    0xee,
  ]);
  assert.throws(
    () =>
      encodeHandle({ exportId: 2, verifier, fileid: 9 }, new Uint8Array(19)),
    { name: "RangeError", message: "Handle needs 20 bytes: 19 given" },
  );
});
