// Runs Debian's libnfs-utils against a server started by the test.
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The raw stdout of a command, for binary output (nfs-cat of data). */
export async function runBytes(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: Uint8Array<ArrayBuffer>; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  return {
    code: out.code,
    stdout: out.stdout,
    stderr: new TextDecoder().decode(out.stderr),
  };
}

export async function run(cmd: string, args: string[]): Promise<Run> {
  const out = await runBytes(cmd, args);
  return { ...out, stdout: new TextDecoder().decode(out.stdout) };
}

/**
 * An NFSv4 URL for libnfs. With an export at "/", a file directly under it
 * is written `//name`: libnfs 4.0.0 otherwise takes "/name" for the export
 * to mount and fails.
 */
export function url4(
  port: number,
  path: string,
  params: Record<string, string | number> = {},
): string {
  // NFSv4 has no MOUNT: libnfs ignores the mountport url() adds.
  return url(port, path, { version: 4, ...params });
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
  return sha256(await Deno.readFile(path));
}

export async function sha256(
  data: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}
