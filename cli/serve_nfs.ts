/**
 * `netfs serve nfs`: export a host directory (LocalFs) or an in-memory
 * tree (MemFs) over NFSv3 with MOUNT and NFSv4.0, 4.1 and 4.2 on one port
 * (NFSv2 with MOUNT v1 too when `--versions` names it); several exports from
 * a JSON config file. Prints the mount commands, logs
 * mounts, serves `/metrics` when asked, and stops cleanly on SIGINT or
 * SIGTERM (LocalFs journals flushed).
 *
 * @module
 */

import { peerOf } from "../telemetry/log.ts";
import { mountCommands, serveNfs } from "../server/serve.ts";
import type { ExportOptions } from "../server/exports.ts";
import { LocalFs } from "../vfs/localfs.ts";
import { MemFs } from "../vfs/memfs.ts";
import {
  choice,
  clients,
  excludes,
  host,
  integer,
  METRICS_OPTION,
  parse,
  port,
  UsageError,
} from "./_args.ts";
import {
  DEFAULT_NFS_VERSIONS,
  exportPath,
  type ExportSpec,
  NFS_VERSIONS,
  parseVersions,
  readConfig,
  type ServerSpec,
} from "./_nfs_config.ts";
import {
  checkPermissions,
  dialHost,
  fileNeeds,
  loggerOf,
  serveUntilSignal,
  servingOf,
  startedOf,
} from "./_runtime.ts";

/** `netfs serve nfs --help`. */
export const SERVE_NFS_HELP =
  `Usage: netfs serve nfs [DIR | --memory | --config FILE] [options]

Serve a host directory (or an in-memory tree) over NFSv3 (with MOUNT and
portmap) and NFSv4.0/4.1/4.2, all on one TCP port (NFSv2 only when --versions
names it). Prints the mount commands.

Exports:
  DIR                    the directory to export (file handles survive restarts)
  --memory               export an empty in-memory tree instead
  --config FILE          several exports from a JSON file (see the README)
  --export /NAME         the export path clients mount (default /)
  --clients LIST         addresses and CIDRs allowed, comma-separated, or *
                         (default loopback: 127.0.0.0/8,::1)
  --squash MODE          root (default): root becomes anonymous; none; all
  --anon-uid N           uid of anonymous callers (default 65534)
  --anon-gid N           gid of anonymous callers (default 65534)
  --read-only            refuse every change
  --secure               require client ports below 1024
  --async                answer creates, renames and removes before their
                         directories are on disk (faster; a host crash may
                         lose names the client was told exist)

Server:
  --host ADDR            address to listen on (default 127.0.0.1; 0.0.0.0 or ::)
  --port N               TCP port for everything (default 2049; 0 picks one)
  --versions LIST        ${NFS_VERSIONS.join(",")} or a part of it
                         (default ${DEFAULT_NFS_VERSIONS.join(",")})
  --portmap111           also answer portmap on port 111 (needs root)
  --lease SECONDS        NFSv4 lease time (default 90)
  --grace SECONDS        NFSv4 grace period after a start (default: the lease)
  --shutdown-timeout S   seconds to finish calls on SIGINT/SIGTERM (default 10)

Global:
  --log-level LEVEL      error, warn, info (default) or debug
  --log-format FORMAT    text (default) or json, on standard error
  --metrics HOST:PORT    serve Prometheus metrics at http://HOST:PORT/metrics
  -h, --help             this help

Permissions (deno run): --allow-net=HOST:PORT --allow-read=DIR --allow-write=DIR
(--read-only: no --allow-write), plus --allow-read for --config FILE and
--allow-net for --metrics. --allow-sys=statfs,uid gives real disk figures.

Examples:
  netfs serve nfs ./export
  netfs serve nfs --memory --port 11111 --versions 3
  netfs serve nfs ./photos --export /photos --read-only --host 0.0.0.0 --clients 192.168.1.0/24
  netfs serve nfs --config exports.json --metrics 127.0.0.1:9464
`;

