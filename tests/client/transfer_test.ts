// NfsClient moving a lot: a 64 MiB file in and out, a 10,000-entry
// directory, calls in flight at once, UNSTABLE writes with COMMIT and the
// verifier check, and a connection that breaks or a server that goes away.
import assert from "node:assert/strict";
import { NfsError } from "../../client/errors.ts";
import { NfsClient } from "../../client/nfs_client.ts";
import { RpcClosedError } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import { ExportTable } from "../../server/exports.ts";
import { mountProgram } from "../../server/mount.ts";
import { nfs3Program } from "../../server/nfs3/program.ts";
import { portmapPrograms } from "../../server/portmap.ts";
import { VfsError } from "../../vfs/errors.ts";
import { MemFs } from "../../vfs/memfs.ts";
import {
  type Credentials,
  type FileId,
  ROOT,
  type Stability,
  type WriteResult,
} from "../../vfs/types.ts";
import { randomBytes, sha256 } from "./_data.ts";
import { client, serve } from "./_server.ts";

const MiB = 1024 * 1024;

/**
 * A MemFs whose writes stay UNSTABLE until COMMIT, as a disk-backed
 * server's do, and that counts its calls and the most reads and writes
 * running at once (each takes a millisecond, so overlap shows).
 */
class SlowUnstableFs extends MemFs {
  commits = 0;
  writes = 0;
  active = 0;
  maxActive = 0;
  delayMs = 0;

  async #timed<T>(run: () => Promise<T>): Promise<T> {
    this.maxActive = Math.max(this.maxActive, ++this.active);
    try {
      if (this.delayMs > 0) {
        await new Promise((r) => setTimeout(r, this.delayMs));
      }
      return await run();
    } finally {
      this.active--;
    }
  }

  override write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable?: Stability,
  ): Promise<WriteResult> {
    this.writes++;
    return this.#timed(async () => {
      const r = await super.write(cred, id, offset, data, stable);
      return { ...r, committed: stable ?? "unstable" };
    });
  }

  override read(cred: Credentials, id: FileId, offset: number, n: number) {
    return this.#timed(() => super.read(cred, id, offset, n));
  }

  override commit(cred: Credentials, id: FileId): Promise<void> {
    this.commits++;
    return super.commit(cred, id);
  }
}

Deno.test("nfs transfer: a 64 MiB file goes in and out with equal checksums", async () => {
  const s = serve();
  const nfs = await client(s);
  try {
    const data = randomBytes(64 * MiB);
    const want = await sha256(data);
    await nfs.writeFile("/big.bin", data);
    assert.equal((await nfs.stat("/big.bin")).size, 64 * MiB);
    assert.equal(await sha256(await nfs.readFile("/big.bin")), want);

    // And through the streams.
    const out = await nfs.create("/streamed.bin");
    const pieces = Array.from(
      { length: 64 },
      (_, i) => data.subarray(i * MiB, (i + 1) * MiB),
    );
    await ReadableStream.from(pieces).pipeTo(out.writable);
    const got = new Uint8Array(64 * MiB);
    let at = 0;
    for await (const c of (await nfs.open("/streamed.bin")).readable) {
      got.set(c, at);
      at += c.byteLength;
    }
    assert.equal(at, 64 * MiB);
    assert.equal(await sha256(got), want);
  } finally {
    await nfs.close();
    await s.close();
  }
});

Deno.test("nfs transfer: a 10,000-entry directory is listed with each name once", async () => {
  const fs = new MemFs();
  const dir = await fs.mkdir(ROOT, fs.root, "many");
  for (let i = 0; i < 10_000; i++) {
    await fs.create(ROOT, dir.fileid, `entry-${i}`);
  }
  const s = serve({ fs });
  const nfs = await client(s);
  try {
    const seen = new Set<string>();
    let count = 0;
    for await (const e of nfs.readDir("/many")) {
      count++;
      seen.add(e.name);
      assert.equal(e.isFile, true);
    }
    assert.equal(count, 10_000, "no entry twice");
    assert.equal(seen.size, 10_000);
    assert.ok(seen.has("entry-0") && seen.has("entry-9999"));
  } finally {
    await nfs.close();
    await s.close();
  }
});

