// examples/nfs_copy.ts, run with exactly the permissions its first line
// documents, copies a tree out of a netfs server.
import assert from "node:assert/strict";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/types.ts";
import { serve } from "./_server.ts";

const root = new URL("../../", import.meta.url).pathname;
const example = `${root}examples/nfs_copy.ts`;

/** The permissions of the run line, aimed at `dest` instead of ./copy. */
async function permsFor(dest: string): Promise<string[]> {
  const first = (await Deno.readTextFile(example)).split("\n")[0];
  return first.split(" ").filter((w) => w.startsWith("--allow-"))
    .map((w) => w.replaceAll("./copy", dest));
}

async function run(perms: string[], args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...perms, example, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function tree(): Promise<MemFs> {
  const fs = new MemFs();
  const enc = new TextEncoder();
  const file = async (
    dir: number,
    name: string,
    text: string,
    mode: number,
  ) => {
    const f = await fs.create(ROOT, dir, name, { attrs: { mode } });
    await fs.write(ROOT, f.fileid, 0, enc.encode(text));
    await fs.setattr(ROOT, f.fileid, {
      mtime: { sec: 1_600_000_000, nsec: 0 },
    });
  };
  await file(fs.root, "top.txt", "top", 0o644);
  const a = await fs.mkdir(ROOT, fs.root, "a", { mode: 0o755 });
  const b = await fs.mkdir(ROOT, a.fileid, "b", { mode: 0o755 });
  await file(b.fileid, "deep.bin", "x".repeat(300_000), 0o600);
  await fs.symlink(ROOT, a.fileid, "link", "b/deep.bin");
  return fs;
}

Deno.test("nfs_copy example: copies files, directories, modes and times, and reports progress", async () => {
  const s = serve({ fs: await tree() });
  const dest = await Deno.makeTempDir({ prefix: "netfs-copy-" });
  try {
    const perms = await permsFor(dest);
    assert.deepEqual(perms.map((p) => p.split("=")[0]), [
      "--allow-net",
      "--allow-read",
      "--allow-write",
    ]);
    // deep.bin is root's and 0600: copy as uid 0.
    const r = await run(perms, [
      `nfs://127.0.0.1:${s.port}/?uid=0&gid=0`,
      dest,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^2 files, 3 dirs, 0\.3 MiB, [\d.]+ MiB\/s {2}done\n/,
    );
    assert.match(r.stderr, /\n1 links or special files skipped\n$/);
    assert.equal(await Deno.readTextFile(`${dest}/top.txt`), "top");
    assert.equal(
      await Deno.readTextFile(`${dest}/a/b/deep.bin`),
      "x".repeat(300_000),
    );
    const st = await Deno.stat(`${dest}/a/b/deep.bin`);
    assert.equal(st.mode! & 0o777, 0o600);
    assert.equal(st.mtime?.getTime(), 1_600_000_000_000);
  } finally {
    await Deno.remove(dest, { recursive: true });
    await s.close();
  }
});

Deno.test("nfs_copy example: a refused file stops the copy with a clear message", async () => {
  const s = serve({ fs: await tree() });
  const dest = await Deno.makeTempDir({ prefix: "netfs-copy-" });
  try {
    // Without ids in the URL (and no --allow-sys) the client is nobody.
    const r = await run(await permsFor(dest), [
      `nfs://127.0.0.1:${s.port}/`,
      dest,
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /nfs_copy: Permission denied \(NFS3ERR_ACCES from READ\): \/a\/b\/deep\.bin\n$/,
    );
  } finally {
    await Deno.remove(dest, { recursive: true });
    await s.close();
  }
});
