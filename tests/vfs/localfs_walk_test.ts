// When LocalFs walks its tree for a FileId it cannot find at a recorded
// place (vfs/localfs/_walks.ts): a walk that ran to its end answers every
// unrecorded FileId for a while without another walk, and yet an object
// recorded since a walk missed its FileId, moved behind the server's back,
// or living on under a hard link's other name is still found. A walk that
// takes turns with other calls finds what they rename meanwhile (a folder
// moved to a part it has read included), and stops when the LocalFs closes.
// LocalFs instances on one folder (PerUserFs's views) share their records.
import assert from "node:assert/strict";
import { FileType, LocalFs, PerUserFs, ROOT } from "../../vfs/mod.ts";
import type { FileId } from "../../vfs/types.ts";
import { walkTotals } from "../../vfs/localfs/_walks.ts";
import { outcome, outcome as code } from "./_conformance_shared.ts";

const ENGINES = Deno.build.os === "linux"
  ? ["portable", "native"] as const
  : ["portable"] as const;

/** An export and a folder beside it on the same device, for host moves. */
async function setup(engine: "portable" | "native") {
  const base = await Deno.makeTempDir({ prefix: "netfs-walk-" });
  const dir = `${base}/export`;
  Deno.mkdirSync(dir);
  Deno.mkdirSync(`${base}/out`);
  Deno.mkdirSync(`${dir}/sub`);
  const fs = await LocalFs.open(dir, { engine });
  return {
    base,
    dir,
    fs,
    async close() {
      await fs.close();
      await Deno.remove(base, { recursive: true });
    },
  };
}

