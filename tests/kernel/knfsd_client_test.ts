/**
 * netfs's NFS client proven against the reference NFSv3 server: one boot of
 * the `knfsd` image starts the Linux kernel's own NFS server (NFSv3 on, MOUNT
 * on a fixed port) over a tmpfs, and `run_guest.sh --expose` gives the test
 * process a way to its ports on 127.0.0.1. The client in this process then
 * goes through every MOUNT v3 and NFSv3 procedure, moves a 64 MiB file in and
 * out, lists a 10,000-entry directory the guest made, and meets NOENT, ACCES
 * (as another uid), NOTDIR, EXIST and NOTEMPTY from a server that is not ours.
 *
 * The guest (guest_checks.sh, SUITE=knfsd-peer) says "ready" on the control
 * port once knfsd serves, then asks "done?" until the host answers "done"
 * rather than "wait". The client's checks are this test's steps; the guest's
 * are reported after them.
 *
 * `NETFS_SKIP_KNFSD=1` skips it, as it does knfsd_test.ts.
 */

import assert from "node:assert/strict";
import { NfsError } from "../../client/errors.ts";
import { MountClient } from "../../client/mount.ts";
import { Nfs3Client } from "../../client/nfs3.ts";
import { NfsClient } from "../../client/nfs_client.ts";
import { Access3, CreateMode, Ftype3, StableHow } from "../../proto/nfs3.ts";
import type { AuthSysParms } from "../../rpc/program.ts";
import { freePort } from "../_net.ts";
import { randomBytes, sha256 } from "../client/_data.ts";
import {
  controlPort,
  GUEST_CHECKS,
  type GuestRun,
  kernelSkipReason,
  printCheck,
  reportChecks,
  runGuest,
} from "./_harness.ts";
import { GUEST_PORTS } from "./_suites.ts";

/** rpc.mountd's port in the guest (its usual one). */
const MOUNTD_PORT = 20048;
const DIR_ENTRIES = 10_000;
const MiB = 1024 * 1024;

const skip = kernelSkipReason() ??
  (Deno.env.get("NETFS_SKIP_KNFSD") ? "NETFS_SKIP_KNFSD is set" : undefined);
if (skip) console.log(`kernel knfsd client test skipped: ${skip}`);

function sys(uid: number): AuthSysParms {
  return { stamp: 1, machineName: "netfs-test", uid, gid: uid, gids: [] };
}

/** Where the test process reaches the guest's knfsd. */
interface Peer {
  nfsPort: number;
  mountPort: number;
  url(uid: number): string;
}

async function mountProcedures(p: Peer): Promise<void> {
  const m = await MountClient.connect({
    hostname: "127.0.0.1",
    port: p.mountPort,
    auth: sys(0),
  });
  try {
    await m.null();
    assert.ok((await m.export()).some((e) => e.dir === "/srv"), "EXPORT");
    const { handle, flavors } = await m.mnt("/srv");
    assert.ok(handle.byteLength > 0 && handle.byteLength <= 64);
    assert.ok(flavors.includes(1), "AUTH_SYS accepted");
    assert.ok((await m.dump()).some((e) => e.directory === "/srv"), "DUMP");
    await m.umnt("/srv");
    await m.umntall();
    await assert.rejects(
      m.mnt("/nowhere"),
      (e) => e instanceof NfsError && e.program === "MOUNT",
    );
  } finally {
    m.close();
    await m.rpc.closed;
  }
}