Deno.test("nfs transfer: without READDIRPLUS the listing falls back to READDIR", async () => {
  const fs = new MemFs();
  const dir = await fs.mkdir(ROOT, fs.root, "d");
  for (let i = 0; i < 1000; i++) await fs.create(ROOT, dir.fileid, `f${i}`);
  await fs.mkdir(ROOT, dir.fileid, "sub");
  const exports = new ExportTable([{ path: "/", fs, squash: "none" }]);
  const nfs3 = nfs3Program({ exports, log: () => {} });
  const { 17: _plus, ...procedures } = nfs3.procedures; // no READDIRPLUS
  const server = serveRpc({
    port: 0,
    log: () => {},
    programs: [mountProgram({ exports }), { ...nfs3, procedures }],
  });
  for (const p of portmapPrograms(server)) server.register(p);
  const nfs = await NfsClient.connect(
    `nfs://127.0.0.1:${server.addr.port}/d?uid=0&gid=0`,
  );
  try {
    const kinds = new Map<string, boolean>();
    for await (const e of nfs.readDir("/")) kinds.set(e.name, e.isDirectory);
    assert.equal(kinds.size, 1001);
    assert.equal(kinds.get("sub"), true, "types come from LOOKUP");
    assert.equal(kinds.get("f999"), false);
  } finally {
    await nfs.close();
    await server.shutdown();
  }
});

Deno.test("nfs transfer: reads and writes keep several calls in flight", async () => {
  const fs = new SlowUnstableFs();
  // 8 calls of 1 MiB each way, each held 5 ms by the file system: room for
  // 4 to overlap even when a loaded machine sends them slowly.
  fs.delayMs = 5;
  const s = serve({ fs });
  const nfs = await client(s, { window: 8 });
  try {
    const data = randomBytes(8 * MiB);
    await nfs.writeFile("/f", data);
    assert.ok(fs.maxActive >= 4, `writes overlapped ${fs.maxActive} deep`);
    fs.maxActive = 0;
    assert.deepEqual(await nfs.readFile("/f"), data);
    assert.ok(fs.maxActive >= 4, `reads overlapped ${fs.maxActive} deep`);
    assert.ok(fs.maxActive <= 8, "never more than the window");
  } finally {
    await nfs.close();
    await s.close();
  }
});

Deno.test("nfs transfer: UNSTABLE writes end with one COMMIT", async () => {
  const fs = new SlowUnstableFs();
  const s = serve({ fs });
  const nfs = await client(s);
  try {
    await nfs.writeFile("/f", randomBytes(3 * MiB + 5));
    assert.equal(fs.writes, 4, "1 MiB a WRITE");
    assert.equal(fs.commits, 1);
  } finally {
    await nfs.close();
    await s.close();
  }
});

Deno.test("nfs transfer: a file's writes copy the caller's buffer, whose reuse never reaches the file", async () => {
  // Stable replies (MemFs) free each copy at once; UNSTABLE ones keep 64
  // MiB of copies until the COMMIT, whose storage the next writes reuse.
  for (const fs of [new MemFs(), new SlowUnstableFs()]) {
    const s = serve({ fs });
    const nfs = await client(s);
    try {
      const chunks = 70;
      const buf = new Uint8Array(MiB);
      const want = new Uint8Array(chunks * MiB);
      const f = await nfs.create("/f");
      for (let i = 0; i < chunks; i++) {
        buf.fill(i + 1);
        buf[i] = 0xff; // no two chunks alike
        want.set(buf, i * MiB);
        await f.write(buf);
        buf.fill(0xee); // what a reused buffer holds next
      }
      await f.close();
      const got = await nfs.readFile("/f");
      assert.equal(got.byteLength, want.byteLength);
      assert.equal(await sha256(got), await sha256(want));
    } finally {
      await nfs.close();
      await s.close();
    }
  }
});

