// The LocalFs FileId journal cut at every byte of what was appended after
// its last fsync (a host crash keeps some prefix of it): a torn last line is
// ignored, every FileId handed out before the fsync still resolves, none
// resolves to another object, and what the reopened LocalFs appends next is
// read back by the one after it. scanLimit 0 takes the tree walk away, so
// only the journal can resolve an object below the root.
import assert from "node:assert/strict";
import { FileType, isVfsError, LocalFs, ROOT } from "../../vfs/mod.ts";
import type { FileId } from "../../vfs/types.ts";

const ENGINES = Deno.build.os === "linux"
  ? ["portable", "native"] as const
  : ["portable"] as const;

interface Known {
  id: FileId;
  type: string;
  what: string;
}

async function outcome(fs: LocalFs, id: FileId): Promise<string> {
  try {
    const a = await fs.getattr(ROOT, id);
    assert.equal(a.fileid, id, "never another object");
    return a.type === FileType.Directory
      ? "directory"
      : a.type === FileType.Regular
      ? "regular"
      : String(a.type);
  } catch (e) {
    if (isVfsError(e)) return e.code;
    throw e;
  }
}

/** Builds a tree, fsyncs the journal, appends a few more records. */
async function history(
  dir: string,
  state: string,
  engine: "portable" | "native",
) {
  const fs = await LocalFs.open(dir, { stateDir: state, scanLimit: 0, engine });
  const before: Known[] = [];
  const after: Known[] = [];
  let deep: FileId;
  try {
    const d1 = await fs.mkdir(ROOT, fs.root, "d1");
    const d2 = await fs.mkdir(ROOT, d1.fileid, "d2");
    const d3 = await fs.mkdir(ROOT, d2.fileid, "d3");
    deep = d3.fileid;
    const f = await fs.create(ROOT, d3.fileid, "f");
    const moved = await fs.create(ROOT, fs.root, "moved");
    await fs.rename(ROOT, fs.root, "moved", d2.fileid, "here");
    // Freed inodes come back at once on ext4: the new objects then carry
    // a generation only the journal knows.
    for (let i = 0; i < 8; i++) {
      const x = await fs.create(ROOT, d1.fileid, `tmp${i}`);
      if (i < 7) await fs.remove(ROOT, d1.fileid, `tmp${i}`);
      else before.push({ id: x.fileid, type: "regular", what: "tmp7" });
    }
    before.push(
      { id: d1.fileid, type: "directory", what: "d1" },
      { id: d2.fileid, type: "directory", what: "d2" },
      { id: d3.fileid, type: "directory", what: "d3" },
      { id: f.fileid, type: "regular", what: "d1/d2/d3/f" },
      { id: moved.fileid, type: "regular", what: "d1/d2/here" },
    );
    await fs.commit(ROOT, f.fileid); // fsyncs the journal
    const synced = Deno.statSync(`${state}/ids.jsonl`).size;
    const late = await fs.create(ROOT, d3.fileid, "late");
    const sub = await fs.mkdir(ROOT, d3.fileid, "sub");
    await fs.rename(ROOT, d3.fileid, "late", sub.fileid, "late2");
    const gone = await fs.create(ROOT, d2.fileid, "gone");
    await fs.remove(ROOT, d2.fileid, "gone");
    after.push(
      { id: late.fileid, type: "regular", what: "late" },
      { id: sub.fileid, type: "directory", what: "sub" },
      { id: gone.fileid, type: "ESTALE", what: "gone" },
    );
    return { before, after, synced, deep };
  } finally {
    await fs.close();
  }
}

for (const engine of ENGINES) {
  Deno.test(`localfs journal (${engine}): cut at every byte after the last fsync`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "netfs-cut-" });
    const state = await Deno.makeTempDir({ prefix: "netfs-cut-state-" });
    const cut = await Deno.makeTempDir({ prefix: "netfs-cut-copy-" });
    try {
      const h = await history(dir, state, engine);
      const journal = Deno.readFileSync(`${state}/ids.jsonl`);
      assert.ok(
        journal.byteLength - h.synced >= 4 * 40,
        `records after the fsync: ${journal.byteLength - h.synced} bytes`,
      );
      let torn = 0;
      for (let at = h.synced; at <= journal.byteLength; at++) {
        if (at > 0 && journal[at - 1] !== 0x0a) torn++;
        Deno.writeFileSync(`${cut}/ids.jsonl`, journal.subarray(0, at));
        const fs = await LocalFs.open(dir, {
          stateDir: cut,
          scanLimit: 0,
          engine,
        });
        let probe: FileId;
        try {
          for (const k of h.before) {
            assert.equal(
              await outcome(fs, k.id),
              k.type,
              `${k.what}, cut at ${at}`,
            );
          }
          for (const k of h.after) {
            const got = await outcome(fs, k.id);
            assert.ok(
              got === k.type || got === "ESTALE",
              `${k.what}, cut at ${at}: ${got}`,
            );
          }
          probe = (await fs.create(ROOT, h.deep, "probe")).fileid;
        } finally {
          await fs.close();
        }
        // What the reopened LocalFs appended after the torn line survives.
        const again = await LocalFs.open(dir, {
          stateDir: cut,
          scanLimit: 0,
          engine,
        });
        try {
          assert.equal(
            await outcome(again, probe),
            "regular",
            `the record appended after a cut at ${at} is read back`,
          );
          await again.remove(ROOT, h.deep, "probe");
        } finally {
          await again.close();
        }
      }
      assert.ok(torn > 100, `cuts inside a line: ${torn}`);
    } finally {
      for (const d of [dir, state, cut]) {
        await Deno.remove(d, { recursive: true });
      }
    }
  });
}
