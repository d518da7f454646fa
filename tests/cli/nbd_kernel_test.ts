// `netfs nbd attach|loopback` on this machine, which has no NBD driver:
// the permission they need is named before anything starts, and a missing
// driver is one line and exit 1, with the connections closed. The
// attachment itself, and SIGTERM detaching it, run in the kernel suite
// (tests/kernel/nbd_attach_test.ts, in a user-mode Linux guest).
import assert from "node:assert/strict";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { serveNbd } from "../../nbd/server.ts";
import { netfs } from "./_cli.ts";

let hasNbd = false;
try {
  hasNbd = Deno.statSync("/sys/module/nbd").isDirectory;
} catch { /* no driver */ }

Deno.test("cli: nbd attach and loopback name --allow-ffi (and the file's flags) when missing", async () => {
  let r = await netfs(["nbd", "loopback", "--memory", "64M"]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    "netfs: Missing permission: run deno with --allow-ffi\n",
  );
  r = await netfs(["nbd", "loopback", "/tmp/no-such.img", "--read-only"]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    "netfs: Missing permission: run deno with --allow-ffi --allow-read=/tmp/no-such.img\n",
  );
  r = await netfs(["nbd", "attach", "nbd://127.0.0.1:10809/x"], [
    "--allow-net=127.0.0.1",
  ]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    "netfs: Missing permission: run deno with --allow-ffi\n",
  );
  assert.equal(r.stdout, "");
});

Deno.test({
  name:
    "cli: without the nbd driver, attach and loopback exit 1 saying so, and close their connections",
  ignore: Deno.build.os !== "linux" || hasNbd,
}, async () => {
  let r = await netfs(["nbd", "loopback", "--memory", "64M"], ["--allow-ffi"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    "netfs: The kernel has no NBD driver: load it with modprobe nbd\n",
  );
  const closed: number[] = [];
  const server = serveNbd({
    port: 0,
    exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }],
    onDisconnect: (c) => closed.push(c.id),
  });
  try {
    r = await netfs([
      "nbd",
      "attach",
      `nbd://127.0.0.1:${server.addr.port}/mem`,
      "--connections",
      "2",
    ], ["--allow-ffi"]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      "netfs: The kernel has no NBD driver: load it with modprobe nbd\n",
    );
    for (let i = 0; i < 100 && closed.length < 2; i++) {
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(closed.length, 2, "both negotiated connections were closed");
    assert.equal(server.connections().length, 0);
  } finally {
    await server.shutdown();
  }
});
