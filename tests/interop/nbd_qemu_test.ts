// Our NBD server driven by qemu: qemu-img convert/compare/map/info and
// qemu-io pattern writes and reads (some qemu-io versions exit 0 even when a
// pattern check fails, so its output is read).
import assert from "node:assert/strict";
import { FileDevice } from "../../nbd/file_device.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { serveNbd } from "../../nbd/server.ts";
import { ok, run } from "../nbd/_peers.ts";

const MiB = 1 << 20;

Deno.test("qemu: qemu-img convert, compare, info and map against our server", async () => {
  const s = serveNbd({
    port: 0,
    exports: [{ name: "disk", device: new MemoryDevice(64 * MiB) }],
  });
  const dir = await Deno.makeTempDir({ prefix: "nbd-qemu-" });
  try {
    const uri = `nbd://127.0.0.1:${s.addr.port}/disk`;
    const src = `${dir}/src.img`;
    // Sparse source: random data at 8 MiB and 40 MiB, holes elsewhere.
    await ok("truncate", ["-s", String(64 * MiB), src]);
    await ok("sh", [
      "-c",
      `head -c ${
        4 * MiB
      } /dev/urandom | dd of=${src} bs=1M seek=8 conv=notrunc status=none`,
    ]);
    await ok("sh", [
      "-c",
      `head -c ${MiB} /dev/urandom | dd of=${src} bs=1M seek=40 conv=notrunc status=none`,
    ]);
    const info = JSON.parse(
      await ok("qemu-img", ["info", "--output=json", uri]),
    );
    assert.equal(info["virtual-size"], 64 * MiB);
    await ok("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", src, uri]);
    const same = await run("qemu-img", [
      "compare",
      "-f",
      "raw",
      "-F",
      "raw",
      src,
      uri,
    ]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.match(same.stdout, /Images are identical/);
    // qemu-img map reads block status: data exactly where the source has data.
    const map = JSON.parse(
      await ok("qemu-img", ["map", "--output=json", "-f", "raw", uri]),
    );
    const data = map.filter((e: any) => e.data).map((
      e: any,
    ) => [e.start, e.length]);
    assert.deepEqual(data, [[8 * MiB, 4 * MiB], [40 * MiB, MiB]]);
    // Change one byte through qemu-io: compare must now see a difference.
    const w = await ok("qemu-io", [
      "-f",
      "raw",
      "-c",
      "write -P 0x5a 20971520 512",
      uri,
    ]);
    assert.match(w, /wrote 512\/512 bytes/);
    const diff = await run("qemu-img", [
      "compare",
      "-f",
      "raw",
      "-F",
      "raw",
      src,
      uri,
    ]);
    assert.equal(diff.code, 1, diff.stdout + diff.stderr);
    assert.match(diff.stdout, /Content mismatch at offset 20971520/);
    // And back out of the export into a file.
    const back = `${dir}/back.img`;
    await ok("qemu-img", ["convert", "-f", "raw", "-O", "raw", uri, back]);
    const b = await Deno.readFile(back);
    assert.ok(b.subarray(20971520, 20971520 + 512).every((x) => x === 0x5a));
  } finally {
    await s.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("qemu: qemu-io pattern writes, reads, zeroes and discards", async () => {
  const s = serveNbd({
    port: 0,
    exports: [{ name: "disk", device: new MemoryDevice(16 * MiB) }],
  });
  try {
    const uri = `nbd://127.0.0.1:${s.addr.port}/disk`;
    const io = (...cmds: string[]) =>
      ok("qemu-io", ["-f", "raw", ...cmds.flatMap((c) => ["-c", c]), uri]);
    const good = await io(
      "write -P 0xab 0 1M",
      "aio_write -P 0xcd 1M 64k",
      "aio_flush",
      "write -P 0xef -f 2M 4k", // -f: FUA
      "read -P 0xab 0 1M",
      "read -P 0xcd 1M 64k",
      "read -P 0xef 2M 4k",
      "write -z 512k 4k",
      "read -P 0 512k 4k",
      "discard 4M 1M",
      "read -P 0 4M 1M",
      "flush",
    );
    assert.doesNotMatch(good, /Pattern verification failed|error|failed/i);
    assert.equal(good.match(/^read /gm)?.length, 5);
    // The same checks must be able to fail: a wrong pattern is reported.
    // (This qemu-io also exits non-zero then; older ones exit 0, so read the output.)
    const bad = await run("qemu-io", [
      "-f",
      "raw",
      "-c",
      "read -P 0x11 0 4k",
      uri,
    ]);
    assert.match(
      bad.stdout + bad.stderr,
      /Pattern verification failed at offset 0/,
    );
  } finally {
    await s.shutdown();
  }
});

Deno.test({
  name:
    "FileDevice (native engine): nbdinfo --map shows the holes a TRIM punched; qemu-img map agrees",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nbd-file-map-" });
    const path = `${dir}/disk.img`;
    const device = await FileDevice.open(path, {
      create: 16 * MiB,
      engine: "native",
    });
    const s = serveNbd({ port: 0, exports: [{ name: "f", device }] });
    try {
      const uri = `nbd://127.0.0.1:${s.addr.port}/f`;
      // Data over the first 8 MiB, through qemu-io, then discard (TRIM)
      // 2-4 MiB and zero (WRITE_ZEROES, holes allowed) 6-7 MiB.
      const io = await ok("qemu-io", [
        "-f",
        "raw",
        "-c",
        "write -P 0x5a 0 8M",
        "-c",
        "flush",
        "-c",
        "discard 2M 2M",
        "-c",
        "write -z -u 6M 1M", // -u: may unmap (no NO_HOLE)
        "-c",
        "read -P 0 2M 2M",
        "-c",
        "read -P 0x5a 4M 2M",
        uri,
      ]);
      assert.doesNotMatch(io, /Pattern verification failed|error|failed/i);
      const data = [[0, 2 * MiB], [4 * MiB, 2 * MiB], [7 * MiB, MiB]];
      const map = JSON.parse(await ok("nbdinfo", ["--map", "--json", uri]));
      assert.deepEqual(
        map.map((e: any) => [e.offset, e.length, e.type]),
        [
          [0, 2 * MiB, 0],
          [2 * MiB, 2 * MiB, 3],
          [4 * MiB, 2 * MiB, 0],
          [6 * MiB, MiB, 3],
          [7 * MiB, MiB, 0],
          [8 * MiB, 8 * MiB, 3],
        ],
      );
      const qmap = JSON.parse(
        await ok("qemu-img", ["map", "--output=json", "-f", "raw", uri]),
      );
      assert.deepEqual(
        qmap.filter((e: any) => e.data).map((e: any) => [e.start, e.length]),
        data,
      );
      // The host file has the same holes.
      const st = await Deno.stat(path);
      assert.ok(st.blocks! * 512 <= 6 * MiB + 65536, `${st.blocks} blocks`);
    } finally {
      await s.shutdown();
      await device.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
