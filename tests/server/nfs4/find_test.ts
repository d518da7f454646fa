// NFSv4 LOOKUP and OPEN of a name that may be absent: through `find` when
// the file system has it (no error built for an absent name), through
// `lookup` with ENOENT caught when it does not; the same results either way.
import assert from "node:assert/strict";
import { MemFs } from "../../../vfs/memfs.ts";
import { Counted, withoutFind } from "../../vfs/_bare.ts";
import {
  createHow,
  nfsstat4,
  OP,
  openArgs,
  session41,
  startState,
} from "./_clients.ts";

const enc = new TextEncoder();
const root = { argop: OP.OP_PUTROOTFH } as const;
const lookup = (name: string) => ({
  argop: OP.OP_LOOKUP,
  oplookup: { objname: enc.encode(name) },
} as const);

/** LOOKUP and OPEN of names there and not there; their statuses. */
async function statuses(fs: MemFs): Promise<number[]> {
  const h = await startState({ fs });
  try {
    const s = await session41(h, "a");
    const out: number[] = [];
    for (
      const ops of [
        [root, lookup("missing")],
        [root, openArgs("missing")],
        [root, openArgs("made", { how: createHow(0o644) })],
        [root, lookup("made")],
        [root, openArgs("made", { owner: "other" })],
      ]
    ) out.push((await s.call(ops)).status);
    return out;
  } finally {
    await h.close();
  }
}

const WANT = [
  nfsstat4.NFS4ERR_NOENT,
  nfsstat4.NFS4ERR_NOENT,
  nfsstat4.NFS4_OK,
  nfsstat4.NFS4_OK,
  nfsstat4.NFS4_OK,
];

Deno.test("nfs4 LOOKUP and OPEN: ask find, not lookup, with the same results", async () => {
  const fs = new Counted();
  assert.deepEqual(await statuses(fs), WANT);
  assert.ok(fs.finds >= 4, `find asked: ${fs.finds}`);
  assert.equal(fs.lookups, 0, "no lookup that would build an error");
});

Deno.test("nfs4 LOOKUP and OPEN: a file system without find gives the same results", async () => {
  assert.deepEqual(await statuses(withoutFind(new MemFs())), WANT);
});
