import assert from "node:assert/strict";
import { MetricsRegistry } from "../../telemetry/mod.ts";
import { promtool, promtoolCheck, samples } from "./_prom.ts";

Deno.test("metrics: the same name and shape returns the same metric, another shape throws", () => {
  const r = new MetricsRegistry();
  const a = r.counter("x_total", "X.", ["a"]);
  assert.equal(r.counter("x_total", "X again.", ["a"]), a);
  assert.throws(
    () => r.gauge("x_total", "X."),
    /already registered with another shape: x_total/,
  );
  assert.throws(() => r.counter("x_total", "X.", ["b"]), /another shape/);
  const h = r.histogram("h_seconds", "H.", { buckets: [1, 2] });
  assert.equal(r.histogram("h_seconds", "H.", { buckets: [1, 2] }), h);
  assert.throws(
    () => r.histogram("h_seconds", "H.", { buckets: [1, 3] }),
    /another shape/,
  );
});

Deno.test("metrics: names, label names and buckets are checked", () => {
  const r = new MetricsRegistry();
  assert.throws(() => r.counter("1bad", "B."), /Invalid metric name: 1bad/);
  assert.throws(
    () => r.counter("ok_total", "B.", ["__x"]),
    /Invalid label name: __x/,
  );
  assert.throws(
    () => r.histogram("h", "H.", { labelNames: ["le"] }),
    /reserved/,
  );
  assert.throws(
    () => r.histogram("h2", "H.", { buckets: [2, 1] }),
    /ascending/,
  );
  assert.throws(
    () => r.histogram("h3", "H.", { buckets: [1, Infinity] }),
    /finite/,
  );
  assert.throws(
    () => r.counter("c_total", "C.", ["a"]).with(),
    /Wrong number of label values for c_total: 0, expected 1/,
  );
});

Deno.test("metrics: histogram buckets are cumulative in the exposition, bounds inclusive", () => {
  const r = new MetricsRegistry();
  const h = r.histogram("lat_seconds", "L.", {
    buckets: [0.1, 1],
    labelNames: ["op"],
  });
  const read = h.with("READ");
  for (const v of [0, 0.1, 0.5, 1, 1.5, 20]) read.observe(v);
  const s = samples(r.exposition());
  assert.equal(s.get('lat_seconds_bucket{op="READ",le="0.1"}'), 2);
  assert.equal(s.get('lat_seconds_bucket{op="READ",le="1"}'), 4);
  assert.equal(s.get('lat_seconds_bucket{op="READ",le="+Inf"}'), 6);
  assert.equal(s.get('lat_seconds_count{op="READ"}'), 6);
  assert.equal(s.get('lat_seconds_sum{op="READ"}'), 23.1);
});

Deno.test("metrics: label values and help texts are escaped", () => {
  const r = new MetricsRegistry();
  r.counter("odd_total", "Line one\nback\\slash", ["v"]).with('a"b\\c\nd').inc(
    3,
  );
  const text = r.exposition();
  assert.match(text, /^# HELP odd_total Line one\\nback\\\\slash$/m);
  assert.match(text, /^odd_total\{v="a\\"b\\\\c\\nd"\} 3$/m);
});

Deno.test("metrics: gauges take any value; special values are written as Prometheus spells them", () => {
  const r = new MetricsRegistry();
  const g = r.gauge("g", "G.", ["k"]);
  g.with("nan").set(NaN);
  g.with("inf").set(Infinity);
  g.with("neg").set(-Infinity);
  g.with("small").set(1e-7);
  const text = r.exposition();
  assert.match(text, /^g\{k="nan"\} NaN$/m);
  assert.match(text, /^g\{k="inf"\} \+Inf$/m);
  assert.match(text, /^g\{k="neg"\} -Inf$/m);
  assert.match(text, /^g\{k="small"\} 1e-7$/m);
});

Deno.test("metrics: an exposition of every kind passes promtool check metrics", async () => {
  const tool = await promtool();
  assert.ok(
    tool,
    "promtool is installed (.ci/run unpacks it from Debian's prometheus package)",
  );
  const r = new MetricsRegistry();
  r.counter("demo_requests_total", "Requests.", ["method"]).with("GET").inc(2);
  r.gauge("demo_open_connections", "Open connections.").set(3);
  r.histogram("demo_request_duration_seconds", "Latency.", {
    labelNames: ["method"],
  })
    .with("GET").observe(0.003);
  assert.equal(await promtoolCheck(tool, r.exposition()), "");
});
