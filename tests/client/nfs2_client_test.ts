// NfsClient over NFSv2, against netfs's own version 2 server: a file of
// 8 MiB in and out, a 10,000-entry directory, the path-level calls, and the
// clear error for files of 4 GiB or more. The server is the one the kernel
// suite's nfs2 line mounts with Linux's own v2 client (serveNfs over MemFs
// or LocalFs, squash none, stable handles), so both clients meet the same
// server.
import assert from "node:assert/strict";
import { NfsError, NfsProtocolError } from "../../client/errors.ts";
import { NfsClient } from "../../client/nfs_client.ts";
import {
  encode_readdirres,
  encode_readres,
  NFSPROC_READ,
  NFSPROC_READDIR,
  nfsstat,
} from "../../proto/nfs2/mod.ts";
import { type Procedure, procedure } from "../../rpc/program.ts";
import { serveRpc } from "../../rpc/server.ts";
import { ExportTable } from "../../server/exports.ts";
import { mountPrograms } from "../../server/mount.ts";
import { nfs2Program } from "../../server/nfs2/program.ts";
import { serveNfs } from "../../server/serve.ts";
import { LocalFs } from "../../vfs/localfs.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/types.ts";
import { FILE_FATTR, randomBytes, sha256 } from "./_data.ts";
import { client, serve } from "./_server.ts";

const MiB = 1024 * 1024;

/** A server with NFSv2 only (so the client must fall back) and a client. */
async function withV2(
  body: (nfs: NfsClient, fs: MemFs) => Promise<void>,
  fs = new MemFs(),
): Promise<void> {
  const s = serve({ fs, versions: [2] });
  const nfs = await client(s);
  try {
    assert.equal(nfs.info.version, 2);
    await body(nfs, fs);
  } finally {
    await nfs.close();
    await s.close();
  }
}

Deno.test("nfs2 client: an 8 MiB file goes in and out with equal checksums", async () => {
  await withV2(async (nfs) => {
    const data = randomBytes(8 * MiB);
    const want = await sha256(data);
    await nfs.writeFile("/big.bin", data);
    assert.equal((await nfs.stat("/big.bin")).size, 8 * MiB);
    assert.equal(await sha256(await nfs.readFile("/big.bin")), want);

    // And through the streams, in pieces that are not multiples of 8 KiB.
    const out = await nfs.create("/streamed.bin");
    const step = 100_000;
    const pieces = [];
    for (let at = 0; at < data.byteLength; at += step) {
      pieces.push(data.subarray(at, at + step));
    }
    await ReadableStream.from(pieces).pipeTo(out.writable);
    const got = new Uint8Array(8 * MiB);
    let at = 0;
    for await (const c of (await nfs.open("/streamed.bin")).readable) {
      got.set(c, at);
      at += c.byteLength;
    }
    assert.equal(at, 8 * MiB);
    assert.equal(await sha256(got), want);
  });
});

Deno.test("nfs2 client: a 10,000-entry directory is listed with each name once", async () => {
  const fs = new MemFs();
  const dir = await fs.mkdir(ROOT, fs.root, "many");
  for (let i = 0; i < 10_000; i++) {
    await fs.create(ROOT, dir.fileid, `entry-${i}`);
  }
  await fs.mkdir(ROOT, dir.fileid, "sub");
  await withV2(async (nfs) => {
    const seen = new Map<string, boolean>();
    let count = 0;
    for await (const e of nfs.readDir("/many")) {
      count++;
      seen.set(e.name, e.isDirectory);
    }
    assert.equal(count, 10_001, "no entry twice");
    assert.equal(seen.size, 10_001);
    assert.equal(seen.get("entry-9999"), false);
    assert.equal(seen.get("sub"), true, "types come from LOOKUP");
  }, fs);
});

