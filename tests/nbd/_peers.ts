// Helpers for tests that run third-party programs: run a command, make a
// throwaway CA and server certificate with openssl, start daemonized peers.
import assert from "node:assert/strict";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` to completion; /usr/bin first so Debian's python3 (with libnbd) wins. */
export async function run(
  cmd: string,
  args: string[],
  options: { stdin?: Uint8Array; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const c = new Deno.Command(cmd, {
    args,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", ...options.env },
  });
  const p = c.spawn();
  if (options.stdin) {
    const w = p.stdin.getWriter();
    await w.write(options.stdin);
    await w.close();
  }
  const out = await p.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Runs and asserts exit status 0, returning stdout. */
export async function ok(
  cmd: string,
  args: string[],
  options: Parameters<typeof run>[2] = {},
): Promise<string> {
  const r = await run(cmd, args, options);
  assert.equal(
    r.code,
    0,
    `${cmd} ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`,
  );
  return r.stdout;
}

/** Runs a Python script under nbdsh (a shell script running `python3 -m nbd`: run() puts /usr/bin first so Debian's python3, which has libnbd, is used). */
export function nbdsh(script: string): Promise<RunResult> {
  return run("/usr/bin/nbdsh", ["-c", script]);
}

/** Whether `cmd` exists on PATH. */
export async function have(cmd: string): Promise<boolean> {
  return (await run("sh", ["-c", `command -v ${cmd}`])).code === 0;
}

export interface TestCerts {
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

/**
 * A CA and a server certificate for localhost/127.0.0.1, in a fresh
 * directory laid out as libnbd and nbdkit expect (ca-cert.pem,
 * server-cert.pem, server-key.pem).
 */
export async function makeCerts(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "nbd-tls-" });
  const p = (f: string) => `${dir}/${f}`;
  await ok("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=netfs test CA",
    "-keyout",
    p("ca-key.pem"),
    "-out",
    p("ca-cert.pem"),
  ]);
  await ok("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-keyout",
    p("server-key.pem"),
    "-out",
    p("server.csr"),
  ]);
  await Deno.writeTextFile(
    p("ext.cnf"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  await ok("openssl", [
    "x509",
    "-req",
    "-in",
    p("server.csr"),
    "-CA",
    p("ca-cert.pem"),
    "-CAkey",
    p("ca-key.pem"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    p("ext.cnf"),
    "-out",
    p("server-cert.pem"),
  ]);
  return {
    dir,
    ca: await Deno.readTextFile(p("ca-cert.pem")),
    cert: await Deno.readTextFile(p("server-cert.pem")),
    key: await Deno.readTextFile(p("server-key.pem")),
  };
}

export { freePort, waitForPort } from "../_net.ts";

/** Kills the process whose pid is in `pidFile` (a daemon we started) and waits for it to go. */
export async function killPidFile(pidFile: string): Promise<void> {
  // A daemon may write its pid file a moment after it starts listening.
  let pid = 0;
  for (let i = 0; i < 100 && !(pid > 1); i++) {
    pid = Number((await Deno.readTextFile(pidFile).catch(() => "")).trim());
    if (!(pid > 1)) await new Promise((r) => setTimeout(r, 50));
  }
  if (!(pid > 1)) return;
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      Deno.kill(pid, "SIGCONT"); // probe: throws once the process is gone
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* gone */ }
}
