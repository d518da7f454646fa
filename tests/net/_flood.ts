// Run by flood_test.ts in its own process (the descriptors of 10,000
// connections would not fit in the test's): opens COUNT connections to
// 127.0.0.1:PORT, CONCURRENCY connecting at a time, sends HEX (a partial
// request, or nothing when "-") on every other one and then nothing more,
// and waits for the server to close each, for at most TIMEOUT ms. Prints
// {"opened", "failed", "closed", "open"} as JSON: "closed" counts the
// connections the server ended, "open" those still open at the deadline.
const [port, count, hex, timeout, concurrency] = Deno.args;
const total = Number(count);
const deadline = Date.now() + Number(timeout);
const partial = hex === "-"
  ? new Uint8Array(0)
  : new Uint8Array(hex.match(/../g)!.map((b) => parseInt(b, 16)));

let opened = 0;
let failed = 0;
let closed = 0;
let expired = false;
const conns = new Set<Deno.TcpConn>();
const waits: Promise<void>[] = [];

async function untilClosed(conn: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(1024);
  try {
    // Whatever the server sends first (an NBD greeting) is read and dropped.
    while ((await conn.read(buf)) !== null) { /* keep reading */ }
    if (!expired) closed++;
  } catch {
    if (!expired) closed++; // reset by the server
  } finally {
    conns.delete(conn);
    try {
      conn.close();
    } catch { /* closed at the deadline */ }
  }
}

let next = 0;
async function opener(): Promise<void> {
  while (next < total && Date.now() < deadline) {
    const i = next++;
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    } catch {
      failed++;
      continue;
    }
    opened++;
    conns.add(conn);
    if (i % 2 === 1 && partial.byteLength > 0) {
      try {
        await conn.write(partial);
      } catch { /* closed already: counted by untilClosed */ }
    }
    waits.push(untilClosed(conn));
  }
}

await Promise.all(Array.from({ length: Number(concurrency) }, opener));
const timer = setTimeout(() => {
  expired = true;
  for (const c of conns) {
    try {
      c.close();
    } catch { /* gone */ }
  }
}, Math.max(0, deadline - Date.now()));
await Promise.all(waits);
clearTimeout(timer);
const open = opened - closed;
console.log(JSON.stringify({ opened, failed, closed, open }));
