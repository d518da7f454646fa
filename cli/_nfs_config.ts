/**
 * `netfs serve nfs`'s settings, from flags or from a JSON file
 * (`--config exports.json`), validated with errors that name the field:
 *
 * ```json
 * {
 *   "host": "0.0.0.0", "port": 2049, "versions": "3,4.1", "lease": 90, "grace": 90,
 *   "exports": [
 *     { "path": "/data", "dir": "./data", "clients": ["192.168.1.0/24"], "squash": "root" },
 *     { "path": "/scratch", "memory": true, "readOnly": false }
 *   ]
 * }
 * ```
 *
 * A relative `dir` is taken from the config file's folder.
 *
 * @module
 */

import type { Squash } from "../server/exports.ts";
import { choice, clients, host, integer, port, UsageError } from "./_args.ts";

/** The NFS versions this netfs serves, as `--versions` names them. */
export const NFS_VERSIONS = ["2", "3", "4.0", "4.1", "4.2"] as const;

/**
 * What `serve nfs` serves unless told: all but NFSv2, whose 32-bit sizes and
 * offsets and MOUNT v1 few clients still need; `--versions 2,...` adds it.
 */
export const DEFAULT_NFS_VERSIONS = ["3", "4.0", "4.1", "4.2"] as const;

/** What `--versions` (or `versions` in a config) selects. */
export interface VersionChoice {
  /** For serveNfs's `versions`. */
  versions: (2 | 3 | 4)[];
  /** For `nfs4.minorVersions`. */
  minors: number[];
  /** As given, normalized ("2", "3", "4.0", "4.1", "4.2"). */
  names: string[];
}

/** Parses `2,3,4.0,4.1,4.2` (`4` means every minor version). */
export function parseVersions(field: string, v: string): VersionChoice {
  const names = new Set<string>();
  for (const raw of v.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (raw === "4") {
      for (const n of NFS_VERSIONS) if (n.startsWith("4.")) names.add(n);
    } else if ((NFS_VERSIONS as readonly string[]).includes(raw)) {
      names.add(raw);
    } else {
      throw new UsageError(
        `Invalid ${field}: ${raw} (this netfs serves ${
          NFS_VERSIONS.join(", ")
        })`,
      );
    }
  }
  if (names.size === 0) throw new UsageError(`Invalid ${field}: empty list`);
  const sorted = NFS_VERSIONS.filter((n) => names.has(n));
  return {
    versions: [
      ...(names.has("2") ? [2 as const] : []),
      ...(names.has("3") ? [3 as const] : []),
      ...(sorted.some((n) => n.startsWith("4.")) ? [4 as const] : []),
    ],
    minors: sorted.filter((n) => n.startsWith("4.")).map((n) =>
      Number(n.slice(2))
    ),
    names: sorted,
  };
}

/** One export as the command will serve it. */
export interface ExportSpec {
  /** `/` or `/name`. */
  path: string;
  /** The host directory, or undefined for an in-memory tree. */
  dir?: string;
  readOnly: boolean;
  clients?: string[];
  squash: Squash;
  anonUid: number;
  anonGid: number;
  secure: boolean;
  /**
   * Answer namespace changes before their directories are on disk (LocalFs
   * `syncMetadata: false`), like an `async` export of knfsd.
   */
  async: boolean;
}

/** The server settings a config file may give (flags override them). */
export interface ServerSpec {
  host?: string;
  port?: number;
  versions?: VersionChoice;
  lease?: number;
  grace?: number;
  portmap111?: boolean;
}

/** An export path as clients mount it: `/` or `/name/…`, no `.` or `..`. */
export function exportPath(field: string, v: string): string {
  const parts = v.split("/").filter(Boolean);
  if (
    !v.startsWith("/") || parts.some((p) => p === "." || p === "..") ||
    v.includes("\0")
  ) {
    throw new UsageError(
      `Invalid ${field}: ${v} (expected / or an absolute name such as /data)`,
    );
  }
  return "/" + parts.join("/");
}

const EXPORT_KEYS = [
  "path",
  "dir",
  "memory",
  "readOnly",
  "clients",
  "squash",
  "anonUid",
  "anonGid",
  "secure",
  "async",
];
const SERVER_KEYS = [
  "host",
  "port",
  "versions",
  "lease",
  "grace",
  "portmap111",
  "exports",
];

