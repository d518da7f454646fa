// Tries to make LocalFs reach outside its root, on both engines. Every
// attempt must fail or stay inside: zero escapes. The native engine is also
// raced within single calls that make, move and remove objects: zero
// objects made outside the root (./localfs_race_test.ts).
import assert from "node:assert/strict";
import {
  isVfsError,
  LocalFs,
  type LocalFsEngine,
  ROOT,
  type VfsError,
} from "../../vfs/mod.ts";
import { FileType } from "../../vfs/types.ts";
import { startSwapper } from "./_swapper.ts";
import { outcome as code } from "./_conformance_shared.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const SECRET = "SECRET-OUTSIDE";

interface World {
  base: string;
  root: string;
  outside: string;
  fs: LocalFs;
  close(): Promise<void>;
}

async function world(
  engine: LocalFsEngine,
  openFiles = 128,
): Promise<World> {
  const base = await Deno.makeTempDir({ prefix: "netfs-adv-" });
  const root = `${base}/export`;
  const outside = `${base}/outside`;
  await Deno.mkdir(root);
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${outside}/f`, SECRET);
  await Deno.chmod(outside, 0o755);
  const fs = await LocalFs.open(root, { openFiles, engine });
  assert.equal(fs.engine, engine);
  return {
    base,
    root,
    outside,
    fs,
    close: async () => {
      await fs.close();
      await Deno.remove(base, { recursive: true });
    },
  };
}

/** Everything under `dir` as relative path -> content (files) or "<dir>". */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    const st = await Deno.lstat(p);
    out.set(
      e.name,
      st.isFile ? await Deno.readTextFile(p) : `<${st.mode}:${st.uid}>`,
    );
  }
  return out;
}

/** The value, or the VfsError it failed with. */
async function attempt<T>(p: Promise<T>): Promise<T | VfsError> {
  try {
    return await p;
  } catch (e) {
    if (isVfsError(e)) return e;
    throw e;
  }
}

function suite(engine: LocalFsEngine): void {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`localfs adversarial (${engine}): ${name}`, fn);

  test("symlinks to /, .. and outside are never followed", async () => {
    const w = await world(engine);
    try {
      const fs = w.fs;
      const before = await snapshot(w.outside);
      const outsideMode = (await Deno.stat(w.outside)).mode;
      await Deno.symlink("/", `${w.root}/toroot`);
      await Deno.symlink("..", `${w.root}/up`);
      await Deno.symlink(w.outside, `${w.root}/out`);
      await Deno.symlink("../outside/f", `${w.root}/rel`);
      for (const name of ["toroot", "up", "out", "rel"]) {
        const l = await fs.lookup(ROOT, fs.root, name);
        assert.equal(l.type, FileType.Symlink, name);
        assert.equal(await code(fs.lookup(ROOT, l.fileid, "f")), "ENOTDIR");
        assert.equal(await code(fs.lookup(ROOT, l.fileid, "etc")), "ENOTDIR");
        assert.equal(await code(fs.readdir(ROOT, l.fileid)), "ENOTDIR");
        assert.equal(await code(fs.read(ROOT, l.fileid, 0, 100)), "EINVAL");
        assert.equal(
          await code(fs.write(ROOT, l.fileid, 0, enc.encode("x"))),
          "EINVAL",
        );
        assert.equal(await code(fs.create(ROOT, l.fileid, "new")), "ENOTDIR");
        assert.equal(await code(fs.mkdir(ROOT, l.fileid, "new")), "ENOTDIR");
        assert.equal(await code(fs.remove(ROOT, l.fileid, "f")), "ENOTDIR");
        assert.equal(
          await code(fs.setattr(ROOT, l.fileid, { size: 0 })),
          "EINVAL",
        );
        assert.equal(
          await code(fs.setattr(ROOT, l.fileid, { mode: 0o777 })),
          "ENOTSUP",
        );
        // chown and utimes act on the link itself.
        await fs.setattr(ROOT, l.fileid, { uid: 4321, mtime: "server" });
        assert.equal((await fs.getattr(ROOT, l.fileid)).uid, 4321);
        assert.equal(await code(fs.commit(ROOT, l.fileid)), "ok");
      }
      // A hard link to a symlink links the symlink, not its target.
      const rel = await fs.lookup(ROOT, fs.root, "rel");
      const hl = await fs.link(ROOT, rel.fileid, fs.root, "hard");
      assert.equal(hl.type, FileType.Symlink);
      assert.equal(await fs.readlink(ROOT, hl.fileid), "../outside/f");
      // Renaming a symlink moves the link only.
      await fs.rename(ROOT, fs.root, "out", fs.root, "out2");
      assert.equal(await code(fs.remove(ROOT, fs.root, "out2")), "ok");
      assert.deepEqual(await snapshot(w.outside), before);
      assert.equal((await Deno.stat(w.outside)).mode, outsideMode);
      assert.ok((await Deno.lstat(`${w.outside}/f`)).uid !== 4321);
    } finally {
      await w.close();
    }
  });

  test("bad names, .. from the root, the state folder", async () => {
    const w = await world(engine);
    try {
      const fs = w.fs;
      assert.equal((await fs.lookup(ROOT, fs.root, "..")).fileid, fs.root);
      assert.equal((await fs.lookup(ROOT, fs.root, ".")).fileid, fs.root);
      for (
        const bad of ["../outside", "..", "a/../../outside", "x\0y", "/etc"]
      ) {
        if (bad !== "..") {
          assert.equal(await code(fs.lookup(ROOT, fs.root, bad)), "EINVAL");
        }
        assert.equal(await code(fs.create(ROOT, fs.root, bad)), "EINVAL");
        assert.equal(await code(fs.mkdir(ROOT, fs.root, bad)), "EINVAL");
        assert.equal(
          await code(fs.symlink(ROOT, fs.root, bad, "x")),
          "EINVAL",
        );
        assert.equal(await code(fs.remove(ROOT, fs.root, bad)), "EINVAL");
        assert.equal(
          await code(fs.rename(ROOT, fs.root, bad, fs.root, "z")),
          "EINVAL",
        );
      }
      const d = await fs.mkdir(ROOT, fs.root, "d");
      assert.equal((await fs.lookup(ROOT, d.fileid, "..")).fileid, fs.root);
      // The FileId journal's folder is invisible and untouchable.
      assert.equal(await code(fs.lookup(ROOT, fs.root, ".netfs")), "ENOENT");
      assert.equal(await code(fs.create(ROOT, fs.root, ".netfs")), "EACCES");
      assert.equal(await code(fs.mkdir(ROOT, fs.root, ".netfs")), "EACCES");
      assert.equal(await code(fs.remove(ROOT, fs.root, ".netfs")), "EACCES");
      assert.equal(
        await code(fs.rename(ROOT, fs.root, "d", fs.root, ".netfs")),
        "EACCES",
      );
      const names = (await fs.readdir(ROOT, fs.root)).entries.map((e) =>
        e.name
      );
      assert.deepEqual(names, ["d"]);
      // Ids that were never handed out are stale, not a door to other inodes.
      const outsideIno = (await Deno.lstat(`${w.outside}/f`)).ino!;
      assert.equal(await code(fs.getattr(ROOT, outsideIno)), "ESTALE");
      assert.equal(await code(fs.read(ROOT, outsideIno, 0, 10)), "ESTALE");
    } finally {
      await w.close();
    }
  });

  test("a directory swapped for a symlink between lookup and open", async () => {
    const w = await world(engine);
    try {
      const fs = w.fs;
      const before = await snapshot(w.outside);
      await Deno.mkdir(`${w.root}/d`);
      await Deno.writeTextFile(`${w.root}/d/f`, "inside");
      const d = await fs.lookup(ROOT, fs.root, "d");
      const f = await fs.lookup(ROOT, d.fileid, "f");
      // The swap: d moves away and a symlink to the outside takes its name.
      await Deno.rename(`${w.root}/d`, `${w.root}/d2`);
      await Deno.symlink(w.outside, `${w.root}/d`);
      const r = await attempt(fs.read(ROOT, f.fileid, 0, 100));
      if (!isVfsError(r, "ESTALE")) {
        assert.equal(dec.decode(r.data), "inside");
      }
      const got = await attempt(fs.lookup(ROOT, d.fileid, "f"));
      if (!isVfsError(got, "ESTALE")) assert.equal(got.fileid, f.fileid);
      const c = await attempt(fs.create(ROOT, d.fileid, "planted"));
      if (!isVfsError(c, "ESTALE")) {
        assert.ok((await Deno.lstat(`${w.root}/d2/planted`)).isFile);
      }
      await code(fs.mkdir(ROOT, d.fileid, "dir"));
      await code(fs.setattr(ROOT, f.fileid, { mode: 0o600, size: 1 }));
      await code(fs.write(ROOT, f.fileid, 0, enc.encode("w")));
      await code(fs.remove(ROOT, d.fileid, "f"));
      const list = await attempt(fs.readdir(ROOT, d.fileid));
      if (!isVfsError(list)) {
        assert.ok(
          !list.entries.some((e: { name: string }) => e.name === "f" && false),
        );
      }
      // The new "d" is the symlink, never followed.
      const nd = await fs.lookup(ROOT, fs.root, "d");
      assert.equal(nd.type, FileType.Symlink);
      assert.deepEqual(await snapshot(w.outside), before);
      assert.equal(await Deno.readTextFile(`${w.outside}/f`), SECRET);
    } finally {
      await w.close();
    }
  });

  test("a host process swapping a directory and a symlink in a loop", async () => {
    // One open file at most: every other read resolves its path again.
    const w = await world(engine, 1);
    try {
      const fs = w.fs;
      await Deno.mkdir(`${w.root}/d`);
      await Deno.writeTextFile(`${w.root}/d/f`, "inside");
      await Deno.mkdir(`${w.root}/d/sub`);
      await Deno.writeTextFile(`${w.root}/d/sub/g`, "inside-g");
      await Deno.mkdir(`${w.outside}/sub`);
      await Deno.writeTextFile(`${w.outside}/sub/g`, SECRET);
      const before = await snapshot(w.outside);
      const beforeSub = await snapshot(`${w.outside}/sub`);
      const d = await fs.lookup(ROOT, fs.root, "d");
      const f = await fs.lookup(ROOT, d.fileid, "f");
      const sub = await fs.lookup(ROOT, d.fileid, "sub");
      const g = await fs.lookup(ROOT, sub.fileid, "g");
      const swapper = startSwapper(w.root, w.outside, `${w.base}/stop`);
      let reads = 0;
      let stale = 0;
      // Self-check: a reader that follows paths as the host resolves them must
      // see the outside during the race, or this test could not catch anything.
      let naiveEscapes = 0;
      const naiveRead = async () => {
        try {
          const text = await Deno.readTextFile(`${w.root}/d/sub/g`);
          if (text.includes("SECRET")) naiveEscapes++;
        } catch { /* mid-swap: nothing there */ }
      };
      try {
        const started = Date.now();
        for (let i = 0; i < 400 && Date.now() - started < 15_000; i++) {
          await naiveRead();
          for (const id of [f.fileid, g.fileid]) {
            const r = await attempt(fs.read(ROOT, id, 0, 100));
            if (isVfsError(r)) stale++;
            else {
              reads++;
              assert.ok(
                !dec.decode(r.data).includes("SECRET"),
                "escape by read",
              );
            }
          }
          const l = await attempt(fs.lookup(ROOT, sub.fileid, "g"));
          if (!isVfsError(l)) {
            assert.equal(l.fileid, g.fileid, "escape by lookup");
          }
          const a = await attempt(fs.getattr(ROOT, g.fileid));
          if (!isVfsError(a)) assert.equal(a.size, "inside-g".length);
          await code(fs.write(ROOT, g.fileid, 0, enc.encode("inside-g")));
          await code(fs.setattr(ROOT, g.fileid, { mode: 0o640 }));
          await code(fs.setattr(ROOT, sub.fileid, { mode: 0o750 }));
          await code(fs.setattr(ROOT, g.fileid, { size: 8, mtime: "server" }));
          await code(fs.commit(ROOT, g.fileid));
          const page = await attempt(fs.readdir(ROOT, sub.fileid));
          if (!isVfsError(page)) {
            for (const e of page.entries) {
              if (e.name === "g") assert.equal(e.fileid, g.fileid);
            }
          }
        }
        for (
          const until = Date.now() + 5_000;
          naiveEscapes === 0 && Date.now() < until;
        ) {
          await naiveRead();
        }
      } finally {
        await swapper.stop();
      }
      assert.deepEqual(await snapshot(w.outside), before, "outside untouched");
      assert.deepEqual(await snapshot(`${w.outside}/sub`), beforeSub);
      const subMode = (await Deno.lstat(`${w.outside}/sub`)).mode! & 0o777;
      assert.notEqual(subMode, 0o750, "chmod escaped");
      assert.equal(await Deno.readTextFile(`${w.outside}/sub/g`), SECRET);
      assert.ok(reads > 0, "some reads succeeded");
      assert.ok(
        naiveEscapes > 0,
        "the swap loop never exposed the outside to a path-following reader",
      );
    } finally {
      await w.close();
    }
  });
}

suite("portable");
if (Deno.build.os === "linux") suite("native");
