// The native LocalFs engine raced within single calls: a host process swaps
// a directory of the export for a symlink to the outside and back as fast as
// it can, while every call that makes, moves, changes or removes an object
// runs against that directory. Zero objects may appear outside, and nothing
// outside may change. (The portable engine documents that a create raced
// this way can leave an empty object outside: it runs the read-side race in
// ./localfs_adversarial_test.ts only.)
import assert from "node:assert/strict";
import { FileType, LocalFs, ROOT } from "../../vfs/mod.ts";
import {
  AT_FDCWD,
  ENODATA,
  O_RDONLY,
  openLibc,
} from "../../vfs/localfs/_libc.ts";
import { startSwapper } from "./_swapper.ts";
import { outcome } from "./_conformance_shared.ts";

const enc = new TextEncoder();

/** Every object under `dir`, recursively: path -> type, mode, owner, size, content. */
async function tree(dir: string, prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    const st = await Deno.lstat(p);
    const content = st.isFile ? await Deno.readTextFile(p) : "";
    out.set(
      `${prefix}${e.name}`,
      `${st.mode}:${st.uid}:${st.gid}:${st.size}:${st.mtime?.getTime()}:${content}`,
    );
    if (st.isDirectory) {
      for (const [k, v] of await tree(p, `${prefix}${e.name}/`)) out.set(k, v);
    }
  }
  return out;
}

Deno.test({
  name: "localfs race (native): swaps within single calls make nothing outside",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "netfs-race-" });
    const root = `${base}/export`;
    const outside = `${base}/outside`;
    await Deno.mkdir(`${root}/d/sub`, { recursive: true });
    await Deno.mkdir(`${outside}/sub`, { recursive: true });
    await Deno.writeTextFile(`${outside}/f`, "SECRET");
    await Deno.writeTextFile(`${outside}/sub/g`, "SECRET");
    await Deno.writeTextFile(`${root}/d/f`, "inside");
    const lib = openLibc();
    assert.ok(typeof lib !== "string", `no native bindings: ${lib}`);
    const fs = await LocalFs.open(root, { engine: "native", openFiles: 1 });
    let swapper: ReturnType<typeof startSwapper> | undefined;
    try {
      const before = await tree(outside);
      const d = await fs.lookup(ROOT, fs.root, "d");
      const sub = await fs.lookup(ROOT, d.fileid, "sub");
      const f = await fs.lookup(ROOT, d.fileid, "f");
      swapper = startSwapper(root, outside, `${base}/stop`);
      const counts = new Map<string, number>();
      const note = (op: string, r: string) =>
        counts.set(`${op} ${r}`, (counts.get(`${op} ${r}`) ?? 0) + 1);
      // A reader following paths as the host resolves them must see the
      // outside during the race, or this test could not catch anything.
      let naiveEscapes = 0;
      const started = Date.now();
      for (let i = 0; i < 600 && Date.now() - started < 6_000; i++) {
        try {
          if ((await Deno.readTextFile(`${root}/d/f`)) === "SECRET") {
            naiveEscapes++;
          }
        } catch { /* mid-swap */ }
        // The directory by its FileId, and by a fresh lookup of its name.
        const fresh = await fs.lookup(ROOT, fs.root, "d").catch(() => d);
        for (const dir of [d.fileid, fresh.fileid, sub.fileid]) {
          note("create", await outcome(fs.create(ROOT, dir, `c${i}`)));
          note("mkdir", await outcome(fs.mkdir(ROOT, dir, `m${i}`)));
          note("symlink", await outcome(fs.symlink(ROOT, dir, `s${i}`, "/")));
          note(
            "mknod",
            await outcome(
              fs.mknod(ROOT, dir, `p${i}`, { type: FileType.Fifo }),
            ),
          );
          note("link", await outcome(fs.link(ROOT, f.fileid, dir, `l${i}`)));
          note(
            "rename",
            await outcome(fs.rename(ROOT, dir, `c${i}`, dir, `r${i}`)),
          );
          note("remove", await outcome(fs.remove(ROOT, dir, `l${i}`)));
          note("rmdir", await outcome(fs.rmdir(ROOT, dir, `m${i}`)));
          note(
            "setattr",
            await outcome(fs.setattr(ROOT, dir, { mode: 0o700, uid: 4321 })),
          );
          note(
            "xattr",
            await outcome(
              fs.xattrs!.setxattr(ROOT, dir, "user.raced", enc.encode("x")),
            ),
          );
        }
        note(
          "write",
          await outcome(fs.write(ROOT, f.fileid, 0, enc.encode("inside"))),
        );
        note(
          "truncate",
          await outcome(fs.setattr(ROOT, f.fileid, { size: 6 })),
        );
      }
      await swapper.stop();
      const after = await tree(outside);
      assert.deepEqual(after, before, "nothing made or changed outside");
      for (const p of ["", "/sub", "/f", "/sub/g"]) {
        const x = await Deno.lstat(`${outside}${p}`);
        assert.notEqual(x.uid, 4321, `chown escaped to ${p}`);
        const fd = lib.openat2(AT_FDCWD, `${outside}${p}`, O_RDONLY, 0, 0);
        assert.ok(fd >= 0, `open ${p}`);
        assert.equal(
          lib.fgetxattr(fd, "user.raced"),
          -ENODATA,
          `xattr escaped to ${p}`,
        );
        lib.close(fd);
      }
      assert.ok((counts.get("create ok") ?? 0) > 0, "some creates succeeded");
      for (
        const op of [
          "mkdir",
          "symlink",
          "mknod",
          "link",
          "rename",
          "setattr",
          "xattr",
        ]
      ) {
        assert.ok(
          (counts.get(`${op} ok`) ?? 0) > 0,
          `some ${op} calls succeeded`,
        );
      }
      console.log(
        `native race: ${[...counts].map(([k, v]) => `${k}=${v}`).join(" ")}` +
          `; path-following reads that saw the outside: ${naiveEscapes}`,
      );
      assert.ok(
        naiveEscapes > 0,
        "the swap loop never exposed the outside to a path-following reader",
      );
    } finally {
      await swapper?.stop();
      await fs.close();
      lib.release();
      await Deno.remove(base, { recursive: true });
    }
  },
});
