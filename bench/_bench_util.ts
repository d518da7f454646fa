// Small helpers shared by the benchmarks: building a C load generator into a
// cache folder, finding a free port, waiting for a listener, running a tool
// that prints one JSON line, a process's CPU time, medians.

/** The cache folder for built tools (outside the repository). */
export const cacheDir: string = `${
  Deno.env.get("NETFS_CACHE") ??
    `${Deno.env.get("HOME") ?? "/tmp"}/.cache/netfs`
}/bench`;

/** Compiles `source` with `cc -O2` unless a build of the same text exists. */
export async function buildTool(
  name: string,
  source: string,
  libs: string[],
): Promise<string> {
  const text = await Deno.readFile(source);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", text));
  const tag = [...digest.slice(0, 6)].map((b) =>
    b.toString(16).padStart(2, "0")
  ).join("");
  const out = `${cacheDir}/${name}-${tag}`;
  try {
    await Deno.stat(out);
    return out;
  } catch { /* build it */ }
  await Deno.mkdir(cacheDir, { recursive: true });
  const r = await new Deno.Command("cc", {
    args: ["-O2", "-Wall", "-o", out, source, ...libs],
  }).output();
  if (!r.success) {
    throw new Error(
      `Building ${name} failed: ${new TextDecoder().decode(r.stderr)}`,
    );
  }
  return out;
}

export { freePort, waitForPort } from "../tests/_net.ts";

/** Runs `tool` and parses the JSON line it prints. */
export async function runJson(
  tool: string,
  args: string[],
): Promise<Record<string, number>> {
  const r = await new Deno.Command(tool, { args }).output();
  const text = new TextDecoder().decode(r.stdout).trim();
  if (!r.success) {
    throw new Error(
      `${tool} ${args.join(" ")} failed: ${new TextDecoder().decode(r.stderr)}`,
    );
  }
  return JSON.parse(text.split("\n").pop()!);
}

/**
 * A fresh tmpfs mounted on a new folder under /tmp (Deno's permission
 * checks treat everything under /dev, /dev/shm included, as needing
 * --allow-all, so a private tmpfs is mounted instead; needs root). Falls back
 * to a plain temporary folder, with a note, when mounting fails.
 */
export async function tmpfsDir(
  prefix: string,
): Promise<{ path: string; tmpfs: boolean; remove(): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix });
  const r = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=4g,mode=0755", "tmpfs", path],
    stderr: "piped",
  }).output();
  if (!r.success) {
    console.error(
      `bench: no tmpfs at ${path}, using the disk: ${
        new TextDecoder().decode(r.stderr).trim()
      }`,
    );
  }
  return {
    path,
    tmpfs: r.success,
    async remove() {
      if (r.success) {
        await new Deno.Command("umount", { args: [path] }).output();
      }
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** A file of /proc: through cat, since Deno asks for --allow-all to read it. */
export async function proc(path: string): Promise<string> {
  const r = await new Deno.Command("cat", { args: [`/proc/${path}`] }).output();
  return new TextDecoder().decode(r.stdout);
}

/** CPU seconds (user + system, all threads) a process has used. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await proc(`${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks
}

/** The median of `v` (not empty). */
export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
