// The transmission phase: error values, payload and magic checks, block
// size constraints, device errors. Raw byte exchanges run over an in-memory
// pipe (server reads cut into 1 to 7 bytes). Structured replies are in
// transmission_structured_test.ts; concurrency, DISC and shutdown in
// transmission_flow_test.ts.
import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import { type Device, readOnly } from "../../nbd/device.ts";
import { NbdError } from "../../nbd/errors.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { Cmd, CmdFlag, Errno } from "../../nbd/protocol.ts";
import { enc, type Raw } from "./_raw.ts";
import {
  errnoOf,
  simpleConn,
  withPipe,
  withServer,
} from "./_transmission_setup.ts";

Deno.test("transmission: simple replies carry the spec's error values", () =>
  withPipe({
    mem: new MemoryDevice(65536),
    ro: readOnly(new MemoryDevice(65536)),
  }, async (s) => {
    const r = await simpleConn(s, "mem");
    const cases: [string, Parameters<Raw["request"]>[0], number][] = [
      [
        "read past end",
        { type: Cmd.READ, offset: 65000, length: 1000 },
        Errno.EINVAL,
      ],
      [
        "offset past end",
        { type: Cmd.READ, offset: 2 ** 50, length: 1 },
        Errno.EINVAL,
      ],
      [
        "offset above 2^53",
        { type: Cmd.READ, offset: 2 ** 60, length: 1 },
        Errno.EINVAL,
      ],
      [
        "trim past end",
        { type: Cmd.TRIM, offset: 65536, length: 1 },
        Errno.EINVAL,
      ],
      [
        "zeroes past end",
        { type: Cmd.WRITE_ZEROES, offset: 65535, length: 2 },
        Errno.ENOSPC,
      ],
      [
        "cache past end",
        { type: Cmd.CACHE, offset: 0, length: 65537 },
        Errno.EINVAL,
      ],
      ["unknown command", { type: 42 }, Errno.EINVAL],
      ["resize", { type: Cmd.RESIZE }, Errno.EINVAL],
      [
        "unknown flag",
        { type: Cmd.READ, flags: 0x100, length: 1 },
        Errno.EINVAL,
      ],
      ["DF without structured", {
        type: Cmd.READ,
        flags: CmdFlag.DF,
        length: 1,
      }, Errno.EINVAL],
      [
        "NO_HOLE on read",
        { type: Cmd.READ, flags: CmdFlag.NO_HOLE, length: 1 },
        Errno.EINVAL,
      ],
      ["REQ_ONE on write zeroes", {
        type: Cmd.WRITE_ZEROES,
        flags: CmdFlag.REQ_ONE,
        length: 1,
      }, Errno.EINVAL],
      [
        "block status without context",
        { type: Cmd.BLOCK_STATUS, length: 512 },
        Errno.EINVAL,
      ],
      ["flush with offset", { type: Cmd.FLUSH, offset: 512 }, Errno.EINVAL],
      [
        "read over max payload",
        { type: Cmd.READ, length: (1 << 26) + 1 },
        Errno.EINVAL,
      ],
      [
        "fine: FUA on read",
        { type: Cmd.READ, flags: CmdFlag.FUA, length: 0 },
        0,
      ],
      ["fine: zero-length trim", { type: Cmd.TRIM, offset: 100, length: 0 }, 0],
      ["fine: cache", { type: Cmd.CACHE, offset: 0, length: 4096 }, 0],
      ["fine: fast zero", {
        type: Cmd.WRITE_ZEROES,
        flags: CmdFlag.FAST_ZERO | CmdFlag.NO_HOLE,
        length: 4096,
      }, 0],
    ];
    let cookie = 100;
    for (const [what, req, want] of cases) {
      await r.request({ ...req, cookie: ++cookie });
      const [err, c] = await r.simple();
      assert.equal(c, cookie, what);
      assert.equal(err, want, what);
    }
    // Writes past the end are ENOSPC and their payload is consumed.
    await r.request({ type: Cmd.WRITE, cookie: 1, offset: 65530, length: 10 }, {
      data: new Uint8Array(10),
    });
    assert.deepEqual(await r.simple(), [Errno.ENOSPC, 1]);
    await r.request({ type: Cmd.FLUSH, cookie: 3 });
    assert.deepEqual(await r.simple(), [0, 3]);
    r.close();

    const ro = await simpleConn(s, "ro");
    for (const type of [Cmd.WRITE, Cmd.TRIM, Cmd.WRITE_ZEROES]) {
      const data = type === Cmd.WRITE ? new Uint8Array(8) : undefined;
      await ro.request({ type, cookie: type, length: 8 }, { data });
      assert.deepEqual(
        await ro.simple(),
        [Errno.EPERM, type],
        `command ${type} on read-only`,
      );
    }
    ro.close();
  }));

