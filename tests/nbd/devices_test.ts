// Devices on their own and served: memory, file, read-only, vfs (MemFs).
import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import { type Device, readOnly, transmissionFlags } from "../../nbd/device.ts";
import { NbdError, toErrno } from "../../nbd/errors.ts";
import { FileDevice } from "../../nbd/file_device.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { SharedMemoryDevice } from "../../nbd/shared_memory_device.ts";
import { Errno, State, TxFlag } from "../../nbd/protocol.ts";
import { serveNbd } from "../../nbd/server.ts";
import { VfsDevice } from "../../nbd/vfs_device.ts";
import { CallbackFs } from "../../vfs/callback.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { FileType, ROOT } from "../../vfs/types.ts";
import { VfsError } from "../../vfs/errors.ts";
import { privateTmpfs } from "../vfs/_tmpfs.ts";

const H = State.HOLE | State.ZERO;

export function random(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(b.subarray(i, i + 65536));
  }
  return b;
}

Deno.test("memory device: sparse chunks, partial writes, trims and zeroes", async () => {
  const d = new MemoryDevice(10 * 4096 + 100, { chunkSize: 4096 });
  assert.equal(d.allocated, 0);
  await d.writeAt(4000, new Uint8Array(200).fill(5)); // spans chunks 0 and 1
  assert.equal(d.allocated, 8192);
  const r = new Uint8Array(300).fill(9); // stale contents must be overwritten
  await d.readAt(3950, r);
  assert.deepEqual([r[0], r[49], r[50], r[249], r[250]], [0, 0, 5, 5, 0]);
  assert.deepEqual(await d.blockStatus(0, d.size), [
    { length: 8192, flags: 0 },
    { length: d.size - 8192, flags: H },
  ]);
  await d.trim(4096, 4096); // releases chunk 1
  assert.equal(d.allocated, 4096);
  await d.trim(4090, 3); // partial: zeroed, stays allocated
  const z = new Uint8Array(10);
  await d.readAt(4088, z);
  assert.deepEqual([...z], [5, 5, 0, 0, 0, 5, 5, 5, 0, 0]);
  await d.writeZeroes(8192, 8192, { noHole: true });
  await d.writeZeroes(40900, 60, { noHole: true }); // partial: chunk 9 gets allocated
  assert.deepEqual(await d.blockStatus(0, d.size), [
    { length: 4096, flags: 0 },
    { length: 4096, flags: H },
    { length: 8192, flags: State.ZERO },
    { length: 36864 - 16384, flags: H },
    { length: 4096, flags: 0 },
    { length: 100, flags: H },
  ]);
  await d.writeAt(8192, new Uint8Array([1]));
  assert.equal(
    (await d.blockStatus(8192, 4096))[0].flags,
    0,
    "a write clears the zero state",
  );
  assert.equal((await d.blockStatus(0, d.size, { maxExtents: 2 })).length, 2);
  await d.writeAt(40960, new Uint8Array(100).fill(1));
  const before = d.allocated;
  await d.trim(40960, 100);
  assert.equal(
    d.allocated,
    before - 4096,
    "the short last chunk is whole when trimmed to the end of the device",
  );
  assert.throws(() => new MemoryDevice(-1), RangeError);
  assert.throws(() => new MemoryDevice(10, { chunkSize: 1000 }), RangeError);
});

Deno.test("memory device: block status of a huge sparse device is cheap and exact", async () => {
  const d = new MemoryDevice(2 ** 50, { chunkSize: 65536 });
  await d.writeAt(2 ** 45, new Uint8Array(1));
  const ext = await d.blockStatus(0, 2 ** 50);
  assert.deepEqual(ext, [
    { length: 2 ** 45, flags: H },
    { length: 65536, flags: 0 },
    { length: 2 ** 50 - 2 ** 45 - 65536, flags: H },
  ]);
});

