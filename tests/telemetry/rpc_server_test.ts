import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import { MetricsRegistry } from "../../telemetry/metrics.ts";
import { createLogger } from "../../telemetry/log.ts";
import {
  callRecord,
  RawConn,
  TEST_PROG,
  testProgram,
} from "../rpc/_helpers.ts";
import { sample } from "./_prom.ts";
import { promtool, promtoolCheck } from "./_prom.ts";

const calls = (proc: string) =>
  `netfs_rpc_calls_total{program="test",version="1",procedure="${proc}"}`;
const replies = (status: string) =>
  `netfs_rpc_replies_total{status="${status}"}`;

Deno.test("serveRpc metrics: calls, latency, replies by status and connections equal what was sent", async () => {
  const metrics = new MetricsRegistry();
  const server = serveRpc({
    port: 0,
    log: () => {},
    metrics,
    programs: [testProgram()],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  for (let i = 0; i < 5; i++) await client.call(TEST_PROG, 1, 0, () => {});
  await client.call(TEST_PROG, 1, 1, (w) => w.opaque(new Uint8Array(100)));
  await assert.rejects(client.call(TEST_PROG, 1, 3, () => {})); // BOOM: SYSTEM_ERR
  await assert.rejects(client.call(TEST_PROG, 1, 77, () => {})); // PROC_UNAVAIL
  await assert.rejects(client.call(TEST_PROG, 9, 0, () => {})); // PROG_MISMATCH
  await assert.rejects(client.call(0x20000999, 1, 0, () => {})); // PROG_UNAVAIL
  await assert.rejects(client.call(TEST_PROG, 1, 1, (w) => w.u32(9))); // GARBAGE_ARGS
  let text = metrics.exposition();
  assert.equal(sample(text, calls("NULL")), 5);
  assert.equal(
    sample(text, calls("ECHO")),
    2,
    "a call with garbage arguments reached ECHO",
  );
  assert.equal(sample(text, calls("BOOM")), 1);
  assert.equal(
    sample(
      text,
      `netfs_rpc_call_duration_seconds_count{program="test",version="1",procedure="NULL"}`,
    ),
    5,
  );
  assert.equal(sample(text, replies("SUCCESS")), 6);
  for (
    const s of [
      "SYSTEM_ERR",
      "PROC_UNAVAIL",
      "PROG_MISMATCH",
      "PROG_UNAVAIL",
      "GARBAGE_ARGS",
    ]
  ) {
    assert.equal(sample(text, replies(s)), 1, s);
  }
  assert.equal(sample(text, "netfs_rpc_connections_open"), 1);
  assert.equal(sample(text, "netfs_rpc_connections_total"), 1);
  const [live] = server.connections();
  assert.equal(
    sample(text, "netfs_rpc_received_bytes_total"),
    live.bytesIn,
    "live bytes are read when asked",
  );
  assert.equal(sample(text, "netfs_rpc_sent_bytes_total"), live.bytesOut);
  client.close();
  await server.shutdown();
  text = metrics.exposition();
  assert.equal(sample(text, "netfs_rpc_connections_open"), 0);
  assert.equal(
    sample(text, "netfs_rpc_received_bytes_total"),
    live.bytesIn,
    "nothing counted twice",
  );
  const tool = await promtool();
  assert.ok(tool, "promtool is installed");
  assert.equal(await promtoolCheck(tool, text), "");
});

Deno.test("serveRpc metrics: bad RPC versions and credentials are counted as rejects", async () => {
  const metrics = new MetricsRegistry();
  const server = serveRpc({
    port: 0,
    log: () => {},
    metrics,
    programs: [testProgram()],
  });
  const raw = await RawConn.open(server.addr);
  const rec = callRecord({ xid: 1 });
  new DataView(rec.buffer).setUint32(12, 3); // rpcvers 3
  await raw.send(rec);
  await raw.next();
  await raw.send(
    callRecord({ xid: 2, cred: { flavor: 3, body: new Uint8Array(0) } }),
  );
  await raw.next();
  const text = metrics.exposition();
  assert.equal(sample(text, replies("RPC_MISMATCH")), 1);
  assert.equal(sample(text, replies("AUTH_ERROR")), 1);
  raw.close();
  await server.shutdown();
});

Deno.test("serveRpc logger: connection events carry the id and peer; log is not used", async () => {
  const lines: string[] = [];
  const plain: string[] = [];
  const server = serveRpc({
    port: 0,
    programs: [testProgram()],
    log: (m) => plain.push(m),
    logger: createLogger({
      level: "debug",
      format: "json",
      write: (l) => lines.push(l),
    }),
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  await assert.rejects(client.call(TEST_PROG, 1, 3, () => {}));
  const [conn] = server.connections();
  client.close();
  await server.shutdown();
  const events = lines.map((l) => JSON.parse(l));
  const peer = `127.0.0.1:${conn.remote.port}`;
  assert.deepEqual(
    events.map((e) => [e.level, e.msg.split(":")[0], e.conn, e.peer]),
    [
      ["debug", "Connection opened", conn.id, peer],
      ["error", "test v1 BOOM failed, answering SYSTEM_ERR", conn.id, peer],
      ["debug", "Connection closed", conn.id, peer],
    ],
  );
  assert.deepEqual(
    plain,
    [],
    "the plain log function hears nothing when a logger is given",
  );
});

Deno.test("serveRpc log: the plain function still gets the lines it always got, and no connection events", async () => {
  const plain: string[] = [];
  const server = serveRpc({
    port: 0,
    programs: [testProgram()],
    log: (m) => plain.push(m),
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  await assert.rejects(client.call(TEST_PROG, 1, 3, () => {}));
  client.close();
  await server.shutdown();
  assert.equal(plain.length, 1);
  assert.match(
    plain[0],
    /^test v1 BOOM failed, answering SYSTEM_ERR: Error: Intentional failure/,
  );
});

Deno.test("serveRpc logger: a client streaming non-call records gets 20 warnings a second, not one per record", async () => {
  const lines: string[] = [];
  const server = serveRpc({
    port: 0,
    programs: [testProgram()],
    logger: createLogger({ format: "json", write: (l) => lines.push(l) }),
  });
  const raw = await RawConn.open(server.addr);
  try {
    // 200 eight-byte REPLY records (xid, msg_type 1), each one a warning,
    // then a NULL call: its reply comes once all 200 were read.
    const records = new Uint8Array(200 * 12);
    const view = new DataView(records.buffer);
    for (let i = 0; i < 200; i++) {
      view.setUint32(i * 12, 0x80000008);
      view.setUint32(i * 12 + 4, i);
      view.setUint32(i * 12 + 8, 1);
    }
    await raw.send(records);
    await raw.send(callRecord({ xid: 1000 }));
    assert.notEqual(await raw.next(), null, "the NULL call is answered");
  } finally {
    raw.close();
    await server.shutdown();
  }
  const warned = lines.map((l) => JSON.parse(l)).filter((e) =>
    /not a call/.test(e.msg)
  );
  assert.equal(warned.length, 20, "at most 20 a second per connection");
});
