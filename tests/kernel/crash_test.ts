/**
 * Crash durability through the kernel's own clients (issue 15): one guest
 * boot, the servers as subprocesses of this test (tests/durability's
 * `_server_child.ts`) so they can be killed with SIGKILL, each killed and
 * started again on the same port twice while the guest writes:
 *
 * - NFSv3 and NFSv4.1 over LocalFs (its FileId journal keeps the handles;
 *   NFSv4's clients in a FileStableStorage, so the client reclaims its open
 *   file in the new server's grace period): a 256 MiB `dd` on a hard mount
 *   with a short timeo; the client resends what the old server had not
 *   committed (the write verifier changes), `sync` succeeds, the md5 read
 *   back after dropping the caches and the file on the host's disk match.
 * - NBD over FileDevice: ext4 on /dev/nbd0, a file and small fsynced files
 *   written while the server is killed; the guest's client (nbdpersist.c)
 *   configures the device with a dead-connection timeout and reconnects, so
 *   the kernel holds the I/O instead of failing it; the data reads back and
 *   `e2fsck -fn` is clean.
 *
 * The guest asks for each kill on the control port ("kill nfs", "kill nbd")
 * at fixed amounts of data sent (crash_checks.sh). `NETFS_SKIP_KERNEL=1`
 * skips it with the rest of the kernel suite.
 */

import assert from "node:assert/strict";
import { type Child, startChild } from "../durability/_child.ts";
import {
  controlPort,
  GUEST_CHECKS,
  helperBinary,
  kernelSkipReason,
  printCheck,
  reportChecks,
  runGuest,
} from "./_harness.ts";
import { GUEST_PORTS } from "./_suites.ts";

const CRASH_MB = 256;
const NBD_MB = 96;
const KILLS = 2;
const NBD_SIZE = 512 << 20;
/** Mount options: hard, and a 1 s timeo so that retries come fast. */
const HARD = `proto=tcp,port=${GUEST_PORTS.nfs},hard,timeo=10,retrans=3`;
const NFS_RUNS = [
  {
    name: "nfs3",
    opts: `vers=3,${HARD},mountport=${GUEST_PORTS.nfs},mountproto=tcp,nolock`,
  },
  { name: "nfs4.1", opts: `vers=4.1,${HARD}` },
];

const skip = kernelSkipReason();
if (skip) console.log(`kernel crash test skipped: ${skip}`);

function checkNames(): string[] {
  const nfs = NFS_RUNS.flatMap(({ name }) =>
    [
      "mount",
      `dd-${CRASH_MB}MiB-server-killed-${KILLS}x`,
      "sync",
      "md5-after-drop-caches",
      "umount",
      "kernel-log-clean",
    ].map((c) => `${name}/${c}`)
  );
  const nbd = [
    "connect",
    "mkfs-ext4",
    "mount",
    `write-load-server-killed-${KILLS}x`,
    "sync",
    "verify-after-drop-caches",
    "umount",
    "e2fsck-clean",
    "disconnect",
    "kernel-log-clean",
  ].map((c) => `nbd/${c}`);
  return [...nfs, ...nbd];
}

/** A server subprocess that can be killed and started again on its port. */
class Restartable {
  #child: Child | undefined;
  #args: string[];
  kills = 0;

  constructor(args: string[]) {
    this.#args = args;
  }

  get port(): number {
    return this.#child!.port;
  }

  async start(): Promise<void> {
    this.#child = await startChild(
      this.#child ? [...this.#args, `--port=${this.#child.port}`] : this.#args,
    );
  }

  /** SIGKILL, then the same server on the same port; the time it took. */
  async killAndStart(): Promise<number> {
    const t0 = performance.now();
    await this.#child!.kill9();
    this.kills++;
    await this.start();
    return performance.now() - t0;
  }

  async stop(): Promise<void> {
    await this.#child?.kill9().catch(() => {});
  }
}

/** md5 of a file, or of what the fsx helper's `pattern SEED SIZE` prints. */
async function md5(shell: string): Promise<string> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `${shell} | md5sum`],
    stdout: "piped",
  }).output();
  assert.ok(out.success, shell);
  return new TextDecoder().decode(out.stdout).split(" ")[0];
}

Deno.test({
  name:
    `kernel crash: NFSv3, NFSv4.1 and NBD servers killed with SIGKILL ${KILLS}x each under a write load`,
  ignore: skip !== undefined,
}, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "netfs-kcrash-" });
  await Deno.chmod(dir, 0o755);
  const state = await Deno.makeTempDir({ prefix: "netfs-kcrash-state-" });
  const nfs = new Restartable([
    "nfs",
    dir,
    "native",
    `--nfs4-state=${state}/nfs4-clients`,
  ]);
  const nbd = new Restartable(["nbd", `${state}/disk.img`, String(NBD_SIZE)]);
  const restarts: string[] = [];
  try {
    await Promise.all([nfs.start(), nbd.start()]);
    const control = controlPort(async (command) => {
      const server = command === "kill nfs"
        ? nfs
        : command === "kill nbd"
        ? nbd
        : undefined;
      if (server === undefined) return `unknown command: ${command}`;
      const ms = await server.killAndStart();
      restarts.push(`${command.slice(5)} ${ms.toFixed(0)} ms`);
      return `restarted ${(ms / 1000).toFixed(1)}s`;
    });
    const t0 = performance.now();
    let run;
    try {
      run = await runGuest(GUEST_CHECKS, {
        forwards: [
          [GUEST_PORTS.nfs, nfs.port],
          [GUEST_PORTS.nbd, nbd.port],
          [GUEST_PORTS.control, control.port],
        ],
        env: {
          SUITE: "crash",
          CTL_PORT: String(GUEST_PORTS.control),
          CRASH_MB: String(CRASH_MB),
          CRASH_KILLS: String(KILLS),
          CRASH_RUNS: String(NFS_RUNS.length),
          ...Object.fromEntries(NFS_RUNS.flatMap((r, i) => [
            [`CRASH_NAME_${i + 1}`, r.name],
            [`CRASH_OPTS_${i + 1}`, r.opts],
          ])),
          NBD_PORT: String(GUEST_PORTS.nbd),
          NBD_EXPORT: "disk",
          NBD_MB: String(NBD_MB),
        },
        timeout: 400,
        onCheck: printCheck,
      });
    } finally {
      await control.close();
    }
    console.log(
      `  guest run ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s; restarts: ${restarts.join(", ")}`,
    );
    await reportChecks(t, run, checkNames());
    await t.step(`each server was killed ${KILLS}x per run`, () => {
      assert.equal(nfs.kills, KILLS * NFS_RUNS.length);
      assert.equal(nbd.kills, KILLS);
    });
    await t.step(
      "the files on the host's disk hold what dd wrote",
      async () => {
        const fsx = await helperBinary("fsx");
        const want = await md5(`'${fsx}' pattern 7 ${CRASH_MB << 20}`);
        for (const { name } of NFS_RUNS) {
          assert.equal(
            await md5(`cat '${dir}/${name}/crash.bin'`),
            want,
            `${name}/crash.bin`,
          );
        }
      },
    );
  } finally {
    await Promise.all([nfs.stop(), nbd.stop()]);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(state, { recursive: true });
  }
});