Deno.test("capabilities follow what a device implements", () => {
  const mem = new MemoryDevice(4096);
  const f = transmissionFlags(mem, { structured: false });
  for (
    const bit of [
      TxFlag.HAS_FLAGS,
      TxFlag.SEND_FLUSH,
      TxFlag.SEND_FUA,
      TxFlag.SEND_TRIM,
      TxFlag.SEND_WRITE_ZEROES,
      TxFlag.SEND_FAST_ZERO,
      TxFlag.CAN_MULTI_CONN,
      TxFlag.SEND_CACHE,
    ]
  ) {
    assert.ok(f & bit, `bit ${bit}`);
  }
  assert.equal(f & (TxFlag.READ_ONLY | TxFlag.SEND_DF | TxFlag.ROTATIONAL), 0);
  assert.ok(transmissionFlags(mem, { structured: true }) & TxFlag.SEND_DF);
  const ro = transmissionFlags(readOnly(mem), { structured: false });
  assert.ok(ro & TxFlag.READ_ONLY);
  assert.equal(
    ro &
      (TxFlag.SEND_TRIM | TxFlag.SEND_FUA | TxFlag.SEND_WRITE_ZEROES |
        TxFlag.SEND_FAST_ZERO),
    0,
  );
  const bare = transmissionFlags({
    size: 1,
    readAt: () => Promise.resolve(),
    writeAt: () => Promise.resolve(),
    flush: () => Promise.resolve(),
  }, { structured: false });
  assert.equal(
    bare & (TxFlag.SEND_TRIM | TxFlag.CAN_MULTI_CONN | TxFlag.SEND_CACHE),
    0,
  );
  assert.ok(
    transmissionFlags(new MemoryDevice(1, { rotational: true }), {
      structured: false,
    }) & TxFlag.ROTATIONAL,
  );
});

Deno.test("error mapping follows the spec", () => {
  assert.equal(toErrno(new NbdError(Errno.EOVERFLOW, "x")), Errno.EOVERFLOW);
  assert.equal(toErrno(new VfsError("EFBIG", "x")), Errno.ENOSPC);
  assert.equal(toErrno(new VfsError("EDQUOT", "x")), Errno.ENOSPC);
  assert.equal(toErrno(new VfsError("EROFS", "x")), Errno.EPERM);
  assert.equal(toErrno(new VfsError("ESTALE", "x")), Errno.EIO);
  assert.equal(toErrno(new Error("x")), Errno.EIO);
  assert.equal(toErrno("not even an error"), Errno.EIO);
  assert.equal(new NbdError(108, "x").code, "ESHUTDOWN");
  assert.equal(new NbdError(99, "x").code, "E99");
});

