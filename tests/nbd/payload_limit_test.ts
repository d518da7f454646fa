// NBD requests up to 64 MiB (nbdkit's limit) are served and advertised in
// NBD_INFO_BLOCK_SIZE; larger ones are refused with an error and the
// connection goes on, up to 128 MiB of write payload, beyond which the
// session ends. Over a real socket with serveNbd's defaults.
import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import { Cmd, Errno } from "../../nbd/_constants.ts";
import { NbdError } from "../../nbd/errors.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { encodeOption, Opt } from "../../nbd/protocol.ts";
import { serveNbd } from "../../nbd/server.ts";
import { enc, Raw } from "./_raw.ts";

const MIB = 1 << 20;

function server() {
  return serveNbd({
    port: 0,
    exports: [{ name: "big", device: new MemoryDevice(256 * MIB) }],
  });
}

/** A raw connection in transmission on "big", simple replies. */
async function raw(port: number): Promise<Raw> {
  const r = await Raw.connect(port);
  await r.send(encodeOption(Opt.EXPORT_NAME, enc("big")));
  assert.ok(await r.read(10));
  return r;
}

Deno.test("nbd payload: 64 MiB is advertised, written and read back in one request each", async () => {
  const s = server();
  const disk = await connectNbd({ port: s.addr.port, export: "big" });
  try {
    assert.equal(disk.blockSize?.max, 64 * MIB, "NBD_INFO_BLOCK_SIZE maximum");
    const data = new Uint8Array(64 * MIB);
    for (let i = 0; i < data.length; i += 4096) data[i] = (i >> 12) & 0xff;
    data[data.length - 1] = 0x5a;
    await disk.writeAt(MIB, data);
    const back = await disk.readAt(MIB, 64 * MIB);
    let same = back.length === data.length;
    for (let i = 0; same && i < data.length; i += 4096) {
      same = back[i] === data[i];
    }
    assert.ok(same && back[back.length - 1] === 0x5a, "read back as written");
  } finally {
    await disk.close();
    await s.shutdown();
  }
});

Deno.test("nbd payload: a READ over 64 MiB is refused (EINVAL, EOVERFLOW with DF) and the connection goes on", async () => {
  const s = server();
  const r = await raw(s.addr.port);
  try {
    await r.request({ type: Cmd.READ, cookie: 1, length: 64 * MIB + 1 });
    assert.deepEqual(await r.simple(), [Errno.EINVAL, 1]);
    await r.request({ type: Cmd.READ, cookie: 3, length: 4 });
    assert.deepEqual(await r.simple(), [0, 3]);
    assert.ok(await r.read(4), "the data of the READ that fits");
    // DF asks for one chunk: with structured replies the refusal is EOVERFLOW.
    const disk = await connectNbd({ port: s.addr.port, export: "big" });
    try {
      await assert.rejects(
        disk.readAt(0, 64 * MIB + 1, { df: true }),
        (e) => e instanceof NbdError && e.errno === Errno.EOVERFLOW,
      );
      assert.equal((await disk.readAt(0, 4)).length, 4);
    } finally {
      await disk.close();
    }
  } finally {
    r.close();
    await s.shutdown();
  }
});

Deno.test("nbd payload: a WRITE over 64 MiB is read, dropped and refused; the connection goes on", async () => {
  const s = server();
  const r = await raw(s.addr.port);
  try {
    const length = 64 * MIB + 4096;
    await r.request({ type: Cmd.WRITE, cookie: 1, length }, {
      data: new Uint8Array(length).fill(9),
    });
    assert.deepEqual(await r.simple(), [Errno.EINVAL, 1]);
    await r.request({ type: Cmd.READ, cookie: 2, length: 4096 });
    assert.deepEqual(await r.simple(), [0, 2]);
    assert.deepEqual(
      await r.read(4096),
      new Uint8Array(4096),
      "nothing of the refused write was stored",
    );
  } finally {
    r.close();
    await s.shutdown();
  }
});

Deno.test("nbd payload: a WRITE header announcing over 128 MiB ends the session", async () => {
  const s = server();
  const r = await raw(s.addr.port);
  try {
    await r.request({ type: Cmd.WRITE, cookie: 1, length: 128 * MIB + 1 });
    assert.ok(await r.closed(), "closed without waiting for 128 MiB");
  } finally {
    r.close();
    await s.shutdown();
  }
});
