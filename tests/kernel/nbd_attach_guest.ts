/**
 * Runs inside the user-mode Linux guest (nbd_attach_guest.sh starts it with
 * the host's deno through hostfs): the NBD kernel attachment (nbd/kernel.ts)
 * against the guest's own NBD driver. Prints one `CHECK <name> ok|fail
 * <detail>` line per check (nbd_attach_test.ts turns them into test steps)
 * and `PERF` lines with the throughput rows. With the argument `child` it
 * is the process (d) kills: a loopback that prints its device and waits;
 * with `child exit` it prints its device and exits without detaching.
 *
 * Environment: SERVER and NBD_PORT (the host's netfs server, export "mem"),
 * IMAGE (the FileDevice's image, on hostfs, checked by the host afterwards),
 * LDSO, LIBDIR, DENO_BIN (how to start another deno in the guest).
 *
 * @module
 */

import {
  attachKernel,
  FileDevice,
  type KernelDevice,
  loopback,
  MemoryDevice,
  NbdKernelError,
  serveNbd,
} from "../../nbd/mod.ts";
import { open } from "node:fs/promises";
import {
  check,
  ddRow,
  detached,
  exited,
  ext4Workload,
  failed,
  freeIndex,
  Hangable,
  hasPid,
  MNT,
  PAT4,
  PAT64,
  s,
  sh,
  spawnDeno,
  sysSize,
  tcpConnection,
} from "./_nbd_attach_util.ts";

/** The checks, in the order the guest reports them. */
export const NBD_ATTACH_CHECKS: string[] = [
  "tcp-attach",
  "tcp-ext4",
  "tcp-detach",
  "loopback-memory",
  "loopback-file",
  "loopback-file-bytes",
  "multi-conn",
  "killed-server-fails-io",
  "exit-detaches",
  "hung-server-fails-io",
  "ioctl-fallback",
  "example-sigterm",
  "cli-attach-sigterm",
  "cli-loopback-sigterm",
  "not-root-refused",
  "throughput",
];

/** Where the file device's image holds the pattern the host checks. */
export const IMAGE_SIZE = 256 << 20;
export const PATTERN_OFFSET = 240 << 20;
export const PATTERN_SIZE = 4 << 20;
export const PATTERN_SEED = 0x5eed;

/** Deterministic bytes (xorshift32), the same in the guest and on the host. */
export function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return out;
}

async function child(exit: boolean): Promise<void> {
  const dev = await loopback(new MemoryDevice(64 << 20), {
    timeout: 5,
    deadConnectionTimeout: 2,
  });
  console.log(`DEVICE ${dev.path}`);
  // An exit without detach(): the unload event shuts the device down.
  if (exit) Deno.exit(0);
  await dev.finished;
}

