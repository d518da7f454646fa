/**
 * Metrics: counters, gauges and histograms with fixed buckets in a
 * registry that writes the Prometheus text exposition format, version
 * 0.0.4 (what `/metrics` endpoints serve and `promtool check metrics`
 * reads).
 *
 * A metric with labels hands out one child per label set; a hot path
 * looks its children up once and then only adds numbers, so measuring a
 * call allocates nothing. Values that are cheaper to read when asked
 * (connections open, bytes a live connection has moved) are filled in by
 * collectors that run just before each exposition ({@link
 * MetricsRegistry.onCollect}).
 *
 * Registering a name again with the same type and labels returns the
 * metric already there, so several servers can share one registry and add
 * to the same series.
 *
 * @example Count, measure, expose
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry } from "@netfs/netfs/telemetry";
 *
 * const registry = new MetricsRegistry();
 * const calls = registry.counter("demo_calls_total", "Calls answered.", ["procedure"]);
 * const read = calls.with("READ"); // look the child up once, use it per call
 * read.inc();
 * read.inc();
 * const latency = registry.histogram("demo_call_duration_seconds", "Time to answer.", {
 *   buckets: [0.001, 0.01],
 * });
 * latency.observe(0.004);
 * assert.equal(
 *   registry.exposition(),
 *   [
 *     "# HELP demo_calls_total Calls answered.",
 *     "# TYPE demo_calls_total counter",
 *     'demo_calls_total{procedure="READ"} 2',
 *     "# HELP demo_call_duration_seconds Time to answer.",
 *     "# TYPE demo_call_duration_seconds histogram",
 *     'demo_call_duration_seconds_bucket{le="0.001"} 0',
 *     'demo_call_duration_seconds_bucket{le="0.01"} 1',
 *     'demo_call_duration_seconds_bucket{le="+Inf"} 1',
 *     "demo_call_duration_seconds_sum 0.004",
 *     "demo_call_duration_seconds_count 1",
 *     "",
 *   ].join("\n"),
 * );
 * ```
 *
 * @module
 */

/** The media type of {@link MetricsRegistry.exposition}'s text. */
export const EXPOSITION_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/**
 * Histogram buckets for call latencies in seconds, from 50 µs (a NULL call
 * on loopback) to 10 s.
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One counter series: it only goes up. */
export class CounterChild {
  /** The current value. */
  value = 0;
  /** Adds `by` (default 1); a negative amount is a RangeError. */
  inc(by = 1): void {
    if (!(by >= 0)) throw new RangeError(`Counter increment below zero: ${by}`);
    this.value += by;
  }
}

/** One gauge series: a value that goes up and down. */
export class GaugeChild {
  /** The current value. */
  value = 0;
  /** Sets the value. */
  set(v: number): void {
    this.value = v;
  }
  /** Adds `by` (default 1). */
  inc(by = 1): void {
    this.value += by;
  }
  /** Subtracts `by` (default 1). */
  dec(by = 1): void {
    this.value -= by;
  }
}

/** One histogram series: counts of observations per bucket, their sum and count. */
export class HistogramChild {
  /** The upper bounds, ascending (`+Inf` is implied). */
  readonly buckets: readonly number[];
  /** Observations per bucket, not cumulative; the last is above every bound. */
  readonly counts: Float64Array;
  /** Sum of every observation. */
  sum = 0;
  /** Number of observations. */
  count = 0;

  /** A series over `buckets` (ascending upper bounds). */
  constructor(buckets: readonly number[]) {
    this.buckets = buckets;
    this.counts = new Float64Array(buckets.length + 1);
  }

