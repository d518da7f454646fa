// `netfs serve nbd` run as a user runs it, read by libnbd's nbdinfo and
// qemu-img; the `netfs nbd list|info|copy` verbs against it; its /metrics
// after a known workload; SIGTERM with writes made.
import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import { netfs, serve } from "../cli/_cli.ts";
import { promtool, promtoolCheck, sample } from "../telemetry/_prom.ts";
import { randomBytes, run, sha256File } from "./_libnfs.ts";
import { makeCerts } from "../nbd/_peers.ts";

const NET = "--allow-net=127.0.0.1";
const filePerms = (...files: string[]) => [
  NET,
  ...files.map((f) => `--allow-read=${f}`),
  ...files.map((f) => `--allow-write=${f}`),
];

Deno.test("cli serve nbd: a file read by nbdinfo and qemu-img, SIGTERM exits 0 with the writes on disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = `${dir}/disk.img`;
    await Deno.writeFile(img, randomBytes(8 << 20));
    const { served, port } = await serve(
      ["serve", "nbd", img, "--port", "0"],
      filePerms(img),
    );
    assert.match(
      served.stdout,
      new RegExp(
        `export "disk.img" \\(default\\): ${img} \\(portable engine\\), ${
          8 << 20
        } bytes`,
      ),
    );
    assert.match(
      served.stdout,
      new RegExp(`nbdinfo nbd://127\\.0\\.0\\.1:${port}/disk\\.img`),
    );
    assert.match(
      served.stdout,
      new RegExp(
        `sudo nbd-client -N disk\\.img 127\\.0\\.0\\.1 ${port} /dev/nbd0`,
      ),
    );
    const info = await run("nbdinfo", [
      "--json",
      `nbd://127.0.0.1:${port}/disk.img`,
    ]);
    assert.equal(info.code, 0, info.stderr);
    const j = JSON.parse(info.stdout);
    assert.equal(j.exports[0]["export-size"], 8 << 20);
    assert.equal(j.exports[0].description, img);
    const q = await run("qemu-img", [
      "info",
      "--output=json",
      `nbd://127.0.0.1:${port}/disk.img`,
    ]);
    assert.equal(q.code, 0, q.stderr);
    assert.equal(JSON.parse(q.stdout)["virtual-size"], 8 << 20);
    // A write the client never flushes reaches the file by the time netfs exits.
    const disk = await connectNbd({ port, export: "disk.img" });
    const mark = new TextEncoder().encode("written before SIGTERM");
    await disk.writeAt(4096, mark);
    const end = await served.stop("SIGTERM");
    await disk.close().catch(() => {});
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stderr, /Received SIGTERM/);
    const onDisk = await Deno.readFile(img);
    assert.deepEqual(onDisk.subarray(4096, 4096 + mark.length), mark);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli nbd list, info and copy against serve nbd: a file out and back with equal checksums", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = `${dir}/src.img`;
    const data = randomBytes(6 << 20);
    data.fill(0, 1 << 20, 3 << 20); // zeroes: a hole in the copy
    await Deno.writeFile(src, data);
    const { served, port } = await serve(
      ["serve", "nbd", `boot=${src}`, "--memory", "scratch=16M", "--port", "0"],
      filePerms(src),
    );
    try {
      const base = `nbd://127.0.0.1:${port}`;
      const list = await netfs(["nbd", "list", base], [NET]);
      assert.equal(list.code, 0, list.stderr);
      assert.equal(list.stdout, `boot\t${src}\nscratch\tRAM disk\n`);
      const libnbd = await run("nbdinfo", ["--list", "--json", base]);
      assert.deepEqual(
        JSON.parse(libnbd.stdout).exports.map((e: { "export-name": string }) =>
          e["export-name"]
        ),
        ["boot", "scratch"],
      );
      const info = await netfs(["nbd", "info", `${base}/scratch`, "--json"], [
        NET,
      ]);
      assert.equal(info.code, 0, info.stderr);
      const i = JSON.parse(info.stdout);
      assert.equal(i.export, "scratch");
      assert.equal(i.size, 16 << 20);
      assert.equal(i.readOnly, false);
      assert.ok(
        i.flags.includes("trim") && i.flags.includes("write_zeroes"),
        i.flags.join(),
      );
      const text = await netfs(["nbd", "info", base], [NET]);
      assert.match(
        text.stdout,
        /^export: +boot\nsize: +6291456 bytes\n/,
        "no export name: the default",
      );
      // file → export → file
      const up = await netfs(["nbd", "copy", src, `${base}/scratch`], [
        NET,
        `--allow-read=${src}`,
      ]);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(up.stderr, "", "no progress bar on a pipe");
      const back = `${dir}/back.img`;
      const down = await netfs(
        ["nbd", "copy", `${base}/boot`, back, "--json"],
        [NET, `--allow-read=${dir}`, `--allow-write=${dir}`],
      );
      assert.equal(down.code, 0, down.stderr);
      assert.equal(JSON.parse(down.stdout).bytes, 6 << 20);
      assert.equal(await sha256File(back), await sha256File(src));
      const st = await run("du", ["-k", back]);
      assert.ok(
        Number(st.stdout.split("\t")[0]) < 5 * 1024,
        `the zeroes are a hole: ${st.stdout}`,
      );
      const scratch = await netfs([
        "nbd",
        "copy",
        `${base}/scratch`,
        `${dir}/s.img`,
      ], [NET, `--allow-read=${dir}`, `--allow-write=${dir}`]);
      assert.equal(scratch.code, 0, scratch.stderr);
      const s = await Deno.readFile(`${dir}/s.img`);
      assert.equal(s.byteLength, 16 << 20);
      assert.deepEqual(
        s.subarray(0, 6 << 20),
        data,
        "what was copied in comes back",
      );
      const small = await netfs([
        "nbd",
        "copy",
        `${base}/scratch`,
        `${base}/boot`,
      ], [NET]);
      assert.equal(small.code, 2);
      assert.equal(
        small.stderr,
        `netfs: Destination is smaller than the source: ${6 << 20} < ${
          16 << 20
        } bytes\n`,
      );
      const gone = await netfs(["nbd", "info", `${base}/nothing`], [NET]);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /^netfs: .*No such export: nothing\n$/);
    } finally {
      assert.equal((await served.stop()).code, 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli serve nbd --metrics: commands by type equal what was sent, and promtool accepts the exposition", async () => {
  const { served, port, metrics } = await serve(
    [
      "serve",
      "nbd",
      "--memory",
      "4M",
      "--port",
      "0",
      "--metrics",
      "127.0.0.1:0",
      "--read-only",
    ],
    [NET],
  );
  try {
    assert.match(
      served.stdout,
      /export "mem" \(default\): RAM disk, 4194304 bytes, read-only/,
    );
    const disk = await connectNbd({ port, export: "mem" });
    for (let i = 0; i < 7; i++) await disk.readAt(i * 4096, 4096);
    await assert.rejects(
      disk.writeAt(0, new Uint8Array(512)),
      /EPERM|read-only/i,
    );
    await disk.flush();
    const text = await (await fetch(metrics!)).text();
    const cmd = (m: string, c: string) =>
      sample(text, `netfs_nbd_${m}{command="${c}"}`);
    assert.equal(cmd("commands_total", "READ"), 7);
    assert.equal(cmd("command_bytes_total", "READ"), 7 * 4096);
    assert.equal(
      cmd("commands_total", "WRITE"),
      1,
      "the refused write is counted",
    );
    assert.equal(cmd("commands_total", "FLUSH"), 1);
    assert.equal(cmd("command_duration_seconds_count", "READ"), 7);
    assert.equal(sample(text, "netfs_nbd_connections_open"), 1);
    const tool = await promtool();
    assert.ok(
      tool,
      "promtool is installed (.ci/run unpacks it from Debian's prometheus package)",
    );
    assert.equal(await promtoolCheck(tool, text), "");
    await disk.close();
  } finally {
    assert.equal((await served.stop()).code, 0);
  }
});

