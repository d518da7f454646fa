// `netfs serve nfs` run as a user runs it (deno run with the permissions
// the README gives), read by Debian's libnfs-utils, measured through its
// /metrics endpoint, and stopped by SIGTERM in the middle of a copy.
import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import {
  CreateMode,
  decodeCommitRes,
  decodeCreateRes,
  decodeWriteRes,
  encodeCreateArgs,
  encodeWriteArgs,
  StableHow,
} from "../../proto/nfs3.ts";
import { serve } from "../cli/_cli.ts";
import { promtool, promtoolCheck, sample } from "../telemetry/_prom.ts";
import { randomBytes, run, runBytes, url, url4 } from "./_libnfs.ts";

const NET = "--allow-net=127.0.0.1";
const dirPerms = (
  dir: string,
) => [NET, `--allow-read=${dir}`, `--allow-write=${dir}`];

Deno.test("cli serve nfs: a temp dir read by nfs-ls and nfs-cat over NFSv3, then SIGTERM exits 0", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/hello.txt`, "hello from netfs\n");
    await Deno.chmod(dir, 0o755); // squashed to nobody, clients must still read it
    const { served, port } = await serve(
      ["serve", "nfs", dir, "--port", "0"],
      dirPerms(dir),
    );
    assert.match(
      served.stdout,
      new RegExp(
        `^netfs: serving NFS 3, 4\\.0, 4\\.1, 4\\.2 on 127\\.0\\.0\\.1:${port}$`,
        "m",
      ),
    );
    assert.match(
      served.stdout,
      /Linux: +sudo mount -t nfs -o vers=3,proto=tcp,port=\d+,mountport=\d+/,
    );
    assert.match(
      served.stdout,
      /Linux: +sudo mount -t nfs -o vers=4\.2,proto=tcp/,
    );
    const ls = await run("nfs-ls", [url(port, "/")]);
    assert.equal(ls.code, 0, ls.stderr);
    const names = ls.stdout.trim().split("\n").map((l) =>
      l.trim().split(/\s+/).at(-1)
    );
    assert.ok(names.includes("hello.txt") && names.includes("sub"), ls.stdout);
    assert.ok(!names.includes(".netfs"), "the FileId journal is hidden");
    const cat3 = await run("nfs-cat", [url(port, "//hello.txt")]);
    assert.equal(cat3.stdout, "hello from netfs\n", cat3.stderr);
    const end = await served.stop("SIGTERM");
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stderr, /INFO +Mounted \/ peer=127\.0\.0\.1/);
    assert.match(end.stderr, /INFO +Received SIGTERM: stopping/);
    assert.match(end.stderr, /INFO +Stopped\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Like libnfs_v4_test.ts, this fails at SETCLIENTID (OP_ILLEGAL) until the
// NFSv4 state operations are merged.
Deno.test("cli serve nfs: nfs-cat reads a file over NFSv4", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o755);
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/sub/deep.txt`, "deep\n");
    const { served, port } = await serve([
      "serve",
      "nfs",
      dir,
      "--port",
      "0",
      "--versions",
      "4.0",
    ], dirPerms(dir));
    try {
      assert.doesNotMatch(served.stdout, /vers=3/);
      const cat = await run("nfs-cat", [url4(port, "//sub/deep.txt")]);
      assert.equal(cat.stdout, "deep\n", cat.stderr);
    } finally {
      assert.equal((await served.stop()).code, 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli serve nfs --config: two exports (a directory and memory), JSON logs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/data`);
    await Deno.writeTextFile(`${dir}/data/a.txt`, "A\n");
    await Deno.writeTextFile(
      `${dir}/exports.json`,
      JSON.stringify({
        port: 0,
        versions: "3",
        exports: [
          { path: "/data", dir: "data", readOnly: true },
          { path: "/scratch", memory: true },
        ],
      }),
    );
    const { served, port } = await serve(
      [
        "serve",
        "nfs",
        "--config",
        `${dir}/exports.json`,
        "--log-format",
        "json",
      ],
      [NET, `--allow-read=${dir}`],
    );
    assert.match(served.stdout, /serving NFS 3 on/);
    assert.match(
      served.stdout,
      new RegExp(
        `export /data: ${dir}/data \\(LocalFs, portable engine\\), read-only`,
      ),
    );
    assert.match(served.stdout, /export \/scratch: \(in memory\)/);
    assert.doesNotMatch(served.stdout, /vers=4/, "NFSv4 is not served");
    const cat = await run("nfs-cat", [url(port, "/data/a.txt")]);
    assert.equal(cat.stdout, "A\n", cat.stderr);
    const ls = await run("nfs-ls", [url(port, "/scratch")]);
    assert.equal(ls.code, 0, ls.stderr);
    const end = await served.stop("SIGINT");
    assert.equal(end.code, 0, end.stderr);
    const events = end.stderr.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(
      events.some((e) => e.msg === "Mounted /data" && e.level === "info"),
    );
    assert.equal(events.at(-1).msg, "Stopped");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli serve nfs --metrics: after a known workload the counters equal the calls made, and promtool accepts them", async () => {
  const { served, port, metrics } = await serve(
    ["serve", "nfs", "--memory", "--port", "0", "--metrics", "127.0.0.1:0"],
    [NET],
  );
  try {
    assert.match(metrics!, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const client = await RpcClient.connect({ hostname: "127.0.0.1", port });
    for (let i = 0; i < 5; i++) await client.call(100003, 3, 0, () => {});
    const mnt = await client.call(100005, 3, 1, (w) => w.string("/"));
    assert.equal(mnt.u32(), 0);
    const root = mnt.opaque(64);
    for (let i = 0; i < 3; i++) {
      await client.call(100003, 3, 1, (w) => w.opaque(root));
    }
    await client.call(100003, 4, 0, () => {});
    await client.call(100003, 4, 0, () => {});
    await assert.rejects(client.call(100003, 3, 99, () => {})); // PROC_UNAVAIL
    const res = await fetch(metrics!);
    assert.equal(
      res.headers.get("content-type"),
      "text/plain; version=0.0.4; charset=utf-8",
    );
    const text = await res.text();
    const calls = (p: string, v: number, proc: string) =>
      sample(
        text,
        `netfs_rpc_calls_total{program="${p}",version="${v}",procedure="${proc}"}`,
      );
    assert.equal(calls("nfs", 3, "NULL"), 5);
    assert.equal(calls("mountd", 3, "MNT"), 1);
    assert.equal(calls("nfs", 3, "GETATTR"), 3);
    assert.equal(calls("nfs", 4, "NULL"), 2);
    assert.equal(
      sample(
        text,
        'netfs_rpc_call_duration_seconds_count{program="nfs",version="3",procedure="GETATTR"}',
      ),
      3,
    );
    assert.equal(sample(text, 'netfs_rpc_replies_total{status="SUCCESS"}'), 11);
    assert.equal(
      sample(text, 'netfs_rpc_replies_total{status="PROC_UNAVAIL"}'),
      1,
    );
    assert.equal(sample(text, "netfs_rpc_connections_open"), 1);
    assert.equal(sample(text, "netfs_rpc_connections_total"), 1);
    const [sent] = [sample(text, "netfs_rpc_received_bytes_total")];
    assert.ok(sent > 12 * 40, `every call's bytes were counted: ${sent}`);
    assert.equal(sample(text, "netfs_nfs4_clients"), 0);
    assert.ok(sample(text, "process_resident_memory_bytes") > 1 << 20);
    const tool = await promtool();
    assert.ok(
      tool,
      "promtool is installed (.ci/run unpacks it from Debian's prometheus package)",
    );
    assert.equal(await promtoolCheck(tool, text), "");
    const other = await fetch(metrics!.replace("/metrics", "/other"));
    assert.equal(other.status, 404);
    await other.body?.cancel();
    client.close();
  } finally {
    const end = await served.stop();
    assert.equal(end.code, 0, end.stderr);
  }
});

