/**
 * `netfs serve nbd`: serve files (disk images, block device nodes) and RAM
 * disks over NBD, several exports on one port, optionally with STARTTLS or
 * over several worker threads. Prints the `nbdinfo`, `qemu-img` and
 * `nbd-client` lines, and on SIGINT or SIGTERM finishes the requests in
 * flight and closes the files (which flushes them).
 *
 * @module
 */

import { peerOf } from "../telemetry/log.ts";
import { serveNbd } from "../nbd/server.ts";
import { serveNbdCluster } from "../nbd/cluster.ts";
import { FileDevice } from "../nbd/file_device.ts";
import { MemoryDevice } from "../nbd/memory_device.ts";
import { SharedMemoryDevice } from "../nbd/shared_memory_device.ts";
import { type Device, readOnly } from "../nbd/device.ts";
import {
  choice,
  host,
  integer,
  METRICS_OPTION,
  parse,
  port,
  size,
  UsageError,
} from "./_args.ts";
import {
  checkPermissions,
  dialHost,
  fileNeeds,
  loggerOf,
  serveUntilSignal,
  servingOf,
  startedOf,
} from "./_runtime.ts";

/** `netfs serve nbd --help`. */
export const SERVE_NBD_HELP =
  `Usage: netfs serve nbd [NAME=]FILE... | --memory [NAME=]SIZE ... [options]

Serve files (disk images or block devices) and RAM disks over NBD. The first
export is also the default one (an empty export name selects it).

Exports:
  FILE, NAME=FILE        a file to serve (its name: NAME, or the file's name)
  --memory [NAME=]SIZE   a sparse RAM disk (512M, 1G…; default name "mem");
                         may be repeated
  --name NAME            the name of the one export
  --create SIZE          create FILE (or grow it) to SIZE first
  --read-only            refuse writes on every export

Server:
  --host ADDR            address to listen on (default 127.0.0.1)
  --port N               TCP port (default 10809; 0 picks one)
  --tls-cert FILE        PEM certificate chain: offer STARTTLS
  --tls-key FILE         its PEM private key
  --tls MODE             required (default with a certificate) or optional
  --workers N            serve from N threads (RAM disks only; needs
                         deno run --unstable-net --allow-read for the modules)
  --shutdown-timeout S   seconds to finish requests on SIGINT/SIGTERM (default 10)

Global:
  --log-level LEVEL      error, warn, info (default) or debug
  --log-format FORMAT    text (default) or json, on standard error
  --metrics HOST:PORT    serve Prometheus metrics at http://HOST:PORT/metrics
                         (NBD command metrics are not collected with --workers)
  -h, --help             this help

Permissions (deno run): --allow-net=HOST:PORT --allow-read=FILE --allow-write=FILE
(--read-only: no --allow-write), --allow-read for the TLS files.

Examples:
  netfs serve nbd ./disk.img
  netfs serve nbd ./disk.img --create 10G --name disk
  netfs serve nbd --memory 1G --memory scratch=256M --port 10809
  netfs serve nbd boot=./boot.img data=./data.img --read-only
  netfs serve nbd --memory 4G --workers 2
`;

const OPTIONS = {
  ...METRICS_OPTION,
  memory: { type: "string", multiple: true },
  name: { type: "string" },
  create: { type: "string" },
  "read-only": { type: "boolean" },
  host: { type: "string" },
  port: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  tls: { type: "string" },
  workers: { type: "string" },
  "shutdown-timeout": { type: "string" },
} as const;

interface Spec {
  name: string;
  file?: string;
  memory?: number;
}

const NAME_MAX = 4096;

function splitName(arg: string): [string | undefined, string] {
  const eq = arg.indexOf("=");
  // A path may hold "=" too; a name is what precedes the first one and has no "/".
  if (eq > 0 && !arg.slice(0, eq).includes("/")) {
    return [arg.slice(0, eq), arg.slice(eq + 1)];
  }
  return [undefined, arg];
}

function specsOf(
  positionals: string[],
  memory: string[] | undefined,
  name: string | undefined,
): Spec[] {
  const specs: Spec[] = [];
  for (const p of positionals) {
    const [n, file] = splitName(p);
    if (file === "") throw new UsageError(`Empty file name in: ${p}`);
    specs.push({ name: n ?? file.slice(file.lastIndexOf("/") + 1), file });
  }
  for (const m of memory ?? []) {
    const [n, s] = splitName(m);
    specs.push({ name: n ?? "mem", memory: size("--memory", s) });
  }
  if (specs.length === 0) {
    throw new UsageError("Nothing to serve: give a FILE or --memory SIZE");
  }
  if (name !== undefined) {
    if (specs.length !== 1) {
      throw new UsageError(
        "--name needs exactly one export (name several with NAME=FILE)",
      );
    }
    specs[0].name = name;
  }
  const seen = new Set<string>();
  for (const s of specs) {
    if (new TextEncoder().encode(s.name).length > NAME_MAX) {
      throw new UsageError(
        `Export name longer than 4096 bytes: ${s.name.slice(0, 40)}…`,
      );
    }
    if (seen.has(s.name)) {
      throw new UsageError(`Export name used twice: ${s.name} (use NAME=FILE)`);
    }
    seen.add(s.name);
  }
  return specs;
}