Deno.test("transmission: a write payload larger than 128 MiB ends the session", () =>
  withPipe({ mem: new MemoryDevice(65536) }, async (s) => {
    const r = await simpleConn(s, "mem");
    await r.request({
      type: Cmd.WRITE,
      cookie: 1,
      offset: 0,
      length: 0x7fffffff,
    });
    assert.ok(await r.closed());
    r.close();
  }));

Deno.test("transmission: bad request magic ends the session", () =>
  withPipe({ mem: new MemoryDevice(65536) }, async (s) => {
    const r = await simpleConn(s, "mem");
    await r.send(new Uint8Array(28).fill(0x41));
    assert.ok(await r.closed());
    r.close();
  }));

Deno.test("transmission: block size constraints are advertised and enforced", () =>
  withServer({ mem: new MemoryDevice(1 << 20) }, async (s) => {
    const d = await connectNbd({ port: s.addr.port, export: "mem" });
    assert.deepEqual(d.blockSize, { min: 512, preferred: 4096, max: 65536 });
    assert.equal(await errnoOf(d.readAt(1, 512)), Errno.EINVAL);
    assert.equal(await errnoOf(d.readAt(0, 100)), Errno.EINVAL);
    assert.equal(
      await errnoOf(d.writeAt(512, new Uint8Array(513))),
      Errno.EINVAL,
    );
    assert.equal(await errnoOf(d.trim(0, 1000)), Errno.EINVAL);
    assert.equal(await errnoOf(d.readAt(0, 65536 + 512)), Errno.EINVAL);
    assert.equal(
      await errnoOf(d.readAt(0, 65536 + 512, { df: true })),
      Errno.EOVERFLOW,
    );
    // Commands without payload may exceed the maximum payload.
    assert.equal(await errnoOf(d.writeZeroes(0, 1 << 20)), 0);
    assert.equal(await errnoOf(d.readAt(512, 1024)), 0);
    // A write over the maximum payload is refused, its payload skipped.
    assert.equal(
      await errnoOf(d.writeAt(0, new Uint8Array(65536 + 512))),
      Errno.EINVAL,
    );
    assert.equal(await errnoOf(d.writeAt(0, new Uint8Array(512).fill(1))), 0);
    assert.equal((await d.readAt(0, 512))[511], 1);
    await d.close();
  }, { blockSize: { min: 512, max: 65536 } }));

Deno.test("transmission: device errors become error replies; the session goes on", async () => {
  const mem = new MemoryDevice(1 << 20);
  const failing: Device = {
    size: mem.size,
    readAt: (o, into) =>
      o === 0 ? Promise.reject(new Error("Medium error")) : mem.readAt(o, into),
    writeAt: () =>
      Promise.reject(Object.assign(new Error("Quota"), { code: "EDQUOT" })),
    flush: () =>
      Promise.reject(new NbdError(Errno.ENOMEM, "Out of memory: flush")),
  };
  await withServer({ f: failing }, async (s) => {
    const r = await simpleConn(s.addr.port, "f");
    await r.request({ type: Cmd.READ, cookie: 1, length: 512 });
    assert.deepEqual(
      await r.simple(),
      [Errno.EIO, 1],
      "no payload follows an error",
    );
    await r.request({ type: Cmd.WRITE, cookie: 2, length: 4 }, {
      data: enc("data"),
    });
    assert.deepEqual(await r.simple(), [Errno.ENOSPC, 2]);
    await r.request({ type: Cmd.FLUSH, cookie: 3 });
    assert.deepEqual(await r.simple(), [Errno.ENOMEM, 3]);
    await r.request({
      type: Cmd.WRITE_ZEROES,
      flags: CmdFlag.FAST_ZERO,
      cookie: 4,
      length: 4,
    });
    assert.deepEqual(
      await r.simple(),
      [Errno.ENOTSUP, 4],
      "no fast zeroing without device support",
    );
    await r.request({ type: Cmd.READ, cookie: 5, offset: 4096, length: 8 });
    assert.deepEqual(await r.simple(), [0, 5]);
    assert.ok(await r.read(8));
    r.close();
    const d = await connectNbd({ port: s.addr.port, export: "f" });
    const err = await d.readAt(0, 512).catch((e) => e);
    assert.ok(err instanceof NbdError);
    assert.equal(err.code, "EIO");
    assert.match(err.message, /Medium error/);
    await d.close();
  });
});