/** Reads and validates a config file. */
export async function readConfig(
  file: string,
): Promise<{ server: ServerSpec; exports: ExportSpec[] }> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e;
    throw new UsageError(
      `Cannot read config ${file}: ${(e as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `Invalid config ${file}: not JSON: ${(e as Error).message}`,
    );
  }
  const slash = file.lastIndexOf("/");
  return validateConfig(json, file, slash >= 0 ? file.slice(0, slash) : ".");
}

/** Checks a parsed config; every error names `file` and the field. */
export function validateConfig(
  json: unknown,
  file: string,
  baseDir: string,
): { server: ServerSpec; exports: ExportSpec[] } {
  const bad = (field: string, why: string) =>
    new UsageError(`Invalid config ${file}: ${field}: ${why}`);
  // The flag parsers say "Invalid <field>: …"; a config says it per field.
  const field = <T>(_name: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      throw new UsageError(
        `Invalid config ${file}: ${e.message.replace(/^Invalid /, "")}`,
      );
    }
  };
  const kind = (v: unknown) =>
    v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw bad("(top level)", `expected an object, got ${kind(json)}`);
  }
  const top = json as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (!SERVER_KEYS.includes(k)) {
      throw bad(k, `unknown field (expected ${SERVER_KEYS.join(", ")})`);
    }
  }
  const str = (name: string, v: unknown): string => {
    if (typeof v !== "string") {
      throw bad(name, `expected a string, got ${kind(v)}`);
    }
    return v;
  };
  const bool = (name: string, v: unknown): boolean => {
    if (typeof v !== "boolean") {
      throw bad(name, `expected true or false, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const num = (name: string, v: unknown, min: number, max: number): number => {
    if (typeof v !== "number") {
      throw bad(name, `expected a number, got ${kind(v)}`);
    }
    return field(name, () => integer(name, String(v), min, max));
  };
  const server: ServerSpec = {};
  if (top.host !== undefined) {
    server.host = field("host", () => host("host", str("host", top.host)));
  }
  if (top.port !== undefined) {
    server.port = field(
      "port",
      () => port("port", String(num("port", top.port, 0, 65535))),
    );
  }
  if (top.versions !== undefined) {
    const v = Array.isArray(top.versions)
      ? top.versions.map((x, i) => str(`versions[${i}]`, String(x))).join(",")
      : str("versions", top.versions);
    server.versions = field("versions", () => parseVersions("versions", v));
  }
  if (top.lease !== undefined) server.lease = num("lease", top.lease, 1, 3600);
  if (top.grace !== undefined) server.grace = num("grace", top.grace, 0, 3600);
  if (top.portmap111 !== undefined) {
    server.portmap111 = bool("portmap111", top.portmap111);
  }
  if (!Array.isArray(top.exports) || top.exports.length === 0) {
    throw bad(
      "exports",
      top.exports === undefined
        ? "missing (a list of exports)"
        : `expected a list of at least one export, got ${kind(top.exports)}`,
    );
  }
  const exports: ExportSpec[] = [];
  const seen = new Set<string>();
  top.exports.forEach((raw, i) => {
    const at = `exports[${i}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw bad(at, `expected an object, got ${kind(raw)}`);
    }
    const e = raw as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!EXPORT_KEYS.includes(k)) {
        throw bad(
          `${at}.${k}`,
          `unknown field (expected ${EXPORT_KEYS.join(", ")})`,
        );
      }
    }
    if (e.path === undefined) throw bad(`${at}.path`, "missing");
    const path = field(
      `${at}.path`,
      () => exportPath(`${at}.path`, str(`${at}.path`, e.path)),
    );
    if (seen.has(path)) throw bad(`${at}.path`, `exported twice: ${path}`);
    seen.add(path);
    const memory = e.memory === undefined
      ? false
      : bool(`${at}.memory`, e.memory);
    if (memory === (e.dir !== undefined)) {
      throw bad(at, 'give either "dir" (a host directory) or "memory": true');
    }
    let dir: string | undefined;
    if (e.dir !== undefined) {
      dir = str(`${at}.dir`, e.dir);
      if (dir === "") throw bad(`${at}.dir`, "empty");
      if (!dir.startsWith("/")) dir = `${baseDir}/${dir}`;
    }
    let list: string[] | undefined;
    if (e.clients !== undefined) {
      if (!Array.isArray(e.clients)) {
        throw bad(
          `${at}.clients`,
          `expected a list of addresses and CIDRs, got ${kind(e.clients)}`,
        );
      }
      list = field(`${at}.clients`, () =>
        clients(
          `${at}.clients`,
          (e.clients as unknown[]).map((c, j) => str(`${at}.clients[${j}]`, c))
            .join(","),
        ));
    }
    exports.push({
      path,
      dir,
      readOnly: e.readOnly === undefined
        ? false
        : bool(`${at}.readOnly`, e.readOnly),
      clients: list,
      squash: e.squash === undefined
        ? "root"
        : field(`${at}.squash`, () =>
          choice(
            `${at}.squash`,
            str(`${at}.squash`, e.squash),
            ["root", "none", "all"] as const,
          )),
      anonUid: e.anonUid === undefined
        ? 65534
        : num(`${at}.anonUid`, e.anonUid, 0, 0xffffffff),
      anonGid: e.anonGid === undefined
        ? 65534
        : num(`${at}.anonGid`, e.anonGid, 0, 0xffffffff),
      secure: e.secure === undefined ? false : bool(`${at}.secure`, e.secure),
      async: e.async === undefined ? false : bool(`${at}.async`, e.async),
    });
  });
  return { server, exports };
}
