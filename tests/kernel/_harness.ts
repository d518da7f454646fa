/**
 * Host side of the kernel suite: decides whether this machine can boot the
 * user-mode Linux guest, builds and caches the guest images and the static
 * helpers (fsx.c, locks.c, sparse.c, nbdpersist.c) outside the repository, boots the guest through
 * run_guest.sh, and turns the guest's `CHECK <name> ok|fail <detail>` lines
 * into test steps.
 *
 * @module
 */

const HERE = new URL(".", import.meta.url).pathname;
const BUILD_SCRIPT = `${HERE}build_image.sh`;
const RUN_SCRIPT = `${HERE}run_guest.sh`;
/** The script the guest runs; its environment selects the suite. */
export const GUEST_CHECKS: string = `${HERE}guest_checks.sh`;
/** The static helpers, each compiled from `<name>.c` and put in /root. */
const HELPERS = ["fsx", "locks", "sparse", "nbdpersist"];
/** Shell files guest_checks.sh sources, put in /root. */
const SOURCED = ["nfs42_checks.sh", "crash_checks.sh", "host_checks.sh"];
const KNFSD_SCRIPT = `${HERE}knfsd_guest.sh`;

// Deno may run with a PATH that lacks the sbin folders (ip, depmod, modprobe).
const PATH = [
  Deno.env.get("PATH") ?? "",
  "/usr/local/sbin",
  "/usr/sbin",
  "/sbin",
  "/usr/bin",
  "/bin",
].filter((p) => p !== "").join(":");

const HOST_TOOLS = [
  "bash",
  "apt-get",
  "dpkg-deb",
  "depmod",
  "modprobe",
  "cpio",
  "ldd",
  "ip",
  "ss",
  "socat",
  "setsid",
  "gcc",
];

