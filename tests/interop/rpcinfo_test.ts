// Interop with Debian's rpcinfo (package rpcbind) as a third-party client of
// our RPC server and portmapper.
//
// `rpcinfo -n PORT -t HOST PROG VERS` first connects to rpcbind on HOST:111,
// and rpcinfo 1.2.6 (Debian 13) then makes the call on port 111 too: strace
// shows it never connects to PORT. So the -n pings, like -p/-s/-m, need our
// server on port 111. To own port 111 without racing anything else on the
// machine, those checks run in a private network namespace (`unshare -n`,
// needs root): this file, started with `deno run … --netns-child`, serves our
// portmapper and a test program on 127.0.0.1 port 111, runs rpcinfo, and
// prints the transcripts as JSON for the test to assert on. The `-a
// universal-address` checks reach any port and run in the test's own
// namespace on an ephemeral port.
import assert from "node:assert/strict";
import { PortmapClient } from "../../client/portmap.ts";
import { formatUniversalAddress, PMAP_PROG } from "../../proto/portmap.ts";
import type { RpcProgram } from "../../rpc/program.ts";
import { type RpcServer, serveRpc } from "../../rpc/server.ts";
import { portmapPrograms } from "../../server/portmap.ts";
import { serveNfs } from "../../server/serve.ts";
import { MemFs } from "../../vfs/memfs.ts";

const TEST_PROG = 0x20000101;

function program(version: number): RpcProgram {
  return {
    program: TEST_PROG,
    version,
    name: "test",
    procedures: { 0: { name: "NULL", run: () => {} } },
  };
}

function serveWithPortmap(port: number, versions: number[]): RpcServer {
  const server = serveRpc({
    port,
    log: () => {},
    programs: versions.map(program),
  });
  for (const p of portmapPrograms(server)) server.register(p);
  return server;
}

interface Transcript {
  args: string[];
  code: number;
  out: string;
}

async function rpcinfo(...args: string[]): Promise<Transcript> {
  const o = await new Deno.Command("rpcinfo", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    args,
    code: o.code,
    out: dec.decode(o.stdout) + dec.decode(o.stderr),
  };
}

/** The part that runs inside the private network namespace. */
async function netnsChild(): Promise<void> {
  const on111 = serveWithPortmap(111, [1, 2]);
  const results: Transcript[] = [];
  try {
    for (const v of ["2", "3", "4"]) {
      results.push(await rpcinfo("-n", "111", "-t", "127.0.0.1", "100000", v));
    }
    for (const v of ["1", "2", "3"]) {
      results.push(
        await rpcinfo("-n", "111", "-t", "127.0.0.1", String(TEST_PROG), v),
      );
    }
    results.push(await rpcinfo("-p", "127.0.0.1"));
    results.push(await rpcinfo("-s", "127.0.0.1"));
    results.push(await rpcinfo("-T", "tcp", "127.0.0.1", "100000", "4"));
    results.push(await rpcinfo("-t", "127.0.0.1", String(TEST_PROG)));
    results.push(await rpcinfo("-l", "127.0.0.1", String(TEST_PROG), "2"));
    results.push(await rpcinfo("-m", "127.0.0.1"));
  } finally {
    await on111.shutdown();
  }
  console.log(JSON.stringify(results));
}

if (import.meta.main && Deno.args[0] === "--netns-child") {
  await netnsChild();
}

function find(all: Transcript[], ...args: string[]): Transcript {
  const t = all.find((x) => x.args.join(" ") === args.join(" "));
  assert.ok(t, `no transcript for rpcinfo ${args.join(" ")}`);
  return t;
}

