// Load, behind NETFS_LOAD=1 (it takes minutes and both cores): 64 NFSv3
// clients on separate connections, from 4 processes, each doing
// NETFS_LOAD_OPS (default 10,000) mixed operations in its own directory
// against a MemFs and a LocalFs server, with 0 errors, every file's final
// content verified and the server's RSS under 100 MiB beyond the data it
// holds (BEYOND_DATA);
// and 16 NBD connections doing NETFS_LOAD_NBD_OPS (default 2,000) random
// 4 KiB to 1 MiB reads and writes each, every read checked against what was
// written, the server under 100 MiB beyond its data. The servers run in
// their own processes (../durability/_server_child.ts), so `ps` gives their
// RSS alone, with the V8 setting the README recommends for a busy server
// (SERVER_FLAGS). NETFS_MEMLOG=MS has the servers report their heap (see
// _server_child.ts). Every wait is bounded; do not run this beside another
// heavy suite.
import assert from "node:assert/strict";
import { NfsClient } from "../../client/nfs_client.ts";
import { connectNbd } from "../../nbd/client.ts";
import { type Child, startChild } from "../durability/_child.ts";
import { assertBytes, randomBytes } from "../durability/_random.ts";

const LOAD = Deno.env.get("NETFS_LOAD") === "1";
const OPS = Number(Deno.env.get("NETFS_LOAD_OPS") ?? 10_000);
const NBD_OPS = Number(Deno.env.get("NETFS_LOAD_NBD_OPS") ?? 2_000);
const CLIENTS = 64;
const PROCESSES = 4;
const LIMIT_MS = 30 * 60_000;
const MIB = 1 << 20;
/**
 * What the README ("A server's memory") tells a busy server to run with, and
 * `deno task compile` builds in: V8 sizes its heap for memory rather than
 * speed. Most of the peak is V8's: garbage promoted to the old generation,
 * and the array buffers it holds, wait for a full collection.
 */
const SERVER_FLAGS = ["--v8-flags=--optimize-for-size"];
/**
 * An NFS server's peak RSS above idle and its data, at most: issue 15's
 * 100 MiB. Measured at 10,000 operations per client with SERVER_FLAGS:
 * MemFs +62 MiB, LocalFs +59 MiB (NBD +57). With Deno's default V8 flags
 * MemFs +152 and LocalFs +192 MiB (its young generation alone grows to
 * ~50 MiB), even with the server's garbage per call cut by a third to a
 * half (bench/alloc_bench.ts; +178 and +198 before the last of those
 * cuts); with semi-spaces capped at 2 MiB (this test's setting once) +125
 * and +141 before them: 100 MiB needs the flag.
 */
const BEYOND_DATA = 100 * MIB;

/** The RSS of process `pid` in bytes, from ps. */
async function rssOf(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  return Number(new TextDecoder().decode(out.stdout).trim()) * 1024;
}

/** Samples the RSS of `pid` every 500 ms until `stop()`; the peak. */
function watch(pid: number): { stop(): Promise<number> } {
  let peak = 0;
  let busy: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    busy = busy.then(async () => {
      peak = Math.max(peak, await rssOf(pid));
    });
  }, 500);
  return {
    async stop() {
      clearInterval(timer);
      await busy;
      return Math.max(peak, await rssOf(pid));
    },
  };
}

interface Result {
  ops: number;
  errors: string[];
  files: number;
  bytes: number;
}

/** Runs the 64 clients in PROCESSES processes against `port`. */
async function clients(port: number): Promise<Result> {
  const script = new URL("./_load_client.ts", import.meta.url).pathname;
  const per = CLIENTS / PROCESSES;
  const runs = Array.from({ length: PROCESSES }, async (_, p) => {
    const proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        script,
        String(port),
        String(p * per),
        String(p * per + per - 1),
        String(OPS),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => proc.kill("SIGKILL"), LIMIT_MS);
    const out = await proc.output();
    clearTimeout(timer);
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return JSON.parse(text) as Result;
  });
  const all = await Promise.all(runs);
  return {
    ops: all.reduce((n, r) => n + r.ops, 0),
    errors: all.flatMap((r) => r.errors),
    files: all.reduce((n, r) => n + r.files, 0),
    bytes: all.reduce((n, r) => n + r.bytes, 0),
  };
}

