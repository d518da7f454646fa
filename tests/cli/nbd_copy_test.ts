// `netfs nbd copy` into an NBD export whose device fails: the closing FLUSH
// is the copy's only step to stable storage, so its failure is the copy's
// (exit 1, never 0), and a failed write ends the copy with that error after
// the other connections have stopped.
import assert from "node:assert/strict";
import { NbdError } from "../../nbd/errors.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { Errno } from "../../nbd/protocol.ts";
import { serveNbd } from "../../nbd/server.ts";
import { netfs } from "./_cli.ts";

const SIZE = 8 << 20;

/** A memory disk whose FLUSH fails, or whose writes fail from the `failAt`th on. */
class FailingDevice extends MemoryDevice {
  flushes = 0;
  writes = 0;
  /** Writes running now, and the most running when a FLUSH came. */
  #running = 0;
  runningAtFlush = 0;
  readonly #failFlush: boolean;
  readonly #failAt: number;

  constructor(options: { failFlush?: boolean; failAt?: number }) {
    super(SIZE);
    this.#failFlush = options.failFlush ?? false;
    this.#failAt = options.failAt ?? Infinity;
  }

  /** None: writes go through writeAt, where they can fail. */
  override view(_offset: number, _length: number): Uint8Array | undefined {
    return undefined;
  }

  override flush(): Promise<void> {
    this.flushes++;
    this.runningAtFlush = Math.max(this.runningAtFlush, this.#running);
    if (this.#failFlush) {
      return Promise.reject(new NbdError(Errno.EIO, "Flush failed: test"));
    }
    return super.flush();
  }

  override async writeAt(
    offset: number,
    data: Uint8Array,
    options?: { fua?: boolean },
  ): Promise<void> {
    if (++this.writes === this.#failAt) {
      throw new NbdError(Errno.EIO, "Write failed: test");
    }
    this.#running++;
    try {
      // Slow, so that the other writes are in flight when one fails.
      if (this.#failAt !== Infinity) {
        await new Promise((r) => setTimeout(r, 300));
      }
      await super.writeAt(offset, data, options);
    } finally {
      this.#running--;
    }
  }
}

async function copyInto(
  device: FailingDevice,
  connections: number,
): Promise<{ code: number; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "netfs-nbd-copy-" });
  const server = serveNbd({
    hostname: "127.0.0.1",
    port: 0,
    exports: [{ name: "disk", device }],
  });
  try {
    const src = `${dir}/src.img`;
    await Deno.writeFile(src, new Uint8Array(SIZE).fill(9));
    return await netfs(
      [
        "nbd",
        "copy",
        src,
        `nbd://127.0.0.1:${server.addr.port}/disk`,
        "--connections",
        String(connections),
      ],
      ["--allow-net=127.0.0.1", `--allow-read=${src}`],
    );
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli nbd copy: a failed final FLUSH exits 1, naming the error", async () => {
  const device = new FailingDevice({ failFlush: true });
  const r = await copyInto(device, 4);
  assert.equal(device.flushes, 1, "the copy flushed once");
  assert.equal(r.code, 1, `a copy not on stable storage fails:\n${r.stderr}`);
  assert.match(r.stderr, /EIO|Flush failed/);
});

Deno.test("cli nbd copy: a FLUSH that succeeds exits 0", async () => {
  const device = new FailingDevice({});
  const r = await copyInto(device, 4);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(device.flushes, 1);
});

Deno.test("cli nbd copy: a failed write lets the writes in flight end, then closes, and exits 1", async () => {
  const device = new FailingDevice({ failAt: 1 });
  const r = await copyInto(device, 4);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /EIO|Write failed/);
  assert.equal(
    device.runningAtFlush,
    0,
    "the closing FLUSH comes after every write in flight has ended",
  );
  // 8 chunks of 1 MiB, 4 at a time: the other workers stop at their next
  // chunk after the failure.
  assert.ok(device.writes <= 4, `the workers stopped: ${device.writes} writes`);
});
