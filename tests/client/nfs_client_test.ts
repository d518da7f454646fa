// NfsClient's path-level calls against netfs's own server.
import assert from "node:assert/strict";
import { NfsError } from "../../client/errors.ts";
import type { NfsClient } from "../../client/nfs_client.ts";
import { MemFs } from "../../vfs/memfs.ts";
import type { Credentials, FileId } from "../../vfs/types.ts";
import { client, serve } from "./_server.ts";

async function withClient(
  body: (nfs: NfsClient, s: ReturnType<typeof serve>) => Promise<void>,
): Promise<void> {
  const s = serve();
  const nfs = await client(s);
  try {
    await body(nfs, s);
  } finally {
    await nfs.close();
    await s.close();
  }
}

async function names(nfs: NfsClient, path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of nfs.readDir(path)) out.push(e.name);
  return out.sort();
}

Deno.test("nfs client: writeFile then readFile returns the bytes", async () => {
  await withClient(async (nfs) => {
    const data = new Uint8Array(3000).map((_, i) => i % 251);
    await nfs.writeFile("/f.bin", data);
    assert.deepEqual(await nfs.readFile("/f.bin"), data);
    assert.deepEqual(await nfs.readFile("f.bin"), data, "no leading slash");
  });
});

Deno.test("nfs client: writeFile replaces, appends, and honours create and createNew", async () => {
  await withClient(async (nfs) => {
    await nfs.writeTextFile("/t.txt", "long content");
    await nfs.writeTextFile("/t.txt", "short");
    assert.equal(await nfs.readTextFile("/t.txt"), "short");
    await nfs.writeTextFile("/t.txt", "+more", { append: true });
    assert.equal(await nfs.readTextFile("/t.txt"), "short+more");
    await assert.rejects(
      nfs.writeTextFile("/new.txt", "x", { create: false }),
      Deno.errors.NotFound,
    );
    await assert.rejects(
      nfs.writeTextFile("/t.txt", "x", { createNew: true }),
      (e) => e instanceof Deno.errors.AlreadyExists && e instanceof NfsError,
    );
    await nfs.writeTextFile("/m.txt", "x", { mode: 0o600 });
    assert.equal((await nfs.stat("/m.txt")).mode, 0o100600);
  });
});

Deno.test("nfs client: writeFile takes a stream", async () => {
  await withClient(async (nfs) => {
    const chunks = [new Uint8Array([1, 2]), new Uint8Array([3])];
    await nfs.writeFile("/s.bin", ReadableStream.from(chunks));
    assert.deepEqual(await nfs.readFile("/s.bin"), new Uint8Array([1, 2, 3]));
  });
});

Deno.test("nfs client: readFile of a directory is IsADirectory", async () => {
  await withClient(async (nfs) => {
    await nfs.mkdir("/d");
    await assert.rejects(nfs.readFile("/d"), Deno.errors.IsADirectory);
  });
});

Deno.test("nfs client: readDir gives each entry's kind, without . and ..", async () => {
  await withClient(async (nfs) => {
    await nfs.mkdir("/d");
    await nfs.writeTextFile("/d/f", "x");
    await nfs.mkdir("/d/sub");
    await nfs.symlink("f", "/d/l");
    const seen: Record<string, string> = {};
    for await (const e of nfs.readDir("/d")) {
      seen[e.name] = e.isFile ? "file" : e.isDirectory ? "dir" : "link";
      assert.equal(
        [e.isFile, e.isDirectory, e.isSymlink].filter(Boolean).length,
        1,
      );
    }
    assert.deepEqual(seen, { f: "file", sub: "dir", l: "link" });
  });
});

Deno.test("nfs client: stat follows a link, lstat does not; readLink reads it", async () => {
  await withClient(async (nfs) => {
    await nfs.writeTextFile("/target", "12345");
    await nfs.symlink("target", "/link");
    const s = await nfs.stat("/link");
    assert.equal(s.isFile, true);
    assert.equal(s.size, 5);
    const l = await nfs.lstat("/link");
    assert.equal(l.isSymlink, true);
    assert.equal(await nfs.readLink("/link"), "target");
    assert.equal(s.ino, (await nfs.stat("/target")).ino);
  });
});