/** Every NFSv3 procedure once, each result checked. */
async function nfsProcedures(p: Peer): Promise<void> {
  const m = await MountClient.connect({
    hostname: "127.0.0.1",
    port: p.mountPort,
    auth: sys(0),
  });
  const root = (await m.mnt("/srv")).handle;
  const nfs = await Nfs3Client.connect({
    hostname: "127.0.0.1",
    port: p.nfsPort,
    auth: sys(0),
  });
  try {
    await nfs.null();
    const info = await nfs.fsinfo(root);
    assert.ok(info.rtmax >= 8192 && info.wtmax >= 8192, "FSINFO sizes");
    const st = await nfs.fsstat(root);
    assert.ok(st.tbytes >= st.fbytes && st.fbytes >= st.abytes, "FSSTAT");
    assert.equal((await nfs.pathconf(root)).nameMax, 255, "PATHCONF");
    assert.equal((await nfs.getattr(root)).type, Ftype3.DIR, "GETATTR");

    const d = (await nfs.mkdir({
      dir: root,
      name: "procs",
      attrs: { mode: 0o755 },
    })).object!;
    const f = (await nfs.create({
      dir: d,
      name: "f",
      mode: CreateMode.GUARDED,
      attrs: { mode: 0o644 },
    })).object!;
    const data = new TextEncoder().encode("hello knfsd");
    const w = await nfs.write({
      file: f,
      offset: 0,
      count: data.byteLength,
      stable: StableHow.UNSTABLE,
      data,
    });
    assert.equal(w.count, data.byteLength, "WRITE count");
    const c = await nfs.commit({ file: f, offset: 0, count: 0 });
    assert.deepEqual(c.verf, w.verf, "COMMIT's verifier is WRITE's");
    const r = await nfs.read({ file: f, offset: 6, count: 100 });
    assert.equal(new TextDecoder().decode(r.data), "knfsd");
    assert.equal(r.eof, true, "READ to the end");
    const set = await nfs.setattr({
      object: f,
      attrs: { mode: 0o600, size: 5 },
    });
    assert.equal(set.after?.mode, 0o600, "SETATTR mode");
    assert.equal(set.after?.size, 5, "SETATTR size");
    const acc = await nfs.access({
      object: f,
      access: Access3.READ | Access3.MODIFY,
    });
    assert.equal(acc.access, Access3.READ | Access3.MODIFY, "ACCESS as root");
    assert.deepEqual((await nfs.lookup({ dir: d, name: "f" })).object, f);

    await nfs.symlink({ dir: d, name: "l", target: "f", attrs: {} });
    const l = (await nfs.lookup({ dir: d, name: "l" })).object;
    assert.equal((await nfs.readlink(l)).target, "f", "READLINK");
    const fifo = await nfs.mknod({
      dir: d,
      name: "p",
      type: Ftype3.FIFO,
      attrs: { mode: 0o644 },
    });
    assert.equal(fifo.attrs?.type, Ftype3.FIFO, "MKNOD a FIFO");
    const linked = await nfs.link({ file: f, dir: d, name: "f2" });
    assert.equal(linked.attrs?.nlink, 2, "LINK");
    await nfs.rename({ fromDir: d, fromName: "f2", toDir: d, toName: "f3" });

    const want = ["f", "f3", "l", "p"];
    const plain = await nfs.readdir({
      dir: d,
      cookie: 0n,
      cookieverf: new Uint8Array(8),
      count: 8192,
    });
    assert.equal(plain.eof, true);
    assert.deepEqual(
      plain.entries.map((e) => e.name).filter((n) => !n.startsWith(".")).sort(),
      want,
      "READDIR",
    );
    const plus = await nfs.readdirplus({
      dir: d,
      cookie: 0n,
      cookieverf: new Uint8Array(8),
      dircount: 8192,
      maxcount: 65536,
    });
    const named = plus.entries.filter((e) => !e.name.startsWith("."));
    assert.deepEqual(named.map((e) => e.name).sort(), want, "READDIRPLUS");
    assert.ok(named.every((e) => e.attrs && e.handle), "with attrs, handles");

    for (const name of ["f3", "l", "p", "f"]) {
      await nfs.remove({ dir: d, name });
    }
    await nfs.rmdir({ dir: root, name: "procs" });
    await assert.rejects(
      nfs.lookup({ dir: root, name: "procs" }, { path: "/procs" }),
      (e) => e instanceof NfsError && e.statusName === "NFS3ERR_NOENT",
    );
  } finally {
    nfs.close();
    m.close();
    await Promise.all([nfs.rpc.closed, m.rpc.closed]);
  }
}

async function bigFile(p: Peer): Promise<void> {
  await using nfs = await NfsClient.connect(p.url(0));
  assert.equal(nfs.info.version, 3);
  const data = randomBytes(64 * MiB);
  const want = await sha256(data);
  const t0 = performance.now();
  await nfs.writeFile("/big.bin", data);
  const t1 = performance.now();
  assert.equal((await nfs.stat("/big.bin")).size, 64 * MiB);
  assert.equal(await sha256(await nfs.readFile("/big.bin")), want);
  const t2 = performance.now();
  console.log(
    `  64 MiB written in ${((t1 - t0) / 1000).toFixed(1)} s, read in ${
      ((t2 - t1) / 1000).toFixed(1)
    } s (rsize ${nfs.info.rsize}, wsize ${nfs.info.wsize})`,
  );
  await nfs.remove("/big.bin");
}

