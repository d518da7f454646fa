// MemFs keeps a whole-chunk write whose storage the caller offers
// (store/_offers.ts, as the RPC server offers a WRITE's record) instead of
// copying it: only a whole aligned chunk, only a write that succeeds, only
// within the capacity (the whole record is charged), and through wrappers
// that pass `data` on as it is.
import assert from "node:assert/strict";
import { closeOffer, offered, offerStorage } from "../../store/_offers.ts";
import {
  type Credentials,
  type FileSystem,
  MemFs,
  PassthroughFs,
  PerUserFs,
  ReadOnlyFs,
  ROOT,
  type Stability,
  type WriteResult,
} from "../../vfs/mod.ts";

const MiB = 1 << 20;
/** What the pool serves a 1 MiB WRITE: 1 MiB, its headers, a 4 KiB step. */
const RECORD = MiB + 4096;

/** A record whose data (at an offset, as a WRITE's) is offered. */
function offeredRecord(length = MiB, fill = 7) {
  const rec = new Uint8Array(RECORD);
  const data = rec.subarray(148, 148 + length).fill(fill);
  offerStorage(rec, () => {});
  return { rec, data };
}

async function fileIn(fs: FileSystem, name = "f.bin") {
  return (await fs.create(ROOT, fs.root, name)).fileid;
}

async function allEqual(
  fs: FileSystem,
  id: number,
  offset: number,
  length: number,
  value: number,
): Promise<boolean> {
  const got = await fs.read(ROOT, id, offset, length);
  return got.data.length === length && got.data.every((b) => b === value);
}

Deno.test("MemFs write: a whole aligned chunk whose storage is offered is kept, and the whole record charged", async () => {
  const fs = new MemFs();
  const id = await fileIn(fs);
  const { rec, data } = offeredRecord();
  await fs.write(ROOT, id, MiB, data);
  assert.equal(offered(data), undefined, "taken");
  assert.equal(closeOffer(rec), false, "the storage is the file's now");
  const attrs = await fs.getattr(ROOT, id);
  assert.equal(attrs.size, 2 * MiB);
  assert.equal(attrs.used, RECORD, "what is held: the record's whole buffer");
  assert.ok(await allEqual(fs, id, MiB, MiB, 7));
});

Deno.test("MemFs write: partial or unaligned writes copy even when offered", async () => {
  const fs = new MemFs();
  const id = await fileIn(fs);
  for (
    const [offset, length] of [[4096, MiB], [0, MiB - 1], [MiB, 4096]]
  ) {
    const { rec, data } = offeredRecord(length, 5);
    await fs.write(ROOT, id, offset, data);
    assert.ok(offered(data) !== undefined, `${length} at ${offset}: not taken`);
    assert.equal(closeOffer(rec), true);
    rec.fill(0xee); // the server reuses the record at once
    assert.ok(await allEqual(fs, id, offset, length, 5));
  }
});

Deno.test("MemFs write: a write refused for permission is not kept", async () => {
  const fs = new MemFs();
  const id = await fileIn(fs);
  await fs.setattr(ROOT, id, { mode: 0o444 });
  const alice: Credentials = { uid: 1000, gid: 1000, groups: [] };
  const { rec, data } = offeredRecord();
  await assert.rejects(fs.write(alice, id, 0, data), { code: "EACCES" });
  assert.equal(closeOffer(rec), true, "the record goes back to its pool");
  assert.equal((await fs.getattr(ROOT, id)).used, 0);
});

Deno.test("MemFs write: a write refused by a read-only wrapper is not kept", async () => {
  const inner = new MemFs();
  const id = await fileIn(inner);
  const fs = new ReadOnlyFs(inner);
  const { rec, data } = offeredRecord();
  await assert.rejects(fs.write(ROOT, id, 0, data), { code: "EROFS" });
  assert.equal(closeOffer(rec), true);
});

Deno.test("MemFs write: a kept chunk's extra bytes count against the capacity; where only a copy fits, the write copies; where nothing fits, ENOSPC and nothing kept", async () => {
  const probe = new MemFs({ capacityBytes: 1 << 30 });
  await fileIn(probe);
  const base = (1 << 30) - (await probe.statfs(ROOT, probe.root)).freeBytes;
  // Room for one kept chunk and one copied chunk, not two kept ones.
  const fs = new MemFs({ capacityBytes: base + RECORD + MiB + 2048 });
  const id = await fileIn(fs);
  const first = offeredRecord(MiB, 1);
  await fs.write(ROOT, id, 0, first.data);
  assert.equal(closeOffer(first.rec), false, "the first is kept");
  const second = offeredRecord(MiB, 2);
  await fs.write(ROOT, id, MiB, second.data);
  assert.equal(closeOffer(second.rec), true, "the second is copied");
  second.rec.fill(0xee);
  const third = offeredRecord(MiB, 3);
  await assert.rejects(fs.write(ROOT, id, 2 * MiB, third.data), {
    code: "ENOSPC",
  });
  assert.equal(closeOffer(third.rec), true, "a failed write keeps nothing");
  assert.equal((await fs.getattr(ROOT, id)).used, RECORD + MiB);
  assert.ok(await allEqual(fs, id, 0, MiB, 1));
  assert.ok(await allEqual(fs, id, MiB, MiB, 2));
});

/** A wrapper that writes a copy of the data, as an encrypting one would. */
class CopyingFs extends PassthroughFs {
  override write(
    cred: Credentials,
    id: number,
    offset: number,
    data: Uint8Array,
    stable?: Stability,
    context?: unknown,
  ): Promise<WriteResult> {
    return super.write(cred, id, offset, data.slice(), stable, context);
  }
}

Deno.test("MemFs write: wrappers that pass data on pass the offer; one that copies does not", async () => {
  const shared = new MemFs();
  const cases: [string, FileSystem, boolean][] = [
    ["PassthroughFs", new PassthroughFs(shared), true],
    ["PerUserFs", await PerUserFs.open(() => shared), true],
    ["a copying wrapper", new CopyingFs(shared), false],
  ];
  for (const [i, [name, fs, kept]] of cases.entries()) {
    const id = await fileIn(fs, `w${i}`);
    const { rec, data } = offeredRecord(MiB, 10 + i);
    await fs.write(ROOT, id, 0, data);
    assert.equal(closeOffer(rec), !kept, `${name}: kept ${kept}`);
    if (!kept) rec.fill(0xee);
    assert.ok(await allEqual(fs, id, 0, MiB, 10 + i), name);
    await fs.close?.();
  }
});
