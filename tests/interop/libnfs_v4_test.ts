// Our NFSv4 server against an independent client: Debian's libnfs-utils
// (nfs-ls, nfs-cat with `version=4`), with the server started here on port
// 0. libnfs 4.0.0 speaks NFSv4.0: SETCLIENTID, SETCLIENTID_CONFIRM, then
// PUTROOTFH/LOOKUP/GETATTR to find the export, OPEN (with OPEN_CONFIRM),
// READ, READDIR and CLOSE. Its v4 writes are broken on the client side in
// that version, so only reads are tested here.
import assert from "node:assert/strict";
import { serveNfs } from "../../server/serve.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/types.ts";
import { randomBytes, run, runBytes, sha256, url4 } from "./_libnfs.ts";

function startServer(fs: MemFs) {
  return serveNfs({
    port: 0,
    quiet: true,
    versions: [4],
    exports: [
      { path: "/", fs, squash: "none" },
      { path: "/data", fs, squash: "none" },
    ],
  });
}

/** The names nfs-ls prints, one per line, last column. */
function names(stdout: string): string[] {
  return stdout.trim().split("\n").filter((l) => l.trim() !== "").map((l) =>
    l.trim().split(/\s+/).at(-1)!
  ).filter((n) => !/(^|\/)\.\.?$/.test(n));
}

Deno.test("libnfs v4: nfs-ls lists a tree, recursively too", async () => {
  const fs = new MemFs();
  const want: string[] = [];
  const top = await fs.mkdir(ROOT, fs.root, "tree");
  for (let d = 0; d < 3; d++) {
    const sub = await fs.mkdir(ROOT, top.fileid, `dir${d}`);
    want.push(`dir${d}`);
    for (let i = 0; i < 5; i++) {
      await fs.create(ROOT, sub.fileid, `file${i}.txt`);
      want.push(`dir${d}/file${i}.txt`);
    }
  }
  for (let i = 0; i < 200; i++) {
    await fs.create(ROOT, top.fileid, `top-${String(i).padStart(3, "0")}`);
    want.push(`top-${String(i).padStart(3, "0")}`);
  }
  const server = startServer(fs);
  const port = server.addr.port;
  try {
    const flat = await run("nfs-ls", [url4(port, "/tree")]);
    assert.equal(flat.code, 0, flat.stdout + flat.stderr);
    assert.deepEqual(
      names(flat.stdout).sort(),
      want.filter((n) => !n.includes("/")).sort(),
    );
    const deep = await run("nfs-ls", ["-R", url4(port, "/tree")]);
    assert.equal(deep.code, 0, deep.stdout + deep.stderr);
    assert.deepEqual(names(deep.stdout).sort(), want.sort());
    // The nested export /data is the same tree, reached through its own
    // junction.
    const nested = await run("nfs-ls", [url4(port, "/data/tree")]);
    assert.equal(nested.code, 0, nested.stdout + nested.stderr);
    assert.deepEqual(names(nested.stdout).sort(), names(flat.stdout).sort());
  } finally {
    await server.shutdown();
  }
});

Deno.test("libnfs v4: nfs-cat of a 24 MiB file has the same checksum", async () => {
  const fs = new MemFs();
  const data = randomBytes(24 << 20);
  const f = await fs.create(ROOT, fs.root, "big.bin");
  for (let at = 0; at < data.length; at += 1 << 20) {
    await fs.write(ROOT, f.fileid, at, data.subarray(at, at + (1 << 20)));
  }
  const server = startServer(fs);
  const port = server.addr.port;
  try {
    const want = await sha256(data);
    for (const path of ["//big.bin", "/data/big.bin"]) {
      const cat = await runBytes("nfs-cat", [url4(port, path)]);
      assert.equal(cat.code, 0, `${path}: ${cat.stderr}`);
      assert.equal(cat.stdout.length, data.length, path);
      assert.equal(await sha256(cat.stdout), want, path);
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("libnfs v4: small files, a missing one and a permission denial", async () => {
  const fs = new MemFs();
  const enc = new TextEncoder();
  const pub = await fs.create(ROOT, fs.root, "hello.txt", {
    attrs: { mode: 0o644 },
  });
  await fs.write(ROOT, pub.fileid, 0, enc.encode("hello, nfs4\n"));
  const priv = await fs.create(ROOT, fs.root, "secret.txt", {
    attrs: { mode: 0o600 },
  });
  await fs.write(ROOT, priv.fileid, 0, enc.encode("top secret\n"));
  await fs.create(ROOT, fs.root, "empty");
  const server = startServer(fs);
  const port = server.addr.port;
  try {
    const cat = await run("nfs-cat", [url4(port, "//hello.txt")]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, "hello, nfs4\n");
    const empty = await run("nfs-cat", [url4(port, "//empty")]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, "");
    const missing = await run("nfs-cat", [url4(port, "//nope.txt")]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NOENT|No such file/i);
    const denied = await run("nfs-cat", [
      url4(port, "//secret.txt", { uid: 1000, gid: 1000 }),
    ]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /ACCES|Permission denied/i);
    const owner = await run("nfs-cat", [
      url4(port, "//secret.txt", { uid: 0, gid: 0 }),
    ]);
    assert.equal(owner.stdout, "top secret\n");
  } finally {
    await server.shutdown();
  }
});
