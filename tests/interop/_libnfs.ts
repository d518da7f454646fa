// Runs Debian's libnfs-utils against a server started by the test.
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(cmd: string, args: string[]): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

export function url(
  port: number,
  path: string,
  params: Record<string, string | number> = {},
): string {
  const q = new URLSearchParams({
    nfsport: String(port),
    mountport: String(port),
    version: "3",
    ...Object.fromEntries(
      Object.entries(params).map(([k, v]) => [k, String(v)]),
    ),
  });
  return `nfs://127.0.0.1${path}?${q}`;
}

export async function sha256File(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  const d = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}
