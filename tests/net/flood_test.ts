// 10,000 connections that stay idle or stop halfway through a request,
// against the RPC and the NBD server: the connection limit closes what is
// over it at once, the idle timeout closes the rest, and a client that was
// already connected and busy keeps being answered throughout. Loopback
// only; the connections come from a subprocess (./_flood.ts) and every wait
// is bounded.
import assert from "node:assert/strict";
import { connectNbd } from "../../nbd/client.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { serveNbd } from "../../nbd/server.ts";
import { RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import { TEST_PROG, testProgram } from "../rpc/_helpers.ts";

const COUNT = 10_000;
const IDLE_MS = 1000;
const MAX_CONNECTIONS = 512;

interface Flood {
  opened: number;
  failed: number;
  closed: number;
  open: number;
}

async function flood(port: number, partialHex: string): Promise<Flood> {
  const script = new URL("./_flood.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      script,
      String(port),
      String(COUNT),
      partialHex,
      "60000",
      "128",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Runs `op` back to back until `stop` resolves: latencies, errors. */
async function busy(
  op: () => Promise<unknown>,
  stop: Promise<unknown>,
): Promise<{ lat: number[]; errors: string[] }> {
  let done = false;
  stop.finally(() => done = true);
  const lat: number[] = [];
  const errors: string[] = [];
  while (!done) {
    const t = performance.now();
    try {
      await op();
      lat.push(performance.now() - t);
    } catch (e) {
      errors.push((e as Error).message);
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return { lat: lat.sort((a, b) => a - b), errors };
}

/** Live connection counts through onConnect and onDisconnect. */
function tally() {
  const t = { live: 0, peak: 0, admitted: 0 };
  return {
    t,
    onConnect: () => {
      t.admitted++;
      t.peak = Math.max(t.peak, ++t.live);
    },
    onDisconnect: () => void t.live--,
  };
}

/**
 * Logs what happened and asserts the promise: every connection closed by
 * the server, the limit reached and never passed, the admitted ones closed
 * when idle and the rest refused, the busy client never failing nor waiting
 * two seconds.
 */
function check(
  what: string,
  f: Flood,
  busy: { lat: number[]; errors: string[] },
  t: { peak: number; admitted: number },
) {
  const { lat, errors } = busy;
  const p99 = lat[Math.floor(lat.length * 0.99)];
  console.log(
    `${what}: ${f.opened} opened (${t.admitted} admitted), ${f.closed} closed by the server, ${f.open} left open; busy client ${lat.length} calls, median ${
      lat[lat.length >> 1].toFixed(2)
    } ms, p99 ${p99.toFixed(2)} ms, max ${lat.at(-1)!.toFixed(2)} ms`,
  );
  assert.deepEqual(errors, [], "the busy client saw no error");
  assert.equal(f.failed, 0, "every connect succeeded");
  assert.equal(f.opened, COUNT);
  assert.equal(f.closed, COUNT, "the server closed every one");
  assert.equal(t.peak, MAX_CONNECTIONS, "the limit was reached, never passed");
  assert.ok(
    t.admitted >= MAX_CONNECTIONS && t.admitted < COUNT,
    `some admitted and closed when idle, the rest refused: ${t.admitted} admitted`,
  );
  assert.ok(lat.at(-1)! < 2000, `busy client's slowest call: ${lat.at(-1)} ms`);
}

Deno.test("flood: 10,000 idle or half-sent RPC connections are closed; a busy client goes on", async () => {
  const { t, onConnect, onDisconnect } = tally();
  const server = serveRpc({
    port: 0,
    log: () => {},
    onConnect,
    onDisconnect,
    maxConnections: MAX_CONNECTIONS,
    idleTimeout: IDLE_MS,
    programs: [testProgram()],
  });
  const active = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    timeoutMs: 10_000,
  });
  try {
    // A record mark announcing 100 bytes, then 10 of them.
    const half = "80000064" + "00".repeat(10);
    const storm = flood(server.addr.port, half);
    const load = await busy(
      () => active.call(TEST_PROG, 1, 0, () => {}),
      storm,
    );
    check("rpc", await storm, load, t);
    assert.deepEqual(
      server.connections().map((c) => c.remote.port),
      [active.localAddr.port],
      "only the busy client is left",
    );
    await active.call(TEST_PROG, 1, 0, () => {});
  } finally {
    active.close();
    await server.shutdown();
  }
});

Deno.test("flood: 10,000 idle or half-sent NBD connections are closed; a busy client goes on", async () => {
  const { t, onConnect, onDisconnect } = tally();
  const server = serveNbd({
    port: 0,
    onConnect,
    onDisconnect,
    maxConnections: MAX_CONNECTIONS,
    idleTimeout: IDLE_MS,
    exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }],
  });
  const disk = await connectNbd({ port: server.addr.port, export: "mem" });
  try {
    // Two of the four bytes of the client flags.
    const storm = flood(server.addr.port, "0000");
    const load = await busy(() => disk.readAt(0, 4096), storm);
    check("nbd", await storm, load, t);
    assert.equal(
      server.connections().length,
      1,
      "only the busy client is left",
    );
    await disk.readAt(0, 4096);
  } finally {
    await disk.close();
    await server.shutdown();
  }
});
