/**
 * One small levelled logger: four levels (error, warn, info, debug), a text
 * or JSON line per event, with the connection id and peer as fields where
 * an event belongs to a connection.
 *
 * The servers take a {@link Logger} as their `logger` option and say
 * nothing through it unless given one; any object with the four methods
 * will do, so an application can hand them its own logging.
 *
 * A line is always one line: in the text format a newline inside the
 * message or a field is written `\n`, and JSON escapes it anyway.
 *
 * @example Text and JSON lines, and a level that drops debug
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "@netfs/netfs/telemetry";
 *
 * const lines: string[] = [];
 * const at = () => new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
 * const text = createLogger({ write: (l) => lines.push(l), now: at });
 * text.warn("Refused connection: not in the allowed clients", { conn: 3, peer: "192.0.2.7:811" });
 * text.debug("not shown at the default level, info");
 * assert.deepEqual(lines, [
 *   "2025-01-02T03:04:05.000Z WARN  Refused connection: not in the allowed clients conn=3 peer=192.0.2.7:811",
 * ]);
 *
 * const json = createLogger({ format: "json", level: "debug", write: (l) => lines.push(l), now: at });
 * json.debug("Connection closed", { conn: 3, bytesIn: 120 });
 * assert.deepEqual(JSON.parse(lines[1]), {
 *   time: "2025-01-02T03:04:05.000Z",
 *   level: "debug",
 *   msg: "Connection closed",
 *   conn: 3,
 *   bytesIn: 120,
 * });
 * ```
 *
 * @module
 */

/** The levels, most severe first. */
export type LogLevel = "error" | "warn" | "info" | "debug";

/** Every level, most severe first. */
export const LOG_LEVELS: readonly LogLevel[] = [
  "error",
  "warn",
  "info",
  "debug",
];

/** A field's value. */
export type LogValue = string | number | boolean | bigint | undefined;

/**
 * What an event is about. Servers set `conn` (the connection id their
 * `connections()` reports) and `peer` (`address:port`) on every event of a
 * connection.
 */
export interface LogFields {
  /** The connection id. */
  conn?: number;
  /** The peer, as `address:port` (`[::1]:811` for IPv6). */
  peer?: string;
  /** Anything else worth a field. */
  [key: string]: LogValue;
}

/** A levelled logger: one method per level. */
export interface Logger {
  /** Something failed that should not have: a bug, a lost write. */
  error(message: string, fields?: LogFields): void;
  /** Something refused or unexpected from a peer, handled. */
  warn(message: string, fields?: LogFields): void;
  /** What an operator wants to see: listening, mounts, shutdown. */
  info(message: string, fields?: LogFields): void;
  /** Per-connection detail: connections opened and closed. */
  debug(message: string, fields?: LogFields): void;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The least severe level written. Default `"info"`. */
  level?: LogLevel;
  /** `"text"` (default) or `"json"`: one JSON object per line. */
  format?: "text" | "json";
  /** Where each line goes, without its newline. Default: standard error. */
  write?: (line: string) => void;
  /** The clock. Default `() => new Date()`. */
  now?: () => Date;
  /** Fields added to every line (after the event's own). */
  fields?: LogFields;
  /**
   * Most warn lines of one connection (its `conn` field) written per
   * second (default 20; `Infinity` for no limit). Warnings are what peers
   * cause, so a client sending bad records could otherwise keep the event
   * loop writing to a slow standard error; the rest of its second is
   * counted and reported in one line ("Dropped N more warnings of this
   * connection") with the first line written after the second is over.
   */
  warnsPerConnection?: number;
}

/** One connection's warn lines in its current second. */
interface WarnWindow {
  start: number;
  written: number;
  dropped: number;
  fields: LogFields;
}

/**
 * Counts warn lines per connection; `admit` says whether one may be
 * written and `sweep` hands out the summaries of seconds that are over.
 * Windows are kept in the order they opened, so the ones over are first.
 */
class WarnLimiter {
  readonly #max: number;
  readonly #windows = new Map<number, WarnWindow>();

  constructor(max: number) {
    this.#max = max;
  }

  admit(conn: number, fields: LogFields, t: number): boolean {
    let w = this.#windows.get(conn);
    if (w === undefined) {
      w = { start: t, written: 0, dropped: 0, fields };
      this.#windows.set(conn, w);
    }
    if (w.written < this.#max) {
      w.written++;
      return true;
    }
    w.dropped++;
    return false;
  }

  /** Ends the windows a second old, calling `report` for those that dropped lines. */
  sweep(t: number, report: (dropped: number, fields: LogFields) => void) {
    for (const [conn, w] of this.#windows) {
      if (t - w.start < 1000) break;
      this.#windows.delete(conn);
      if (w.dropped > 0) report(w.dropped, w.fields);
    }
  }

