// A whole-chunk NFSv3 WRITE into MemFs keeps its RPC record as the file's
// chunk (store/_offers.ts): the dispatcher must then not give the record
// back to its pool, and MemFs gives the pool only storage no reader saw,
// once the call that brought it is over. Each test writes over a real
// socket, lets later WRITEs be read into pooled records (among them what
// the file system gave back), and reads every byte back.
import assert from "node:assert/strict";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc } from "../../proto/nfs3.ts";
import { ROOT } from "../../vfs/mod.ts";
import { type Harness, start } from "./_harness.ts";
import { create, getattr } from "./_nfs3.ts";
import { pattern } from "./_slow_writes.ts";

const MiB = 1 << 20;
/** A 1 MiB WRITE's record as the pool serves it: 1 MiB, headers, 4 KiB step. */
const RECORD = MiB + 4096;

/** `blocks` written at 1 MiB offsets of `file`, `inFlight` at a time. */
async function writeAll(
  h: Harness,
  file: Uint8Array,
  blocks: Uint8Array[],
  inFlight = 8,
): Promise<void> {
  for (let at = 0; at < blocks.length; at += inFlight) {
    const replies = await Promise.all(
      blocks.slice(at, at + inFlight).map((data, k) =>
        h.nfs(
          Proc.WRITE,
          (w) =>
            P.encodeWriteArgs(w, {
              file,
              offset: (at + k) * MiB,
              count: data.length,
              stable: P.StableHow.UNSTABLE,
              data,
            }),
          P.decodeWriteRes,
        )
      ),
    );
    for (const r of replies) assert.equal(r.status, 0);
  }
}

/** Reads `file` back over the socket, 1 MiB per READ, and compares. */
async function assertHolds(
  h: Harness,
  file: Uint8Array,
  blocks: Uint8Array[],
  what: string,
): Promise<void> {
  for (const [i, expected] of blocks.entries()) {
    const r = await h.nfs(
      Proc.READ,
      (w) => P.encodeReadArgs(w, { file, offset: i * MiB, count: MiB }),
      P.decodeReadRes,
    );
    assert.equal(r.status, 0);
    assert.ok(
      r.data!.length === MiB && r.data!.every((b, k) => b === expected[k]),
      `${what}: block ${i} must hold its own WRITE's bytes`,
    );
  }
}

async function used(h: Harness, file: Uint8Array): Promise<number> {
  return (await getattr(h, file)).attrs!.used;
}

function blocks(n: number, seed: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => pattern(MiB, seed + i));
}

Deno.test("nfs3 WRITE: whole 1 MiB chunks kept without a copy hold their bytes while later WRITEs reuse the pool", async () => {
  const h = await start();
  try {
    const a = (await create(h, h.root, "a.bin")).object!;
    const b = (await create(h, h.root, "b.bin")).object!;
    const first = blocks(16, 0);
    await writeAll(h, a, first);
    assert.equal(await used(h, a), 16 * RECORD, "each chunk is a kept record");
    // Later WRITEs, pipelined, read into pooled records.
    const other = blocks(24, 100);
    await writeAll(h, b, other);
    // a.bin written over whole: its kept records go back to the pool and
    // serve b.bin's next WRITEs.
    const second = blocks(16, 200);
    await writeAll(h, a, second);
    const again = blocks(24, 300);
    await writeAll(h, b, again);
    assert.equal(await used(h, a), 16 * RECORD);
    await assertHolds(h, a, second, "a.bin");
    await assertHolds(h, b, again, "b.bin");
  } finally {
    await h.close();
  }
});

Deno.test("nfs3 WRITE: a file truncated and written again gets back the storage it let go of, and holds its bytes", async () => {
  const h = await start();
  try {
    const a = (await create(h, h.root, "a.bin")).object!;
    for (let round = 0; round < 3; round++) {
      // CREATE with size 0 truncates, as a benchmark's rewrite does.
      const made = await create(h, h.root, "a.bin", { attrs: { size: 0 } });
      assert.equal(made.status, 0);
      const data = blocks(12, 50 * round);
      await writeAll(h, a, data);
      assert.equal(await used(h, a), 12 * RECORD);
      await assertHolds(h, a, data, `round ${round}`);
    }
  } finally {
    await h.close();
  }
});

Deno.test("nfs3 WRITE: a READ's view of a kept chunk keeps its bytes after the file is truncated and later WRITEs reuse the pool", async () => {
  const h = await start();
  try {
    const a = (await create(h, h.root, "a.bin")).object!;
    const b = (await create(h, h.root, "b.bin")).object!;
    const first = blocks(8, 0);
    await writeAll(h, a, first);
    // Views of the kept records, as a READ reply still being sent holds.
    const id = (await h.fs.lookup(ROOT, h.fs.root, "a.bin")).fileid;
    const views = await Promise.all(
      first.map(async (_, i) => (await h.fs.read(ROOT, id, i * MiB, MiB)).data),
    );
    assert.equal(await used(h, a), 8 * RECORD);
    await create(h, h.root, "a.bin", { attrs: { size: 0 } });
    await writeAll(h, b, blocks(24, 100));
    for (const [i, view] of views.entries()) {
      assert.ok(
        view.every((x, k) => x === first[i][k]),
        `the view of block ${i} must not be reused for another record`,
      );
    }
  } finally {
    await h.close();
  }
});
