// Runs the netfs command as a user would: `deno run` with scoped
// permissions on cli.ts, in a child process.

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

/** What a finished command printed and how it exited. */
export interface Outcome {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** Runs `netfs ARGS` with deno permission flags `perms` to the end. */
export async function netfs(
  args: string[],
  perms: string[] = [],
): Promise<Outcome> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...perms, CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: out.code,
    signal: out.signal,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** A serving netfs in a child process. */
export class Served {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly #done: Promise<Outcome>;

  constructor(child: Deno.ChildProcess) {
    this.child = child;
    const drain = async (
      s: ReadableStream<Uint8Array>,
      to: "stdout" | "stderr",
    ) => {
      for await (const chunk of s) {
        this[to] += decoder.decode(chunk, { stream: true });
      }
    };
    const streams = Promise.all([
      drain(child.stdout, "stdout"),
      drain(child.stderr, "stderr"),
    ]);
    this.#done = Promise.all([child.status, streams]).then(([st]) => ({
      code: st.code,
      signal: st.signal,
      stdout: this.stdout,
      stderr: this.stderr,
    }));
  }

  /** Resolves when the output matches `re` (or rejects after `ms`, or if the process ends). */
  async waitFor(
    re: RegExp,
    ms = 30_000,
    where: "stdout" | "stderr" = "stdout",
  ): Promise<RegExpExecArray> {
    const end = Date.now() + ms;
    let ended = false;
    void this.#done.then(() => ended = true);
    for (;;) {
      const m = re.exec(this[where]);
      if (m) return m;
      if (ended || Date.now() > end) {
        throw new Error(
          `No ${re} in ${where} ${
            ended ? "before netfs exited" : `after ${ms} ms`
          }:\n${this.stdout}\n${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends `signal`. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
  }

  /** Resolves when the process has exited. */
  finished(): Promise<Outcome> {
    return this.#done;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `ms`). */
  async stop(signal: Deno.Signal = "SIGTERM", ms = 20_000): Promise<Outcome> {
    this.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((r) => timer = setTimeout(r, ms));
    const first = await Promise.race([this.#done, late.then(() => undefined)]);
    clearTimeout(timer);
    if (first) return first;
    this.kill("SIGKILL");
    throw new Error(
      `netfs did not exit within ${ms} ms of ${signal}:\n${this.stderr}`,
    );
  }
}

/**
 * Starts `netfs ARGS` and waits for its banner; returns it with the port
 * it listens on (from "on HOST:PORT").
 */
export async function serve(
  args: string[],
  perms: string[],
): Promise<{ served: Served; port: number; metrics?: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...perms, CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const served = new Served(child);
  try {
    const m = await served.waitFor(/ on [^\s]+:(\d+)/);
    let metrics: string | undefined;
    if (args.includes("--metrics")) {
      metrics = (await served.waitFor(/^Metrics: (\S+)$/m))[1];
    }
    return { served, port: Number(m[1]), metrics };
  } catch (e) {
    served.kill("SIGKILL");
    await served.finished();
    throw e;
  }
}
