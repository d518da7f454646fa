/**
 * Argument parsing for the `netfs` command: `node:util`'s `parseArgs` with
 * its errors turned into one-line reasons, and the value parsers every verb
 * shares (ports, sizes, addresses, lists). Every problem with the command
 * line is a {@link UsageError}, which the entry point prints and answers
 * with exit status 2.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { AllowList } from "../net/allow.ts";
import { isLogLevel, type LogLevel } from "../telemetry/log.ts";

/** A command line the command cannot run: exit status 2 and the message. */
export class UsageError extends Error {
  /** A usage error saying `message`. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The options every verb takes. */
export const GLOBAL_OPTIONS = {
  help: { type: "boolean", short: "h" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/** `--metrics`, for the verbs that serve. */
export const METRICS_OPTION = {
  metrics: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `args` against `options` (strict: unknown flags and missing
 * values are usage errors naming the flag).
 */
export function parse<O extends Options>(
  verb: string,
  args: string[],
  options: O,
) {
  try {
    return parseArgs({
      args,
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(
      `${reason(e as Error & { code?: string })} (see: netfs ${verb} --help)`,
    );
  }
}

function reason(e: Error & { code?: string }): string {
  // Node writes "Option '-r, --recursive …'" for flags with a short form: name the long one.
  const flag = /'(?:-[^-' ], )?(-{1,2}[^' ,]+)/.exec(e.message)?.[1];
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `Unknown option: ${flag ?? e.message}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/argument missing/.test(e.message)) return `Missing value: ${flag}`;
      if (/ambiguous/.test(e.message)) {
        return `Missing value: ${flag} (for a value starting with "-", write ${flag}=-…)`;
      }
      return `Option takes no value: ${flag}`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `Unexpected argument: ${/'([^']*)'/.exec(e.message)?.[1] ?? ""}`;
    default:
      return e.message;
  }
}

/** The log level of `--log-level` (default info). */
export function logLevel(v: string | undefined): LogLevel {
  if (v === undefined) return "info";
  if (!isLogLevel(v)) {
    throw new UsageError(
      `Invalid --log-level: ${v} (expected error, warn, info or debug)`,
    );
  }
  return v;
}

/** The log format of `--log-format` (default text). */
export function logFormat(v: string | undefined): "text" | "json" {
  if (v === undefined || v === "text" || v === "json") return v ?? "text";
  throw new UsageError(`Invalid --log-format: ${v} (expected text or json)`);
}

/** An integer in [min, max] given for `flag`. */
export function integer(
  flag: string,
  v: string,
  min: number,
  max: number,
): number {
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      `Invalid ${flag}: ${v} (expected a whole number from ${min} to ${max})`,
    );
  }
  return n;
}

/** A TCP port (0 picks a free one). */
export function port(flag: string, v: string): number {
  return integer(flag, v, 0, 65535);
}

const UNITS: Record<string, number> = { "": 0, K: 10, M: 20, G: 30, T: 40 };

/** A size in bytes: `4096`, `512K`, `1G`, `1GiB`, `2T`. */
export function size(flag: string, v: string): number {
  const m = /^(\d+)([KMGT]?)(?:i?B)?$/i.exec(v.trim());
  const n = m ? Number(m[1]) * 2 ** UNITS[m[2].toUpperCase()] : NaN;
  if (!m || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(
      `Invalid ${flag}: ${v} (expected a size such as 1048576, 512K, 64M or 1G)`,
    );
  }
  return n;
}

/** A listen address: an IPv4 or IPv6 address or `localhost`. */
export function host(flag: string, v: string): string {
  const h = v.startsWith("[") && v.endsWith("]") ? v.slice(1, -1) : v;
  if (h === "localhost") return "127.0.0.1";
  try {
    new AllowList([h]);
  } catch {
    throw new UsageError(`Invalid ${flag}: ${v} (expected an IP address)`);
  }
  if (h.includes("/")) {
    throw new UsageError(`Invalid ${flag}: ${v} (expected an IP address)`);
  }
  return h;
}

/** `HOST:PORT`, `[V6]:PORT`, `:PORT` or `PORT`; the host defaults to loopback. */
export function hostPort(
  flag: string,
  v: string,
): { hostname: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?(\d+)$/.exec(v.trim());
  if (!m) {
    throw new UsageError(
      `Invalid ${flag}: ${v} (expected HOST:PORT, such as 127.0.0.1:9464)`,
    );
  }
  return {
    hostname: m[1] ? host(flag, m[1]) : "127.0.0.1",
    port: port(flag, m[2]),
  };
}

/** A comma-separated list of addresses and CIDRs, or `*` for everyone. */
export function clients(flag: string, v: string): string[] {
  const list = v.split(",").map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new UsageError(`Invalid ${flag}: empty list`);
  for (const c of list) {
    if (c === "*") continue;
    try {
      new AllowList([c]);
    } catch {
      throw new UsageError(
        `Invalid ${flag}: ${c} (expected an address or CIDR such as 192.168.1.0/24, or *)`,
      );
    }
  }
  return list;
}

/** One of `choices`. */
export function choice<T extends string>(
  flag: string,
  v: string,
  choices: readonly T[],
): T {
  if (!(choices as readonly string[]).includes(v)) {
    throw new UsageError(
      `Invalid ${flag}: ${v} (expected ${choices.slice(0, -1).join(", ")} or ${
        choices.at(-1)
      })`,
    );
  }
  return v as T;
}

/** Fails when any of `flags` was given with `what`, which excludes them. */
export function excludes(
  values: Record<string, unknown>,
  what: string,
  flags: readonly string[],
): void {
  for (const f of flags) {
    if (values[f] !== undefined && values[f] !== false) {
      throw new UsageError(`--${f} cannot be used with ${what}`);
    }
  }
}
