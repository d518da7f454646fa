// Crash durability over NBD and FileDevice: the server is a subprocess
// killed with SIGKILL under a write load, then restarted on the same image.
// Every write answered with FUA, and every write answered before an answered
// FLUSH, reads back intact. Writes with neither may be lost: not checked.
import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import { type Child, startChild } from "./_child.ts";
import { assertBytes, randomBytes } from "./_random.ts";

const SIZE = 64 << 20;
const BLOCK = 64 << 10;

interface Write {
  offset: number;
  data: Uint8Array;
}

/** Writes to distinct 64 KiB blocks of the image, 512 to 64 KiB long. */
function writes(first: number, n: number): Write[] {
  return Array.from({ length: n }, (_, i) => ({
    offset: (first + i) * BLOCK,
    data: randomBytes(512 * (1 + Math.floor(Math.random() * 128))),
  }));
}

Deno.test("nbd crash: FUA writes and writes before a FLUSH survive kill -9", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netfs-nbd-crash-" });
  const image = `${dir}/disk.img`;
  let child: Child | undefined = await startChild([
    "nbd",
    image,
    String(SIZE),
  ]);
  try {
    const disk = await connectNbd({ port: child.port, export: "disk" });
    // FUA writes, pipelined; and plain writes made durable by a FLUSH.
    const fua = writes(0, 64);
    await Promise.all(
      fua.map((w) => disk.writeAt(w.offset, w.data, { fua: true })),
    );
    const flushed = writes(64, 64);
    await Promise.all(flushed.map((w) => disk.writeAt(w.offset, w.data)));
    await disk.flush();

    // Racing the kill: FUA writes, and rounds of plain writes plus a FLUSH.
    const racing = writes(128, 256);
    const rounds = writes(384, 256);
    const acked: Write[] = [];
    const durable: Write[] = [];
    const killed = Promise.withResolvers<void>();
    const race = racing.map((w) =>
      disk.writeAt(w.offset, w.data, { fua: true }).then(() => {
        acked.push(w);
        if (acked.length === 32) {
          child!.kill(); // at once, while the rest are in flight
          killed.resolve();
        }
      }, () => {})
    );
    const flusher = (async () => {
      for (let at = 0; at < rounds.length; at += 8) {
        const batch = rounds.slice(at, at + 8);
        await Promise.all(batch.map((w) => disk.writeAt(w.offset, w.data)));
        await disk.flush();
        durable.push(...batch);
      }
    })().catch(() => {});
    await killed.promise;
    await child.kill9();
    child = undefined;
    await Promise.all([...race, flusher]);
    await disk.close().catch(() => {});
    assert.ok(
      acked.length < racing.length,
      `killed mid-load: ${acked.length} of ${racing.length} answered`,
    );

    child = await startChild(["nbd", image, String(SIZE)]);
    const again = await connectNbd({ port: child.port, export: "disk" });
    try {
      assert.equal(again.size, SIZE);
      const check = async (what: string, list: Write[]) => {
        for (const w of list) {
          assertBytes(
            await again.readAt(w.offset, w.data.byteLength),
            w.data,
            `${what} @${w.offset}`,
          );
        }
      };
      await check("FUA", fua);
      await check("flushed", flushed);
      await check("racing FUA", acked);
      await check("racing flushed", durable);
    } finally {
      await again.close();
    }
  } finally {
    await child?.kill9();
    await Deno.remove(dir, { recursive: true });
  }
});