Deno.test("nfs client: realPath resolves links, . and .., and stops at the root", async () => {
  await withClient(async (nfs) => {
    await nfs.mkdir("/a/b", { recursive: true });
    await nfs.symlink("/a/b", "/abs");
    await nfs.symlink("../../a", "/a/b/up"); // from /a/b: /a
    assert.equal(await nfs.realPath("/abs"), "/a/b");
    assert.equal(await nfs.realPath("/abs/up/./b/.."), "/a");
    assert.equal(await nfs.realPath("/../../a"), "/a");
    assert.equal(await nfs.realPath("/"), "/");
  });
});

Deno.test("nfs client: a symbolic-link loop is FilesystemLoop", async () => {
  await withClient(async (nfs) => {
    await nfs.symlink("b", "/a");
    await nfs.symlink("a", "/b");
    await assert.rejects(
      nfs.stat("/a"),
      (e) =>
        e instanceof Deno.errors.FilesystemLoop &&
        e.message === "Too many levels of symbolic links: /a",
    );
  });
});

Deno.test("nfs client: mkdir recursive makes parents and accepts an existing directory", async () => {
  await withClient(async (nfs) => {
    await nfs.mkdir("/x/y/z", { recursive: true });
    await nfs.mkdir("/x/y/z", { recursive: true });
    assert.equal((await nfs.stat("/x/y/z")).isDirectory, true);
    await assert.rejects(
      nfs.mkdir("/x"),
      (e) =>
        e instanceof Deno.errors.AlreadyExists && e instanceof NfsError &&
        e.procedure === "MKDIR",
    );
    await nfs.writeTextFile("/x/file", "");
    await assert.rejects(
      nfs.mkdir("/x/file", { recursive: true }),
      Deno.errors.AlreadyExists,
    );
    await assert.rejects(
      nfs.mkdir("/x/file/deeper", { recursive: true }),
      Deno.errors.NotADirectory,
    );
    await nfs.mkdir("/m", { mode: 0o700 });
    assert.equal((await nfs.stat("/m")).mode, 0o040700);
  });
});

Deno.test("nfs client: mkdir without its parent is NotFound", async () => {
  await withClient(async (nfs) => {
    await assert.rejects(
      nfs.mkdir("/no/such"),
      (e) =>
        e instanceof Deno.errors.NotFound && e instanceof NfsError &&
        e.path === "/no/such",
    );
  });
});

Deno.test("nfs client: rename moves a file between directories", async () => {
  await withClient(async (nfs) => {
    await nfs.mkdir("/a");
    await nfs.mkdir("/b");
    await nfs.writeTextFile("/a/f", "moved");
    await nfs.rename("/a/f", "/b/g");
    assert.deepEqual(await names(nfs, "/a"), []);
    assert.equal(await nfs.readTextFile("/b/g"), "moved");
  });
});

Deno.test("nfs client: remove of a non-empty directory is NOTEMPTY; recursive removes the tree", async () => {
  await withClient(async (nfs) => {
    await nfs.mkdir("/t/a/b", { recursive: true });
    for (let i = 0; i < 20; i++) await nfs.writeTextFile(`/t/a/f${i}`, "x");
    await nfs.symlink("a", "/t/l");
    await assert.rejects(
      nfs.remove("/t"),
      (e) =>
        e instanceof NfsError && e.code === "ENOTEMPTY" &&
        e.statusName === "NFS3ERR_NOTEMPTY" && e.path === "/t",
    );
    await nfs.remove("/t", { recursive: true });
    assert.deepEqual(await names(nfs, "/"), []);
    await assert.rejects(nfs.remove("/t"), Deno.errors.NotFound);
  });
});

/** A MemFs that counts the names looked up. */
class CountingFs extends MemFs {
  lookups: string[] = [];
  override lookup(cred: Credentials, dir: FileId, name: string) {
    this.lookups.push(name);
    return super.lookup(cred, dir, name);
  }
}