function findTool(name: string): boolean {
  for (const dir of PATH.split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why the kernel suite cannot run here, or `undefined` when it can: it needs
 * Linux on x86_64, root (network namespaces, tap devices), /dev/net/tun, apt
 * and dpkg (the guest is built from Debian packages), kmod and cpio (image
 * build), iproute2 and socat (networking) and gcc with a static libc (fsx).
 */
export function kernelSkipReason(): string | undefined {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    return `needs Linux on x86_64, this is ${Deno.build.os} on ${Deno.build.arch}`;
  }
  if (Deno.env.get("NETFS_SKIP_KERNEL")) {
    return "NETFS_SKIP_KERNEL is set";
  }
  if (Deno.uid() !== 0) return "needs root (network namespace, tap device)";
  // Deno wants --allow-all for anything under /dev, so ask test(1).
  const tun = new Deno.Command("test", {
    args: ["-c", "/dev/net/tun"],
    env: { PATH },
  })
    .outputSync();
  if (!tun.success) return "needs /dev/net/tun";
  const missing = HOST_TOOLS.filter((t) => !findTool(t));
  if (missing.length > 0) {
    return `missing host tools: ${
      missing.join(", ")
    } (Debian: apt-get install kmod cpio socat iproute2 gcc libc6-dev)`;
  }
  if (
    !exists("/usr/lib/x86_64-linux-gnu/libc.a") && !exists("/usr/lib/libc.a")
  ) {
    return "needs a static libc for the fsx helper (Debian: libc6-dev)";
  }
  return undefined;
}

async function sha256Hex(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function cacheRoot(): string {
  const explicit = Deno.env.get("NETFS_KERNEL_CACHE");
  if (explicit) return explicit;
  // .ci/run keeps its downloads under NETFS_CACHE.
  const shared = Deno.env.get("NETFS_CACHE");
  if (shared) return `${shared}/kernel-vm`;
  const base = Deno.env.get("XDG_CACHE_HOME") ??
    `${Deno.env.get("HOME") ?? "/root"}/.cache`;
  return `${base}/netfs/kernel-vm`;
}

async function run(
  cmd: string,
  args: string[],
  what: string,
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    env: { PATH },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(
      `${what} failed with exit code ${out.code}: ${text.slice(-3000)}`,
    );
  }
  return text;
}

/**
 * Build `name` once into the cache: `make(tmp)` writes a temporary path that is
 * then renamed into place, so a half-built result is never reused and two test
 * processes racing each other both end up with a complete one.
 */
async function cached(
  name: string,
  make: (tmp: string) => Promise<void>,
): Promise<string> {
  const root = cacheRoot();
  const final = `${root}/${name}`;
  if (exists(final)) return final;
  await Deno.mkdir(root, { recursive: true });
  const tmp = `${root}/.tmp-${name}-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await make(tmp);
  try {
    await Deno.rename(tmp, final);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    if (!exists(final)) throw e;
  }
  return final;
}

/** Delete what older versions of the scripts left: `prefix*` but `keep`. */
async function pruneCache(prefix: string, keep: string[]): Promise<void> {
  for await (const e of Deno.readDir(cacheRoot())) {
    if (e.name.startsWith(prefix) && !keep.includes(e.name)) {
      await Deno.remove(`${cacheRoot()}/${e.name}`, { recursive: true })
        .catch(() => {});
    }
  }
}

/**
 * The guest images: `base` for the suites against our servers, `knfsd` with
 * the kernel's own NFS server added (build_image.sh --knfsd), used only by
 * knfsd_test.ts: it makes the initramfs about 9 MB larger.
 */
export type ImageVariant = "base" | "knfsd";
const IMAGE_VARIANTS: ImageVariant[] = ["base", "knfsd"];
const imagePromises = new Map<ImageVariant, Promise<string>>();

/**
 * The guest image folder (linux.uml, initramfs.cpio), built with
 * build_image.sh on first use and kept in the cache, keyed by the variant and
 * a hash of the build script. Images of older build scripts are deleted.
 */
export function guestImage(variant: ImageVariant = "base"): Promise<string> {
  let p = imagePromises.get(variant);
  if (!p) {
    p = (async () => {
      const hash = (await sha256Hex(BUILD_SCRIPT)).slice(0, 16);
      const name = `image-${variant}-${hash}`;
      const dir = await cached(name, async (tmp) => {
        const t0 = performance.now();
        const args = variant === "knfsd" ? ["--knfsd"] : [];
        await run("bash", [BUILD_SCRIPT, tmp, ...args], "Guest image build");
        console.log(
          `kernel: built the guest image in ${
            ((performance.now() - t0) / 1000).toFixed(1)
          }s: ${cacheRoot()}/${name}`,
        );
      });
      const keep = IMAGE_VARIANTS.map((v) => `image-${v}-${hash}`);
      await pruneCache("image-", keep);
      return dir;
    })();
    imagePromises.set(variant, p);
  }
  return p;
}

const helperPromises = new Map<string, Promise<string>>();

/** A static helper for the guest, compiled from `<name>.c` on first use. */
export function helperBinary(name: string): Promise<string> {
  let p = helperPromises.get(name);
  if (!p) {
    p = (async () => {
      const source = `${HERE}${name}.c`;
      const file = `${name}-${(await sha256Hex(source)).slice(0, 16)}`;
      const path = await cached(file, async (tmp) => {
        await run(
          "gcc",
          ["-static", "-O2", "-Wall", "-o", tmp, source],
          `Compiling ${name}.c`,
        );
      });
      await pruneCache(`${name}-`, [file]);
      return path;
    })();
    helperPromises.set(name, p);
  }
  return p;
}

/** One `CHECK` line from the guest. */
export interface CheckResult {
  ok: boolean;
  detail: string;
}

/** What a guest run produced. */
export interface GuestRun {
  /** Exit status of run_guest.sh: the guest script's, or 124/125/2. */
  code: number;
  checks: Map<string, CheckResult>;
  /** Every line the guest printed, in order. */
  output: string[];
  /** run_guest.sh's own messages (boot time, errors, console tail). */
  log: string;
}

/** Options of {@link runGuest}. */
export interface RunGuestOptions {
  /** Guest-visible port on 10.213.0.1 → host port on 127.0.0.1. */
  forwards?: [number, number][];
  /**
   * The other way: the guest's own port (a server in the guest) → host port
   * on 127.0.0.1, for a client in the test process.
   */
  exposes?: [number, number][];
  /** Variables for the guest script. */
  env?: Record<string, string>;
  /** Seconds before the guest is killed. */
  timeout?: number;
  /** Called with each CHECK as it arrives (progress output). */
  onCheck?: (name: string, result: CheckResult) => void;
  /** The guest image to boot. Default "base". */
  image?: ImageVariant;
  /** More host files to copy into the guest: [host path, guest path]. */
  files?: [string, string][];
}

const CHECK_LINE = /^CHECK (\S+) (ok|fail) ?(.*)$/;

/** Progress output: one line per check as the guest reports it. */
export function printCheck(name: string, r: CheckResult): void {
  console.log(`  ${r.ok ? "ok  " : "FAIL"} ${name} ${r.detail}`);
}

/** Boot the guest with `script` and collect its checks. */
export async function runGuest(
  script: string,
  options: RunGuestOptions = {},
): Promise<GuestRun> {
  const variant = options.image ?? "base";
  const [image, ...helpers] = await Promise.all([
    guestImage(variant),
    ...HELPERS.map(helperBinary),
  ]);
  const args = [RUN_SCRIPT, "--image", image];
  helpers.forEach((path, i) => {
    args.push("--file", `${path}:/root/${HELPERS[i]}`);
  });
  for (const name of SOURCED) {
    args.push("--file", `${HERE}${name}:/root/${name}`);
  }
  if (variant === "knfsd") {
    args.push("--file", `${KNFSD_SCRIPT}:/root/knfsd_guest.sh`);
  }
  for (const [src, dst] of options.files ?? []) {
    args.push("--file", `${src}:${dst}`);
  }
  for (const [gp, hp] of options.forwards ?? []) {
    args.push("--forward", `${gp}:${hp}`);
  }
  for (const [gp, hp] of options.exposes ?? []) {
    args.push("--expose", `${gp}:${hp}`);
  }
  for (const [k, v] of Object.entries(options.env ?? {})) {
    args.push("--env", `${k}=${v}`);
  }
  args.push("--timeout", String(options.timeout ?? 300), script);
  const child = new Deno.Command("bash", {
    args,
    env: { PATH },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const checks = new Map<string, CheckResult>();
  const output: string[] = [];
  const readOut = (async () => {
    let rest = "";
    const onLine = (line: string) => {
      output.push(line);
      const m = CHECK_LINE.exec(line);
      if (m) {
        const result = { ok: m[2] === "ok", detail: m[3] };
        checks.set(m[1], result);
        options.onCheck?.(m[1], result);
      }
    };
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      lines.forEach(onLine);
    }
    if (rest) onLine(rest);
  })();
  const readLog = new Response(child.stderr).text();
  try {
    const [status, , log] = await Promise.all([child.status, readOut, readLog]);
    return { code: status.code, checks, output, log };
  } catch (e) {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    throw e;
  }
}

/**
 * Report a guest run as test steps: one per expected check, in order (a check
 * the guest never reported fails as "not reported"), one per unexpected
 * check, and a last one for the guest's exit status.
 */
export async function reportChecks(
  t: Deno.TestContext,
  run: GuestRun,
  expected: string[],
): Promise<void> {
  const tail = () =>
    `guest output tail:\n${run.output.slice(-30).join("\n")}\n${
      run.log.slice(-2000)
    }`;
  for (const name of expected) {
    await t.step(name, () => {
      const c = run.checks.get(name);
      if (!c) throw new Error(`Check was not reported by the guest\n${tail()}`);
      if (!c.ok) throw new Error(`Check failed in the guest: ${c.detail}`);
    });
  }
  for (const name of run.checks.keys()) {
    if (expected.includes(name)) continue;
    await t.step(name, () => {
      throw new Error(
        `Unexpected check reported by the guest: ${name} ${
          run.checks.get(name)!.ok ? "ok" : "fail"
        }`,
      );
    });
  }
  await t.step("guest exit status", () => {
    if (run.code !== 0) {
      throw new Error(`Guest run ended with exit code ${run.code}\n${tail()}`);
    }
  });
}

/** A TCP control port the guest uses to ask the host for actions. */
export interface ControlPort {
  port: number;
  close(): Promise<void>;
}

/**
 * Listen on 127.0.0.1 for one-line commands (`restart`), answer each with the
 * handler's reply line and close the connection. The guest sends them with
 * busybox `nc` through a forwarded port.
 */
export function controlPort(
  handler: (command: string) => Promise<string>,
): ControlPort {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      try {
        const buf = new Uint8Array(256);
        let text = "";
        while (!text.includes("\n")) {
          const n = await conn.read(buf);
          if (n === null) break;
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
        let reply: string;
        try {
          reply = await handler(text.trim());
        } catch (e) {
          reply = `error: ${e instanceof Error ? e.message : e}`;
        }
        const bytes = new TextEncoder().encode(`${reply}\n`);
        for (let off = 0; off < bytes.length;) {
          off += await conn.write(bytes.subarray(off));
        }
      } catch {
        // a broken control connection shows up as a failed guest check
      } finally {
        conn.close();
      }
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await serving.catch(() => {});
    },
  };
}
