// Reads the Prometheus text format back into numbers, for assertions.

/** Every sample of an exposition: `name{a="1",b="2"}` (labels as written) → value. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    const v = line.slice(at + 1);
    out.set(line.slice(0, at), v === "+Inf" ? Infinity : Number(v));
  }
  return out;
}

/** One sample's value; 0 when the series does not exist (yet). */
export function sample(text: string, series: string): number {
  return samples(text).get(series) ?? 0;
}

/** Where Debian's promtool is: on PATH, or unpacked by .ci/run into the cache. */
export async function promtool(): Promise<string | undefined> {
  const cache = Deno.env.get("NETFS_CACHE") ??
    `${Deno.env.get("HOME")}/.cache/netfs`;
  for (
    const p of [
      "promtool",
      `${cache}/promtool/usr/bin/promtool`,
    ]
  ) {
    try {
      const out = await new Deno.Command(p, { args: ["--version"] }).output();
      if (out.success) return p;
    } catch { /* not there */ }
  }
  return undefined;
}

/** Runs `promtool check metrics` on `text`; its complaints, or "" when clean. */
export async function promtoolCheck(
  tool: string,
  text: string,
): Promise<string> {
  const child = new Deno.Command(tool, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const said = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  return out.success ? said.trim() : `exit ${out.code}: ${said.trim()}`;
}
