// Starts ./_server_child.ts as a subprocess and kills it with SIGKILL: the
// server gets no chance to flush, close or shut down.
export interface Child {
  port: number;
  /** The server process's id (not a wrapper's, such as strace). */
  pid: number;
  /** Sends SIGKILL now, synchronously. */
  kill(): void;
  /** SIGKILL, then waits for the process to be gone. */
  kill9(): Promise<void>;
}

const SCRIPT = new URL("./_server_child.ts", import.meta.url).pathname;

/**
 * Runs the child server with `args` (and `flags` for deno, such as V8's),
 * under the command `wrap` when given (such as strace and its options);
 * resolves once it listens.
 */
export async function startChild(
  args: string[],
  flags: string[] = [],
  wrap: string[] = [],
): Promise<Child> {
  const [exe, ...pre] = wrap.length > 0
    ? [...wrap, Deno.execPath()]
    : [Deno.execPath()];
  const proc = new Deno.Command(exe, {
    args: [
      ...pre,
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      "--allow-ffi",
      "--allow-sys",
      "--allow-env",
      ...flags,
      SCRIPT,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.getReader();
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  let first = "";
  try {
    const dec = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      first += dec.decode(value, { stream: true });
      if (first.includes("\n")) break;
    }
  } finally {
    clearTimeout(timer);
  }
  if (!first.includes("\n")) {
    await reader.cancel();
    await proc.status;
    throw new Error(`Server child exited before listening: ${args.join(" ")}`);
  }
  first = first.slice(0, first.indexOf("\n"));
  const { port, pid } = JSON.parse(first) as { port: number; pid: number };
  // The server itself: a killed strace would leave it running, detached.
  const kill = () => {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* already gone */ }
  };
  return {
    port,
    pid,
    kill,
    async kill9() {
      kill();
      const status = await proc.status;
      await reader.cancel();
      if (status.signal !== "SIGKILL") {
        throw new Error(
          `Server child ended otherwise: ${JSON.stringify(status)}`,
        );
      }
    },
  };
}
