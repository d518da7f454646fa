import assert from "node:assert/strict";
import { createLogger, isLogLevel, peerOf } from "../../telemetry/mod.ts";

const AT = () => new Date(Date.UTC(2030, 5, 7, 8, 9, 10, 11));

function capture(options: Parameters<typeof createLogger>[0] = {}) {
  const lines: string[] = [];
  const log = createLogger({
    write: (l) => lines.push(l),
    now: AT,
    ...options,
  });
  return { log, lines };
}

Deno.test("logger: each level writes at or above the threshold, nothing below", () => {
  const order = ["error", "warn", "info", "debug"] as const;
  for (const [i, level] of order.entries()) {
    const { log, lines } = capture({ level });
    for (const l of order) log[l](l);
    assert.deepEqual(
      lines.map((x) => /^\S+ (\w+)/.exec(x)![1].toLowerCase()),
      order.slice(0, i + 1),
      `level ${level} writes only the levels up to it`,
    );
  }
});

Deno.test("logger: text lines carry the connection id and peer as fields", () => {
  const { log, lines } = capture();
  log.info("Mounted /data", { conn: 7, peer: "[::1]:811", export: "/data" });
  assert.equal(
    lines[0],
    "2030-06-07T08:09:10.011Z INFO  Mounted /data conn=7 peer=[::1]:811 export=/data",
  );
});

Deno.test("logger: a text line stays one line and quotes values with spaces or quotes", () => {
  const { log, lines } = capture();
  log.error("first\nsecond\r\nthird", {
    why: 'a "b"',
    empty: "",
    skip: undefined,
  });
  assert.equal(lines.length, 1);
  assert.equal(lines[0].includes("\n"), false, "no raw newline in a line");
  assert.match(
    lines[0],
    /ERROR first\\nsecond\\r\\nthird why="a \\"b\\"" empty=""$/,
  );
});

Deno.test("logger: JSON lines parse, keep their fields, and bigints become strings", () => {
  const { log, lines } = capture({ format: "json", fields: { server: "nbd" } });
  log.warn("Bad magic", { conn: 2, peer: "127.0.0.1:5", cookie: 1n << 64n });
  assert.deepEqual(JSON.parse(lines[0]), {
    time: "2030-06-07T08:09:10.011Z",
    level: "warn",
    msg: "Bad magic",
    conn: 2,
    peer: "127.0.0.1:5",
    cookie: "18446744073709551616",
    server: "nbd",
  });
});

Deno.test("logger: JSON fields cannot overwrite time, level or msg", () => {
  const { log, lines } = capture({ format: "json" });
  log.info("real", { msg: "fake", level: "error" });
  const j = JSON.parse(lines[0]);
  assert.equal(j.msg, "real");
  assert.equal(j.level, "info");
});

Deno.test("logger: unknown levels and formats are refused", () => {
  assert.throws(
    () => createLogger({ level: "trace" as "info" }),
    /Unknown log level: trace/,
  );
  assert.throws(
    () => createLogger({ format: "xml" as "text" }),
    /Unknown log format: xml/,
  );
  assert.equal(isLogLevel("warn"), true);
  assert.equal(isLogLevel("WARN"), false);
});

Deno.test("peerOf: IPv4 and IPv6", () => {
  assert.equal(
    peerOf({ transport: "tcp", hostname: "10.0.0.1", port: 2049 }),
    "10.0.0.1:2049",
  );
  assert.equal(
    peerOf({ transport: "tcp", hostname: "fe80::1", port: 1 }),
    "[fe80::1]:1",
  );
});

Deno.test("logger: a connection's warnings are limited per second, the rest counted in one line", () => {
  let t = Date.UTC(2030, 0, 1);
  const { log, lines } = capture({ now: () => new Date(t) });
  for (let i = 0; i < 100; i++) {
    log.warn(`Dropped a record ${i}`, { conn: 1, peer: "192.0.2.1:700" });
  }
  for (let i = 0; i < 3; i++) log.warn("Other peer", { conn: 2 });
  log.warn("No connection"); // not a peer's: never limited
  log.info("Listening", { conn: 1 }); // only warnings are limited
  assert.equal(lines.filter((l) => l.includes("conn=1")).length, 21);
  assert.equal(lines.filter((l) => /Dropped a record/.test(l)).length, 20);
  assert.equal(lines.filter((l) => l.includes("Other peer")).length, 3);
  assert.ok(lines.some((l) => l.includes("No connection")));
  const before = lines.length;
  t += 999;
  log.warn("Still limited", { conn: 1 });
  assert.equal(lines.length, before, "within the same second");
  t += 1;
  log.info("Next second");
  assert.match(
    lines[before],
    /WARN {2}Dropped 81 more warnings of this connection in a second conn=1 peer=192\.0\.2\.1:700$/,
  );
  assert.match(lines[before + 1], /INFO {2}Next second$/);
  log.warn("Written again", { conn: 1 });
  assert.match(lines.at(-1)!, /Written again conn=1$/);
});

Deno.test("logger: warnsPerConnection Infinity writes every warning", () => {
  const { log, lines } = capture({ warnsPerConnection: Infinity });
  for (let i = 0; i < 100; i++) log.warn("w", { conn: 1 });
  assert.equal(lines.length, 100);
});