  /** Records one observation. */
  observe(v: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

/** One series of any kind. */
export type MetricChild = CounterChild | GaugeChild | HistogramChild;

/** What every metric has: a name, a help text, label names and children. */
export abstract class Metric<C extends MetricChild> {
  /** The metric name. */
  readonly name: string;
  /** The help text. */
  readonly help: string;
  /** The label names, in the order `with` takes their values. */
  readonly labelNames: readonly string[];
  /** `counter`, `gauge` or `histogram`. */
  abstract readonly type: "counter" | "gauge" | "histogram";
  readonly #children = new Map<string, { values: string[]; child: C }>();

  /** A metric without series yet. */
  constructor(name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  /** Makes a child. */
  protected abstract make(): C;

  /**
   * The child for one label set (values in the order of `labelNames`);
   * made on first use. Look it up once, outside a hot path.
   */
  with(...values: string[]): C {
    if (values.length !== this.labelNames.length) {
      throw new RangeError(
        `Wrong number of label values for ${this.name}: ${values.length}, expected ${this.labelNames.length}`,
      );
    }
    const key = values.join("\u0000");
    let entry = this.#children.get(key);
    if (entry === undefined) {
      entry = { values: values.map(String), child: this.make() };
      this.#children.set(key, entry);
    }
    return entry.child;
  }

  /** Every child made so far, with its label values. */
  children(): { values: readonly string[]; child: C }[] {
    return [...this.#children.values()];
  }
}

/**
 * A counter. Without labels, `inc` works on the metric itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry } from "@netfs/netfs/telemetry";
 * const registry = new MetricsRegistry();
 * const total = registry.counter("demo_connections_total", "Connections accepted.");
 * total.inc();
 * assert.equal(total.value, 1);
 * assert.throws(() => total.inc(-1), RangeError);
 * ```
 */
export class Counter extends Metric<CounterChild> {
  /** Always `"counter"`. */
  readonly type = "counter" as const;
  /** Makes a child. */
  protected make(): CounterChild {
    return new CounterChild();
  }
  /** Adds to the unlabelled series. */
  inc(by = 1): void {
    this.with().inc(by);
  }
  /** The unlabelled series' value. */
  get value(): number {
    return this.with().value;
  }
}

/**
 * A gauge. Without labels, `set`, `inc` and `dec` work on the metric itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry } from "@netfs/netfs/telemetry";
 * const registry = new MetricsRegistry();
 * const open = registry.gauge("demo_connections_open", "Connections open now.");
 * open.inc();
 * open.inc();
 * open.dec();
 * assert.equal(open.value, 1);
 * ```
 */
export class Gauge extends Metric<GaugeChild> {
  /** Always `"gauge"`. */
  readonly type = "gauge" as const;
  /** Makes a child. */
  protected make(): GaugeChild {
    return new GaugeChild();
  }
  /** Sets the unlabelled series. */
  set(v: number): void {
    this.with().set(v);
  }
  /** Adds to the unlabelled series. */
  inc(by = 1): void {
    this.with().inc(by);
  }
  /** Subtracts from the unlabelled series. */
  dec(by = 1): void {
    this.with().dec(by);
  }
  /** The unlabelled series' value. */
  get value(): number {
    return this.with().value;
  }
}

/**
 * A histogram with fixed buckets. Without labels, `observe` works on the
 * metric itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry } from "@netfs/netfs/telemetry";
 * const registry = new MetricsRegistry();
 * const h = registry.histogram("demo_bytes", "Request sizes.", { buckets: [512, 4096] });
 * h.observe(100);
 * h.observe(4096); // a bound belongs to its own bucket (le: less or equal)
 * h.observe(1e6);
 * assert.deepEqual([...h.with().counts], [1, 1, 1]);
 * ```
 */
export class Histogram extends Metric<HistogramChild> {
  /** Always `"histogram"`. */
  readonly type = "histogram" as const;
  /** The upper bounds, ascending. */
  readonly buckets: readonly number[];

  /** A histogram over `buckets`. */
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    this.buckets = buckets;
  }
  /** Makes a child. */
  protected make(): HistogramChild {
    return new HistogramChild(this.buckets);
  }
  /** Records one observation in the unlabelled series. */
  observe(v: number): void {
    this.with().observe(v);
  }
}

/** Any metric of a registry. */
export type AnyMetric = Counter | Gauge | Histogram;

/**
 * A set of metrics, written out in the Prometheus text format.
 *
 * @example A gauge filled in when the metrics are read
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry } from "@netfs/netfs/telemetry";
 *
 * const registry = new MetricsRegistry();
 * const queue: string[] = ["a", "b"];
 * const depth = registry.gauge("demo_queue_depth", "Jobs waiting.");
 * const stop = registry.onCollect(() => depth.set(queue.length));
 * assert.match(registry.exposition(), /^demo_queue_depth 2$/m);
 * stop(); // the collector no longer runs
 * queue.pop();
 * assert.match(registry.exposition(), /^demo_queue_depth 2$/m);
 * ```
 */
export class MetricsRegistry {
  readonly #metrics = new Map<string, AnyMetric>();
  readonly #collectors = new Set<() => void>();

  /** A counter (get-or-create); its name should end in `_total`. */
  counter(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
  ): Counter {
    return this.#add(
      new Counter(name, help, labelNames),
      (m) => m instanceof Counter,
    );
  }

  /** A gauge (get-or-create). */
  gauge(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
  ): Gauge {
    return this.#add(
      new Gauge(name, help, labelNames),
      (m) => m instanceof Gauge,
    );
  }

  /**
   * A histogram (get-or-create) with `buckets` (ascending finite upper
   * bounds; default {@link LATENCY_BUCKETS}).
   */
  histogram(
    name: string,
    help: string,
    options: { labelNames?: readonly string[]; buckets?: readonly number[] } =
      {},
  ): Histogram {
    const buckets = [...(options.buckets ?? LATENCY_BUCKETS)];
    buckets.forEach((b, i) => {
      if (!Number.isFinite(b) || (i > 0 && b <= buckets[i - 1])) {
        throw new RangeError(
          `Histogram buckets must be finite and ascending: ${name}`,
        );
      }
    });
    const labelNames = options.labelNames ?? [];
    if (labelNames.includes("le")) {
      throw new RangeError(`Label name reserved for histograms: le`);
    }
    return this.#add(
      new Histogram(name, help, labelNames, buckets),
      (m) => m instanceof Histogram && m.buckets.join() === buckets.join(),
    );
  }

