// Our NBD client against real servers: nbdkit (memory plugin, plain and
// TLS) and qemu-nbd.
import assert from "node:assert/strict";
import { connectNbd, NbdHandshake } from "../../nbd/client.ts";
import { NbdError } from "../../nbd/errors.ts";
import { State, TxFlag } from "../../nbd/protocol.ts";
import {
  freePort,
  killPidFile,
  makeCerts,
  ok,
  waitForPort,
} from "../nbd/_peers.ts";

const MiB = 1 << 20;

async function withNbdkit(
  args: string[],
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "nbdkit-" });
  const pidFile = `${dir}/nbdkit.pid`;
  const port = freePort();
  try {
    // Daemonized with a pid file: Debian's nbdkit dies with its parent otherwise.
    await ok("nbdkit", [
      "-P",
      pidFile,
      "-p",
      String(port),
      "-i",
      "127.0.0.1",
      ...args,
    ]);
    await waitForPort(port);
    await fn(port);
  } finally {
    await killPidFile(pidFile);
    await Deno.remove(dir, { recursive: true });
  }
}

async function exercise(
  port: number,
  name: string,
  extended = false,
): Promise<void> {
  const d = await connectNbd({ port, export: name, extendedHeaders: extended });
  assert.ok(d.structured);
  assert.ok(d.hasAllocation);
  const data = new Uint8Array(3 * MiB).map((_, i) => (i * 13 + 5) & 0xff);
  await Promise.all([
    d.writeAt(MiB, data.subarray(0, MiB), { fua: true }),
    d.writeAt(2 * MiB, data.subarray(MiB, 2 * MiB)),
    d.writeAt(3 * MiB, data.subarray(2 * MiB)),
  ]);
  await d.flush();
  assert.deepEqual(await d.readAt(MiB, 3 * MiB), data);
  const reads = await Promise.all(
    Array.from({ length: 64 }, (_, i) => d.readAt(MiB + i * 4096, 4096)),
  );
  reads.forEach((r, i) =>
    assert.deepEqual(r, data.subarray(i * 4096, (i + 1) * 4096))
  );
  const bs = (await d.blockStatus(0, 8 * MiB)).get("base:allocation")!;
  assert.equal(bs[0].flags & State.HOLE, State.HOLE, "the start is a hole");
  assert.ok(
    bs.some((e) => (e.flags & State.HOLE) === 0),
    "the data is allocated",
  );
  if (d.flags & TxFlag.SEND_TRIM) await d.trim(MiB, MiB);
  await d.writeZeroes(2 * MiB, MiB, { noHole: true });
  assert.ok((await d.readAt(2 * MiB, MiB)).every((x) => x === 0));
  const err = await d.readAt(d.size - 512, 1024).catch((e) => e);
  assert.ok(err instanceof NbdError, String(err));
  assert.equal(err.code, "EINVAL");
  const { chunks } = await d.readChunks(6 * MiB, MiB);
  assert.ok(chunks.length >= 1);
  await d.close();
}

Deno.test("client vs nbdkit memory: list, info, every command", async () => {
  await withNbdkit(["memory", "64M"], async (port) => {
    const h = await NbdHandshake.connect({ port });
    assert.deepEqual((await h.list()).map((e) => e.name), [""]);
    const info = await h.info("");
    assert.equal(info.size, 64 * MiB);
    assert.ok(info.flags & TxFlag.CAN_MULTI_CONN);
    await h.abort();
    await exercise(port, "");
    // nbdkit 1.32 predates extended headers: the client falls back to structured replies.
    await exercise(port, "", true);
  });
});

Deno.test("client vs nbdkit with TLS required", async () => {
  const certs = await makeCerts();
  try {
    await withNbdkit([
      "--tls=require",
      `--tls-certificates=${certs.dir}`,
      "memory",
      "16M",
    ], async (port) => {
      await assert.rejects(connectNbd({ port }), /TLS_REQD|TLS/);
      const d = await connectNbd({
        port,
        tls: { caCerts: [certs.ca], hostname: "localhost" },
      });
      await d.writeAt(0, new TextEncoder().encode("over tls"));
      assert.equal(new TextDecoder().decode(await d.readAt(0, 8)), "over tls");
      await d.close();
    });
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("client vs qemu-nbd: every command, data lands in the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qemu-nbd-" });
  const img = `${dir}/disk.img`;
  const pidFile = `${dir}/qemu-nbd.pid`;
  const port = freePort();
  try {
    await ok("truncate", ["-s", String(16 * MiB), img]);
    await ok("qemu-nbd", [
      "-t",
      "-p",
      String(port),
      "-b",
      "127.0.0.1",
      "-f",
      "raw",
      "-x",
      "disk",
      "--fork",
      `--pid-file=${pidFile}`,
      img,
    ]);
    await waitForPort(port);
    await exercise(port, "disk");
    const d = await connectNbd({ port, export: "disk" });
    await d.writeAt(8 * MiB, new TextEncoder().encode("from netfs"), {
      fua: true,
    });
    await d.close();
    const f = await Deno.readFile(img);
    assert.equal(
      new TextDecoder().decode(f.subarray(8 * MiB, 8 * MiB + 10)),
      "from netfs",
    );
  } finally {
    await killPidFile(pidFile);
    await Deno.remove(dir, { recursive: true });
  }
});