Deno.test("cli serve nfs: SIGTERM during a 64 MiB copy over LocalFs exits 0 with every committed byte on disk and the journal flushed", async () => {
  const dir = await Deno.makeTempDir();
  const data = randomBytes(64 << 20);
  const CHUNK = 1 << 20;
  try {
    const args = ["serve", "nfs", dir, "--port", "0", "--squash", "none"];
    const { served, port } = await serve(args, dirPerms(dir));
    const client = await RpcClient.connect({
      hostname: "127.0.0.1",
      port,
      auth: { stamp: 1, machineName: "test", uid: 0, gid: 0, gids: [] },
    });
    const mnt = await client.call(100005, 3, 1, (w) => w.string("/"));
    assert.equal(mnt.u32(), 0);
    const root = mnt.opaque(64);
    const created = decodeCreateRes(
      await client.call(
        100003,
        3,
        8,
        (w) =>
          encodeCreateArgs(w, {
            dir: root,
            name: "big.bin",
            mode: CreateMode.UNCHECKED,
          }),
      ),
    );
    assert.equal(created.status, 0);
    const fh = created.object!;
    // Writes 1 MiB UNSTABLE, four at a time, and a COMMIT after every
    // eight: what a COMMIT answered covers every write answered before it.
    let committed = 0; // chunks [0, committed) are committed
    let next = 0;
    let failed: unknown;
    const acked = new Set<number>();
    // The second half waits for the signal, so the copy is under way when
    // it goes however the timers run on a loaded machine.
    let signalled = false;
    let quarter!: () => void;
    const quarterCommitted = new Promise<void>((r) => quarter = r);
    let release!: () => void;
    const released = new Promise<void>((r) => release = r);
    const writer = async () => {
      while (next < 64 && failed === undefined) {
        if (next >= 32 && !signalled) await released;
        const i = next++;
        const r = decodeWriteRes(
          await client.call(100003, 3, 7, (w) =>
            encodeWriteArgs(w, {
              file: fh,
              offset: i * CHUNK,
              count: CHUNK,
              stable: StableHow.UNSTABLE,
              data: data.subarray(i * CHUNK, (i + 1) * CHUNK),
            })),
        );
        assert.equal(r.status, 0);
        acked.add(i);
      }
    };
    const committer = async () => {
      while (committed < 64 && failed === undefined) {
        let upto = 0;
        while (acked.has(upto)) upto++;
        if (upto >= committed + 8 || (upto === 64 && committed < 64)) {
          const c = decodeCommitRes(
            await client.call(100003, 3, 21, (w) => {
              w.opaque(fh);
              w.u64(0);
              w.u32(0);
            }),
          );
          assert.equal(c.status, 0);
          committed = upto;
          if (committed >= 16) quarter();
        } else await new Promise((r) => setTimeout(r, 5));
      }
    };
    const copying = Promise.all([
      writer(),
      writer(),
      writer(),
      writer(),
      committer(),
    ])
      .catch((e) => failed = e);
    // SIGTERM once a quarter is committed, with writes still in flight.
    await Promise.race([quarterCommitted, copying]);
    assert.ok(
      committed >= 16 && committed < 64,
      `copy under way when the signal goes: ${committed} MiB committed`,
    );
    signalled = true;
    const stopping = served.stop("SIGTERM");
    release();
    const end = await stopping;
    await copying;
    client.close();
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stderr, /Received SIGTERM/);
    assert.ok(
      failed !== undefined || committed === 64,
      "the client saw the server go",
    );
    const onDisk = await Deno.readFile(`${dir}/big.bin`);
    assert.ok(
      onDisk.byteLength >= committed * CHUNK,
      `${onDisk.byteLength} bytes on disk`,
    );
    for (let i = 0; i < committed; i++) {
      const a = onDisk.subarray(i * CHUNK, (i + 1) * CHUNK);
      const b = data.subarray(i * CHUNK, (i + 1) * CHUNK);
      assert.ok(
        a.every((x, j) => x === b[j]),
        `committed MiB ${i} is on disk as written`,
      );
    }
    // The journal was flushed: a new server resolves the old handle.
    const again = await serve(args, dirPerms(dir));
    const c2 = await RpcClient.connect({
      hostname: "127.0.0.1",
      port: again.port,
    });
    const attr = await c2.call(100003, 3, 1, (w) => w.opaque(fh));
    assert.equal(
      attr.u32(),
      0,
      "the file handle from before the restart still works",
    );
    c2.close();
    assert.equal((await again.served.stop()).code, 0);
    const cat = await runBytes("nfs-cat", [url(again.port, "//big.bin")]);
    assert.notEqual(cat.code, 0, "the server is gone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
