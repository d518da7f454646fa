/**
 * The Linux kernel's own NFS and NBD clients against our servers: each suite
 * boots a user-mode Linux guest (see README.md in this folder), whose checks
 * become this test's steps. Our servers run in this process on 127.0.0.1 and
 * the guest reaches them through forwarded ports inside a private network
 * namespace. One boot per NFS backend mounts every selected NFS version in
 * turn (`nfs3/mount`, ..., `nfs4.1/mount`, ...). The localfs boot (native
 * engine) also compares the guest's view with the host folder (inode numbers,
 * MKNOD, MOUNT through symlinks: host_checks.sh, which asks this process
 * over the control port) and, after the versions, mounts `netfs serve nfs`
 * run as a subprocess (`netfs-serve/...`).
 */

import assert from "node:assert/strict";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { serveNbd } from "../../nbd/server.ts";
import type { ConnectionInfo } from "../../net/mod.ts";
import { type NfsServer, serveNfs } from "../../server/serve.ts";
import { FileStableStorage } from "../../server/nfs4/stable_storage.ts";
import { LocalFs } from "../../vfs/localfs.ts";
import { MemFs } from "../../vfs/memfs.ts";
import type { FileSystem } from "../../vfs/types.ts";
import { serve, type Served } from "../cli/_cli.ts";
import {
  controlPort,
  GUEST_CHECKS,
  kernelSkipReason,
  printCheck,
  reportChecks,
  runGuest,
} from "./_harness.ts";
import {
  GUEST_PORTS,
  nbdChecks,
  NETFS_SERVE_VERSIONS,
  netfsServeChecks,
  netfsServeEnv,
  nfsChecks,
  type NfsRun,
  nfsRunsEnv,
  selectedNfsVersions,
  workloadEnv,
} from "./_suites.ts";

const skip = kernelSkipReason();
if (skip) console.log(`kernel suite skipped: ${skip}`);

interface Backend {
  name: string;
  /** Run the restart checks (needs handles that survive a restart). */
  restart: boolean;
  /**
   * Serves the host folder with the native engine: run the host checks and
   * the `netfs serve nfs` mounts.
   */
  host: boolean;
  open(dir: string): Promise<FileSystem>;
}

const BACKENDS: Backend[] = [
  {
    name: "memfs",
    restart: false,
    host: false,
    open: () => Promise.resolve(new MemFs()),
  },
  {
    name: "localfs",
    restart: true,
    host: true,
    open: (dir) => LocalFs.open(dir, { engine: "native" }),
  },
];

/**
 * What mount-through-symlink mounts (host_checks.sh): links inside the
 * export to a folder in it, and two that leave it.
 */
async function makeSymlinks(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/symlinks/sub`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/symlinks/sub/inside.txt`,
    "inside the linked folder\n",
  );
  await Deno.symlink("sub", `${dir}/symlinks/in`);
  await Deno.symlink("../symlinks/sub", `${dir}/symlinks/back`);
  await Deno.symlink("../..", `${dir}/symlinks/up`);
  await Deno.symlink("/etc", `${dir}/symlinks/abs`);
}

/** A path the guest names inside `dir`: relative, without `.` or `..`. */
function inside(dir: string, rel: string): string {
  if (rel === ".") return dir;
  const parts = rel.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new Error(`Not a path inside the folder: ${rel}`);
  }
  return `${dir}/${rel}`;
}

/**
 * The control port's `stat REL`: the host's view of REL in the export, as
 * the guest's `stat -c '%i %f %t %T %u'` prints it (inode, then mode, major
 * and minor in hex, then the owner).
 */
async function hostStat(dir: string, rel: string): Promise<string> {
  const st = await Deno.lstat(inside(dir, rel));
  const dev = BigInt(st.rdev ?? 0);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return [
    st.ino,
    st.mode?.toString(16),
    major.toString(16),
    minor.toString(16),
    st.uid,
  ]
    .join(" ");
}

/** The control port's `serve-file NAME`: "UID:GID FIRST-LINE". */
async function serveFile(dir: string, name: string): Promise<string> {
  const path = inside(dir, name);
  const st = await Deno.lstat(path);
  const text = await Deno.readTextFile(path);
  return `${st.uid}:${st.gid} ${text.split("\n")[0]}`;
}

/**
 * `netfs serve nfs DIR` as a user runs it (README: scoped permissions,
 * default root squash), on a port of its own.
 */
function netfsServe(dir: string): Promise<{ served: Served; port: number }> {
  return serve(
    ["serve", "nfs", dir, "--port", "0", "--host", "127.0.0.1"],
    [
      "--allow-net=127.0.0.1",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      "--allow-sys=statfs,uid,gid",
    ],
  );
}

