// The transmission phase under load and at its end: requests in flight,
// out-of-order replies, DISC, graceful shutdown; the client and the
// listener's shutdown and idle timeout over sockets.
import assert from "node:assert/strict";
import { connectNbd, NbdHandshake } from "../../nbd/client.ts";
import type { Device } from "../../nbd/device.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { Cmd, Errno } from "../../nbd/protocol.ts";
import { serveNbd } from "../../nbd/server.ts";
import { enc } from "./_raw.ts";
import { simpleConn, withPipe, withServer } from "./_transmission_setup.ts";

Deno.test("transmission: many requests in flight, bounded per connection", async () => {
  let active = 0;
  let peak = 0;
  const mem = new MemoryDevice(1 << 22);
  const slow: Device = {
    size: mem.size,
    multiConn: true,
    async readAt(o, into) {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 1));
      await mem.readAt(o, into);
      active--;
    },
    writeAt: (o, d) => mem.writeAt(o, d),
    flush: () => mem.flush(),
  };
  await withServer({ slow }, async (s) => {
    const d = await connectNbd({
      port: s.addr.port,
      export: "slow",
      maxInFlight: 64,
    });
    const data = crypto.getRandomValues(new Uint8Array(65536));
    await Promise.all(
      Array.from({ length: 64 }, (_, i) => d.writeAt(i * 65536, data)),
    );
    const reads = await Promise.all(
      Array.from({ length: 200 }, (_, i) => d.readAt((i % 64) * 65536, 65536)),
    );
    for (const r of reads) assert.deepEqual(r, data);
    assert.ok(peak > 1, `requests ran concurrently (peak ${peak})`);
    assert.ok(peak <= 8, `at most maxInFlight at once (peak ${peak})`);
    await d.close();
  }, { maxInFlight: 8 });
});

Deno.test("transmission: replies are matched by cookie when they complete out of order", async () => {
  const mem = new MemoryDevice(1 << 20);
  await mem.writeAt(0, enc("first"));
  await mem.writeAt(4096, enc("second"));
  const gates: (() => void)[] = [];
  const gated: Device = {
    size: mem.size,
    async readAt(o, into) {
      if (o === 0) await new Promise<void>((r) => gates.push(r));
      await mem.readAt(o, into);
    },
    writeAt: (o, d) => mem.writeAt(o, d),
    flush: () => mem.flush(),
  };
  await withPipe({ g: gated }, async (s) => {
    const r = await simpleConn(s, "g");
    await r.request({ type: Cmd.READ, cookie: 1, offset: 0, length: 5 });
    await r.request({ type: Cmd.READ, cookie: 2, offset: 4096, length: 6 });
    assert.deepEqual(
      await r.simple(),
      [0, 2],
      "the later request answers first",
    );
    assert.equal(new TextDecoder().decode((await r.read(6))!), "second");
    while (!gates.length) await new Promise((x) => setTimeout(x, 1));
    gates[0]();
    assert.deepEqual(await r.simple(), [0, 1]);
    assert.equal(new TextDecoder().decode((await r.read(5))!), "first");
    r.close();
  });
});

Deno.test("transmission: DISC answers what is in flight, then closes", () =>
  withPipe({ mem: new MemoryDevice(65536) }, async (s) => {
    const r = await simpleConn(s, "mem");
    const both = new Uint8Array(56);
    both.set((await import("../../nbd/protocol.ts")).encodeRequest({
      type: Cmd.READ,
      flags: 0,
      cookie: 9,
      offset: 0,
      length: 0,
    }));
    both.set(
      (await import("../../nbd/protocol.ts")).encodeRequest({
        type: Cmd.DISC,
        flags: 0,
        cookie: 10,
        offset: 0,
        length: 0,
      }),
      28,
    );
    await r.send(both);
    assert.deepEqual(await r.simple(), [0, 9]);
    assert.ok(await r.closed());
    r.close();
  }));

Deno.test("transmission: graceful shutdown finishes in-flight requests and answers ESHUTDOWN", async () => {
  const mem = new MemoryDevice(65536);
  let release!: () => void;
  const started = Promise.withResolvers<void>();
  const gate = new Promise<void>((r) => release = r);
  const gated: Device = {
    size: mem.size,
    async readAt(o, into) {
      started.resolve();
      await gate;
      await mem.readAt(o, into);
    },
    writeAt: (o, d) => mem.writeAt(o, d),
    flush: () => mem.flush(),
  };
  const s = serveNbd({ port: 0, exports: [{ name: "g", device: gated }] });
  const r = await simpleConn(s.addr.port, "g");
  await r.request({ type: Cmd.READ, cookie: 1, length: 8 });
  await started.promise;
  const done = s.shutdown();
  await r.request({ type: Cmd.FLUSH, cookie: 2 });
  assert.deepEqual(await r.simple(), [Errno.ESHUTDOWN, 2]);
  release();
  assert.deepEqual(await r.simple(), [0, 1]);
  assert.ok(await r.read(8));
  assert.ok(await r.closed(), "closed once nothing is in flight");
  r.close();
  await done;
});

Deno.test("transmission: the client reports ESHUTDOWN and server-side closes", async () => {
  const s = serveNbd({
    port: 0,
    exports: [{ name: "m", device: new MemoryDevice(4096) }],
  });
  const h = await NbdHandshake.connect({ port: s.addr.port });
  const d = await h.go("m");
  const id = s.connections()[0].id;
  s.disconnect(id);
  await assert.rejects(d.readAt(0, 10), /closed/);
  await d.close();
  await s.shutdown();
});

Deno.test("server: an aborted signal shuts down; idle connections time out", async () => {
  const ac = new AbortController();
  const s = serveNbd({
    port: 0,
    signal: ac.signal,
    idleTimeout: 50,
    exports: [{ name: "m", device: new MemoryDevice(4096) }],
  });
  const idle = await simpleConn(s.addr.port, "m");
  assert.ok(await idle.closed(), "closed after 50 ms of silence");
  idle.close();
  const busy = await connectNbd({ port: s.addr.port, export: "m" });
  ac.abort();
  await s.finished;
  await assert.rejects(busy.readAt(0, 1));
  await busy.close();
});