  /**
   * Runs `collect` before every exposition, to set values that are read
   * rather than counted. Returns a function that removes it.
   */
  onCollect(collect: () => void): () => void {
    this.#collectors.add(collect);
    return () => void this.#collectors.delete(collect);
  }

  /** The registered metrics, in registration order. */
  metrics(): AnyMetric[] {
    return [...this.#metrics.values()];
  }

  /** Runs the collectors and writes every metric in the text format 0.0.4. */
  exposition(): string {
    for (const c of this.#collectors) c();
    const out: string[] = [];
    for (const m of this.#metrics.values()) {
      out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`);
      out.push(`# TYPE ${m.name} ${m.type}`);
      if (m instanceof Histogram) {
        for (const { values, child } of m.children()) {
          const labels = labelPairs(m.labelNames, values);
          let cumulative = 0;
          for (let i = 0; i <= m.buckets.length; i++) {
            cumulative += child.counts[i];
            const le = i < m.buckets.length
              ? formatValue(m.buckets[i])
              : "+Inf";
            out.push(
              `${m.name}_bucket{${[...labels, `le="${le}"`].join(",")}} ${
                formatValue(cumulative)
              }`,
            );
          }
          const braces = labels.length ? `{${labels.join(",")}}` : "";
          out.push(`${m.name}_sum${braces} ${formatValue(child.sum)}`);
          out.push(`${m.name}_count${braces} ${formatValue(child.count)}`);
        }
      } else {
        for (const { values, child } of m.children()) {
          const labels = labelPairs(m.labelNames, values);
          const braces = labels.length ? `{${labels.join(",")}}` : "";
          out.push(`${m.name}${braces} ${formatValue(child.value)}`);
        }
      }
    }
    return out.join("\n") + "\n";
  }

  #add<M extends AnyMetric>(
    metric: M,
    same: (m: AnyMetric) => boolean,
  ): M {
    if (!NAME.test(metric.name)) {
      throw new RangeError(`Invalid metric name: ${metric.name}`);
    }
    for (const l of metric.labelNames) {
      if (!LABEL.test(l) || l.startsWith("__")) {
        throw new RangeError(`Invalid label name: ${l}`);
      }
    }
    const old = this.#metrics.get(metric.name);
    if (old !== undefined) {
      if (!same(old) || old.labelNames.join() !== metric.labelNames.join()) {
        throw new RangeError(
          `Metric already registered with another shape: ${metric.name}`,
        );
      }
      return old as M;
    }
    // A metric without labels shows from the start, at zero.
    if (metric.labelNames.length === 0) metric.with();
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}

function labelPairs(
  names: readonly string[],
  values: readonly string[],
): string[] {
  return names.map((n, i) => `${n}="${escapeLabel(values[i])}"`);
}

function escapeHelp(s: string): string {
  return s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabel(s: string): string {
  return s.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll(
    "\n",
    "\\n",
  );
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
