/**
 * The NBD kernel attachment (nbd/kernel.ts) against a real NBD driver: one
 * boot of the user-mode Linux guest runs the host's deno inside it (through
 * hostfs) on nbd_attach_guest.ts, whose checks become this test's steps:
 * netfs's client attached over netlink (mkfs.ext4, mount, 64 MiB, e2fsck,
 * detach), loopback() with a memory and a file device (the file's bytes are
 * checked here afterwards too), two connections, a killed and a hung serving
 * side, a process exiting without detach, the ioctl interface (and its
 * refusals), the example and the `netfs nbd attach|loopback` verbs stopped
 * by SIGTERM, and dd throughput against nbd-client. The netfs server the guest connects to
 * first runs in this process; the others run in the guest's deno.
 */

import assert from "node:assert/strict";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { serveNbd } from "../../nbd/server.ts";
import type { ConnectionInfo } from "../../net/mod.ts";
import {
  kernelSkipReason,
  printCheck,
  reportChecks,
  runGuest,
} from "./_harness.ts";
import { GUEST_PORTS } from "./_suites.ts";
import {
  NBD_ATTACH_CHECKS,
  pattern,
  PATTERN_OFFSET,
  PATTERN_SEED,
  PATTERN_SIZE,
} from "./nbd_attach_guest.ts";

const HERE = new URL(".", import.meta.url).pathname;
const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const HOST_LIBDIR = "/lib/x86_64-linux-gnu";

function skipReason(): string | undefined {
  const base = kernelSkipReason();
  if (base) return base;
  try {
    Deno.statSync(`${HOST_LIBDIR}/ld-linux-x86-64.so.2`);
  } catch {
    return `the guest runs the host's deno with ${HOST_LIBDIR}/ld-linux-x86-64.so.2, which is missing`;
  }
  return undefined;
}

const skip = skipReason();
if (skip) console.log(`kernel nbd attach skipped: ${skip}`);

Deno.test({
  name: "kernel nbd attach (netlink, ioctl, loopback) in the guest",
  ignore: skip !== undefined,
}, async (t) => {
  const closed: ConnectionInfo[] = [];
  const serverLog: string[] = [];
  const server = serveNbd({
    port: 0,
    exports: [{ name: "mem", device: new MemoryDevice(512 << 20) }],
    onDisconnect: (c) => closed.push(c),
    log: (m) => serverLog.push(m),
  });
  // The image lives on the host, where the guest's FileDevice writes it.
  const imageDir = await Deno.makeTempDir({ prefix: "netfs-nbd-attach-" });
  try {
    const run = await runGuest(`${HERE}nbd_attach_guest.sh`, {
      forwards: [[GUEST_PORTS.nbd, server.addr.port]],
      env: {
        NBD_PORT: String(GUEST_PORTS.nbd),
        DENO_BIN_DIR: Deno.realPathSync(Deno.execPath()).replace(
          /\/[^/]+$/,
          "",
        ),
        HOST_LIBDIR: Deno.realPathSync(HOST_LIBDIR),
        REPO,
        IMAGE_DIR: imageDir,
      },
      timeout: 240,
      onCheck: printCheck,
    });
    for (const line of run.output) {
      if (line.startsWith("PERF ")) console.log(`  ${line}`);
    }
    if (run.code !== 0) {
      console.log(`guest output:\n${run.output.join("\n")}\n${run.log}`);
      if (serverLog.length > 0) {
        console.log(`server log tail:\n${serverLog.slice(-20).join("\n")}`);
      }
    }
    await reportChecks(t, run, NBD_ATTACH_CHECKS);
    await t.step(
      "the image file holds the pattern, seen from the host",
      async () => {
        const f = await Deno.open(`${imageDir}/disk.img`);
        try {
          await f.seek(PATTERN_OFFSET, Deno.SeekMode.Start);
          const got = new Uint8Array(PATTERN_SIZE);
          let at = 0;
          while (at < got.length) {
            const n = await f.read(got.subarray(at));
            assert.ok(n !== null, "the image ends before the pattern");
            at += n;
          }
          const want = pattern(PATTERN_SIZE, PATTERN_SEED);
          assert.ok(
            got.every((b, i) => b === want[i]),
            "the bytes written to /dev/nbdX reached the file",
          );
        } finally {
          f.close();
        }
      },
    );
    await t.step("the host's server carried the attached connection", () => {
      // tcp-attach made it; the kernel's NBD_CMD_DISC closed it.
      assert.equal(closed.length, 1, `${closed.length} connection(s) closed`);
      assert.ok(
        closed.every((c) => c.requests > 0),
        `requests per connection: ${closed.map((c) => c.requests).join(", ")}`,
      );
    });
  } finally {
    await server.shutdown();
    await Deno.remove(imageDir, { recursive: true });
  }
});