async function main(): Promise<void> {
  const env = (k: string) => {
    const v = Deno.env.get(k);
    if (!v) throw new Error(`Missing environment variable: ${k}`);
    return v;
  };
  const server = env("SERVER");
  const port = Number(env("NBD_PORT"));
  await Deno.writeFile(PAT64, pattern(64 << 20, 1));
  await Deno.writeFile(PAT4, pattern(PATTERN_SIZE, PATTERN_SEED));

  // (a) netfs's client to a netfs server (on the host), attached.
  let tcp: KernelDevice | undefined;
  await check("tcp-attach", async () => {
    const conn = await tcpConnection(server, port, "mem");
    tcp = await attachKernel(conn, { timeout: 30 });
    const size = Number(await sysSize(tcp.index)) * 512;
    if (size !== tcp.size) {
      throw new Error(`kernel size ${size} != ${tcp.size}`);
    }
    return `${tcp.path} via ${tcp.interface}, ${tcp.size >> 20} MiB, ` +
      `block size ${tcp.blockSize}`;
  });
  await check("tcp-ext4", () => {
    if (!tcp) throw new Error("not attached");
    return ext4Workload(tcp.path);
  });
  await check("tcp-detach", () => {
    if (!tcp) throw new Error("not attached");
    return detached(tcp);
  });

  // (b) loopback with a memory device and with a file device.
  await check("loopback-memory", async () => {
    const dev = await loopback(new MemoryDevice(256 << 20), {
      destroyOnDisconnect: true,
    });
    const w = await ext4Workload(dev.path);
    return `${dev.path} via ${dev.interface}: ${w}; ` +
      `${await detached(dev, true)}, the node removed`;
  });
  const image = env("IMAGE");
  await check("loopback-file", async () => {
    const file = await FileDevice.open(image, { create: IMAGE_SIZE });
    try {
      const dev = await loopback(file);
      // The file system stops short of the pattern's place at 240 MiB.
      const w = await ext4Workload(dev.path, "224M");
      await sh(
        `dd if=${PAT4} of=${dev.path} bs=1M seek=${
          PATTERN_OFFSET >> 20
        } conv=fsync`,
      );
      return `${dev.path}: ${w}; ${await detached(dev)}`;
    } finally {
      await file.close();
    }
  });
  await check("loopback-file-bytes", async () => {
    const f = await open(image, "r");
    const got = new Uint8Array(PATTERN_SIZE);
    await f.read(got, 0, PATTERN_SIZE, PATTERN_OFFSET);
    await f.close();
    const want = pattern(PATTERN_SIZE, PATTERN_SEED);
    if (got.some((b, i) => b !== want[i])) {
      throw new Error("the image file lacks the pattern written to the device");
    }
    const fsck = await sh(`e2fsck -fn ${image}`);
    return `pattern at 240 MiB intact; image: ${fsck.out.split("\n").pop()}`;
  });

  // (c) multi-conn: two connections to a netfs server in this process. UML
  // has one CPU, so the kernel sends everything over the first connection;
  // once the server drops it, the kernel carries on over the second.
  await check("multi-conn", async () => {
    const closed: number[] = [];
    const srv = serveNbd({
      port: 0,
      exports: [{ name: "mem", device: new MemoryDevice(128 << 20) }],
      onDisconnect: (c) => closed.push(c.requests),
    });
    try {
      const conns = [
        await tcpConnection("127.0.0.1", srv.addr.port, "mem"),
        await tcpConnection("127.0.0.1", srv.addr.port, "mem"),
      ];
      const dev = await attachKernel(conns, { timeout: 30 });
      if (dev.connections !== 2) {
        throw new Error(`${dev.connections} connections`);
      }
      await sh(`dd if=${PAT64} of=${dev.path} bs=1M count=32 conv=fsync`);
      const before = srv.connections();
      const busiest = before.reduce((a, b) => a.requests >= b.requests ? a : b);
      srv.disconnect(busiest.id);
      await sh("sync; echo 3 > /proc/sys/vm/drop_caches");
      await sh(
        `dd if=${PAT64} of=${dev.path} bs=1M count=32 seek=32 conv=fsync`,
      );
      await sh("sync; echo 3 > /proc/sys/vm/drop_caches");
      await sh(
        `dd if=${PAT64} bs=1M count=32 of=/tmp/w && cat /tmp/w /tmp/w >/tmp/want && ` +
          `dd if=${dev.path} bs=1M count=64 of=/tmp/back && cmp /tmp/back /tmp/want; ` +
          "r=$?; rm -f /tmp/w /tmp/want /tmp/back; exit $r",
      );
      const after = srv.connections();
      if (after.length !== 1) {
        throw new Error(`${after.length} connections left`);
      }
      const counts = [busiest.requests, after[0].requests];
      if (counts.some((n) => n === 0)) {
        throw new Error(`requests per connection: ${counts.join(", ")}`);
      }
      const still = await sysSize(dev.index);
      if (still === "0" || still === "gone") {
        throw new Error("the device went away with one of its connections");
      }
      const d = await detached(dev);
      return `requests per connection: ${counts.join(", ")} ` +
        `(the first dropped midway); ${d}`;
    } finally {
      await srv.shutdown();
    }
  });

  // (d) the serving side killed: a child process's loopback, SIGKILLed.
  await check("killed-server-fails-io", async () => {
    const c = spawnDeno(env, [
      "--allow-ffi",
      new URL(import.meta.url).pathname,
      "child",
    ]);
    const path = (await c.until(/DEVICE (\S+)\n/))[1];
    await sh(`dd if=${path} of=/dev/null bs=4096 count=16`);
    c.proc.kill("SIGKILL");
    await c.proc.status;
    await c.rest();
    await sh("sync; echo 3 > /proc/sys/vm/drop_caches");
    const r = await sh(
      `dd if=${path} of=/dev/null bs=4096 count=1 skip=4096`,
      { allowFail: true, timeoutMs: 60_000 },
    );
    if (r.code === 0) {
      throw new Error(`read succeeded after the kill: ${r.out}`);
    }
    // The kernel held the read for the dead-connection timeout, 2 s.
    if (r.ms < 1500) {
      throw new Error(`the read failed already after ${s(r.ms)}`);
    }
    if (r.ms > 2000 + 8000) {
      throw new Error(`the read failed only after ${s(r.ms)}`);
    }
    // Nobody is left to detach it: it stays bound, failing I/O, until freed.
    const index = Number(path.replace("/dev/nbd", ""));
    const bound = await sysSize(index);
    if (bound === "0" || bound === "gone") {
      throw new Error(`the device was freed without nbd-client -d: ${bound}`);
    }
    await sh(`nbd-client -d ${path}`);
    const size = await sysSize(index);
    if (size !== "0") throw new Error(`size ${size} after nbd-client -d`);
    return `read failed after ${s(r.ms)} (dead-connection timeout 2 s); ` +
      `nbd-client -d freed it`;
  });

  // A process that exits (Deno.exit, not a signal) without detaching: its
  // unload event disconnects the device, so nothing is left bound.
  await check("exit-detaches", async () => {
    const c = spawnDeno(env, [
      "--allow-ffi",
      new URL(import.meta.url).pathname,
      "child",
      "exit",
    ]);
    const path = (await c.until(/DEVICE (\S+)\n/))[1];
    const status = await exited(c.proc, 15_000);
    if (!status) {
      c.proc.kill("SIGKILL");
      throw new Error("the child did not exit");
    }
    await c.rest();
    const index = Number(path.replace("/dev/nbd", ""));
    const t0 = performance.now();
    let size = await sysSize(index);
    for (let i = 0; i < 50 && size !== "0"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      size = await sysSize(index);
    }
    if (size !== "0" || await hasPid(index)) {
      throw new Error(`${path} is still bound (size ${size}) after the exit`);
    }
    return `${path}: exit ${status.code}, freed ${s(performance.now() - t0)} ` +
      "after the process ended";
  });

  // (d) a server that hangs: requests time out and the device detaches itself.
  await check("hung-server-fails-io", async () => {
    const device = new Hangable(64 << 20);
    const srv = serveNbd({ port: 0, exports: [{ name: "mem", device }] });
    try {
      const conn = await tcpConnection("127.0.0.1", srv.addr.port, "mem");
      const dev = await attachKernel(conn, {
        timeout: 3,
        deadConnectionTimeout: 1,
      });
      await sh(`dd if=${dev.path} of=/dev/null bs=4096 count=16`);
      device.hung = true;
      await sh("sync; echo 3 > /proc/sys/vm/drop_caches");
      const r = await sh(
        `dd if=${dev.path} of=/dev/null bs=4096 count=1 skip=8192`,
        { allowFail: true, timeoutMs: 60_000 },
      );
      device.release();
      if (r.code === 0) throw new Error("read succeeded from a hung server");
      // The request timeout (3 s) ran out first.
      if (r.ms < 2500) {
        throw new Error(`the read failed already after ${s(r.ms)}`);
      }
      if (r.ms > 15_000) {
        throw new Error(`the read failed only after ${s(r.ms)}`);
      }
      const t0 = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const gone = await Promise.race([
        dev.finished.then(() => true),
        new Promise<boolean>((res) =>
          timer = setTimeout(() => res(false), 15_000)
        ),
      ]);
      clearTimeout(timer);
      if (!gone) {
        throw new Error("the device was not detached after its link died");
      }
      const size = await sysSize(dev.index);
      if (size !== "0") throw new Error(`size ${size} after it detached`);
      return `read failed after ${s(r.ms)} (timeout 3 s + 1 s); ` +
        `detached itself ${s(performance.now() - t0)} later`;
    } finally {
      device.release();
      await srv.shutdown();
    }
  });

  // (e) the ioctl interface, explicitly.
  await check("ioctl-fallback", async () => {
    const dev = await loopback(new MemoryDevice(256 << 20), {
      interface: "ioctl",
    });
    if (dev.interface !== "ioctl") throw new Error(`via ${dev.interface}`);
    // What a device in use and one that does not exist are refused with.
    const reasons: string[] = [];
    for (const index of [dev.index, 999]) {
      const r = await loopback(new MemoryDevice(1 << 20), {
        index,
        interface: "ioctl",
      }).then(
        (d) => d.detach().then(() => "attached"),
        (e) => e instanceof NbdKernelError ? e.reason : String(e),
      );
      reasons.push(r);
    }
    if (reasons.join() !== "busy,no-device") {
      throw new Error(`errors for a used and a missing device: ${reasons}`);
    }
    const w = await ext4Workload(dev.path);
    return `${dev.path} via ioctl: ${w}; ${await detached(dev)}; ` +
      `another on it: ${reasons[0]}, on nbd999: ${reasons[1]}`;
  });

  // The example as a user runs it: mkfs and mount are theirs, SIGTERM detaches.
  await check("example-sigterm", async () => {
    const example = new URL("../../examples/nbd_loopback.ts", import.meta.url);
    const c = spawnDeno(env, [
      "--allow-ffi",
      example.pathname,
      "--size",
      "128M",
    ]);
    const path = (await c.until(/^(\/dev\/nbd\d+): /m))[1];
    await sh(`mkfs.ext4 -q ${path} && mount ${path} ${MNT}`);
    await sh(`echo hello >${MNT}/greeting && umount ${MNT}`);
    c.proc.kill("SIGTERM");
    const status = await exited(c.proc, 15_000);
    if (!status) {
      c.proc.kill("SIGKILL");
      throw new Error("the example did not exit within 15 s of SIGTERM");
    }
    const out = await c.rest();
    if (status.code !== 0 || !out.includes("SIGTERM: detaching")) {
      throw new Error(`exit ${status.code}: ${out.slice(-300)}`);
    }
    const size = await sysSize(Number(path.replace("/dev/nbd", "")));
    if (size !== "0") throw new Error(`size ${size} after the example exited`);
    return `${path}: mkfs, mount, write, umount; SIGTERM detached it and exited 0`;
  });

  // The CLI verbs: written data still in the page cache when SIGTERM comes
  // must reach the device (detach flushes), then the device is free.
  await check("cli-attach-sigterm", async () => {
    const device = new MemoryDevice(64 << 20);
    const srv = serveNbd({ port: 0, exports: [{ name: "mem", device }] });
    try {
      const r = await cliSigterm(env, [
        "--allow-ffi",
        "nbd",
        "attach",
        `nbd://127.0.0.1:${srv.addr.port}/mem`,
        "--connections",
        "2",
      ], 0);
      for (let i = 0; i < 50 && srv.connections().length > 0; i++) {
        await new Promise((res) => setTimeout(res, 100));
      }
      if (srv.connections().length > 0) {
        throw new Error(`${srv.connections().length} connection(s) left open`);
      }
      const got = new Uint8Array(4 << 20);
      await device.readAt(0, got);
      await samePattern(got);
      return `${r}; the 2 connections closed, the server has the 4 MiB`;
    } finally {
      await srv.shutdown();
    }
  });
  await check("cli-loopback-sigterm", async () => {
    const img = "/tmp/cli.img";
    await Deno.writeFile(img, new Uint8Array(0));
    await Deno.truncate(img, 64 << 20);
    try {
      const r = await cliSigterm(env, [
        `--allow-ffi`,
        `--allow-read=${img}`,
        `--allow-write=${img}`,
        "nbd",
        "loopback",
        img,
      ], 8);
      const f = await open(img, "r");
      const got = new Uint8Array(4 << 20);
      await f.read(got, 0, got.length, 8 << 20);
      await f.close();
      await samePattern(got);
      return `${r}; the file has the 4 MiB`;
    } finally {
      await Deno.remove(img);
    }
  });

  // An ordinary user (the image's "tester"): NBD_CMD_CONNECT needs
  // CAP_SYS_ADMIN, and the error says so. The deno cache is root's: opened up.
  await check("not-root-refused", async () => {
    const cli = new URL("../../cli.ts", import.meta.url).pathname;
    await sh("chmod -R a+rwX /tmp/h/deno");
    const r = await sh(
      `su tester -c "DENO_DIR=/tmp/h/deno NO_COLOR=1 ${env("LDSO")} ` +
        `--library-path ${env("LIBDIR")} ${env("DENO_BIN")} run --allow-ffi ` +
        `${cli} nbd loopback --memory 1M"`,
      { allowFail: true, timeoutMs: 60_000 },
    );
    const line =
      "netfs: Attaching an NBD device needs CAP_SYS_ADMIN (run as root)";
    if (r.code !== 1 || !r.out.startsWith(line)) {
      throw new Error(`exit ${r.code}: ${r.out.slice(0, 300)}`);
    }
    return `exit 1: ${r.out.split("\n")[0].slice(7, 90)}…`;
  });

  // Throughput: dd of 256 MiB, loopback against nbd-client attached to a
  // netfs server in this process, over one memory device written once
  // before any row (a first write allocates its chunks, which costs more
  // than the transfer in UML, where page faults go through the host). The
  // host is shared with other work: two rounds, the better of each kept.
  await check("throughput", async () => {
    const device = new MemoryDevice(320 << 20);
    const best = new Map<string, [number, number]>();
    const measure = async (name: string, path: string) => {
      const [w, r] = await ddRow(path);
      const [bw, br] = best.get(name) ?? [0, 0];
      best.set(name, [Math.max(w, bw), Math.max(r, br)]);
    };
    const srv = serveNbd({ port: 0, exports: [{ name: "mem", device }] });
    try {
      for (let round = 0; round < 2; round++) {
        const lo = await loopback(device);
        if (round === 0) {
          await sh(`dd if=/dev/zero of=${lo.path} bs=1M count=256 conv=fsync`);
        }
        await measure("loopback (netlink)", lo.path);
        await lo.detach();
        const i = await freeIndex();
        await sh(`nbd-client -N mem 127.0.0.1 ${srv.addr.port} /dev/nbd${i}`);
        await measure("nbd-client to serveNbd", `/dev/nbd${i}`);
        await sh(`nbd-client -d /dev/nbd${i}`);
      }
      const io = await loopback(device, { interface: "ioctl" });
      await measure("loopback (ioctl)", io.path);
      await io.detach();
      const a = await attachKernel(
        await tcpConnection("127.0.0.1", srv.addr.port, "mem"),
      );
      await measure("attachKernel to serveNbd", a.path);
      await a.detach();
    } finally {
      await srv.shutdown();
    }
    const rows = [...best].map(([name, [w, r]]) => {
      console.log(
        `PERF ${name}: write ${w.toFixed(0)} MiB/s, read ${r.toFixed(0)} MiB/s`,
      );
      return `${name} ${w.toFixed(0)}/${r.toFixed(0)}`;
    });
    return `MiB/s write/read: ${rows.join("; ")}`;
  });

  Deno.exit(failed() === 0 ? 0 : 1);
}