Deno.test("nfs2 client: the path-level calls work as over NFSv3", async () => {
  await withV2(async (nfs) => {
    await nfs.mkdir("/a/b/c", { recursive: true });
    await nfs.writeTextFile("/a/b/c/f.txt", "hello");
    await nfs.writeTextFile("/a/b/c/f.txt", " world", { append: true });
    assert.equal(await nfs.readTextFile("/a/b/c/f.txt"), "hello world");
    await nfs.rename("/a/b/c/f.txt", "/a/g.txt");
    await nfs.symlink("g.txt", "/a/l");
    assert.equal(await nfs.readLink("/a/l"), "g.txt");
    assert.equal((await nfs.lstat("/a/l")).isSymlink, true);
    assert.equal(await nfs.readTextFile("/a/l"), "hello world");
    assert.equal(await nfs.realPath("/a/b/../l"), "/a/g.txt");
    await nfs.link("/a/g.txt", "/a/h.txt");
    assert.equal((await nfs.stat("/a/h.txt")).nlink, 2);
    await nfs.truncate("/a/g.txt", 5);
    await nfs.chmod("/a/g.txt", 0o600);
    await nfs.chown("/a/g.txt", 1000, 100);
    await nfs.utime("/a/g.txt", 1_000_000, new Date(2_000_000_500));
    const info = await nfs.stat("/a/g.txt");
    assert.equal(info.size, 5);
    assert.equal(info.mode, 0o100600);
    assert.deepEqual([info.uid, info.gid], [1000, 100]);
    assert.equal(info.atime?.getTime(), 1_000_000_000);
    assert.equal(info.mtime?.getTime(), 2_000_000_500);
    const fsStats = await nfs.statfs();
    assert.ok(fsStats.totalBytes >= fsStats.freeBytes);
    await assert.rejects(
      nfs.writeTextFile("/a/g.txt", "x", { createNew: true }),
      Deno.errors.AlreadyExists,
    );
    await assert.rejects(
      nfs.remove("/a"),
      (e) =>
        e instanceof NfsError && e.statusName === "NFSERR_NOTEMPTY" &&
        e.procedure === "RMDIR" && e.path === "/a",
    );
    await assert.rejects(
      nfs.stat("/a/g.txt/x"),
      (e) =>
        e instanceof Deno.errors.NotADirectory &&
        (e as NfsError).statusName === "NFSERR_NOTDIR",
    );
    await nfs.remove("/a", { recursive: true });
    await assert.rejects(
      nfs.stat("/a"),
      (e) =>
        e instanceof Deno.errors.NotFound &&
        (e as NfsError).statusName === "NFSERR_NOENT",
    );
  });
});

Deno.test("nfs2 client: another uid is PermissionDenied (NFSERR_ACCES)", async () => {
  const s = serve({ versions: [2] });
  const owner = await client(s);
  const other = await client(s, { uid: 1000 });
  try {
    await owner.mkdir("/private", { mode: 0o700 });
    await assert.rejects(
      other.writeTextFile("/private/f", "x"),
      (e) =>
        e instanceof Deno.errors.PermissionDenied &&
        (e as NfsError).statusName === "NFSERR_ACCES",
    );
  } finally {
    await owner.close();
    await other.close();
    await s.close();
  }
});

Deno.test("nfs2 client: a file of 4 GiB or more is a clear RangeError, never read", async () => {
  const fs = new MemFs();
  const big = await fs.create(ROOT, fs.root, "big.iso");
  await fs.setattr(ROOT, big.fileid, { size: 5 * 2 ** 30 });
  await withV2(async (nfs) => {
    // Version 2 cannot say more than 4 GiB − 1; stat reports that.
    assert.equal((await nfs.stat("/big.iso")).size, 0xffffffff);
    const tooLarge = (e: unknown) =>
      e instanceof RangeError &&
      e.message.startsWith("File too large for NFSv2: /big.iso (") &&
      e.message.endsWith("use version 3)");
    await assert.rejects(nfs.readFile("/big.iso"), tooLarge);
    await assert.rejects(nfs.open("/big.iso"), tooLarge);
    await assert.rejects(
      nfs.writeFile("/big.iso", new Uint8Array(1), { append: true }),
      tooLarge,
    );
  }, fs);
});

Deno.test("nfs2 client: sizes and offsets of 4 GiB − 1 or more are refused before they are sent", async () => {
  await withV2(async (nfs) => {
    await nfs.writeTextFile("/f", "x");
    await assert.rejects(
      nfs.truncate("/f", 2 ** 32),
      (e) =>
        e instanceof RangeError &&
        e.message ===
          "File too large for NFSv2: /f (size 4294967296; version 2 sizes end below 4 GiB, use version 3)",
    );
    const file = await nfs.open("/f", { write: true });
    await file.seek(2 ** 32 - 4);
    await file.write(new Uint8Array(8));
    await assert.rejects(file.sync(), RangeError);
    file.close();
    assert.equal((await nfs.stat("/f")).size, 1, "nothing was written");
    await nfs.truncate("/f", 0xfffffffe);
    assert.equal((await nfs.stat("/f")).size, 0xfffffffe, "the largest size");
  });
});

