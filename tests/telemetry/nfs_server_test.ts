import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import { serveNfs } from "../../server/serve.ts";
import { ExportTable } from "../../server/exports.ts";
import { Nfs4Server } from "../../server/nfs4/context.ts";
import { nfs4Gauges } from "../../server/_nfs4_gauges.ts";
import { createLogger } from "../../telemetry/log.ts";
import { MetricsRegistry } from "../../telemetry/metrics.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { sample } from "./_prom.ts";
import {
  bytes,
  client40,
  client41,
  must,
  open41,
} from "../server/nfs4/state/_helpers.ts";

Deno.test("serveNfs logger: listening line, mount commands and mounts at info, with the peer", async () => {
  const lines: string[] = [];
  const plain: string[] = [];
  const server = serveNfs({
    port: 0,
    exports: [{ path: "/data", fs: new MemFs() }],
    log: (m) => plain.push(m),
    logger: createLogger({ format: "json", write: (l) => lines.push(l) }),
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  await client.call(100005, 3, 1, (w) => w.string("/data")); // MNT
  const local = server.connections()[0].remote.port;
  client.close();
  await server.shutdown();
  const events = lines.map((l) => JSON.parse(l));
  assert.equal(
    events[0].msg,
    `Serving NFSv2 + MOUNT v1 + NFSv3 + MOUNT v3 + NFSv4 + portmap on 127.0.0.1:${server.addr.port}`,
  );
  assert.ok(
    events.some((e) =>
      e.export === "/data" && /^Linux: +sudo mount -t nfs -o vers=3/.test(e.msg)
    ),
  );
  const mounted = events.find((e) => e.msg === "Mounted /data");
  assert.ok(mounted, "the mount is logged");
  assert.equal(mounted.level, "info");
  assert.equal(mounted.peer, "127.0.0.1");
  assert.ok(
    events.every((e) => e.level === "info"),
    "nothing above info happened",
  );
  assert.deepEqual(plain, [], "log is not used when a logger is given");
  assert.equal(typeof local, "number");
});

Deno.test("serveNfs logger: onListen replaces the listening line and mount commands, as with Deno.serve", async () => {
  const lines: string[] = [];
  let heard: Deno.NetAddr | undefined;
  const server = serveNfs({
    port: 0,
    exports: [{ path: "/", fs: new MemFs() }],
    logger: createLogger({ write: (l) => lines.push(l) }),
    onListen: (addr) => heard = addr,
  });
  await server.shutdown();
  assert.equal(heard?.port, server.addr.port);
  assert.deepEqual(lines, []);
});

Deno.test("serveNfs metrics: MOUNT and NFS calls by program and procedure", async () => {
  const metrics = new MetricsRegistry();
  const server = serveNfs({
    port: 0,
    quiet: true,
    metrics,
    exports: [{ path: "/", fs: new MemFs() }],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  const mnt = await client.call(100005, 3, 1, (w) => w.string("/"));
  assert.equal(mnt.u32(), 0);
  const root = mnt.opaque(64);
  for (let i = 0; i < 3; i++) {
    await client.call(100003, 3, 1, (w) => w.opaque(root)); // GETATTR
  }
  await client.call(100003, 4, 0, () => {}); // NFSv4 NULL
  client.close();
  await server.shutdown();
  const text = metrics.exposition();
  assert.equal(
    sample(
      text,
      'netfs_rpc_calls_total{program="mountd",version="3",procedure="MNT"}',
    ),
    1,
  );
  assert.equal(
    sample(
      text,
      'netfs_rpc_calls_total{program="nfs",version="3",procedure="GETATTR"}',
    ),
    3,
  );
  assert.equal(
    sample(
      text,
      'netfs_rpc_calls_total{program="nfs",version="4",procedure="NULL"}',
    ),
    1,
  );
  assert.equal(sample(text, 'netfs_rpc_replies_total{status="SUCCESS"}'), 5);
  assert.match(text, /^netfs_nfs4_clients 0$/m, "the NFSv4 gauges are there");
});

Deno.test("nfs4Gauges: clients, sessions, opens and locks read from the state", () => {
  const exports = new ExportTable([{ path: "/", fs: new MemFs() }]);
  const nfs = new Nfs4Server({
    exports,
    now: () => 0,
    graceTime: 0,
    log: () => {},
  });
  const metrics = new MetricsRegistry();
  const stop = nfs4Gauges(metrics, nfs);
  const read = () => {
    const t = metrics.exposition();
    return ["clients", "sessions", "opens", "locks"].map((n) =>
      sample(t, `netfs_nfs4_${n}`)
    );
  };
  assert.deepEqual(read(), [0, 0, 0, 0]);
  client40(nfs.state, "a");
  const b = client41(nfs.state, "b");
  assert.deepEqual(read(), [2, 1, 0, 0]);
  const open = must(open41(nfs.state, b.clientid));
  must(open41(nfs.state, b.clientid, { file: "g" }));
  assert.deepEqual(read(), [2, 1, 2, 0]);
  must(nfs.state.lock({
    minor: 1,
    clientid: b.clientid,
    file: "f",
    write: true,
    offset: 0n,
    length: 10n,
    locker: {
      newOwner: true,
      openStateid: open.stateid,
      owner: { clientid: b.clientid, owner: bytes("lo") },
    },
  }, 0));
  assert.deepEqual(read(), [2, 1, 2, 1]);
  stop();
});
