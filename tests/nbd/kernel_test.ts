// The NBD kernel attachment (nbd/kernel.ts) on this machine, which has no
// NBD driver: what it refuses, and that refusing leaves connections usable
// and nothing open. The attachment itself runs in the kernel suite
// (tests/kernel/nbd_attach_test.ts, in a user-mode Linux guest). Needs
// --allow-ffi on Linux.
import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import {
  attachKernel,
  connectSocket,
  loopback,
  NbdKernelError,
} from "../../nbd/kernel.ts";
import { LinkWatcher } from "../../nbd/_link_watcher.ts";
import { NbdLibc } from "../../nbd/_libc.ts";
import { socketPair } from "../../nbd/_socket.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { serveNbd } from "../../nbd/server.ts";

const linux = Deno.build.os === "linux";
let hasNbd = false;
try {
  hasNbd = Deno.statSync("/sys/module/nbd").isDirectory;
} catch { /* no driver */ }

Deno.test({
  name:
    "kernel: without the driver, attach says so and the connection stays usable",
  ignore: !linux || hasNbd,
}, async () => {
  const server = serveNbd({
    port: 0,
    exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }],
  });
  const disk = await connectNbd({
    stream: await connectSocket({ port: server.addr.port }),
    export: "mem",
    structuredReplies: false,
  });
  for (const via of ["auto", "netlink", "ioctl"] as const) {
    await assert.rejects(
      attachKernel(disk, { interface: via }),
      (e) =>
        e instanceof NbdKernelError && e.reason === "no-driver" &&
        /modprobe nbd/.test(e.message),
      via,
    );
  }
  await disk.writeAt(0, new Uint8Array([5]));
  assert.deepEqual(await disk.readAt(0, 1), new Uint8Array([5]));
  await disk.close();
  await server.shutdown();
});

Deno.test({
  name:
    "kernel: connections the driver cannot take are refused before they are taken",
  ignore: !linux,
}, async () => {
  const server = serveNbd({
    port: 0,
    exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }],
  });
  const structured = await connectNbd({
    stream: await connectSocket({ port: server.addr.port }),
    export: "mem",
  });
  await assert.rejects(
    attachKernel(structured),
    (e) =>
      e instanceof NbdKernelError && e.reason === "unsupported" &&
      e.message.endsWith("connect with structuredReplies: false"),
  );
  assert.equal((await structured.readAt(0, 4)).length, 4, "still usable");
  await structured.close();
  await assert.rejects(
    attachKernel([]),
    (e) => e instanceof RangeError && e.message === "No connection to attach",
  );
  const tiny = await connectNbd({
    stream: await connectSocket({ port: server.addr.port }),
    export: "mem",
    structuredReplies: false,
  });
  await assert.rejects(
    attachKernel(tiny, { blockSize: 1000 }),
    /Block size must be a power of two from 512 to 4096: 1000/,
  );
  await tiny.close();
  await server.shutdown();
});

Deno.test({
  name:
    "kernel: loopback without the driver ends its sessions (nothing left open)",
  ignore: !linux || hasNbd,
}, async () => {
  const device = new MemoryDevice(1 << 20);
  await assert.rejects(
    loopback(device, { connections: 2 }),
    (e) => e instanceof NbdKernelError && e.reason === "no-driver",
  );
  await assert.rejects(
    loopback(device, { connections: 0 }),
    /Connections must be 1 to 64: 0/,
  );
});

Deno.test({
  name: "kernel: the link watcher wakes when every peer hangs up, not on data",
  ignore: !linux,
}, async () => {
  const lib = NbdLibc.open();
  assert.ok(typeof lib !== "string", `libc: ${lib}`);
  const [a1, b1] = socketPair("one");
  const [a2, b2] = socketPair("two");
  const fds = [await a1.handOff(), await a2.handOff()];
  const watcher = new LinkWatcher(lib, fds);
  let settled = false;
  watcher.allDead.then(() => settled = true);
  await b1.write(new Uint8Array(100)); // data is not a hang-up
  b1.close(); // one of two
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(settled, false, "one link of two is not all");
  b2.close();
  assert.equal(await watcher.allDead, true);
  assert.equal(watcher.dead, true);
  await watcher.stop();
  // Stopped before any hang-up: resolves false.
  const [c, d] = socketPair("three");
  const fd = await c.handOff();
  const idle = new LinkWatcher(lib, [fd]);
  await idle.stop();
  assert.equal(await idle.allDead, false);
  for (const f of [...fds, fd]) lib.close(f);
  d.close();
  lib.release();
});
