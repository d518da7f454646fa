// Crash durability over NFSv3 and LocalFs, both engines: the server is a
// subprocess killed with SIGKILL under a write load, then restarted on the
// same directory. Every FILE_SYNC and DATA_SYNC write that was answered, and
// every UNSTABLE write covered by an answered COMMIT, reads back intact by
// the handles of the first instance; the write verifier changes, so a client
// knows to resend what it never saw committed. UNSTABLE writes without a
// COMMIT may be lost, so they are not checked.
import assert from "node:assert/strict";
import { MountClient } from "../../client/mount.ts";
import { Nfs3Client } from "../../client/nfs3.ts";
import { CreateMode, StableHow } from "../../proto/nfs3.ts";
import { RpcClient } from "../../rpc/client.ts";
import { type Child, startChild } from "./_child.ts";
import { assertBytes, randomBytes } from "./_random.ts";

const ENGINES = Deno.build.os === "linux"
  ? ["portable", "native"] as const
  : ["portable"] as const;

interface Chunk {
  offset: number;
  data: Uint8Array;
}

/** `n` chunks at `stride` apart, each 1 to `stride` bytes long. */
function chunks(n: number, stride: number): Chunk[] {
  return Array.from({ length: n }, (_, i) => ({
    offset: i * stride,
    data: randomBytes(1 + Math.floor(Math.random() * stride)),
  }));
}

interface Nfs {
  rpc: RpcClient;
  nfs: Nfs3Client;
  root: Uint8Array;
}

async function connect(port: number): Promise<Nfs> {
  const rpc = await RpcClient.connect({
    hostname: "127.0.0.1",
    port,
    auth: { stamp: 1, machineName: "crash", uid: 0, gid: 0, gids: [] },
    timeoutMs: 20_000,
  });
  const { handle: root } = await new MountClient(rpc).mnt("/");
  return { rpc, nfs: new Nfs3Client(rpc), root };
}

async function create(c: Nfs, name: string): Promise<Uint8Array> {
  const made = await c.nfs.create({
    dir: c.root,
    name,
    mode: CreateMode.GUARDED,
    attrs: { mode: 0o644 },
  });
  return made.object!;
}

async function readBack(c: Nfs, file: Uint8Array, chunk: Chunk) {
  const r = await c.nfs.read({
    file,
    offset: chunk.offset,
    count: chunk.data.byteLength,
  });
  return r.data;
}

const hex = (b: Uint8Array) =>
  [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

for (const engine of ENGINES) {
  Deno.test(`nfs crash (${engine}): acknowledged stable writes and commits survive kill -9`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "netfs-crash-" });
    let child: Child | undefined = await startChild(["nfs", dir, engine]);
    try {
      const c = await connect(child.port);
      // Wave 1: all four stabilities, everything pipelined at once; chunks
      // up to 160 KiB so that both the synchronous and the thread-pool
      // write paths are used.
      const how = {
        file: StableHow.FILE_SYNC,
        data: StableHow.DATA_SYNC,
        commit: StableHow.UNSTABLE,
        loose: StableHow.UNSTABLE,
      };
      const files = new Map<string, { fh: Uint8Array; chunks: Chunk[] }>();
      for (const name of Object.keys(how)) {
        files.set(name, {
          fh: await create(c, name),
          chunks: chunks(24, 160 << 10),
        });
      }
      const verfs = new Set<string>();
      await Promise.all(
        [...files].flatMap(([name, f]) =>
          f.chunks.map(async (ch) => {
            const stable = how[name as keyof typeof how];
            const w = await c.nfs.write({
              file: f.fh,
              offset: ch.offset,
              count: ch.data.byteLength,
              stable,
              data: ch.data,
            });
            assert.equal(w.count, ch.data.byteLength);
            assert.ok(
              w.committed >= stable,
              `${name}: committed ${w.committed} >= ${stable}`,
            );
            verfs.add(hex(w.verf));
          })
        ),
      );
      const committed = await c.nfs.commit({
        file: files.get("commit")!.fh,
        offset: 0,
        count: 0,
      });
      verfs.add(hex(committed.verf));
      assert.equal(verfs.size, 1, "one verifier per server instance");

      // Wave 2: FILE_SYNC writes racing the kill, and UNSTABLE writes
      // committed in rounds; whatever was answered before the kill counts.
      const racing = {
        fh: await create(c, "racing"),
        chunks: chunks(256, 96 << 10),
      };
      const rounds = {
        fh: await create(c, "rounds"),
        chunks: chunks(64, 32 << 10),
      };
      const acked: Chunk[] = [];
      const durable: Chunk[] = [];
      const killAt = Promise.withResolvers<void>();
      const race = racing.chunks.map((ch) =>
        c.nfs.write({
          file: racing.fh,
          offset: ch.offset,
          count: ch.data.byteLength,
          stable: StableHow.FILE_SYNC,
          data: ch.data,
        }).then(() => {
          acked.push(ch);
          if (acked.length === 16) {
            child!.kill(); // at once, while the rest are in flight
            killAt.resolve();
          }
        }, () => {})
      );
      const committer = (async () => {
        for (let at = 0; at < rounds.chunks.length; at += 4) {
          const batch = rounds.chunks.slice(at, at + 4);
          await Promise.all(batch.map((ch) =>
            c.nfs.write({
              file: rounds.fh,
              offset: ch.offset,
              count: ch.data.byteLength,
              stable: StableHow.UNSTABLE,
              data: ch.data,
            })
          ));
          await c.nfs.commit({ file: rounds.fh, offset: 0, count: 0 });
          durable.push(...batch);
        }
      })().catch(() => {});
      await killAt.promise;
      await child.kill9();
      child = undefined;
      await Promise.all([...race, committer]);
      c.rpc.close();
      assert.ok(
        acked.length >= 16 && acked.length < racing.chunks.length,
        `killed mid-load: ${acked.length} of ${racing.chunks.length} answered`,
      );

      child = await startChild(["nfs", dir, engine]);
      const d = await connect(child.port);
      try {
        for (const [name, f] of files) {
          if (name === "loose") continue;
          for (const ch of f.chunks) {
            assertBytes(
              await readBack(d, f.fh, ch),
              ch.data,
              `${name} @${ch.offset}`,
            );
          }
        }
        for (const ch of acked) {
          assertBytes(
            await readBack(d, racing.fh, ch),
            ch.data,
            `racing @${ch.offset}`,
          );
        }
        for (const ch of durable) {
          assertBytes(
            await readBack(d, rounds.fh, ch),
            ch.data,
            `committed @${ch.offset}`,
          );
        }
        const fresh = await create(d, "after");
        const w = await d.nfs.write({
          file: fresh,
          offset: 0,
          count: 1,
          stable: StableHow.UNSTABLE,
          data: new Uint8Array([1]),
        });
        const after = await d.nfs.commit({ file: fresh, offset: 0, count: 0 });
        assert.ok(
          !verfs.has(hex(w.verf)),
          "WRITE: the verifier changed with the restart",
        );
        assert.ok(
          !verfs.has(hex(after.verf)),
          "COMMIT: the verifier changed with the restart",
        );
      } finally {
        d.rpc.close();
      }
    } finally {
      await child?.kill9();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