const versions = selectedNfsVersions();
if (versions.length > 0) {
  for (const backend of BACKENDS) {
    const runs: NfsRun[] = versions.map((version) => ({
      version,
      restart: backend.restart,
      port: GUEST_PORTS.nfs,
      host: backend.host,
    }));
    const restartChecks = runs.flatMap((r) =>
      r.restart ? r.version.restartChecks : []
    );
    Deno.test({
      name: `kernel ${versions.map((v) => v.name).join("+")} ${backend.name}`,
      ignore: skip !== undefined,
    }, async (t) => {
      const dir = await Deno.makeTempDir({ prefix: "netfs-kernel-" });
      // makeTempDir gives 0700; the guest's ordinary users must get in too.
      await Deno.chmod(dir, 0o755);
      const serverLog: string[] = [];
      if (backend.host) await makeSymlinks(dir);
      let fs = await backend.open(dir);
      // NFSv4 clients that may reclaim after the restart: kept outside the
      // export, as a server keeps them in its state directory.
      const stableStorage = new FileStableStorage(`${dir}.nfs4-clients`);
      const start = (port: number): NfsServer =>
        serveNfs({
          port,
          quiet: true,
          log: (m) => serverLog.push(m),
          // A short grace: a 4.0 client never says it finished reclaiming,
          // so each restart check waits it out.
          nfs4: { leaseTime: 15, graceTime: 5, stableStorage },
          exports: [{
            path: "/",
            fs,
            squash: "none",
            stableHandles: true,
          }],
        });
      let server = start(0);
      const port = server.addr.port;
      let restarts = 0;
      // The folder `netfs serve nfs` exports; 0777 for the squashed root.
      const serveDir = backend.host
        ? await Deno.makeTempDir({ prefix: "netfs-kernel-serve-" })
        : undefined;
      if (serveDir) await Deno.chmod(serveDir, 0o777);
      let cli: { served: Served; port: number } | undefined;
      let cliStopped = false;
      // The guest asks for the restart while it holds handles and an open
      // file, and for the host's view of a path (host_checks.sh).
      const control = controlPort(async (command) => {
        const [verb, arg = ""] = command.split(" ", 2);
        if (verb === "stat" && backend.host) return await hostStat(dir, arg);
        if (verb === "serve-file" && serveDir) {
          return await serveFile(serveDir, arg);
        }
        if (command !== "restart") return `unknown command: ${command}`;
        await server.shutdown();
        await fs.close?.();
        fs = await backend.open(dir);
        server = start(port);
        restarts++;
        return "restarted";
      });
      try {
        if (serveDir) cli = await netfsServe(serveDir);
        const forwards: [number, number][] = [
          [GUEST_PORTS.nfs, port],
          [GUEST_PORTS.control, control.port],
        ];
        if (cli) forwards.push([GUEST_PORTS.netfsServe, cli.port]);
        const run = await runGuest(GUEST_CHECKS, {
          forwards,
          env: {
            SUITE: "nfs",
            CTL_PORT: String(GUEST_PORTS.control),
            ...nfsRunsEnv(runs),
            ...(cli ? netfsServeEnv() : {}),
          },
          timeout: 300 * runs.length,
          onCheck: printCheck,
        });
        if (run.code !== 0 && serverLog.length > 0) {
          console.log(`server log tail:\n${serverLog.slice(-20).join("\n")}`);
        }
        await reportChecks(t, run, [
          ...runs.flatMap((r) => nfsChecks(r)),
          ...(cli ? netfsServeChecks() : []),
        ]);
        if (cli && serveDir) {
          const { served } = cli;
          await t.step(
            "netfs serve nfs: the guest's files in its folder; SIGTERM exits 0",
            async () => {
              const names: string[] = [];
              for await (const e of Deno.readDir(serveDir)) {
                if (e.name !== ".netfs") names.push(e.name);
              }
              const want = NETFS_SERVE_VERSIONS.map((v) =>
                `from-guest-${v}.txt`
              );
              assert.deepEqual(names.sort(), want.sort());
              for (const v of NETFS_SERVE_VERSIONS) {
                assert.equal(
                  await serveFile(serveDir, `from-guest-${v}.txt`),
                  `65534:65534 written by the kernel client over ${v}`,
                );
              }
              const end = await served.stop("SIGTERM");
              cliStopped = true;
              assert.equal(end.code, 0, end.stderr);
              assert.match(end.stderr, /INFO +Mounted \/ peer=127\.0\.0\.1/);
              assert.match(end.stderr, /INFO +Stopped\n$/);
            },
          );
        }
        if (restartChecks.length > 0) {
          await t.step(
            `server was restarted ${restartChecks.length} time(s)`,
            () => {
              assert.equal(restarts, restartChecks.length);
            },
          );
        }
      } finally {
        await control.close();
        if (cli && !cliStopped) {
          cli.served.kill("SIGKILL");
          await cli.served.finished();
        }
        if (serveDir) await Deno.remove(serveDir, { recursive: true });
        await server.shutdown();
        await server.finished;
        await fs.close?.();
        await Deno.remove(dir, { recursive: true });
        await Deno.remove(`${dir}.nfs4-clients`).catch(() => {});
      }
    });
  }
}

for (const conns of [1, 2]) {
  Deno.test({
    name: `kernel nbd${conns > 1 ? ` -C ${conns}` : ""}`,
    ignore: skip !== undefined,
  }, async (t) => {
    const opened: ConnectionInfo[] = [];
    const closed: ConnectionInfo[] = [];
    const serverLog: string[] = [];
    const server = serveNbd({
      port: 0,
      exports: [{ name: "mem", device: new MemoryDevice(768 << 20) }],
      onConnect: (c) => opened.push(c),
      onDisconnect: (c) => closed.push(c),
      log: (m) => serverLog.push(m),
    });
    try {
      const run = await runGuest(GUEST_CHECKS, {
        forwards: [[GUEST_PORTS.nbd, server.addr.port]],
        env: {
          SUITE: "nbd",
          NBD_PORT: String(GUEST_PORTS.nbd),
          NBD_EXPORT: "mem",
          NBD_CONNS: String(conns),
          ...workloadEnv(),
        },
        onCheck: printCheck,
      });
      if (run.code !== 0 && serverLog.length > 0) {
        console.log(`server log tail:\n${serverLog.slice(-20).join("\n")}`);
      }
      await reportChecks(t, run, nbdChecks());
      await t.step(`${conns} connection(s) opened`, () => {
        console.log(
          `  requests per connection: ${
            closed.map((c) => c.requests).join(", ")
          }`,
        );
        assert.equal(opened.length, conns);
        assert.equal(closed.length, conns);
      });
    } finally {
      await server.shutdown();
      await server.finished;
    }
  });
}
