// SIGTERM to `netfs serve nfs` (over LocalFs) in the middle of a 64 MiB
// `netfs cp` into it: the server exits 0, and every byte the copy had
// committed is in the file on disk, equal to the source. The copy reads
// standard input, so the test decides where it stands when the signal
// comes: 20 MiB sent, 16 MiB committed (the cp logs each COMMIT), 44 MiB
// still to come.
import assert from "node:assert/strict";
import { serve, Served } from "./_cli.ts";
import { randomBytes } from "./_verbs.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const MiB = 1 << 20;

/**
 * Whether the first `n` bytes of `disk` are those of `source`: what a
 * server owes a client for the bytes it committed.
 */
export function committedPrefixHolds(
  source: Uint8Array,
  disk: Uint8Array,
  n: number,
): boolean {
  if (n > source.byteLength || disk.byteLength < n) return false;
  for (let i = 0; i < n; i++) if (disk[i] !== source[i]) return false;
  return true;
}

Deno.test("cli cp: the committed-prefix check fails on a short or changed file", () => {
  const src = randomBytes(4096);
  assert.equal(committedPrefixHolds(src, src.slice(), 4096), true);
  assert.equal(committedPrefixHolds(src, src.slice(0, 4000), 4096), false);
  const changed = src.slice();
  changed[100] ^= 1;
  assert.equal(committedPrefixHolds(src, changed, 4096), false);
  assert.equal(committedPrefixHolds(src, changed, 100), true);
});

Deno.test("cli cp: SIGTERM to serve nfs during a 64 MiB cp: the server exits 0 and the committed bytes are on disk", async () => {
  const disk = await Deno.makeTempDir();
  const source = randomBytes(64 * MiB);
  const { served: server, port } = await serve(
    ["serve", "nfs", disk, "--port", "0", "--squash", "none"],
    ["--allow-net=127.0.0.1", `--allow-read=${disk}`, `--allow-write=${disk}`],
  );
  const cp = new Served(
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-net=127.0.0.1",
        "--allow-sys=uid,gid",
        CLI,
        "cp",
        "--log-level",
        "debug",
        "-",
        `nfs://127.0.0.1:${port}/big.bin`,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn(),
  );
  const input = cp.child.stdin.getWriter();
  try {
    for (let off = 0; off < 20 * MiB; off += MiB) {
      await input.write(source.subarray(off, off + MiB));
    }
    await cp.waitFor(/Committed 16777216 bytes/, 30_000, "stderr");
    const end = await server.stop("SIGTERM");
    assert.equal(end.code, 0, `the server exits 0:\n${end.stderr}`);
    assert.match(end.stderr, /Received SIGTERM: stopping/);
    // The rest of the source, to a copy whose server is gone.
    try {
      for (let off = 20 * MiB; off < source.byteLength; off += MiB) {
        await input.write(source.subarray(off, off + MiB));
      }
      await input.close();
    } catch { /* the cp stopped reading */ }
    const out = await cp.finished();
    assert.equal(out.code, 1, `the cp fails:\n${out.stderr}`);
    const m =
      /\((\d+) bytes committed to nfs:\/\/127\.0\.0\.1:\d+\/big\.bin\)\n$/
        .exec(out.stderr);
    assert.ok(m, `the cp says what it committed:\n${out.stderr}`);
    const committed = Number(m[1]);
    assert.ok(
      committed >= 16 * MiB && committed < source.byteLength,
      `committed ${committed}: at least the 16 MiB logged, less than all`,
    );
    const onDisk = await Deno.readFile(`${disk}/big.bin`);
    assert.ok(
      committedPrefixHolds(source, onDisk, committed),
      `the first ${committed} bytes on disk are the source's (file has ${onDisk.byteLength})`,
    );
  } finally {
    server.kill("SIGKILL");
    cp.kill("SIGKILL");
    await server.finished();
    await cp.finished();
    await Deno.remove(disk, { recursive: true });
  }
});
