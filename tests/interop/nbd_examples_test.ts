// The NBD examples run with the exact permissions their first line gives.
import assert from "node:assert/strict";
import { freePort, ok, waitForPort } from "../nbd/_peers.ts";

const root = new URL("../../", import.meta.url).pathname;

async function withChild(
  args: string[],
  cwd: string,
  port: number,
  fn: () => Promise<void>,
): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  try {
    await waitForPort(port, 30000);
    await fn();
  } finally {
    child.kill("SIGINT"); // the examples shut down gracefully on SIGINT
  }
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("examples: nbd_memory.ts serves a sparse export named mem", async () => {
  const port = freePort();
  const out = await withChild(
    [
      "run",
      "--allow-net",
      "examples/nbd_memory.ts",
      "--port",
      String(port),
      "--size",
      "64M",
    ],
    root,
    port,
    async () => {
      const list = JSON.parse(
        await ok("nbdinfo", ["--list", "--json", `nbd://127.0.0.1:${port}`]),
      );
      assert.equal(list.exports.length, 1);
      assert.equal(list.exports[0]["export-name"], "mem");
      assert.equal(list.exports[0]["export-size"], 64 << 20);
      // The default export is mem too.
      assert.equal(
        (await ok("nbdinfo", ["--size", `nbd://127.0.0.1:${port}`])).trim(),
        String(64 << 20),
      );
    },
  );
  assert.match(out, /nbdinfo --list nbd:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /nbd-client -N mem/);
});

Deno.test("examples: nbd_file.ts serves a file with permissions scoped to it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nbd-example-" });
  const port = freePort();
  try {
    await withChild(
      [
        "run",
        "--allow-net=127.0.0.1",
        "--allow-read=./disk.img",
        "--allow-write=./disk.img",
        `${root}examples/nbd_file.ts`,
        "./disk.img",
        "--create",
        "8M",
        "--port",
        String(port),
      ],
      dir,
      port,
      async () => {
        await ok("qemu-io", [
          "-f",
          "raw",
          "-c",
          "write -P 0x42 1M 64k",
          `nbd://127.0.0.1:${port}/disk`,
        ]);
      },
    );
    const img = await Deno.readFile(`${dir}/disk.img`);
    assert.equal(img.length, 8 << 20);
    assert.ok(
      img.subarray(1 << 20, (1 << 20) + 65536).every((x) => x === 0x42),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples: nbd_memory.ts --workers 2 serves one disk from two threads", async () => {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "nbd-cluster-" });
  try {
    await withChild(
      [
        "run",
        "--unstable-net",
        "--allow-net",
        `--allow-read=${root}`,
        "examples/nbd_memory.ts",
        "--workers",
        "2",
        "--port",
        String(port),
        "--size",
        "64M",
      ],
      root,
      port,
      async () => {
        // Four connections land on both workers; what one writes, all read.
        const src = `${dir}/src.img`;
        await ok("sh", ["-c", `head -c ${32 << 20} /dev/urandom > ${src}`]);
        const uri = `nbd://127.0.0.1:${port}/mem`;
        await ok("nbdcopy", ["--connections=4", src, uri]);
        const out = `${dir}/out.img`;
        await ok("nbdcopy", ["--connections=4", uri, out]);
        await ok("truncate", ["-s", String(32 << 20), out]);
        const sum = async (f: string) =>
          (await ok("sha256sum", [f])).split(" ")[0];
        assert.equal(await sum(out), await sum(src));
        const map = JSON.parse(await ok("nbdinfo", ["--map", "--json", uri]));
        assert.deepEqual(
          map.map((e: { length: number; type: number }) => [e.length, e.type]),
          [
            [32 << 20, 0],
            [32 << 20, 3],
          ],
        );
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