  get active(): boolean {
    return this.#windows.size > 0;
  }
}

const encoder = new TextEncoder();

function stderrLine(line: string): void {
  const bytes = encoder.encode(line + "\n");
  let at = 0;
  while (at < bytes.byteLength) {
    at += Deno.stderr.writeSync(bytes.subarray(at));
  }
}

/** Writes nothing: what a level below the threshold becomes. */
function silent(): void {}

/**
 * A logger that writes text or JSON lines, one per event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "@netfs/netfs/telemetry";
 *
 * const lines: string[] = [];
 * const log = createLogger({ level: "warn", write: (l) => lines.push(l) });
 * log.info("dropped: below warn");
 * log.error("Write failed:\nno space", { file: "a b" });
 * assert.equal(lines.length, 1);
 * assert.match(lines[0], /ERROR Write failed:\\nno space file="a b"$/);
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const rank = LOG_LEVELS.indexOf(level);
  if (rank < 0) throw new RangeError(`Unknown log level: ${level}`);
  const write = options.write ?? stderrLine;
  const now = options.now ?? (() => new Date());
  const extra = options.fields;
  const format = options.format ?? "text";
  if (format !== "text" && format !== "json") {
    throw new RangeError(`Unknown log format: ${format}`);
  }
  const line = format === "json" ? jsonLine : textLine;
  const max = options.warnsPerConnection ?? 20;
  const limiter = max === Infinity || rank < LOG_LEVELS.indexOf("warn")
    ? undefined
    : new WarnLimiter(max);
  const report = (dropped: number, fields: LogFields) =>
    write(line(
      now(),
      "warn",
      `Dropped ${dropped} more warning${
        dropped === 1 ? "" : "s"
      } of this connection in a second`,
      fields,
      extra,
    ));
  const method = (l: LogLevel) =>
    LOG_LEVELS.indexOf(l) > rank
      ? silent
      : (message: string, fields?: LogFields) => {
        const time = now();
        if (limiter?.active) limiter.sweep(time.getTime(), report);
        if (
          l === "warn" && limiter !== undefined && fields?.conn !== undefined &&
          !limiter.admit(fields.conn, fields, time.getTime())
        ) return;
        write(line(time, l, message, fields, extra));
      };
  return {
    error: method("error"),
    warn: method("warn"),
    info: method("info"),
    debug: method("debug"),
  };
}

function textLine(
  time: Date,
  level: LogLevel,
  message: string,
  fields: LogFields | undefined,
  extra: LogFields | undefined,
): string {
  let out = `${time.toISOString()} ${level.toUpperCase().padEnd(5)} ${
    oneLine(message)
  }`;
  eachField(fields, extra, (key, v) => out += ` ${key}=${textValue(v)}`);
  return out;
}

/** Calls `f` for each defined field of the event's, then the logger's, fields. */
function eachField(
  fields: LogFields | undefined,
  extra: LogFields | undefined,
  f: (key: string, v: Exclude<LogValue, undefined>) => void,
): void {
  for (const set of [fields, extra]) {
    if (set === undefined) continue;
    for (const key in set) {
      const v = set[key];
      if (v !== undefined) f(key, v);
    }
  }
}

function textValue(v: Exclude<LogValue, undefined>): string {
  const s = String(v);
  return s === "" || /[\s"=\\]/.test(s) ? JSON.stringify(s) : s;
}

function oneLine(s: string): string {
  return s.includes("\n") || s.includes("\r")
    ? s.replaceAll("\r", "\\r").replaceAll("\n", "\\n")
    : s;
}

function jsonLine(
  time: Date,
  level: LogLevel,
  message: string,
  fields: LogFields | undefined,
  extra: LogFields | undefined,
): string {
  const out: Record<string, unknown> = {
    time: time.toISOString(),
    level,
    msg: message,
  };
  eachField(fields, extra, (key, v) => {
    if (!(key in out)) out[key] = typeof v === "bigint" ? v.toString() : v;
  });
  return JSON.stringify(out);
}

/**
 * A peer address as log lines and metrics write it: `192.0.2.7:811`,
 * `[2001:db8::1]:811`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { peerOf } from "@netfs/netfs/telemetry";
 * assert.equal(peerOf({ transport: "tcp", hostname: "::1", port: 811 }), "[::1]:811");
 * ```
 */
export function peerOf(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/**
 * Whether `s` names a level.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLogLevel } from "@netfs/netfs/telemetry";
 * assert.equal(isLogLevel("debug"), true);
 * assert.equal(isLogLevel("trace"), false);
 * ```
 */
export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}