Deno.test("nfs transfer: a server that restarted (new write verifier) gets the lost data again", async () => {
  const fs = new SlowUnstableFs();
  const verf1 = new Uint8Array(8).fill(1);
  let s = serve({ fs, writeVerifier: verf1 });
  const port = s.port;
  const nfs = await client(s);
  try {
    const data = randomBytes(3 * MiB);
    const f = await nfs.create("/f");
    await f.write(data);
    await f.stat(); // the WRITEs have landed, UNSTABLE
    await s.close();
    // The restart lost what was not committed.
    const id = (await fs.lookup(ROOT, fs.root, "f")).fileid;
    await fs.setattr(ROOT, id, { size: 0 });
    s = serve({ fs, port, writeVerifier: new Uint8Array(8).fill(2) });
    const writesBefore = fs.writes;
    await f.close(); // COMMIT on a new connection: verifier 2, not 1
    assert.equal(fs.writes - writesBefore, 3, "the three pieces went again");
    assert.equal(await sha256(await nfs.readFile("/f")), await sha256(data));
  } finally {
    await nfs.close();
    await s.close();
  }
});

Deno.test("nfs transfer: after a restart the pieces sent again are the bytes written, not the reused buffer's", async () => {
  const fs = new SlowUnstableFs();
  let s = serve({ fs, writeVerifier: new Uint8Array(8).fill(1) });
  const port = s.port;
  const nfs = await client(s);
  try {
    const chunks = 20; // more than the window: copies would be reused
    const buf = new Uint8Array(MiB);
    const want = new Uint8Array(chunks * MiB);
    const f = await nfs.create("/f");
    for (let i = 0; i < chunks; i++) {
      buf.fill(i + 1);
      want.set(buf, i * MiB);
      await f.write(buf);
    }
    await f.stat(); // all landed, UNSTABLE
    await s.close();
    const id = (await fs.lookup(ROOT, fs.root, "f")).fileid;
    await fs.setattr(ROOT, id, { size: 0 });
    s = serve({ fs, port, writeVerifier: new Uint8Array(8).fill(2) });
    await f.close();
    assert.equal(await sha256(await nfs.readFile("/f")), await sha256(want));
  } finally {
    await nfs.close();
    await s.close();
  }
});

Deno.test("nfs transfer: a COMMIT sent while writes go on, when it fails, fails the file's next call", async () => {
  class FailingCommitFs extends SlowUnstableFs {
    override commit(_cred: Credentials, _id: FileId): Promise<void> {
      this.commits++;
      return Promise.reject(new VfsError("EIO", "Disk on fire"));
    }
  }
  const fs = new FailingCommitFs();
  const s = serve({ fs });
  const nfs = await client(s);
  try {
    const f = await nfs.create("/f");
    const buf = new Uint8Array(MiB).fill(1);
    let failed: unknown;
    // 64 MiB of UNSTABLE writes start a COMMIT; its failure surfaces in a
    // later write, or at the latest in close.
    try {
      for (let i = 0; i < 80; i++) await f.write(buf);
      await f.close();
    } catch (e) {
      failed = e;
    }
    assert.ok(failed instanceof NfsError, `got ${failed}`);
    assert.equal(failed.procedure, "COMMIT");
    assert.equal(failed.statusName, "NFS3ERR_IO");
    assert.ok(fs.commits >= 1);
  } finally {
    await nfs.close();
    await s.close();
  }
});

Deno.test("nfs transfer: a dropped connection is reopened under the next call", async () => {
  const s = serve();
  const nfs = await client(s);
  try {
    await nfs.writeTextFile("/f", "still here");
    for (const c of s.server.connections()) s.server.disconnect(c.id);
    assert.equal(await nfs.readTextFile("/f"), "still here");
    assert.equal(s.server.connections().length, 1);
  } finally {
    await nfs.close();
    await s.close();
  }
});

Deno.test("nfs transfer: a server gone for good fails calls with a clear error", async () => {
  const s = serve();
  const nfs = await client(s, { retries: 1 });
  await nfs.writeTextFile("/f", "x");
  await s.close();
  await assert.rejects(
    nfs.readTextFile("/f"),
    (e) =>
      e instanceof RpcClosedError &&
      e.message.startsWith(`Server went away: 127.0.0.1:${s.port}`),
  );
  await nfs.close();
});