for (const engine of ENGINES) {
  Deno.test(`localfs walks (${engine}): a sweep answers made-up FileIds without walking again`, async () => {
    const t = await setup(engine);
    try {
      const f = await t.fs.create(ROOT, t.fs.root, "f");
      const madeUp = (i: number): FileId => 9 * 2 ** 32 + 2 ** 32 - 1 - i;
      const before = walkTotals.walks;
      assert.equal(await code(t.fs.getattr(ROOT, madeUp(0))), "ESTALE");
      assert.equal(walkTotals.walks - before, 1, "the first one walks");
      for (let i = 1; i < 200; i++) {
        assert.equal(await code(t.fs.getattr(ROOT, madeUp(i))), "ESTALE");
      }
      assert.equal(walkTotals.walks - before, 1, "the others do not");
      // A recorded object moved behind the server's back is still walked for.
      Deno.renameSync(`${t.dir}/f`, `${t.dir}/sub/f-host`);
      const a = await t.fs.getattr(ROOT, f.fileid);
      assert.equal(a.type, FileType.Regular);
      assert.equal(walkTotals.walks - before, 2);
      assert.equal(
        (await t.fs.lookup(
          ROOT,
          (await t.fs.lookup(ROOT, t.fs.root, "sub")).fileid,
          "f-host",
        )).fileid,
        f.fileid,
      );
    } finally {
      await t.close();
    }
  });

  Deno.test(`localfs walks (${engine}): an object recorded after a walk missed its FileId is found when moved`, async () => {
    const t = await setup(engine);
    try {
      // Outside the export, the object is out of every walk's reach.
      Deno.writeFileSync(`${t.base}/out/x`, new Uint8Array([1, 2, 3]));
      const id: FileId = Deno.lstatSync(`${t.base}/out/x`).ino!;
      assert.equal(await code(t.fs.getattr(ROOT, id)), "ESTALE");
      // The host moves it in; a lookup records it under its FileId.
      Deno.renameSync(`${t.base}/out/x`, `${t.dir}/x`);
      assert.equal((await t.fs.lookup(ROOT, t.fs.root, "x")).fileid, id);
      // Moved again behind the server's back, within the time the miss is
      // remembered: the record made since lifts it, and a walk finds it.
      Deno.renameSync(`${t.dir}/x`, `${t.dir}/sub/x-moved`);
      const a = await t.fs.getattr(ROOT, id);
      assert.equal(a.fileid, id);
      assert.equal(a.size, 3);
      // Made by the server after a sweep: resolves, and after a host move too.
      assert.equal(await code(t.fs.getattr(ROOT, 2 ** 40 + 5)), "ESTALE");
      const made = await t.fs.mkdir(ROOT, t.fs.root, "made");
      Deno.renameSync(`${t.dir}/made`, `${t.dir}/sub/made-moved`);
      assert.equal(
        (await t.fs.getattr(ROOT, made.fileid)).type,
        FileType.Directory,
      );
    } finally {
      await t.close();
    }
  });

  Deno.test(`localfs walks (${engine}): the wall clock set back does not lengthen the time a walk is trusted`, async () => {
    const t = await setup(engine);
    const { now } = Date;
    const perf = performance.now;
    try {
      Deno.writeFileSync(`${t.base}/out/x`, new Uint8Array([1, 2]));
      const id: FileId = Deno.lstatSync(`${t.base}/out/x`).ino!;
      // A walk that ran to its end: unrecorded FileIds answer ESTALE.
      assert.equal(await code(t.fs.getattr(ROOT, id)), "ESTALE");
      Deno.renameSync(`${t.base}/out/x`, `${t.dir}/x`);
      assert.equal(await code(t.fs.getattr(ROOT, id)), "ESTALE");
      // 61 s later (longer than any trust), the wall clock set back an hour
      // meanwhile (NTP, a resumed VM): the moved-in object is walked for.
      const [wall, mono] = [now(), perf.call(performance)];
      Date.now = () => wall - 3_600_000 + 61_000;
      performance.now = () => mono + 61_000;
      assert.equal((await t.fs.getattr(ROOT, id)).size, 2);
    } finally {
      Date.now = now;
      performance.now = perf;
      await t.close();
    }
  });

  Deno.test(`localfs walks (${engine}): a hard link's other name is found after a sweep`, async () => {
    const t = await setup(engine);
    try {
      const f = await t.fs.create(ROOT, t.fs.root, "a");
      const sub = (await t.fs.lookup(ROOT, t.fs.root, "sub")).fileid;
      await t.fs.link(ROOT, f.fileid, sub, "b");
      // A sweep, so unrecorded FileIds answer ESTALE at once from here on.
      assert.equal(await code(t.fs.getattr(ROOT, 2 ** 40 + 7)), "ESTALE");
      // The journal records the newest name, "b": removing it drops the
      // record, and the object lives on as "a".
      await t.fs.remove(ROOT, sub, "b");
      const a = await t.fs.getattr(ROOT, f.fileid);
      assert.equal(a.fileid, f.fileid);
      assert.equal(a.nlink, 1);
    } finally {
      await t.close();
    }
  });

  Deno.test(`localfs walks (${engine}): a walk taking turns finds what a call renamed meanwhile`, async () => {
    const t = await setup(engine);
    try {
      fill(t.dir, 50, 200);
      // Not recorded: the journal never saw it, as after a host crash.
      Deno.mkdirSync(`${t.dir}/z/deep`, { recursive: true });
      Deno.writeFileSync(`${t.dir}/z/deep/t`, new Uint8Array([7]));
      const tid: FileId = Deno.lstatSync(`${t.dir}/z/deep/t`).ino!;
      const z = (await t.fs.lookup(ROOT, t.fs.root, "z")).fileid;
      const before = walkTotals.walks;
      const found = t.fs.getattr(ROOT, tid);
      // The walk starts, takes a slice of work and waits for its next turn;
      // the rename runs then, "z" queued but not yet read.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await t.fs.rename(ROOT, t.fs.root, "z", t.fs.root, "z2");
      const a = await found;
      assert.equal(a.fileid, tid);
      assert.equal(a.size, 1);
      assert.equal(walkTotals.walks - before, 1);
      assert.equal((await t.fs.lookup(ROOT, t.fs.root, "z2")).fileid, z);
    } finally {
      await t.close();
    }
  });

  Deno.test(`localfs walks (${engine}): per-user LocalFs views of one folder find what another made`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "netfs-walk-" });
    const fs = await PerUserFs.open(() => LocalFs.open(dir, { engine }));
    try {
      const alice = { uid: 1000, gid: 1000, groups: [] };
      await fs.getattr(alice, fs.root); // alice's instance opens here.
      const g = await fs.create(ROOT, fs.root, "g");
      assert.equal((await fs.getattr(alice, g.fileid)).fileid, g.fileid);
      // Made by root's instance after alice's could have walked for g.
      const f = await fs.create(ROOT, fs.root, "f");
      assert.equal((await fs.getattr(alice, f.fileid)).fileid, f.fileid);
      assert.equal(fs.instances, 2);
    } finally {
      await fs.close();
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`localfs walks (${engine}): LocalFs instances sharing a journal each close their share`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "netfs-walk-" });
    try {
      const a = await LocalFs.open(dir, { engine });
      const b = await LocalFs.open(dir, { engine });
      await a.close();
      // b's journal stays open: what b makes now is recorded.
      const h = await b.mkdir(ROOT, b.root, "h");
      await b.close();
      const journal = Deno.readTextFileSync(`${dir}/.netfs/ids.jsonl`);
      assert.ok(journal.includes(`{"i":${h.fileid},`), "h is in the journal");
      // No walks (scanLimit 0): only the journal can name h.
      const c = await LocalFs.open(dir, { engine, scanLimit: 0 });
      try {
        assert.equal((await c.getattr(ROOT, h.fileid)).fileid, h.fileid);
        assert.equal(await code(c.getattr(ROOT, h.fileid + 1)), "ESTALE");
      } finally {
        await c.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  for (const call of ["lookup", "find"] as const) {
    Deno.test(`localfs walks (${engine}): ${call} of a name in an unknown folder waits for a walk taking turns`, async () => {
      const t = await setup(engine);
      try {
        fill(t.dir, 50, 200);
        const before = walkTotals.walks;
        let settled = false;
        const pending = outcome(t.fs[call]!(ROOT, 2 ** 40 + 13, "x"))
          .finally(() => settled = true);
        await new Promise((resolve) => setTimeout(resolve, 0));
        assert.equal(settled, false, "the walk gave other calls a turn");
        assert.equal(await pending, "ESTALE");
        assert.equal(walkTotals.walks - before, 1);
      } finally {
        await t.close();
      }
    });
  }

  Deno.test(`localfs walks (${engine}): a walk taking turns reads a directory a call moved to where it had been`, async () => {
    const t = await setup(engine);
    try {
      fill(t.dir, 50, 200);
      // Not recorded, as after a host crash: "deep" and "t". Depth 3, read
      // after every folder above it, so long after the walk's first slice.
      Deno.mkdirSync(`${t.dir}/z/y/deep`, { recursive: true });
      Deno.writeFileSync(`${t.dir}/z/y/deep/t`, new Uint8Array([7]));
      const tid: FileId = Deno.lstatSync(`${t.dir}/z/y/deep/t`).ino!;
      const z = (await t.fs.lookup(ROOT, t.fs.root, "z")).fileid;
      const y = (await t.fs.lookup(ROOT, z, "y")).fileid;
      const before = walkTotals.walks;
      const found = t.fs.getattr(ROOT, tid);
      // After the walk's first slice, the root read, "z/y" not yet: "deep"
      // moves from the part not read to the part read.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await t.fs.rename(ROOT, y, "deep", t.fs.root, "deep2");
      const a = await found;
      assert.equal(a.fileid, tid);
      assert.equal(a.size, 1);
      assert.equal((await t.fs.getattr(ROOT, tid)).fileid, tid);
      assert.equal(walkTotals.walks - before, 1);
      // The walk still counts as one that ran to its end.
      assert.equal(await code(t.fs.getattr(ROOT, 2 ** 40 + 11)), "ESTALE");
      assert.equal(walkTotals.walks - before, 1);
    } finally {
      await t.close();
    }
  });

  for (const wait of [false, true]) {
    Deno.test(`localfs walks (${engine}): closing ${wait ? "stops a walk that takes turns" : "before a walk begins"}`, async () => {
      const t = await setup(engine);
      let closed = false;
      try {
        fill(t.dir, 50, 200);
        const before = walkTotals.walks;
        const pending = outcome(t.fs.getattr(ROOT, 2 ** 40 + 9));
        // With a turn of the event loop, the walk has begun and waits.
        if (wait) await new Promise((resolve) => setTimeout(resolve, 0));
        await t.fs.close();
        closed = true;
        assert.equal(await pending, "EIO");
        assert.equal(walkTotals.walks, before, "no walk ran to its end");
      } finally {
        if (!closed) await t.fs.close();
        await Deno.remove(t.base, { recursive: true });
      }
    });
  }
}

/** `dirs` folders of `files` empty files in `dir`. */
function fill(dir: string, dirs: number, files: number): void {
  for (let d = 0; d < dirs; d++) {
    Deno.mkdirSync(`${dir}/a${d}`);
    for (let f = 0; f < files; f++) {
      Deno.writeFileSync(`${dir}/a${d}/f${f}`, new Uint8Array(0));
    }
  }
}