Deno.test("file device: positional IO, FUA, flush, read-only, served with zero emulation", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/disk.img`;
  try {
    const dev = await FileDevice.open(path, {
      create: 1 << 20,
      engine: "portable",
    });
    assert.equal(dev.size, 1 << 20);
    assert.equal(dev.engine, "portable");
    assert.equal(
      (dev as Device).trim,
      undefined,
      "no hole punching without fallocate",
    );
    const data = random(200000);
    // Concurrent positional writes and reads must not interfere.
    await Promise.all(
      [0, 1, 2, 3].map((i) => dev.writeAt(i * 200000, data, { fua: i === 3 })),
    );
    await dev.flush();
    const back = await Promise.all([0, 1, 2, 3].map(async (i) => {
      const b = new Uint8Array(200000);
      await dev.readAt(i * 200000, b);
      return b;
    }));
    for (const b of back) assert.deepEqual(b, data);
    const s = serveNbd({ port: 0, exports: [{ name: "f", device: dev }] });
    const c = await connectNbd({ port: s.addr.port, export: "f" });
    assert.equal(c.flags & TxFlag.SEND_TRIM, 0);
    assert.ok(c.flags & TxFlag.SEND_CACHE);
    await c.cache(0, 1 << 20);
    assert.ok(c.flags & TxFlag.SEND_WRITE_ZEROES);
    await c.writeZeroes(100, 300000);
    await assert.rejects(
      c.writeZeroes(0, 10, { fast: true }),
      (e) => e instanceof NbdError && e.code === "ENOTSUP",
    );
    assert.deepEqual((await c.blockStatus(0, 1 << 20)).get("base:allocation"), [
      { length: 1 << 20, flags: 0 },
    ]);
    await c.close();
    await s.shutdown();
    await dev.close();
    const file = await Deno.readFile(path);
    assert.equal(file.length, 1 << 20);
    assert.ok(file.subarray(100, 300100).every((x) => x === 0));
    assert.deepEqual(file.subarray(300100, 400000), data.subarray(100100));
    const ro = await FileDevice.open(path, {
      readOnly: true,
      engine: "portable",
    });
    assert.ok(ro.readOnly);
    const tail = new Uint8Array(10);
    await ro.readAt(ro.size - 5, tail.subarray(0, 5));
    await ro.close();
    const grown = await FileDevice.open(path, { create: 2 << 20 });
    assert.equal(grown.size, 2 << 20, "create extends, never shrinks");
    await grown.close();
    await assert.rejects(FileDevice.open(`${dir}/missing.img`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "file device, native engine: TRIM punches holes, WRITE_ZEROES with and without NO_HOLE, block status from SEEK_HOLE",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // On the disk and on tmpfs, which has no ZERO_RANGE (NO_HOLE is then a
    // punch and an allocation).
    const tmpfs = await privateTmpfs();
    if (tmpfs === undefined) console.log("no private tmpfs (needs root)");
    try {
      await nativeFileDevice();
      if (tmpfs) await nativeFileDevice(tmpfs.path);
    } finally {
      await tmpfs?.remove();
    }
  },
});

async function nativeFileDevice(base?: string): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: base });
  const path = `${dir}/disk.img`;
  const MiB = 1 << 20;
  try {
    const dev = await FileDevice.open(path, {
      create: 8 * MiB,
      engine: "native",
    });
    assert.equal(dev.engine, "native");
    const space = async () => (await Deno.stat(path)).blocks! * 512;
    const data = random(4 * MiB);
    await dev.writeAt(0, data);
    await dev.flush();
    assert.deepEqual(await dev.blockStatus!(0, dev.size), [
      { length: 4 * MiB, flags: 0 },
      { length: 4 * MiB, flags: H },
    ]);
    const s = serveNbd({ port: 0, exports: [{ name: "f", device: dev }] });
    const c = await connectNbd({ port: s.addr.port, export: "f" });
    try {
      assert.ok(c.flags & TxFlag.SEND_TRIM);
      await c.trim(MiB, MiB);
      assert.deepEqual(
        (await c.blockStatus(0, dev.size)).get(
          "base:allocation",
        ),
        [
          { length: MiB, flags: 0 },
          { length: MiB, flags: H },
          { length: 2 * MiB, flags: 0 },
          { length: 4 * MiB, flags: H },
        ],
      );
      assert.ok(await space() <= 3 * MiB + 65536, "the hole frees storage");
      // Without NO_HOLE a zeroed range becomes a hole, fast.
      await c.writeZeroes(2 * MiB, MiB, { fast: true });
      assert.deepEqual(
        (await c.blockStatus(0, dev.size)).get(
          "base:allocation",
        ),
        [
          { length: MiB, flags: 0 },
          { length: 2 * MiB, flags: H },
          { length: MiB, flags: 0 },
          { length: 4 * MiB, flags: H },
        ],
      );
      // With NO_HOLE the range is allocated (ext4 keeps it as unwritten
      // extents, which SEEK_DATA reports as holes) and reads as zeroes.
      const before = await space();
      await c.writeZeroes(5 * MiB, MiB, { noHole: true, fast: true });
      assert.ok(await space() >= before + MiB, "NO_HOLE allocates");
      const back = await c.readAt(0, 8 * MiB);
      assert.deepEqual(back.subarray(0, MiB), data.subarray(0, MiB));
      assert.ok(back.subarray(MiB, 3 * MiB).every((b) => b === 0));
      assert.deepEqual(
        back.subarray(3 * MiB, 4 * MiB),
        data.subarray(3 * MiB, 4 * MiB),
      );
      assert.ok(back.subarray(4 * MiB).every((b) => b === 0));
    } finally {
      await c.close();
      await s.shutdown();
      await dev.close();
    }
    const ro = await FileDevice.open(path, {
      readOnly: true,
      engine: "native",
    });
    assert.equal(ro.trim, undefined, "no TRIM on a read-only device");
    assert.deepEqual((await ro.blockStatus!(0, 2 * MiB))[0], {
      length: MiB,
      flags: 0,
    });
    await ro.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("vfs device: a MemFs file served over NBD with holes, trims and FUA", async () => {
  const fs = new MemFs();
  const f = await fs.create(ROOT, fs.root, "disk.img", {
    attrs: { size: 8 << 20 },
  });
  const dev = await VfsDevice.open(fs, f.fileid);
  assert.equal(dev.size, 8 << 20);
  assert.ok(dev.trim && dev.blockStatus, "MemFs can deallocate and seek");
  const s = serveNbd({ port: 0, exports: [{ name: "v", device: dev }] });
  const c = await connectNbd({ port: s.addr.port, export: "v" });
  const data = random(3 << 20);
  await c.writeAt(1 << 20, data, { fua: true });
  assert.deepEqual(await c.readAt(1 << 20, 3 << 20), data);
  assert.deepEqual(
    (await fs.read(ROOT, f.fileid, 1 << 20, 16)).data,
    data.subarray(0, 16),
  );
  const bs = (await c.blockStatus(0, 8 << 20)).get("base:allocation")!;
  assert.deepEqual(bs, [
    { length: 1 << 20, flags: H },
    { length: 3 << 20, flags: 0 },
    { length: 4 << 20, flags: H },
  ]);
  await c.trim(2 << 20, 1 << 20);
  assert.ok((await c.readAt(2 << 20, 1 << 20)).every((x) => x === 0));
  assert.equal(
    (await c.blockStatus(2 << 20, 1 << 20)).get("base:allocation")![0].flags,
    H,
  );
  await c.writeZeroes(1 << 20, 4096, { noHole: true });
  assert.ok((await c.readAt(1 << 20, 4096)).every((x) => x === 0));
  await assert.rejects(
    c.writeZeroes(0, 4096, { noHole: true, fast: true }),
    (e) => e instanceof NbdError && e.code === "ENOTSUP",
  );
  await c.flush();
  await c.close();
  await s.shutdown();
  const dirAttrs = await fs.getattr(ROOT, fs.root);
  await assert.rejects(
    VfsDevice.open(fs, dirAttrs.fileid),
    /Not a regular file/,
  );
  const ro = await VfsDevice.open(fs, f.fileid, { readOnly: true });
  assert.ok(ro.readOnly);
});

Deno.test("shared memory device: same semantics, visible through a second handle", async () => {
  const d = new SharedMemoryDevice(10 * 4096 + 100, { chunkSize: 4096 });
  const other = SharedMemoryDevice.fromHandle(d.handle);
  assert.equal(other.size, d.size);
  await d.writeAt(4000, new Uint8Array(200).fill(5));
  const r = new Uint8Array(300).fill(9);
  await other.readAt(3950, r);
  assert.deepEqual([r[0], r[49], r[50], r[249], r[250]], [0, 0, 5, 5, 0]);
  await d.trim(4096, 4096);
  await d.writeZeroes(8192, 8192, { noHole: true });
  await d.writeZeroes(40900, 60, { noHole: true });
  await d.writeAt(40960, new Uint8Array(100).fill(1)); // last, partial chunk
  assert.deepEqual(await other.blockStatus(0, d.size), [
    { length: 4096, flags: 0 },
    { length: 4096, flags: H },
    { length: 8192, flags: State.ZERO },
    { length: 36864 - 16384, flags: H },
    { length: 4096 + 100, flags: 0 },
  ]);
  const z = new Uint8Array(200);
  await other.readAt(4000, z);
  assert.ok(
    z.subarray(0, 96).every((x) => x === 5) &&
      z.subarray(96).every((x) => x === 0),
  );
  await d.trim(0, d.size);
  assert.deepEqual(await other.blockStatus(0, d.size), [{
    length: d.size,
    flags: H,
  }]);
  assert.throws(() => new SharedMemoryDevice(-5), RangeError);
});

Deno.test("shared memory device: writes, trims and zeroes in a worker show in this thread", async () => {
  const d = new SharedMemoryDevice(8 * 4096, { chunkSize: 4096 });
  await d.writeAt(3 * 4096, new Uint8Array(4096).fill(3)); // the worker trims it
  const url = new URL("../../nbd/shared_memory_device.ts", import.meta.url);
  const code = `import { SharedMemoryDevice } from ${JSON.stringify(url.href)};
    self.onmessage = async (e) => {
      const dev = SharedMemoryDevice.fromHandle(e.data);
      await dev.writeAt(4090, new Uint8Array(10).fill(7));
      await dev.writeZeroes(5 * 4096, 4096, { noHole: true });
      await dev.trim(3 * 4096, 4096);
      self.postMessage("done");
    };`;
  const blob = URL.createObjectURL(
    new Blob([code], { type: "application/javascript" }),
  );
  const w = new Worker(blob, { type: "module" });
  try {
    const done = new Promise((resolve, reject) => {
      w.onmessage = resolve;
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
    });
    w.postMessage(d.handle);
    await done;
  } finally {
    w.terminate();
    URL.revokeObjectURL(blob);
  }
  const r = new Uint8Array(12);
  await d.readAt(4089, r);
  assert.deepEqual([...r], [0, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0]);
  assert.deepEqual(await d.blockStatus(0, d.size), [
    { length: 2 * 4096, flags: 0 },
    { length: 3 * 4096, flags: H },
    { length: 4096, flags: State.ZERO },
    { length: 2 * 4096, flags: H },
  ]);
  assert.equal(d.allocated, 3 * 4096);
  const back = new Uint8Array(4096);
  await d.readAt(3 * 4096, back);
  assert.ok(back.every((x) => x === 0), "the worker's trim zeroed the chunk");
});

Deno.test("views: zero-copy access within a chunk, never for writes through read-only", async () => {
  const d = new MemoryDevice(1 << 20, { chunkSize: 4096 });
  assert.equal(d.view(4000, 200), undefined, "spans two chunks");
  const hole = d.view(4096, 100)!;
  assert.ok(hole.every((x) => x === 0));
  assert.equal(d.allocated, 0, "reading a hole allocates nothing");
  const w = d.view(8192, 4, { write: true })!;
  w.set([1, 2, 3, 4]);
  assert.equal(d.allocated, 4096);
  const back = new Uint8Array(4);
  await d.readAt(8192, back);
  assert.deepEqual([...back], [1, 2, 3, 4]);
  assert.equal((await d.blockStatus(8192, 4096))[0].flags, 0);
  const ro = readOnly(d);
  assert.equal(ro.view!(8192, 4, { write: true }), undefined);
  assert.deepEqual([...ro.view!(8192, 4)!], [1, 2, 3, 4]);
  const s = new SharedMemoryDevice(1 << 20, { chunkSize: 4096 });
  s.view(100, 5000, { write: true })!.fill(9);
  assert.deepEqual((await s.blockStatus(0, 16384)).map((e) => e.flags), [0, H]);
});

Deno.test("vfs device: offers trim, zeroes and block status only when the file system can, and declares its concurrency", async () => {
  const full = new MemFs();
  const f = await full.create(ROOT, full.root, "d", { attrs: { size: 8192 } });
  const rich = await VfsDevice.open(full, f.fileid);
  for (const name of ["trim", "writeZeroes", "blockStatus"]) {
    assert.ok(name in rich, `${name} offered over MemFs`);
  }
  assert.equal(rich.concurrency, "parallel");
  const hello = new Uint8Array(4096);
  const plain = new CallbackFs({
    getAttr: (p) =>
      p === "/"
        ? { type: FileType.Directory, mode: 0o755 }
        : p === "/disk"
        ? { type: FileType.Regular, mode: 0o644, size: hello.length }
        : undefined,
    readDir: (p, fill) => void (p === "/" && fill("disk")),
    read: (_p, _o, off, len) => hello.subarray(off, off + len),
  });
  const disk = await plain.lookup(ROOT, plain.root, "disk");
  const bare = await VfsDevice.open(plain, disk.fileid, { readOnly: true });
  for (const name of ["trim", "writeZeroes", "blockStatus"]) {
    assert.equal(name in bare, false, `no ${name} without deallocate/seek`);
  }
});

Deno.test("read-only device: keeps the wrapped device's concurrency", () => {
  const serial: Device = {
    size: 4096,
    concurrency: "serialize",
    readAt: () => Promise.resolve(),
    writeAt: () => Promise.resolve(),
    flush: () => Promise.resolve(),
  };
  assert.equal(readOnly(serial).concurrency, "serialize");
  assert.equal(readOnly(new MemoryDevice(4096)).concurrency, "parallel");
});
