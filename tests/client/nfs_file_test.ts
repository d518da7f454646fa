// NfsFile (NfsClient.open and create) against netfs's own server.
import assert from "node:assert/strict";
import type { NfsClient } from "../../client/nfs_client.ts";
import { client, serve } from "./_server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function withClient(
  body: (nfs: NfsClient) => Promise<void>,
  params: Record<string, number> = {},
): Promise<void> {
  const s = serve();
  const nfs = await client(s, { params });
  try {
    await body(nfs);
  } finally {
    await nfs.close();
    await s.close();
  }
}

Deno.test("nfs file: write, seek and read back, with read returning null at the end", async () => {
  await withClient(async (nfs) => {
    await using f = await nfs.create("/f");
    assert.equal(await f.write(enc.encode("hello world")), 11);
    assert.equal(await f.seek(6), 6);
    const buf = new Uint8Array(64);
    const n = await f.read(buf);
    assert.equal(dec.decode(buf.subarray(0, n!)), "world");
    assert.equal(await f.read(buf), null);
    assert.equal(await f.seek(-5, Deno.SeekMode.End), 6);
    assert.equal(await f.seek(2, Deno.SeekMode.Current), 8);
    await assert.rejects(f.seek(-1), TypeError);
  });
});

Deno.test("nfs file: truncate, stat and sync on an open file", async () => {
  await withClient(async (nfs) => {
    const f = await nfs.open("/t", { write: true, create: true });
    await f.write(new Uint8Array(10_000));
    assert.equal((await f.stat()).size, 10_000, "stat waits for writes");
    await f.truncate(10);
    assert.equal((await f.stat()).size, 10);
    await f.sync();
    await f.syncData();
    await f.close();
    await f.close(); // twice is fine
    assert.equal((await nfs.stat("/t")).size, 10);
    await assert.rejects(f.stat(), Deno.errors.BadResource);
  });
});

Deno.test("nfs file: append writes at the end; open flags are checked", async () => {
  await withClient(async (nfs) => {
    await nfs.writeTextFile("/a", "one");
    const f = await nfs.open("/a", { append: true });
    await f.write(enc.encode("+two"));
    await f.close();
    assert.equal(await nfs.readTextFile("/a"), "one+two");
    const r = await nfs.open("/a");
    await assert.rejects(
      r.write(enc.encode("x")),
      Deno.errors.PermissionDenied,
    );
    await r.close();
    const w = await nfs.open("/a", { write: true });
    await assert.rejects(
      w.read(new Uint8Array(4)),
      Deno.errors.PermissionDenied,
    );
    await w.close();
    await assert.rejects(nfs.open("/a", { create: true }), TypeError);
    await assert.rejects(nfs.open("/missing"), Deno.errors.NotFound);
    await assert.rejects(
      nfs.open("/a", { write: true, createNew: true }),
      Deno.errors.AlreadyExists,
    );
    await nfs.mkdir("/d");
    await assert.rejects(nfs.open("/d"), Deno.errors.IsADirectory);
  });
});

Deno.test("nfs file: read-ahead serves a sequential reader across chunk edges", async () => {
  await withClient(async (nfs) => {
    const data = new Uint8Array(5 * 1024 * 1024 + 123).map((_, i) => i * 7);
    await nfs.writeFile("/big", data);
    const f = await nfs.open("/big");
    const got = new Uint8Array(data.length);
    let at = 0;
    const buf = new Uint8Array(100_000); // not a divisor of the READ size
    for (let n = await f.read(buf); n !== null; n = await f.read(buf)) {
      got.set(buf.subarray(0, n), at);
      at += n;
    }
    assert.equal(at, data.length);
    assert.deepEqual(got, data);
    await f.close();
  }, { readahead: 3 * 1024 * 1024 });
});

Deno.test("nfs file: reads into a buffer reuse READ storage; chunks the readable gave out stay as they were", async () => {
  await withClient(async (nfs) => {
    const MiB = 1024 * 1024;
    const data = new Uint8Array(40 * MiB).map((_, i) => (i >> 20) + i);
    await nfs.writeFile("/big", data);
    // read(p) copies each 1 MiB READ out: its storage serves the next READs.
    const f = await nfs.open("/big");
    const buf = new Uint8Array(MiB);
    for (let i = 0; i < 40; i++) {
      assert.equal(await f.read(buf), MiB);
      assert.deepEqual(buf, data.subarray(i * MiB, (i + 1) * MiB), `MiB ${i}`);
    }
    assert.equal(await f.read(buf), null);
    // Chunks from the readable are the caller's: reads after them, by
    // read(p) on the same file, must not overwrite them.
    await f.seek(0);
    const reader = f.readable.getReader();
    const kept: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) kept.push((await reader.read()).value!);
    reader.releaseLock();
    for (let i = 0; i < 30; i++) assert.equal(await f.read(buf), MiB);
    for (const [i, c] of kept.entries()) {
      assert.deepEqual(c, data.subarray(i * MiB, (i + 1) * MiB), `chunk ${i}`);
    }
    await f.close();
  });
});

Deno.test("nfs file: reading what this file just wrote sees the new bytes", async () => {
  await withClient(async (nfs) => {
    await nfs.writeTextFile("/rw", "aaaaaaaaaa");
    const f = await nfs.open("/rw", { read: true, write: true });
    const buf = new Uint8Array(3);
    await f.read(buf); // fills the read-ahead with the old bytes
    await f.seek(0);
    await f.write(enc.encode("bbb"));
    await f.seek(0);
    const all = new Uint8Array(10);
    assert.equal(await f.read(all), 10);
    assert.equal(dec.decode(all), "bbbaaaaaaa");
    await f.close();
  });
});

Deno.test("nfs file: readable and writable streams carry the bytes", async () => {
  await withClient(async (nfs) => {
    const chunks = Array.from(
      { length: 40 },
      (_, i) => new Uint8Array(65_537).fill(i),
    );
    const out = await nfs.create("/s");
    await ReadableStream.from(chunks).pipeTo(out.writable);
    const f = await nfs.open("/s");
    const got = new Uint8Array(40 * 65_537);
    let at = 0;
    for await (const chunk of f.readable) {
      got.set(chunk, at);
      at += chunk.byteLength;
    }
    assert.equal(at, got.length);
    for (let i = 0; i < 40; i++) {
      assert.ok(
        got.subarray(i * 65_537, (i + 1) * 65_537).every((b) => b === i),
      );
    }
    await assert.rejects(
      f.stat(),
      Deno.errors.BadResource,
      "the stream closed the file",
    );
  });
});
