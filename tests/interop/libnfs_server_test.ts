// Our NFSv3 server against an independent client: Debian's libnfs-utils
// (nfs-ls, nfs-cp, nfs-cat), with the server started here on port 0.
import assert from "node:assert/strict";
import { serveNfs } from "../../server/serve.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/types.ts";
import { randomBytes, run, sha256File, url } from "./_libnfs.ts";

function startServer(fs: MemFs) {
  return serveNfs({
    port: 0,
    quiet: true,
    exports: [
      { path: "/data", fs, squash: "none" },
      { path: "/", fs, squash: "none" },
    ],
  });
}

Deno.test("libnfs: 64 MiB random file copied in and out with equal checksums", async () => {
  const fs = new MemFs({ rootMode: 0o1777 });
  const server = startServer(fs);
  const dir = await Deno.makeTempDir();
  try {
    const src = `${dir}/in.bin`;
    const back = `${dir}/out.bin`;
    await Deno.writeFile(src, randomBytes(64 << 20));
    const port = server.addr.port;
    const up = await run("nfs-cp", [src, url(port, "/data/big.bin")]);
    assert.equal(up.code, 0, up.stderr);
    const f = await fs.lookup(ROOT, fs.root, "big.bin");
    assert.equal(f.size, 64 << 20);
    const down = await run("nfs-cp", [url(port, "/data/big.bin"), back]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await sha256File(back), await sha256File(src));
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.shutdown();
  }
});

Deno.test("libnfs: a 10,000-entry directory lists every name exactly once", async () => {
  const fs = new MemFs();
  const d = await fs.mkdir(ROOT, fs.root, "many");
  const want = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const name = `file-${String(i).padStart(5, "0")}-${"n".repeat(i % 50)}`;
    want.add(name);
    await fs.create(ROOT, d.fileid, name);
  }
  const server = startServer(fs);
  try {
    for (const path of ["/data/many", "/many"]) {
      const r = await run("nfs-ls", [url(server.addr.port, path)]);
      assert.equal(r.code, 0, r.stderr);
      const names = r.stdout.trim().split("\n").map((l) =>
        l.trim().split(/\s+/).at(-1)!
      ).filter((n) => n !== "." && n !== "..");
      assert.equal(names.length, 10_000, path);
      assert.deepEqual(new Set(names), want);
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("libnfs: recursive listing of a deep tree", async () => {
  const fs = new MemFs();
  const want: string[] = [];
  let dir = fs.root;
  let path = "";
  // nfs-ls -R stops with "Recursion detected!" below 16 levels.
  for (let depth = 0; depth < 14; depth++) {
    const sub = await fs.mkdir(ROOT, dir, `level${depth}`);
    path = path ? `${path}/level${depth}` : `level${depth}`;
    want.push(path);
    for (let i = 0; i < 3; i++) {
      await fs.create(ROOT, sub.fileid, `f${i}.txt`);
      want.push(`${path}/f${i}.txt`);
    }
    dir = sub.fileid;
  }
  const server = startServer(fs);
  try {
    const r = await run("nfs-ls", ["-R", url(server.addr.port, "/data")]);
    assert.equal(r.code, 0, r.stderr);
    const got = r.stdout.trim().split("\n").map((l) =>
      l.trim().split(/\s+/).at(-1)!
    ).filter((n) =>
      !n.endsWith("/.") && !n.endsWith("/..") && n !== "." && n !== ".."
    );
    assert.deepEqual(got.sort(), want.sort());
  } finally {
    await server.shutdown();
  }
});

Deno.test("libnfs: contents, missing files and permission denials", async () => {
  const fs = new MemFs();
  const enc = new TextEncoder();
  const pub = await fs.create(ROOT, fs.root, "hello.txt", {
    attrs: { mode: 0o644 },
  });
  await fs.write(ROOT, pub.fileid, 0, enc.encode("hello, nfs\n"));
  const priv = await fs.create(ROOT, fs.root, "secret.txt", {
    attrs: { mode: 0o600 },
  });
  await fs.write(ROOT, priv.fileid, 0, enc.encode("top secret\n"));
  const closed = await fs.mkdir(ROOT, fs.root, "closed", { mode: 0o700 });
  await fs.create(ROOT, closed.fileid, "inside");
  const server = startServer(fs);
  const port = server.addr.port;
  try {
    const cat = await run("nfs-cat", [url(port, "/data/hello.txt")]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, "hello, nfs\n");
    const missing = await run("nfs-cat", [url(port, "/data/nope.txt")]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NOENT|No such file/i);
    const denied = await run("nfs-cat", [
      url(port, "/data/secret.txt", { uid: 1000, gid: 1000 }),
    ]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /ACCES|Permission denied/i);
    const owner = await run("nfs-cat", [
      url(port, "/data/secret.txt", { uid: 0, gid: 0 }),
    ]);
    assert.equal(owner.stdout, "top secret\n");
    const ls = await run("nfs-ls", [
      url(port, "/data/closed", { uid: 1000, gid: 1000 }),
    ]);
    assert.notEqual(ls.code, 0);
    // nfs-ls reports errors on stdout.
    assert.match(ls.stdout + ls.stderr, /ACCES|Permission denied/i);
    const noExport = await run("nfs-ls", [url(port, "/nothing/here")]);
    assert.notEqual(noExport.code, 0);
    assert.match(noExport.stdout + noExport.stderr, /NOENT|No such file/i);
    // Writing as another user into a directory it may not write.
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/x`, "x");
      const cp = await run("nfs-cp", [
        `${dir}/x`,
        url(port, "/data/closed/new", { uid: 1000, gid: 1000 }),
      ]);
      assert.notEqual(cp.code, 0);
      assert.match(cp.stderr, /ACCES|Permission denied/i);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await server.shutdown();
  }
});