Deno.test({
  name:
    "rpcinfo: -n pings portmap v2, v3, v4 and a program; -p, -s, -l, -m read it (port 111 in a private netns)",
  // A private network namespace with port 111 needs root (CI runs as root).
  ignore: Deno.uid() !== 0,
}, async () => {
  const self = new URL(import.meta.url).pathname;
  const out = await new Deno.Command("unshare", {
    args: [
      "-n",
      "sh",
      "-c",
      'ip link set lo up && exec "$0" run --allow-net=127.0.0.1 --allow-run=rpcinfo --allow-sys=uid "$1" --netns-child',
      Deno.execPath(),
      self,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const all = JSON.parse(stdout.trim().split("\n").at(-1)!) as Transcript[];
  const where = (t: Transcript) => `rpcinfo ${t.args.join(" ")}:\n${t.out}`;

  for (const v of ["2", "3", "4"]) {
    const t = find(all, "-n", "111", "-t", "127.0.0.1", "100000", v);
    assert.equal(t.code, 0, where(t));
    assert.match(
      t.out,
      new RegExp(`^program 100000 version ${v} ready and waiting$`, "m"),
    );
  }
  for (const v of ["1", "2"]) {
    const t = find(all, "-n", "111", "-t", "127.0.0.1", String(TEST_PROG), v);
    assert.equal(t.code, 0, where(t));
    assert.match(t.out, new RegExp(`version ${v} ready and waiting`));
  }
  let t = find(all, "-n", "111", "-t", "127.0.0.1", String(TEST_PROG), "3");
  assert.notEqual(t.code, 0, where(t));
  assert.match(t.out, /low version = 1, high version = 2/, where(t));

  // -p reads our version 2 DUMP through port 111.
  t = find(all, "-p", "127.0.0.1");
  assert.equal(t.code, 0, where(t));
  for (const v of [2, 3, 4]) {
    assert.match(
      t.out,
      new RegExp(`100000\\s+${v}\\s+tcp\\s+111\\s+portmapper`),
      where(t),
    );
  }
  for (const v of [1, 2]) {
    assert.match(
      t.out,
      new RegExp(`${TEST_PROG}\\s+${v}\\s+tcp\\s+111`),
      where(t),
    );
  }
  // -s reads the rpcbind DUMP with netids and owners.
  t = find(all, "-s", "127.0.0.1");
  assert.equal(t.code, 0, where(t));
  assert.match(
    t.out,
    /100000\s+4,3,2\s+tcp\s+portmapper\s+superuser/,
    where(t),
  );
  assert.match(t.out, new RegExp(`${TEST_PROG}\\s+2,1\\s+tcp`), where(t));
  // rpcbind GETADDR through port 111, then the call.
  t = find(all, "-T", "tcp", "127.0.0.1", "100000", "4");
  assert.equal(t.code, 0, where(t));
  assert.match(t.out, /program 100000 version 4 ready and waiting/);
  t = find(all, "-t", "127.0.0.1", String(TEST_PROG));
  assert.equal(t.code, 0, where(t));
  assert.match(
    t.out,
    /version 1 ready and waiting\n.*version 2 ready and waiting/,
  );
  // GETADDRLIST.
  t = find(all, "-l", "127.0.0.1", String(TEST_PROG), "2");
  assert.equal(t.code, 0, where(t));
  assert.match(t.out, /inet\/tcp\/cots_ord\s+127\.0\.0\.1\.0\.111/, where(t));
  // GETSTAT.
  t = find(all, "-m", "127.0.0.1");
  assert.equal(t.code, 0, where(t));
  assert.match(t.out, /PORTMAP \(version 2\) statistics/, where(t));
  assert.match(t.out, /RPCBIND \(version 4\) statistics/, where(t));
});

Deno.test("rpcinfo: -a universal address pings every version and reports mismatches", async () => {
  const server = serveWithPortmap(0, [2, 5]);
  const uaddr = formatUniversalAddress(server.addr);
  try {
    for (const v of ["2", "3", "4"]) {
      const t = await rpcinfo("-a", uaddr, "-T", "tcp", "100000", v);
      assert.equal(t.code, 0, t.out);
      assert.equal(
        t.out.trim(),
        `program 100000 version ${v} ready and waiting`,
      );
    }
    let t = await rpcinfo("-a", uaddr, "-T", "tcp", String(TEST_PROG), "5");
    assert.equal(t.code, 0, t.out);
    t = await rpcinfo("-a", uaddr, "-T", "tcp", String(TEST_PROG), "3");
    assert.notEqual(t.code, 0);
    assert.match(
      t.out,
      /Program\/version mismatch; low version = 2, high version = 5/,
    );
    t = await rpcinfo("-a", uaddr, "-T", "tcp", "100005", "3");
    assert.notEqual(t.code, 0);
    assert.match(t.out, /Program unavailable/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("rpcinfo: IPv6 universal address", async () => {
  const server = serveRpc({
    hostname: "::1",
    port: 0,
    log: () => {},
    programs: [],
  });
  for (const p of portmapPrograms(server)) server.register(p);
  try {
    const uaddr = formatUniversalAddress(server.addr);
    const t = await rpcinfo("-a", uaddr, "-T", "tcp6", "100000", "4");
    assert.equal(t.code, 0, t.out);
    assert.match(t.out, /program 100000 version 4 ready and waiting/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("portmap client reads DUMP from our portmapper", async () => {
  const server = serveWithPortmap(0, [1, 2]);
  const pm = await PortmapClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    const dump = await pm.dump();
    const port = server.addr.port;
    assert.deepEqual(
      dump.map((m) => `${m.program}/${m.version}/${m.protocol}/${m.port}`)
        .sort(),
      [
        `${PMAP_PROG}/2/6/${port}`,
        `${PMAP_PROG}/3/6/${port}`,
        `${PMAP_PROG}/4/6/${port}`,
        `${TEST_PROG}/1/6/${port}`,
        `${TEST_PROG}/2/6/${port}`,
      ].sort(),
    );
  } finally {
    pm.close();
    await pm.rpc.closed;
    await server.shutdown();
  }
});

/**
 * Runs `fn` against serveNfs serving `versions` (default: all), with the
 * server's universal address and the program versions its portmapper lists.
 */
async function withServeNfs(
  versions: (2 | 3 | 4)[] | undefined,
  fn: (
    uaddr: string,
    listed: (program: number) => number[],
  ) => Promise<void>,
): Promise<void> {
  const server = serveNfs({
    port: 0,
    quiet: true,
    versions,
    exports: [{ path: "/", fs: new MemFs() }],
  });
  const port = server.addr.port;
  const pm = await PortmapClient.connect({ hostname: "127.0.0.1", port });
  try {
    const dump = await pm.dump();
    await fn(
      formatUniversalAddress(server.addr),
      (program) =>
        dump.filter((m) => m.program === program && m.port === port)
          .map((m) => m.version).sort(),
    );
  } finally {
    pm.close();
    await pm.rpc.closed;
    await server.shutdown();
  }
}

Deno.test("rpcinfo: serveNfs registers NFS 2, 3 and 4 and MOUNT 1 and 3; rpcinfo pings each", async () => {
  await withServeNfs(undefined, async (uaddr, listed) => {
    assert.deepEqual(listed(100003), [2, 3, 4]);
    assert.deepEqual(listed(100005), [1, 3]);
    for (
      const [prog, v] of [
        ["100003", "2"],
        ["100003", "3"],
        ["100003", "4"],
        ["100005", "1"],
        ["100005", "3"],
      ]
    ) {
      const t = await rpcinfo("-a", uaddr, "-T", "tcp", prog, v);
      assert.equal(t.code, 0, t.out);
      assert.equal(
        t.out.trim(),
        `program ${prog} version ${v} ready and waiting`,
      );
    }
    const t = await rpcinfo("-a", uaddr, "-T", "tcp", "100003", "5");
    assert.notEqual(t.code, 0);
    assert.match(t.out, /low version = 2, high version = 4/);
  });
});

Deno.test("rpcinfo: serveNfs with versions [3, 4] leaves NFSv2 and MOUNT v1 out", async () => {
  await withServeNfs([3, 4], async (uaddr, listed) => {
    assert.deepEqual(listed(100003), [3, 4]);
    assert.deepEqual(listed(100005), [3]);
    let t = await rpcinfo("-a", uaddr, "-T", "tcp", "100003", "2");
    assert.notEqual(t.code, 0);
    assert.match(t.out, /low version = 3, high version = 4/);
    t = await rpcinfo("-a", uaddr, "-T", "tcp", "100005", "1");
    assert.notEqual(t.code, 0);
    assert.match(t.out, /low version = 3, high version = 3/);
  });
});