/** Runs `netfs serve nbd ARGS`; resolves with the exit status. */
export async function serveNbdCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("serve nbd", args, OPTIONS);
  if (values.help) {
    console.log(SERVE_NBD_HELP);
    return 0;
  }
  const log = loggerOf(values);
  const specs = specsOf(positionals, values.memory, values.name);
  const hostname = host("--host", values.host ?? "127.0.0.1");
  const listenPort = values.port === undefined
    ? 10809
    : port("--port", values.port);
  const ro = values["read-only"] ?? false;
  const create = values.create === undefined
    ? undefined
    : size("--create", values.create);
  if (create !== undefined && !specs.some((s) => s.file)) {
    throw new UsageError("--create needs a FILE");
  }
  const workers = values.workers === undefined
    ? undefined
    : integer("--workers", values.workers, 1, 256);
  if (workers !== undefined) {
    if (specs.some((s) => s.file)) {
      throw new UsageError(
        "--workers serves RAM disks only (--memory): a file is served from one thread",
      );
    }
    if (ro) throw new UsageError("--read-only cannot be used with --workers");
  }
  const cert = values["tls-cert"];
  const key = values["tls-key"];
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError(
      `${cert === undefined ? "--tls-key" : "--tls-cert"} needs ${
        cert === undefined ? "--tls-cert" : "--tls-key"
      } too`,
    );
  }
  if (values.tls !== undefined && cert === undefined) {
    throw new UsageError("--tls needs --tls-cert and --tls-key");
  }
  const tlsMode = values.tls === undefined
    ? "required"
    : choice("--tls", values.tls, ["required", "optional"] as const);
  const serving = servingOf(values, hostname, [listenPort]);
  const needs = serving.needs;
  for (const s of specs) if (s.file) needs.push(...fileNeeds(s.file, !ro));
  if (cert && key) {
    needs.push(...fileNeeds(cert, false), ...fileNeeds(key, false));
  }
  checkPermissions(needs);

  let tls:
    | { mode: "required" | "optional"; cert: string; key: string }
    | undefined;
  if (cert && key) {
    const read = async (f: string) => {
      try {
        return await Deno.readTextFile(f);
      } catch (e) {
        if (e instanceof Deno.errors.NotCapable) throw e;
        throw new UsageError(`Cannot read ${f}: ${(e as Error).message}`);
      }
    };
    tls = { mode: tlsMode, cert: await read(cert), key: await read(key) };
  }

  const files: FileDevice[] = [];
  /** Export name -> the FileDevice engine, for the banner. */
  const engines = new Map<string, string>();
  const exports: { name: string; device: Device; description: string }[] = [];
  try {
    for (const s of specs) {
      if (s.file !== undefined) {
        const file = s.file;
        const dev = await FileDevice.open(file, { readOnly: ro, create })
          .catch((e) => {
            if (e instanceof Deno.errors.NotCapable) throw e;
            throw new UsageError(
              `Cannot open ${file}: ${(e as Error).message}`,
            );
          });
        files.push(dev);
        engines.set(s.name, dev.engine);
        exports.push({
          name: s.name,
          device: ro ? readOnly(dev) : dev,
          description: file,
        });
      } else {
        const dev = workers
          ? new SharedMemoryDevice(s.memory!)
          : new MemoryDevice(s.memory!);
        exports.push({
          name: s.name,
          device: ro ? readOnly(dev) : dev,
          description: "RAM disk",
        });
      }
    }
  } catch (e) {
    await Promise.all(files.map((f) => f.close()));
    throw e;
  }

  const common = {
    hostname,
    port: listenPort,
    defaultExport: exports[0].name,
    tls,
  };
  return await serveUntilSignal({
    start: async () => {
      if (workers !== undefined) {
        const cluster = await serveNbdCluster({
          ...common,
          workers,
          exports: exports.map((e) => ({
            ...e,
            device: e.device as SharedMemoryDevice,
          })),
          log: (m) => log.warn(m),
        });
        return { ...cluster, disconnectAll: () => {} };
      }
      return startedOf(serveNbd({
        ...common,
        exports,
        logger: log,
        metrics: serving.metrics?.registry,
      }));
    },
    // Writes a client never flushed reach the disk before we exit.
    close: async () =>
      void await Promise.all(files.map(async (f) => {
        if (!f.readOnly) await f.flush();
        await f.close();
      })),
    where: `${hostname}:${listenPort}`,
    banner: (addr) => banner(addr, exports, tls?.mode, workers, engines),
    metrics: serving.metrics,
    log,
    timeoutMs: serving.timeoutMs,
  });
}

function banner(
  addr: Deno.NetAddr,
  exports: { name: string; device: Device; description: string }[],
  tls: string | undefined,
  workers: number | undefined,
  engines: Map<string, string>,
): string {
  const { hostname, port } = addr;
  const h = dialHost(hostname);
  const scheme = tls === "required" ? "nbds" : "nbd";
  const lines = [
    `netfs: serving NBD on ${peerOf(addr)}${tls ? `, TLS ${tls}` : ""}${
      workers ? `, ${workers} workers` : ""
    }`,
  ];
  exports.forEach((e, i) => {
    const uri = `${scheme}://${h}:${port}/${encodeURIComponent(e.name)}`;
    lines.push(
      `  export "${e.name}"${i === 0 ? " (default)" : ""}: ${e.description}${
        engines.has(e.name) ? ` (${engines.get(e.name)} engine)` : ""
      }, ${e.device.size} bytes${e.device.readOnly ? ", read-only" : ""}`,
      `    nbdinfo ${uri}`,
      `    qemu-img info ${uri}`,
      `    sudo nbd-client -N ${e.name} ${h} ${port} /dev/nbd0`,
    );
  });
  return lines.join("\n");
}
