/**
 * What the serving verbs share at run time: the logger and metrics the
 * global flags ask for (with the `/metrics` endpoint), the permissions
 * check that names the missing Deno flag, and the lifecycle: run until
 * SIGINT or SIGTERM, then stop accepting, let calls in flight finish within
 * a timeout, close what was opened (LocalFs journals, device files), exit
 * 0; a second signal exits at once.
 *
 * @module
 */

import { createLogger, type Logger } from "../telemetry/log.ts";
import {
  EXPOSITION_CONTENT_TYPE,
  MetricsRegistry,
} from "../telemetry/metrics.ts";
import { processMetrics } from "../telemetry/process.ts";
import { hostPort, integer, logFormat, logLevel, UsageError } from "./_args.ts";

/** The logger of `--log-level` and `--log-format`, writing to standard error. */
export function loggerOf(values: {
  "log-level"?: string;
  "log-format"?: string;
}): Logger {
  return createLogger({
    level: logLevel(values["log-level"]),
    format: logFormat(values["log-format"]),
  });
}

/** A `/metrics` endpoint over a registry, from `--metrics HOST:PORT`. */
export interface MetricsEndpoint {
  readonly registry: MetricsRegistry;
  readonly url: string;
  close(): Promise<void>;
}

/** Where `--metrics` will listen (parsed early, for the permission check). */
export function metricsAddress(
  v: string | undefined,
): { hostname: string; port: number } | undefined {
  return v === undefined ? undefined : hostPort("--metrics", v);
}

/** What the flags every serving verb has ask for, parsed. */
export interface Serving {
  /** `--shutdown-timeout` in milliseconds (10 s when not given). */
  readonly timeoutMs: number;
  /** With `--metrics`: where to serve `/metrics`, and the registry. */
  readonly metrics?: {
    readonly at: { hostname: string; port: number };
    readonly registry: MetricsRegistry;
  };
  /** Network access to listen on each port, then for `--metrics`. */
  readonly needs: Need[];
}

/**
 * Parses `--shutdown-timeout` and `--metrics`, and lists the network
 * permissions a server listening on `hostname` at `ports` needs.
 */
export function servingOf(
  values: { "shutdown-timeout"?: string; metrics?: string },
  hostname: string,
  ports: readonly number[],
): Serving {
  const timeout = values["shutdown-timeout"];
  const timeoutMs = 1000 *
    (timeout === undefined
      ? 10
      : integer("--shutdown-timeout", timeout, 0, 3600));
  const at = metricsAddress(values.metrics);
  const needs = ports.map((p) => netNeed(hostname, p));
  if (at) needs.push(netNeed(at.hostname, at.port));
  return {
    timeoutMs,
    metrics: at && { at, registry: new MetricsRegistry() },
    needs,
  };
}

/**
 * The host a client on this machine dials to reach a server listening on
 * `hostname`, as it goes in a URI or command line: loopback for a wildcard
 * address, an IPv6 address in brackets.
 */
export function dialHost(hostname: string): string {
  return hostname === "0.0.0.0" || hostname === "::"
    ? "127.0.0.1"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
}

/** Serves `registry` in the Prometheus text format at `/metrics`. */
export function serveMetrics(
  addr: { hostname: string; port: number },
  registry: MetricsRegistry,
): MetricsEndpoint {
  const stopProcess = processMetrics(registry);
  const server = Deno.serve({
    hostname: addr.hostname,
    port: addr.port,
    onListen: () => {},
  }, (req) => {
    const path = new URL(req.url).pathname;
    if (path !== "/metrics") {
      return new Response("Not found: try /metrics\n", { status: 404 });
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("Method not allowed\n", { status: 405 });
    }
    return new Response(registry.exposition(), {
      headers: { "content-type": EXPOSITION_CONTENT_TYPE },
    });
  });
  const { hostname, port } = server.addr as Deno.NetAddr;
  const h = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    registry,
    url: `http://${h}:${port}/metrics`,
    async close() {
      stopProcess();
      await server.shutdown();
    },
  };
}

/** A permission the command needs, and the flag that grants it. */
export interface Need {
  readonly descriptor: Deno.PermissionDescriptor;
  /** The flag to name when it is missing, such as `--allow-read=./data`. */
  readonly flag: string;
}

/** Network access to listen on or connect to `hostname:port`. */
export function netNeed(hostname: string, port: number): Need {
  const h = hostname.includes(":") ? `[${hostname}]` : hostname;
  // Port 0 is chosen by the kernel: only a grant for the host covers it.
  return port === 0
    ? { descriptor: { name: "net", host: h }, flag: `--allow-net=${h}` }
    : {
      descriptor: { name: "net", host: `${h}:${port}` },
      flag: `--allow-net=${h}:${port}`,
    };
}

/** Read (and write) access to `path`. */
export function fileNeeds(path: string, write: boolean): Need[] {
  const out: Need[] = [{
    descriptor: { name: "read", path },
    flag: `--allow-read=${path}`,
  }];
  if (write) {
    out.push({
      descriptor: { name: "write", path },
      flag: `--allow-write=${path}`,
    });
  }
  return out;
}

/**
 * Fails with every missing flag at once. A permission Deno would prompt
 * for is asked on a terminal, and missing otherwise.
 */
