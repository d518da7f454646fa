// Sockets opened through libc (nbd/_socket.ts) against the kernel of this
// machine: a socket pair, TCP to our own server, the NBD client over such a
// socket, and the hand-off that gives a connection's descriptor away
// without consuming a byte. Needs --allow-ffi on Linux (fails, rather than
// passes without testing, when it is missing).
import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import { releaseStream } from "../../nbd/_connection.ts";
import { MSG_DONTWAIT, NbdLibc } from "../../nbd/_libc.ts";
import { EAGAIN } from "../../sys/_libc.ts";
import { connectSocket, socketPair, SocketStream } from "../../nbd/_socket.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { serveNbd } from "../../nbd/server.ts";

const linux = Deno.build.os === "linux";

async function readAll(s: SocketStream, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    const got = await s.read(out.subarray(at));
    assert.notEqual(got, null, "end of stream before all bytes arrived");
    at += got!;
  }
  return out;
}

Deno.test({
  name: "socket: a pair carries 8 MiB both ways while reads wait",
  ignore: !linux,
}, async () => {
  const [a, b] = socketPair("test");
  const data = new Uint8Array(8 << 20).map((_, i) => i * 7);
  // The reader starts first, so it waits in poll(2) before any byte is sent.
  const received = readAll(b, data.length);
  let at = 0;
  while (at < data.length) at += await a.write(data.subarray(at));
  assert.deepEqual(await received, data, "bytes arrive unchanged and in order");
  await b.write(new Uint8Array([9]));
  assert.deepEqual(await readAll(a, 1), new Uint8Array([9]));
  a.close();
  assert.equal(
    await b.read(new Uint8Array(4)),
    null,
    "the peer's close is end of stream",
  );
  b.close();
});

Deno.test({
  name: "socket: close wakes a waiting read, which rejects",
  ignore: !linux,
}, async () => {
  const [a, b] = socketPair("test");
  const pending = a.read(new Uint8Array(16));
  a.close();
  await assert.rejects(pending, /Socket is closed: test/);
  await assert.rejects(a.write(new Uint8Array(1)), /Socket is closed/);
  b.close();
});

Deno.test({
  name: "socket: connecting to a closed port names the errno and the peer",
  ignore: !linux,
}, async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(
    connectSocket({ hostname: "127.0.0.1", port }),
    (e) =>
      e instanceof Error &&
      e.message ===
        `Connect failed: Connection refused (ECONNREFUSED): 127.0.0.1:${port}`,
  );
});

Deno.test({
  name: "socket: the NBD client over a libc socket, then handed off intact",
  ignore: !linux,
}, async () => {
  const device = new MemoryDevice(1 << 20);
  const server = serveNbd({ port: 0, exports: [{ name: "mem", device }] });
  const stream = await connectSocket({ port: server.addr.port });
  const disk = await connectNbd({
    stream,
    export: "mem",
    structuredReplies: false,
  });
  await disk.writeAt(0, new Uint8Array([1, 2, 3]));
  assert.deepEqual(await disk.readAt(0, 3), new Uint8Array([1, 2, 3]));
  let fd = -1;
  const released = await releaseStream(disk, {
    accepts: (s) => s instanceof SocketStream,
    stop: async (s) => {
      fd = await (s as SocketStream).handOff();
    },
  });
  assert.equal(released.buffered, 0);
  assert.ok(fd >= 0, "the descriptor is given away");
  await assert.rejects(disk.readAt(0, 1), /Connection was handed over/);
  await disk.close(); // returns at once: the connection is no longer ours
  // The descriptor still works: send a raw NBD read and take the reply.
  const lib = NbdLibc.open();
  assert.ok(typeof lib !== "string", `libc: ${lib}`);
  try {
    const req = new Uint8Array(28);
    const v = new DataView(req.buffer);
    v.setUint32(0, 0x25609513); // request magic
    v.setUint16(6, 0); // NBD_CMD_READ
    v.setBigUint64(8, 42n); // cookie
    v.setUint32(24, 3); // length
    assert.equal(lib.send(fd, req, 0), 28);
    // The server runs on this thread: wait without blocking it (the
    // descriptor itself is blocking again, MSG_DONTWAIT makes the call not).
    const reply = new Uint8Array(19);
    let at = 0;
    for (let tries = 0; at < 19 && tries < 400; tries++) {
      const n = lib.recv(fd, reply.subarray(at), MSG_DONTWAIT);
      if (n === -EAGAIN) await new Promise((r) => setTimeout(r, 5));
      else {
        assert.ok(n > 0, `recv: ${n}`);
        at += n;
      }
    }
    assert.equal(at, 19, "the whole reply arrived");
    const rv = new DataView(reply.buffer);
    assert.equal(rv.getUint32(0), 0x67446698, "simple reply magic");
    assert.equal(rv.getUint32(4), 0, "no error");
    assert.equal(rv.getBigUint64(8), 42n);
    assert.deepEqual(reply.subarray(16), new Uint8Array([1, 2, 3]));
  } finally {
    lib.close(fd);
    lib.release();
  }
  await server.shutdown();
});

Deno.test({
  name: "socket: a connection over Deno's own socket is not handed off",
  ignore: !linux,
}, async () => {
  const server = serveNbd({
    port: 0,
    exports: [{ name: "mem", device: new MemoryDevice(4096) }],
  });
  const disk = await connectNbd({ port: server.addr.port, export: "mem" });
  await assert.rejects(
    releaseStream(disk, {
      accepts: (s) => s instanceof SocketStream,
      stop: () => Promise.resolve(),
    }),
    /Connection's stream cannot be handed over/,
  );
  // Refused before anything changed: the connection still works.
  assert.equal((await disk.readAt(0, 2)).length, 2);
  await disk.close();
  await server.shutdown();
});