Deno.test("nfs2 client: over LocalFs, as the kernel suite serves it, a file outlives a server restart under the client", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netfs-nfs2-" });
  const start = async (port: number) => {
    const fs = await LocalFs.open(dir);
    const server = serveNfs({
      port,
      quiet: true,
      exports: [{ path: "/", fs, squash: "none", stableHandles: true }],
    });
    return { fs, server };
  };
  let s = await start(0);
  const port = s.server.addr.port;
  const nfs = await NfsClient.connect(
    `nfs://127.0.0.1:${port}/?version=2&uid=0&gid=0`,
  );
  try {
    const data = randomBytes(8 * MiB);
    await nfs.writeFile("/f.bin", data);
    const file = await nfs.open("/f.bin");
    await s.server.shutdown();
    await s.fs.close();
    s = await start(port);
    // The handle from before the restart, on a new connection.
    const info = await file.stat();
    assert.equal(info.size, 8 * MiB);
    file.close();
    assert.equal(
      await sha256(await nfs.readFile("/f.bin")),
      await sha256(data),
    );
    assert.deepEqual(
      new Uint8Array(await Deno.readFile(`${dir}/f.bin`)).subarray(0, 16),
      data.subarray(0, 16),
      "the bytes are in the local file",
    );
  } finally {
    await nfs.close();
    await s.server.shutdown();
    await s.fs.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * netfs's v2 server with one procedure replaced by `liar`'s answer, and a
 * client of it.
 */
async function withLiar(
  proc: number,
  liar: Procedure,
  body: (nfs: NfsClient) => Promise<void>,
): Promise<void> {
  const fs = new MemFs();
  await fs.create(ROOT, fs.root, "f");
  const exports = new ExportTable([{ path: "/", fs, squash: "none" }]);
  const nfs2 = nfs2Program({ exports, log: () => {} });
  const server = serveRpc({
    port: 0,
    log: () => {},
    programs: [
      ...mountPrograms({ exports, versions: [1] }),
      { ...nfs2, procedures: { ...nfs2.procedures, [proc]: liar } },
    ],
  });
  const nfs = await NfsClient.connect(
    `nfs://127.0.0.1:${server.addr.port}/?uid=0&gid=0`,
  );
  try {
    assert.equal(nfs.info.version, 2);
    await body(nfs);
  } finally {
    await nfs.close();
    await server.shutdown();
  }
}

Deno.test("nfs2 client: a READDIR that repeats a cookie, or pages on with nothing, is an NfsProtocolError", async () => {
  const cookie = new Uint8Array([0, 0, 0, 1]);
  const pages = [
    {
      entries: [
        { fileid: 5, name: "a", cookie },
        { fileid: 6, name: "b", cookie },
      ],
      error:
        /^Malformed READDIR reply: cookie 1 repeated in the listing of \/$/,
    },
    {
      entries: [],
      error: /no entries and no end of directory after cookie 0 in \/$/,
    },
  ];
  for (const page of pages) {
    await withLiar(
      NFSPROC_READDIR,
      procedure({
        name: "READDIR",
        run: () => ({
          status: nfsstat.NFS_OK,
          readdirok: { entries: page.entries, eof: false },
        }),
        encode: encode_readdirres,
      }),
      async (nfs) => {
        await assert.rejects(
          Array.fromAsync(nfs.readDir("/")),
          (e) => e instanceof NfsProtocolError && page.error.test(e.message),
        );
      },
    );
  }
});

Deno.test("nfs2 client: READ with no data short of the size is an NfsProtocolError, not a loop", async () => {
  await withLiar(
    NFSPROC_READ,
    procedure({
      name: "READ",
      run: () => ({
        status: nfsstat.NFS_OK,
        reply: {
          attributes: { ...FILE_FATTR, size: 100 },
          data: new Uint8Array(0),
        },
      }),
      encode: encode_readres,
    }),
    async (nfs) => {
      await assert.rejects(
        nfs.readFile("/f"),
        (e) =>
          e instanceof NfsProtocolError &&
          /no data and no end of file at offset 0 of \/f/.test(e.message),
      );
    },
  );
});