async function bigDirectory(p: Peer): Promise<void> {
  await using nfs = await NfsClient.connect(p.url(0));
  const seen = new Set<string>();
  let count = 0;
  for await (const e of nfs.readDir("/many")) {
    count++;
    seen.add(e.name);
    assert.equal(e.isFile, true, e.name);
  }
  assert.equal(count, DIR_ENTRIES, "no entry twice");
  assert.equal(seen.size, DIR_ENTRIES);
  const last = `entry-${DIR_ENTRIES}`;
  assert.ok(seen.has(`entry-${"1".padStart(last.length - 6, "0")}`));
  assert.ok(seen.has(last));
}

function status(name: string, Class?: new (...a: never[]) => Error) {
  return (e: unknown) =>
    e instanceof NfsError && e.statusName === name &&
    (Class === undefined || e instanceof Class);
}

async function errors(p: Peer): Promise<void> {
  await using nfs = await NfsClient.connect(p.url(0));
  await using other = await NfsClient.connect(p.url(1000));
  await nfs.mkdir("/e/full", { recursive: true });
  await nfs.writeTextFile("/e/file", "x");
  await nfs.mkdir("/e/private", { mode: 0o700 });
  await assert.rejects(
    nfs.stat("/e/missing"),
    status("NFS3ERR_NOENT", Deno.errors.NotFound),
  );
  await assert.rejects(
    other.writeTextFile("/e/private/f", "x"),
    status("NFS3ERR_ACCES", Deno.errors.PermissionDenied),
  );
  await assert.rejects(
    nfs.stat("/e/file/x"),
    status("NFS3ERR_NOTDIR", Deno.errors.NotADirectory),
  );
  await assert.rejects(
    nfs.mkdir("/e/full"),
    status("NFS3ERR_EXIST", Deno.errors.AlreadyExists),
  );
  await assert.rejects(
    nfs.writeTextFile("/e/file", "y", { createNew: true }),
    status("NFS3ERR_EXIST", Deno.errors.AlreadyExists),
  );
  await assert.rejects(nfs.remove("/e"), status("NFS3ERR_NOTEMPTY"));
  await nfs.remove("/e", { recursive: true });
}

Deno.test({
  name: "kernel knfsd peer: netfs's NFSv3 client against the kernel's server",
  ignore: skip !== undefined,
}, async (t) => {
  const peer: Peer = {
    nfsPort: freePort(),
    mountPort: freePort(),
    url(uid) {
      return `nfs://127.0.0.1:${this.nfsPort}/srv?mountport=${this.mountPort}&uid=${uid}&gid=${uid}`;
    },
  };
  let ready!: () => void;
  const guestReady = new Promise<void>((r) => ready = r);
  let done = false;
  const control = controlPort((command) => {
    switch (command) {
      case "ready":
        ready();
        return Promise.resolve("ok");
      case "done?":
        return Promise.resolve(done ? "done" : "wait");
      default:
        return Promise.resolve(`unknown command: ${command}`);
    }
  });
  const running = runGuest(GUEST_CHECKS, {
    image: "knfsd",
    forwards: [[GUEST_PORTS.control, control.port]],
    exposes: [[2049, peer.nfsPort], [MOUNTD_PORT, peer.mountPort]],
    env: {
      SUITE: "knfsd-peer",
      KNFSD_V3: "1",
      KNFSD_MOUNTD_PORT: String(MOUNTD_PORT),
      CTL_PORT: String(GUEST_PORTS.control),
      DIR_ENTRIES: String(DIR_ENTRIES),
    },
    timeout: 240,
    onCheck: printCheck,
  });
  let run: GuestRun;
  try {
    const first = await Promise.race([
      guestReady.then(() => "ready"),
      running.then(() => "ended"),
    ]);
    await t.step("knfsd serves", () => {
      assert.equal(first, "ready", "the guest ended before knfsd served");
    });
    if (first === "ready") {
      await t.step("MOUNT v3: every procedure", () => mountProcedures(peer));
      await t.step("NFSv3: every procedure", () => nfsProcedures(peer));
      await t.step(
        "a 64 MiB file in and out with equal checksums",
        () => bigFile(peer),
      );
      await t.step(
        `a ${DIR_ENTRIES}-entry directory listed with each name once`,
        () => bigDirectory(peer),
      );
      await t.step(
        "NOENT, ACCES as another uid, NOTDIR, EXIST and NOTEMPTY",
        () => errors(peer),
      );
    }
  } finally {
    done = true;
    run = await running;
    await control.close();
  }
  await reportChecks(t, run, ["knfsd-start", "knfsd-many", "host-client"]);
});
