import assert from "node:assert/strict";
import { FileType, LocalFs, ROOT } from "../../vfs/mod.ts";
import { outcome as code } from "./_conformance_shared.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("localfs restart: a new LocalFs resolves the old FileIds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netfs-restart-" });
  try {
    const fs1 = await LocalFs.open(dir);
    const a = await fs1.mkdir(ROOT, fs1.root, "a");
    const b = await fs1.mkdir(ROOT, a.fileid, "b");
    const c = await fs1.mkdir(ROOT, b.fileid, "c");
    const f = await fs1.create(ROOT, c.fileid, "deep.txt");
    await fs1.write(ROOT, f.fileid, 0, enc.encode("deep"), "file");
    const moved = await fs1.create(ROOT, fs1.root, "moved.txt");
    await fs1.rename(ROOT, fs1.root, "moved.txt", b.fileid, "here.txt");
    await fs1.rename(ROOT, a.fileid, "b", fs1.root, "b-renamed");
    const hl = await fs1.link(ROOT, f.fileid, fs1.root, "hard");
    const ln = await fs1.symlink(ROOT, fs1.root, "ln", "a/b/c");
    // Remove and recreate until the host hands the same inode out again.
    const gone: number[] = [];
    let reused = false;
    const inodes = new Map<number, number>();
    for (let i = 0; i < 50 && !reused; i++) {
      const x = await fs1.create(ROOT, fs1.root, `tmp${i}`);
      const ino = (await Deno.lstat(`${dir}/tmp${i}`)).ino!;
      if (inodes.has(ino)) {
        reused = true;
        assert.notEqual(
          x.fileid,
          inodes.get(ino),
          "a reused inode gets a new FileId",
        );
      }
      inodes.set(ino, x.fileid);
      gone.push(x.fileid);
      await fs1.remove(ROOT, fs1.root, `tmp${i}`);
    }
    // ext4 hands a freed inode out again at once (tmpfs does not): when it
    // did, the loop above checked that the new object got a new FileId.
    const last = await fs1.create(ROOT, fs1.root, "last");
    const ids = [
      fs1.root,
      a.fileid,
      b.fileid,
      c.fileid,
      f.fileid,
      moved.fileid,
      ln.fileid,
      last.fileid,
    ];
    const before = await Promise.all(ids.map((id) => fs1.getattr(ROOT, id)));
    assert.equal(hl.fileid, f.fileid);
    await fs1.close();

    const fs2 = await LocalFs.open(dir);
    try {
      assert.equal(fs2.root, fs1.root);
      for (let i = 0; i < ids.length; i++) {
        const after = await fs2.getattr(ROOT, ids[i]);
        assert.equal(after.fileid, ids[i]);
        assert.equal(after.type, before[i].type);
        assert.equal(after.size, before[i].size);
      }
      assert.equal(
        dec.decode((await fs2.read(ROOT, f.fileid, 0, 10)).data),
        "deep",
      );
      assert.equal(await fs2.readlink(ROOT, ln.fileid), "a/b/c");
      assert.equal(
        (await fs2.lookup(ROOT, b.fileid, "here.txt")).fileid,
        moved.fileid,
      );
      assert.equal((await fs2.lookup(ROOT, c.fileid, "..")).fileid, b.fileid);
      for (const id of gone) {
        if (id !== last.fileid) {
          assert.equal(await code(fs2.getattr(ROOT, id)), "ESTALE");
        }
      }
      // A restart does not bring a removed FileId back for a reused inode.
      const fresh = await fs2.create(ROOT, fs2.root, "fresh");
      assert.ok(!gone.includes(fresh.fileid));
    } finally {
      await fs2.close();
    }

    // Moved behind the server's back while it was down: found by walking.
    await Deno.rename(`${dir}/b-renamed/c`, `${dir}/a/c-host`);
    // Even without the journal, generation-0 FileIds are inode numbers.
    await Deno.remove(`${dir}/.netfs`, { recursive: true });
    const fs3 = await LocalFs.open(dir);
    try {
      const deep = await fs3.getattr(ROOT, f.fileid);
      assert.equal(deep.type, FileType.Regular);
      assert.equal(
        dec.decode((await fs3.read(ROOT, f.fileid, 0, 10)).data),
        "deep",
      );
      assert.equal(
        (await fs3.lookup(ROOT, a.fileid, "c-host")).fileid,
        c.fileid,
      );
    } finally {
      await fs3.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("localfs restart: scoped permissions, symlink ENOTSUP, ids resolve in another process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netfs-scoped-" });
  try {
    const script = new URL("./_scoped_localfs.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        script,
        dir,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, dec.decode(out.stderr));
    const got = JSON.parse(dec.decode(out.stdout));
    assert.match(got.symlink, /^ENOTSUP: .*unscoped/);
    assert.ok(got.totalBytes > 0);
    const fs = await LocalFs.open(dir);
    try {
      assert.equal(fs.root, got.root);
      assert.equal((await fs.getattr(ROOT, got.dir)).type, FileType.Directory);
      assert.equal(
        dec.decode((await fs.read(ROOT, got.file, 0, 100)).data),
        "scoped",
      );
    } finally {
      await fs.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("localfs: stable writes, commit and descriptor reuse", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netfs-sync-" });
  const fs = await LocalFs.open(dir);
  try {
    const f = await fs.create(ROOT, fs.root, "s");
    const w1 = await fs.write(ROOT, f.fileid, 0, enc.encode("abc"), "unstable");
    assert.equal(w1.committed, "unstable");
    const w2 = await fs.write(ROOT, f.fileid, 3, enc.encode("def"), "file");
    assert.equal(w2.committed, "file");
    await fs.commit(ROOT, f.fileid);
    assert.equal(await Deno.readTextFile(`${dir}/s`), "abcdef");
    // Sequential reads reuse one descriptor: many reads, no leak (sanitizers).
    for (let i = 0; i < 100; i++) await fs.read(ROOT, f.fileid, i % 6, 1);
  } finally {
    await fs.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "localfs restart: FileIds and the journal carry over between the engines",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netfs-engines-" });
    try {
      const engines = ["portable", "native", "portable"] as const;
      let ids: { dir: number; file: number; link: number } | undefined;
      for (const [i, engine] of engines.entries()) {
        const fs = await LocalFs.open(dir, { engine });
        try {
          assert.equal(fs.engine, engine);
          if (ids === undefined) {
            const d = await fs.mkdir(ROOT, fs.root, "d");
            const f = await fs.create(ROOT, d.fileid, "f");
            await fs.write(ROOT, f.fileid, 0, enc.encode("both"), "file");
            const l = await fs.link(ROOT, f.fileid, fs.root, "hard");
            ids = { dir: d.fileid, file: f.fileid, link: l.fileid };
            // Moved by the first engine: the next one finds it by the journal.
            await fs.rename(ROOT, d.fileid, "f", fs.root, "moved");
            continue;
          }
          assert.equal(ids.link, ids.file, "hard links share a FileId");
          const found = await fs.lookup(ROOT, fs.root, "moved");
          assert.equal(
            found.fileid,
            ids.file,
            `same FileId on ${engine} (${i})`,
          );
          assert.equal(
            dec.decode((await fs.read(ROOT, ids.file, 0, 10)).data),
            "both",
          );
          assert.equal(
            (await fs.getattr(ROOT, ids.dir)).type,
            FileType.Directory,
          );
          const attrs = await fs.getattr(ROOT, ids.file);
          assert.equal(attrs.fileid, (await Deno.lstat(`${dir}/moved`)).ino);
        } finally {
          await fs.close();
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