async function samePattern(got: Uint8Array): Promise<void> {
  const want = await Deno.readFile(PAT4);
  const at = got.findIndex((b, i) => b !== want[i]);
  if (at >= 0) throw new Error(`the device differs at byte ${at}`);
}

/**
 * Runs `netfs ARGS` (deno flags first), writes 4 MiB at `seekMiB` into its
 * page cache without a sync, sends SIGTERM and checks the exit and that
 * the device is free; says how it went.
 */
async function cliSigterm(
  env: (k: string) => string,
  args: string[],
  seekMiB: number,
): Promise<string> {
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  const at = args.indexOf("nbd");
  const c = spawnDeno(env, [
    ...args.slice(0, at),
    cli,
    ...args.slice(at),
    "--log-level",
    "warn",
  ]);
  try {
    const path = (await c.until(/^(\/dev\/nbd\d+)\n/m))[1];
    await sh(`dd if=${PAT4} of=${path} bs=1M seek=${seekMiB} 2>/dev/null`);
    const t0 = performance.now();
    c.proc.kill("SIGTERM");
    const status = await exited(c.proc, 15_000);
    if (!status) throw new Error("netfs did not exit within 15 s of SIGTERM");
    const out = await c.rest();
    if (status.code !== 0) throw new Error(`exit ${status.code}: ${out}`);
    const index = Number(path.replace("/dev/nbd", ""));
    const size = await sysSize(index);
    if (size !== "0" || await hasPid(index)) {
      throw new Error(`${path} still bound after the exit (size ${size})`);
    }
    return `${path}: SIGTERM, exit 0 in ${s(performance.now() - t0)}, ` +
      "size 0, no pid";
  } finally {
    try {
      c.proc.kill("SIGKILL");
    } catch { /* exited */ }
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "child") await child(Deno.args[1] === "exit");
  else await main();
}