async function nfsLoad(
  args: string[],
  heldBytes: (port: number) => Promise<number>,
) {
  const child: Child = await startChild(args, SERVER_FLAGS);
  try {
    const idle = await rssOf(child.pid);
    const rss = watch(child.pid);
    const started = performance.now();
    const r = await clients(child.port);
    const peak = await rss.stop();
    const held = await heldBytes(child.port);
    const extra = peak - idle - held;
    console.log(
      `${args[0]}: ${r.ops} operations by ${CLIENTS} clients in ${
        ((performance.now() - started) / 1000).toFixed(1)
      } s, ${r.files} files (${r.bytes} bytes) verified; server RSS ${
        idle >> 20
      } MiB idle, peak ${peak >> 20} MiB, data held ${held >> 20} MiB`,
    );
    assert.deepEqual(r.errors, [], "no errors");
    assert.equal(r.ops, CLIENTS * OPS);
    assert.ok(r.files > 0);
    assert.ok(
      extra < BEYOND_DATA,
      `server RSS beyond its data: ${extra >> 20} MiB`,
    );
  } finally {
    await child.kill9();
  }
}

Deno.test({
  name:
    `load: ${CLIENTS} NFSv3 clients × ${OPS} mixed operations against MemFs`,
  ignore: !LOAD,
  async fn() {
    await nfsLoad(["memfs"], async (port) => {
      await using nfs = await NfsClient.connect(
        `nfs://127.0.0.1:${port}/?uid=0&gid=0`,
      );
      const s = await nfs.statfs();
      return s.totalBytes - s.freeBytes;
    });
  },
});

Deno.test({
  name:
    `load: ${CLIENTS} NFSv3 clients × ${OPS} mixed operations against LocalFs`,
  ignore: !LOAD,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netfs-load-" });
    try {
      // The data is on disk: the server holds none of it in memory.
      await nfsLoad(["nfs", dir, "native"], () => Promise.resolve(0));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    `load: 16 NBD connections × ${NBD_OPS} random 4 KiB–1 MiB reads and writes, verified`,
  ignore: !LOAD,
  async fn() {
    const region = 16 * MIB;
    const child = await startChild(
      ["nbdmem", String(16 * region)],
      SERVER_FLAGS,
    );
    try {
      const idle = await rssOf(child.pid);
      const rss = watch(child.pid);
      const started = performance.now();
      let reads = 0;
      let writes = 0;
      await Promise.all(Array.from({ length: 16 }, async (_, c) => {
        const disk = await connectNbd({ port: child.port, export: "disk" });
        const base = c * region;
        const shadow = new Uint8Array(region);
        try {
          for (let i = 0; i < NBD_OPS; i++) {
            const len = 4096 * (1 + Math.floor(Math.random() * 256));
            const off = 4096 *
              Math.floor(Math.random() * ((region - len) / 4096 + 1));
            if (Math.random() < 0.5) {
              const data = randomBytes(len);
              await disk.writeAt(base + off, data);
              shadow.set(data, off);
              writes++;
            } else {
              const got = await disk.readAt(base + off, len);
              assertBytes(
                got,
                shadow.subarray(off, off + len),
                `conn ${c} @${off}`,
              );
              reads++;
            }
          }
        } finally {
          await disk.close();
        }
      }));
      const peak = await rss.stop();
      const held = 16 * region; // at most: every written chunk is kept
      console.log(
        `nbd: ${reads} reads and ${writes} writes verified by 16 connections in ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s; server RSS ${idle >> 20} MiB idle, peak ${peak >> 20} MiB`,
      );
      assert.equal(reads + writes, 16 * NBD_OPS);
      const extra = peak - idle - held;
      assert.ok(
        extra < 100 * MIB,
        `server RSS beyond its data: ${extra >> 20} MiB`,
      );
    } finally {
      await child.kill9();
    }
  },
});