Deno.test("nfs client: remove of a file is one REMOVE; a missing name still fails in LOOKUP", async () => {
  const fs = new CountingFs();
  const s = serve({ fs });
  const nfs = await client(s);
  try {
    await nfs.mkdir("/d");
    await nfs.writeTextFile("/d/f", "x");
    fs.lookups = [];
    await nfs.remove("/d/f");
    assert.deepEqual(fs.lookups, ["d"], "the parent only: no LOOKUP of f");
    await assert.rejects(
      nfs.remove("/d/f"),
      (e) =>
        e instanceof Deno.errors.NotFound && e instanceof NfsError &&
        e.procedure === "LOOKUP" && e.path === "/d/f",
    );
    // A directory: REMOVE refuses it, LOOKUP says what it is, RMDIR.
    await nfs.remove("/d");
    assert.deepEqual(await names(nfs, "/"), []);
  } finally {
    await nfs.close();
    await s.close();
  }
});

Deno.test("nfs client: remove takes away a link, not its target", async () => {
  await withClient(async (nfs) => {
    await nfs.mkdir("/dir");
    await nfs.symlink("dir", "/l");
    await nfs.remove("/l");
    assert.equal((await nfs.stat("/dir")).isDirectory, true);
  });
});

Deno.test("nfs client: link adds a name to the same file", async () => {
  await withClient(async (nfs) => {
    await nfs.writeTextFile("/a", "same");
    await nfs.link("/a", "/b");
    assert.equal((await nfs.stat("/a")).nlink, 2);
    assert.equal((await nfs.stat("/b")).ino, (await nfs.stat("/a")).ino);
  });
});

Deno.test("nfs client: truncate, chmod, chown and utime change attributes", async () => {
  await withClient(async (nfs) => {
    await nfs.writeTextFile("/f", "0123456789");
    await nfs.truncate("/f", 4);
    assert.equal(await nfs.readTextFile("/f"), "0123");
    await nfs.truncate("/f");
    assert.equal((await nfs.stat("/f")).size, 0);
    await nfs.chmod("/f", 0o4640);
    assert.equal((await nfs.stat("/f")).mode, 0o104640);
    await nfs.chown("/f", 1234, null);
    await nfs.chown("/f", null, 99);
    const s = await nfs.stat("/f");
    assert.deepEqual([s.uid, s.gid], [1234, 99]);
    await nfs.utime("/f", 1_000_000, new Date(2_000_000_500));
    const t = await nfs.stat("/f");
    assert.equal(t.atime?.getTime(), 1_000_000_000);
    assert.equal(t.mtime?.getTime(), 2_000_000_500);
  });
});

Deno.test("nfs client: statfs reports space", async () => {
  await withClient(async (nfs) => {
    const s = await nfs.statfs();
    assert.ok(s.totalBytes > 0 && s.availableBytes <= s.freeBytes);
    assert.ok(s.totalFiles > 0);
  });
});

Deno.test("nfs client: another uid gets PermissionDenied from ACCES", async () => {
  const s = serve();
  const root = await client(s);
  const other = await client(s, { uid: 1000 });
  try {
    await root.mkdir("/private", { mode: 0o700 });
    await root.writeTextFile("/mine", "x", { mode: 0o644 });
    await assert.rejects(
      other.writeTextFile("/private/f", "x"),
      (e) =>
        e instanceof Deno.errors.PermissionDenied && e instanceof NfsError &&
        e.statusName === "NFS3ERR_ACCES" && e.path === "/private/f",
    );
    await assert.rejects(
      other.writeTextFile("/mine", "y"),
      (e) => e instanceof Deno.errors.PermissionDenied,
    );
    assert.equal(await other.readTextFile("/mine"), "x", "reading is allowed");
  } finally {
    await root.close();
    await other.close();
    await s.close();
  }
});

Deno.test("nfs client: a path through a file is NotADirectory", async () => {
  await withClient(async (nfs) => {
    await nfs.writeTextFile("/f", "x");
    await assert.rejects(
      nfs.stat("/f/x"),
      (e) =>
        e instanceof Deno.errors.NotADirectory && e instanceof NfsError &&
        e.statusName === "NFS3ERR_NOTDIR",
    );
    await assert.rejects(
      nfs.writeTextFile("/f/x", "y"),
      (e) => e instanceof Deno.errors.NotADirectory,
    );
  });
});

Deno.test("nfs client: calls after close are BadResource", async () => {
  const s = serve();
  const nfs = await client(s);
  await nfs.close();
  await nfs.close(); // twice is fine
  await assert.rejects(nfs.stat("/"), Deno.errors.BadResource);
  await s.close();
});