const OPTIONS = {
  ...METRICS_OPTION,
  memory: { type: "boolean" },
  config: { type: "string" },
  export: { type: "string" },
  clients: { type: "string" },
  squash: { type: "string" },
  "anon-uid": { type: "string" },
  "anon-gid": { type: "string" },
  "read-only": { type: "boolean" },
  secure: { type: "boolean" },
  async: { type: "boolean" },
  host: { type: "string" },
  port: { type: "string" },
  versions: { type: "string" },
  portmap111: { type: "boolean" },
  lease: { type: "string" },
  grace: { type: "string" },
  "shutdown-timeout": { type: "string" },
} as const;

const EXPORT_FLAGS = [
  "memory",
  "export",
  "clients",
  "squash",
  "anon-uid",
  "anon-gid",
  "read-only",
  "secure",
  "async",
] as const;

/** Runs `netfs serve nfs ARGS`; resolves with the exit status. */
export async function serveNfsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("serve nfs", args, OPTIONS);
  if (values.help) {
    console.log(SERVE_NFS_HELP);
    return 0;
  }
  const log = loggerOf(values);
  if (positionals.length > 1) {
    throw new UsageError(
      `Too many arguments: ${
        positionals.join(" ")
      } (one DIR; use --config for several exports)`,
    );
  }
  let file: ServerSpec = {};
  let specs: ExportSpec[];
  if (values.config !== undefined) {
    if (positionals.length) {
      throw new UsageError(
        `DIR cannot be used with --config: the exports come from the file`,
      );
    }
    excludes(
      values,
      "--config (set them per export in the file)",
      EXPORT_FLAGS,
    );
    checkPermissions(fileNeeds(values.config, false));
    ({ server: file, exports: specs } = await readConfig(values.config));
  } else {
    const dir = positionals[0];
    if ((dir === undefined) === !values.memory) {
      throw new UsageError(
        dir === undefined
          ? "Nothing to export: give a DIR, --memory or --config FILE"
          : "Give a DIR or --memory, not both",
      );
    }
    specs = [{
      path: values.export === undefined
        ? "/"
        : exportPath("--export", values.export),
      dir,
      readOnly: values["read-only"] ?? false,
      clients: values.clients === undefined
        ? undefined
        : clients("--clients", values.clients),
      squash: values.squash === undefined
        ? "root"
        : choice("--squash", values.squash, ["root", "none", "all"] as const),
      anonUid: values["anon-uid"] === undefined
        ? 65534
        : integer("--anon-uid", values["anon-uid"], 0, 0xffffffff),
      anonGid: values["anon-gid"] === undefined
        ? 65534
        : integer("--anon-gid", values["anon-gid"], 0, 0xffffffff),
      secure: values.secure ?? false,
      async: values.async ?? false,
    }];
  }
  const hostname = values.host !== undefined
    ? host("--host", values.host)
    : file.host ?? "127.0.0.1";
  const listenPort = values.port !== undefined
    ? port("--port", values.port)
    : file.port ?? 2049;
  const versions = values.versions !== undefined
    ? parseVersions("--versions", values.versions)
    : file.versions ??
      parseVersions("versions", DEFAULT_NFS_VERSIONS.join(","));
  const lease = values.lease !== undefined
    ? integer("--lease", values.lease, 1, 3600)
    : file.lease;
  const grace = values.grace !== undefined
    ? integer("--grace", values.grace, 0, 3600)
    : file.grace;
  const portmap111 = values.portmap111 ?? file.portmap111 ?? false;
  const serving = servingOf(
    values,
    hostname,
    portmap111 ? [listenPort, 111] : [listenPort],
  );
  const needs = serving.needs;
  for (const s of specs) {
    if (s.dir !== undefined) needs.push(...fileNeeds(s.dir, !s.readOnly));
  }
  checkPermissions(needs);

  const opened: LocalFs[] = [];
  const engines = new Map<ExportSpec, string>();
  const exports: ExportOptions[] = [];
  try {
    for (const s of specs) {
      let fs;
      let journal = false;
      if (s.dir !== undefined) {
        const dir = s.dir;
        // A read-only export may run without write permission: its FileId
        // journal then stays in memory (handles survive no restart).
        const writable =
          Deno.permissions.querySync({ name: "write", path: dir })
            .state === "granted";
        journal = !s.readOnly || writable;
        const options = {
          syncMetadata: !s.async,
          ...(journal ? {} : { stateDir: false as const }),
        };
        fs = await LocalFs.open(dir, options).catch((e) => {
          if (e instanceof Deno.errors.NotCapable) throw e;
          throw new UsageError(
            `Cannot export ${dir}: ${(e as Error).message}`,
          );
        });
        opened.push(fs);
        engines.set(s, fs.engine);
      } else fs = new MemFs({ rootMode: 0o1777 });
      exports.push({
        path: s.path,
        fs,
        readOnly: s.readOnly,
        clients: s.clients,
        squash: s.squash,
        anonUid: s.anonUid,
        anonGid: s.anonGid,
        secure: s.secure,
        // LocalFs FileIds survive a restart with their journal, so its
        // handles may too. Without the journal (its generations and
        // tombstones) a FileId from before a restart could name whatever
        // now has that inode number: such handles must be stale instead.
        stableHandles: journal,
      });
    }
  } catch (e) {
    await Promise.all(opened.map((fs) => fs.close()));
    throw e;
  }
  return await serveUntilSignal({
    start: () =>
      startedOf(serveNfs({
        hostname,
        port: listenPort,
        exports,
        versions: versions.versions,
        nfs4: {
          minorVersions: versions.minors,
          ...(lease !== undefined ? { leaseTime: lease } : {}),
          ...(grace !== undefined ? { graceTime: grace } : {}),
        },
        portmap111,
        logger: log,
        metrics: serving.metrics?.registry,
        onListen: () => {},
      })),
    // Flushes each LocalFs's FileId journal.
    close: async () => void await Promise.all(opened.map((fs) => fs.close())),
    where: `${hostname}:${listenPort}`,
    banner: (addr) => banner(addr, versions.names, specs, portmap111, engines),
    metrics: serving.metrics,
    log,
    timeoutMs: serving.timeoutMs,
  });
}