Deno.test("cli serve nbd --tls-cert/--tls-key: nbds:// with our CA works, nbd:// is told to use TLS", async () => {
  const certs = await makeCerts();
  try {
    const cert = `${certs.dir}/server-cert.pem`;
    const key = `${certs.dir}/server-key.pem`;
    const ca = `${certs.dir}/ca-cert.pem`;
    const { served, port } = await serve(
      [
        "serve",
        "nbd",
        "--memory",
        "1M",
        "--port",
        "0",
        "--tls-cert",
        cert,
        "--tls-key",
        key,
      ],
      [NET, `--allow-read=${certs.dir}`],
    );
    try {
      assert.match(served.stdout, /, TLS required\n/);
      assert.match(
        served.stdout,
        new RegExp(`nbdinfo nbds://127\\.0\\.0\\.1:${port}/mem`),
      );
      const ok = await netfs([
        "nbd",
        "info",
        `nbds://127.0.0.1:${port}/mem`,
        "--tls-ca",
        ca,
        "--json",
      ], [NET, `--allow-read=${ca}`]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(JSON.parse(ok.stdout).size, 1 << 20);
      const plain = await netfs(
        ["nbd", "info", `nbd://127.0.0.1:${port}/mem`],
        [NET],
      );
      assert.equal(plain.code, 1);
      assert.equal(
        plain.stderr,
        "netfs: The server requires TLS: use nbds:// (with --tls-ca FILE unless its CA is in the system store)\n",
      );
    } finally {
      assert.equal((await served.stop()).code, 0);
    }
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
