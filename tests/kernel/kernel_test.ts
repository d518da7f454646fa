/**
 * The Linux kernel's own NFS and NBD clients against our servers: each suite
 * boots a user-mode Linux guest (see README.md in this folder), whose checks
 * become this test's steps. Our servers run in this process on 127.0.0.1 and
 * the guest reaches them through forwarded ports inside a private network
 * namespace. One boot per NFS backend mounts every selected NFS version in
 * turn (`nfs3/mount`, ..., `nfs4.1/mount`, ...).
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
  open(dir: string): Promise<FileSystem>;
}

const BACKENDS: Backend[] = [
  { name: "memfs", restart: false, open: () => Promise.resolve(new MemFs()) },
  { name: "localfs", restart: true, open: (dir) => LocalFs.open(dir) },
];

const versions = selectedNfsVersions();
if (versions.length > 0) {
  for (const backend of BACKENDS) {
    const runs: NfsRun[] = versions.map((version) => ({
      version,
      restart: backend.restart,
      port: GUEST_PORTS.nfs,
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
      // The guest asks for the restart while it holds handles and an open file.
      const control = controlPort(async (command) => {
        if (command !== "restart") return `unknown command: ${command}`;
        await server.shutdown();
        await fs.close?.();
        fs = await backend.open(dir);
        server = start(port);
        restarts++;
        return "restarted";
      });
      try {
        const run = await runGuest(GUEST_CHECKS, {
          forwards: [[GUEST_PORTS.nfs, port], [
            GUEST_PORTS.control,
            control.port,
          ]],
          env: {
            SUITE: "nfs",
            CTL_PORT: String(GUEST_PORTS.control),
            ...nfsRunsEnv(runs),
          },
          timeout: 300 * runs.length,
          onCheck: printCheck,
        });
        if (run.code !== 0 && serverLog.length > 0) {
          console.log(`server log tail:\n${serverLog.slice(-20).join("\n")}`);
        }
        await reportChecks(t, run, runs.flatMap((r) => nfsChecks(r)));
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