function banner(
  addr: Deno.NetAddr,
  versions: string[],
  specs: ExportSpec[],
  portmap111: boolean,
  engines: Map<ExportSpec, string>,
): string {
  const { hostname, port } = addr;
  const v3 = versions.includes("3");
  const v4 = versions.filter((v) => v.startsWith("4.")).at(-1);
  const lines = [
    `netfs: serving NFS ${versions.join(", ")} on ${peerOf(addr)}${
      portmap111 ? " (portmap also on port 111)" : ""
    }`,
  ];
  for (const s of specs) {
    const m = mountCommands(hostname, port, s.path);
    const h = dialHost(hostname);
    lines.push(
      `  export ${s.path}: ${s.dir ?? "(in memory)"}${
        engines.has(s) ? ` (LocalFs, ${engines.get(s)} engine)` : ""
      }${s.readOnly ? ", read-only" : ""}, clients ${
        (s.clients ?? ["127.0.0.0/8", "::1"]).join(" ")
      }`,
    );
    if (v3) lines.push(`    Linux:   ${m.linux}`);
    if (v4) {
      lines.push(`    Linux:   ${m.linux4.replace("vers=4.1", `vers=${v4}`)}`);
    }
    if (v3) {
      lines.push(`    macOS:   ${m.macos}`, `    Windows: ${m.windows}`);
      const file = s.path === "/" ? "/" : s.path;
      lines.push(
        `    libnfs:  nfs-ls "nfs://${h}${file}?nfsport=${port}&mountport=${port}&version=3"`,
      );
    }
  }
  return lines.join("\n");
}
