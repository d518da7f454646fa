/**
 * What the checks of nbd_attach_guest.ts share, in the guest: shell
 * commands with a time limit, the CHECK line of a check, the kernel's view
 * of a device (/sys/block), the ext4 workload, a device that can hang, and
 * starting another deno (the killed child, the example, the CLI).
 *
 * @module
 */

import {
  connectNbd,
  connectSocket,
  type Device,
  type KernelDevice,
  MemoryDevice,
} from "../../nbd/mod.ts";

export const MNT = "/mnt/nbd";
export const PAT64 = "/tmp/pat64";
export const PAT4 = "/tmp/pat4";

export interface Ran {
  code: number;
  out: string;
  ms: number;
}

/** `sh -c cmd`, killed after `timeoutMs`; throws on a non-zero exit unless `allowFail`. */
export async function sh(
  cmd: string,
  options: { timeoutMs?: number; allowFail?: boolean } = {},
): Promise<Ran> {
  const t0 = performance.now();
  const child = new Deno.Command("sh", {
    args: ["-c", cmd],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, options.timeoutMs ?? 120_000);
  const r = await child.output();
  clearTimeout(timer);
  const out = new TextDecoder().decode(r.stdout) +
    new TextDecoder().decode(r.stderr);
  const ran = { code: r.code, out: out.trim(), ms: performance.now() - t0 };
  if (r.code !== 0 && !options.allowFail) {
    throw new Error(`${cmd}: exit ${r.code}: ${ran.out.slice(-300)}`);
  }
  return ran;
}

/** Milliseconds as seconds with one decimal. */
export const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

let failures = 0;

/** How many checks failed so far. */
export function failed(): number {
  return failures;
}

export async function check(
  name: string,
  fn: () => Promise<string>,
): Promise<void> {
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const detail = await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("check timed out after 90 s")),
          90_000,
        );
      }),
    ]);
    console.log(`CHECK ${name} ok ${s(performance.now() - t0)} ${detail}`);
  } catch (e) {
    failures++;
    const msg = (e instanceof Error ? e.message : String(e)).replace(
      /\s+/g,
      " ",
    );
    console.log(`CHECK ${name} fail ${s(performance.now() - t0)}: ${msg}`);
    const log = await sh("dmesg | tail -15", { allowFail: true });
    for (const line of log.out.split("\n")) console.log(`INFO dmesg: ${line}`);
  } finally {
    clearTimeout(timer);
  }
}

/** A device's size in sectors, or "gone" (Deno reads /sys only with --allow-all). */
export async function sysSize(index: number): Promise<string> {
  const r = await sh(`cat /sys/block/nbd${index}/size`, { allowFail: true });
  return r.code === 0 ? r.out : "gone";
}

/** mkfs.ext4, mount, 64 MiB written, remount and compared, unmount, e2fsck -fn. */
export async function ext4Workload(dev: string, fsSize = ""): Promise<string> {
  await sh("dmesg -c >/dev/null");
  const mkfs = await sh(`mkfs.ext4 -q -F ${dev} ${fsSize}`);
  await sh(`mkdir -p ${MNT} && mount -t ext4 ${dev} ${MNT}`);
  const write = await sh(`cp ${PAT64} ${MNT}/big && sync`);
  await sh(`umount ${MNT} && mount -t ext4 ${dev} ${MNT}`);
  await sh(`cmp ${PAT64} ${MNT}/big && umount ${MNT}`);
  const fsck = await sh(`e2fsck -fn ${dev}`);
  const bad = await sh(
    "dmesg | grep -iE 'EXT4-fs (error|warning)|I/O error|blk_update_request|buffer_io_error|nbd[0-9]+: (Receive|Send|Dead|Connection)'",
    { allowFail: true },
  );
  if (bad.code === 0) throw new Error(`kernel log: ${bad.out.slice(0, 300)}`);
  return `mkfs ${s(mkfs.ms)}, 64 MiB written ${s(write.ms)}, ` +
    `${fsck.out.split("\n").pop()}`;
}

/** Detaches; the device must be left without a size (or gone, when `destroyed`). */
export async function detached(
  dev: KernelDevice,
  destroyed = false,
): Promise<string> {
  const t0 = performance.now();
  await dev.detach();
  await dev.finished;
  const size = await sysSize(dev.index);
  if (size !== (destroyed ? "gone" : "0")) {
    throw new Error(`${dev.path} has size ${size} after detach`);
  }
  return `detached in ${s(performance.now() - t0)} (size ${size})`;
}

export async function tcpConnection(
  hostname: string,
  port: number,
  name: string,
) {
  return await connectNbd({
    stream: await connectSocket({ hostname, port }),
    export: name,
    structuredReplies: false,
  });
}

/** A device whose reads stop answering while `hung` (a server that hangs). */
export class Hangable implements Device {
  readonly size: number;
  hung = false;
  #inner: MemoryDevice;
  #held: (() => void)[] = [];
  constructor(size: number) {
    this.size = size;
    this.#inner = new MemoryDevice(size);
  }
  async readAt(offset: number, into: Uint8Array): Promise<void> {
    if (this.hung) await new Promise<void>((r) => this.#held.push(r));
    await this.#inner.readAt(offset, into);
  }
  writeAt(offset: number, data: Uint8Array): Promise<void> {
    return this.#inner.writeAt(offset, data);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  release(): void {
    this.hung = false;
    for (const r of this.#held.splice(0)) r();
  }
}

export async function freeIndex(): Promise<number> {
  for (let i = 15; i >= 0; i--) {
    if (await sysSize(i) !== "0") continue;
    if (!await hasPid(i)) return i;
  }
  throw new Error("No free NBD device for nbd-client");
}

export async function ddRow(dev: string): Promise<[number, number]> {
  const w = await sh(`dd if=/dev/zero of=${dev} bs=1M count=256 conv=fsync`);
  await sh("sync; echo 3 > /proc/sys/vm/drop_caches");
  const r = await sh(`dd if=${dev} of=/dev/null bs=1M count=256`);
  return [256 / (w.ms / 1000), 256 / (r.ms / 1000)];
}

/** Another deno in the guest, started through the host's loader. */
export function spawnDeno(env: (k: string) => string, args: string[]) {
  const proc = new Deno.Command(env("LDSO"), {
    args: ["--library-path", env("LIBDIR"), env("DENO_BIN"), "run", ...args],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  return {
    proc,
    /** Reads its output until `re` matches; the match. */
    async until(re: RegExp): Promise<RegExpExecArray> {
      for (;;) {
        const m = re.exec(text);
        if (m) return m;
        const { value, done } = await reader.read();
        if (done) throw new Error(`deno ended: ${text.slice(-300)}`);
        text += value;
      }
    },
    output: () => text,
    /** Reads the rest of its output once it ended. */
    async rest(): Promise<string> {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += value;
      }
    },
  };
}

/** Whether /sys/block/nbdN/pid exists (the kernel's mark of a device in use). */
export async function hasPid(index: number): Promise<boolean> {
  const r = await sh(`test -e /sys/block/nbd${index}/pid`, { allowFail: true });
  return r.code === 0;
}

/** The process's status, or undefined if it did not end within `ms`. */
export async function exited(
  proc: Deno.ChildProcess,
  ms: number,
): Promise<Deno.CommandStatus | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const status = await Promise.race([
    proc.status,
    new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms)),
  ]);
  clearTimeout(timer);
  return status;
}