export function checkPermissions(needs: readonly Need[]): void {
  const missing: string[] = [];
  const interactive = Deno.stdin.isTerminal();
  for (const n of needs) {
    let state = Deno.permissions.querySync(n.descriptor).state;
    if (state === "prompt" && interactive) {
      state = Deno.permissions.requestSync(n.descriptor).state;
    }
    if (state !== "granted" && !missing.includes(n.flag)) missing.push(n.flag);
  }
  if (missing.length > 0) {
    throw new UsageError(
      `Missing permission: run deno with ${missing.join(" ")}`,
    );
  }
}

/**
 * A permission error Deno raised while running, as a usage error naming
 * the flag (the check before starting cannot foresee every access).
 */
export function permissionError(e: unknown): UsageError | undefined {
  if (!(e instanceof Deno.errors.NotCapable)) return undefined;
  const flag = /--allow-[a-z-]+/.exec(e.message)?.[0];
  return new UsageError(
    `Missing permission${flag ? `: run deno with ${flag}` : ""} (${
      e.message.split(",")[0]
    })`,
  );
}

/** What the lifecycle stops and closes. */
export interface Running {
  /** Stop accepting and let calls in flight finish. */
  shutdown(): Promise<void>;
  /** Drop every connection (the timeout ran out). */
  disconnectAll(): void;
  /** Resolves when the server stopped on its own. */
  readonly finished: Promise<void>;
  /** Close what the server served from (journals, files), after it stopped. */
  close(): Promise<void>;
}

/** A server that started: where it listens, and how to stop it. */
export interface Started {
  readonly addr: Deno.NetAddr;
  shutdown(): Promise<void>;
  disconnectAll(): void;
  readonly finished: Promise<void>;
}

/** NbdServer and NfsServer alike, as far as the lifecycle drives them. */
interface Server {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
  connections(): readonly { id: number }[];
  disconnect(id: number): boolean;
}

/** A server as {@link serveUntilSignal} starts it. */
export function startedOf(server: Server): Started {
  return {
    addr: server.addr,
    shutdown: () => server.shutdown(),
    disconnectAll: () => {
      for (const c of server.connections()) server.disconnect(c.id);
    },
    finished: server.finished,
  };
}

/**
 * Starts a server (closing what it serves from if that fails), its
 * `/metrics` endpoint when asked, prints the banner on standard output and
 * runs until a signal; resolves with the exit status.
 */
export async function serveUntilSignal(o: {
  start: () => Started | Promise<Started>;
  /** Closes what the server serves from (on a failed start too). */
  close: () => Promise<void>;
  /** `host:port`, for the message when the address is taken. */
  where: string;
  banner: (addr: Deno.NetAddr) => string;
  metrics?: {
    at: { hostname: string; port: number };
    registry: MetricsRegistry;
  };
  log: Logger;
  timeoutMs: number;
}): Promise<number> {
  let running: Started;
  try {
    running = await o.start();
  } catch (e) {
    await o.close();
    if (e instanceof Deno.errors.AddrInUse) {
      throw new UsageError(`Address in use: ${o.where} (pick another --port)`);
    }
    throw e;
  }
  const endpoint = o.metrics && serveMetrics(o.metrics.at, o.metrics.registry);
  console.log(o.banner(running.addr));
  if (endpoint) console.log(`Metrics: ${endpoint.url}`);
  return await runUntilSignal(
    {
      shutdown: () => running.shutdown(),
      disconnectAll: () => running.disconnectAll(),
      finished: running.finished,
      async close() {
        await o.close();
        await endpoint?.close();
      },
    },
    o.log,
    o.timeoutMs,
  );
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Runs until the server finishes or a signal arrives; then shuts down
 * within `timeoutMs` and closes. Resolves with the exit status; a failed
 * shutdown (an NBD device's flush) is thrown once everything is closed.
 */
export async function runUntilSignal(
  running: Running,
  log: Logger,
  timeoutMs: number,
): Promise<number> {
  const stop = Promise.withResolvers<Deno.Signal>();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  let received = 0;
  let failed: { error: unknown } | undefined;
  const handlers = signals.map((sig) => {
    const h = () => {
      received++;
      if (received === 1) return stop.resolve(sig);
      log.warn(`Received ${sig} again: exiting at once`);
      Deno.exit(SIGNAL_EXIT[sig as keyof typeof SIGNAL_EXIT] ?? 1);
    };
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  try {
    const why = await Promise.race([
      stop.promise,
      running.finished.then(() => undefined),
    ]);
    if (why !== undefined) {
      log.info(
        `Received ${why}: stopping, finishing calls in flight (a second signal exits at once)`,
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([
        running.shutdown().then(() => false, (error) => {
          // Reported (exit 1) once everything is closed anyway.
          failed = { error };
          return false;
        }),
        new Promise<boolean>((r) =>
          timer = setTimeout(() => r(true), timeoutMs)
        ),
      ]);
      clearTimeout(timer);
      if (late) {
        log.warn(
          `Calls still in flight after ${timeoutMs} ms: closing their connections`,
        );
        running.disconnectAll();
        await Promise.race([
          running.finished,
          new Promise((r) => timer = setTimeout(r, 2000)),
        ]);
        clearTimeout(timer);
      }
    }
    await running.close();
    if (failed !== undefined) throw failed.error;
    log.info("Stopped");
    return 0;
  } finally {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  }
}
