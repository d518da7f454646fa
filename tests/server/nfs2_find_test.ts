// NFSv2 LOOKUP and CREATE (which looks the name up first): through `find`
// when the file system has it, through `lookup` with ENOENT caught when it
// does not; the same statuses either way.
import assert from "node:assert/strict";
import { nfsstat as S } from "../../proto/nfs2/mod.ts";
import type { FileSystem } from "../../vfs/types.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { Counted, withoutFind } from "../vfs/_bare.ts";
import { create, lookup, start2 } from "./_harness2.ts";

async function statuses(fs: FileSystem): Promise<number[]> {
  const h = await start2({ fs });
  try {
    return [
      (await lookup(h, h.root, "missing")).status,
      (await create(h, h.root, "made")).status,
      (await create(h, h.root, "made")).status, // opens the one there
      (await lookup(h, h.root, "made")).status,
    ];
  } finally {
    await h.close();
  }
}

const WANT = [S.NFSERR_NOENT, S.NFS_OK, S.NFS_OK, S.NFS_OK];

Deno.test("nfs2 LOOKUP and CREATE: ask find, not lookup, with the same statuses", async () => {
  const fs = new Counted();
  assert.deepEqual(await statuses(fs), WANT);
  assert.equal(fs.finds, 4);
  assert.equal(fs.lookups, 0, "no lookup that would build an error");
});

Deno.test("nfs2 LOOKUP and CREATE: a file system without find gives the same statuses", async () => {
  assert.deepEqual(await statuses(withoutFind(new MemFs())), WANT);
});
