// The NBD examples run with the exact permissions their first line gives.
import assert from "node:assert/strict";
import { freePort, ok, waitForPort } from "./_peers.ts";

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
