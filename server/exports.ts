/**
 * The export table: which file systems are served under which paths, to
 * which clients, and how callers' credentials are mapped (squashing).
 *
 * @example
 * ```ts
 * import { ExportTable } from "./exports.ts";
 * import { MemFs } from "../vfs/memfs.ts";
 * const fs = new MemFs();
 * const table = new ExportTable([
 *   { path: "/", fs, squash: "none" },
 *   { path: "/data", fs, readOnly: true, clients: ["10.0.0.0/8"] },
 * ]);
 * console.log(table.find("/data")?.readOnly); // true
 * ```
 *
 * @module
 */

import { AllowList, LOOPBACK } from "../net/allow.ts";
import type { CallAuth } from "../rpc/program.ts";
import { servedFs } from "../vfs/_serial.ts";
import type { Credentials, FileId, FileSystem } from "../vfs/types.ts";
import { handleVerifier } from "./handles.ts";

/**
 * Makes the file system a caller sees, for per-user views.
 *
 * @example
 * ```ts
 * import type { FileSystemFactory } from "./exports.ts";
 * import { MemFs } from "../vfs/memfs.ts";
 * const shared = new MemFs();
 * const factory: FileSystemFactory = (_cred) => shared;
 * console.log(factory({ uid: 1, gid: 1, groups: [] }) === shared);
 * ```
 */
export type FileSystemFactory = (cred: Credentials) => FileSystem;

/**
 * How callers' identities are mapped.
 *
 * @example
 * ```ts
 * import type { Squash } from "./exports.ts";
 * const mode: Squash = "none"; // trust the client's uid 0
 * console.log(mode);
 * ```
 */
export type Squash = "root" | "none" | "all";

/**
 * One export, as configured.
 *
 * @example
 * ```ts
 * import type { ExportOptions } from "./exports.ts";
 * import { MemFs } from "../vfs/memfs.ts";
 * const options: ExportOptions = {
 *   path: "/data",
 *   fs: new MemFs(),
 *   clients: ["127.0.0.1", "10.0.0.0/8"],
 *   squash: "root",
 *   anonUid: 65534,
 *   anonGid: 65534,
 * };
 * console.log(options.path);
 * ```
 */
export interface ExportOptions {
  /** Where clients mount it: "/" or a name such as "/data". */
  path: string;
  /**
   * The file system, or a factory giving each caller its own view (every
   * view must use the same file ids). One that declares `concurrency:
   * "serialize"` gets its calls one at a time, through one queue per file
   * system object.
   */
  fs: FileSystem | FileSystemFactory;
  /** Refuse every change with NFS3ERR_ROFS. Default false. */
  readOnly?: boolean;
  /** Allowed client addresses and CIDRs, "*" for all. Default loopback. */
  clients?: readonly string[];
  /**
   * "root" (default) maps uid/gid 0 to the anonymous ids, "all" maps
   * everyone, "none" trusts the client's ids.
   */
  squash?: Squash;
  /** Anonymous uid. Default 65534. */
  anonUid?: number;
  /** Anonymous gid. Default 65534. */
  anonGid?: number;
  /** Require a client source port below 1024. Default false. */
  secure?: boolean;
  /**
   * Keep file handles valid across server restarts: `true` derives the
   * handle verifier from the export path, a string from that string. Only
   * for file systems whose file ids survive a restart (LocalFs). Default
   * false: handles of an earlier server instance are NFS3ERR_STALE.
   */
  stableHandles?: boolean | string;
}

/**
 * An export, ready to serve.
 *
 * @example
 * ```ts
 * import { Export } from "./exports.ts";
 * import { MemFs } from "../vfs/memfs.ts";
 * const exp = new Export(0, { path: "/", fs: new MemFs() });
 * console.log(exp.credentials({ flavor: 0 }).uid); // 65534
 * ```
 */
export class Export {
  /** Small id carried in every handle. */
  readonly id: number;
  /** Normalized path ("/" or "/name"). */
  readonly path: string;
  /** Whether changes are refused. */
  readonly readOnly: boolean;
  /** Squash mode. */
  readonly squash: Squash;
  /** Anonymous uid. */
  readonly anonUid: number;
  /** Anonymous gid. */
  readonly anonGid: number;
  /** Whether a privileged source port is required. */
  readonly secure: boolean;
  /** The allowed clients as given. */
  readonly clients: readonly string[];
  /** The 8-byte handle verifier. */
  readonly verifier: Uint8Array;
  /** High word of the verifier. */
  readonly verfHi: number;
  /** Low word of the verifier. */
  readonly verfLo: number;
  /**
   * The file system seen by anonymous callers (also gives `root`): the one
   * given, or the wrapper that queues its calls when it declares
   * `concurrency: "serialize"`.
   */
  readonly baseFs: FileSystem;
  /** Anonymous credentials. */
  readonly anon: Credentials;
  readonly #factory?: FileSystemFactory;
  readonly #allow: AllowList;
  readonly #allowCache = new Map<string, boolean>();

  /**
   * Prepares `options` as export number `id`.
   *
   * @example
   * ```ts
   * import { Export } from "./exports.ts";
   * import { MemFs } from "../vfs/memfs.ts";
   * const fs = new MemFs();
   * const exp = new Export(0, { path: "/data/", fs });
   * console.log(exp.path); // "/data"
   * ```
   */
  constructor(id: number, options: ExportOptions) {
    this.id = id;
    this.path = normalizeExportPath(options.path);
    this.readOnly = options.readOnly ?? false;
    this.squash = options.squash ?? "root";
    this.anonUid = options.anonUid ?? 65534;
    this.anonGid = options.anonGid ?? 65534;
    this.secure = options.secure ?? false;
    this.clients = [...(options.clients ?? LOOPBACK)];
    this.#allow = new AllowList(this.clients);
    const stable = options.stableHandles ?? false;
    this.verifier = handleVerifier(
      stable === false
        ? undefined
        : `netfs:${stable === true ? this.path : stable}`,
    );
    const v = new DataView(this.verifier.buffer);
    this.verfHi = v.getUint32(0);
    this.verfLo = v.getUint32(4);
    this.anon = Object.freeze({
      uid: this.anonUid,
      gid: this.anonGid,
      groups: Object.freeze([]) as readonly number[],
    });
    if (typeof options.fs === "function") {
      this.#factory = options.fs;
      this.baseFs = servedFs(options.fs(this.anon));
    } else {
      this.baseFs = servedFs(options.fs);
    }
  }

  /** The root directory's file id. */
  get root(): FileId {
    return this.baseFs.root;
  }

  /** The file system a caller with `cred` sees. */
  fsFor(cred: Credentials): FileSystem {
    return this.#factory ? servedFs(this.#factory(cred)) : this.baseFs;
  }

  /** Whether a client at `address` may use this export. */
  allows(address: string): boolean {
    let ok = this.#allowCache.get(address);
    if (ok === undefined) {
      ok = this.#allow.allows(address);
      if (this.#allowCache.size >= 4096) this.#allowCache.clear();
      this.#allowCache.set(address, ok);
    }
    return ok;
  }

  /** Maps the RPC credentials of a call to the identity used on the file system. */
  credentials(auth: CallAuth): Credentials {
    if (auth.flavor !== 1 || this.squash === "all") return this.anon;
    const { uid, gid, gids } = auth.sys;
    if (this.squash === "none") return { uid, gid, groups: gids };
    if (uid !== 0 && gid !== 0 && !gids.includes(0)) {
      return { uid, gid, groups: gids };
    }
    return {
      uid: uid === 0 ? this.anonUid : uid,
      gid: gid === 0 ? this.anonGid : gid,
      groups: gids.map((g) => g === 0 ? this.anonGid : g),
    };
  }
}

/**
 * Normalizes an export path: one leading slash, no trailing slash, no
 * empty, "." or ".." components.
 *
 * @example
 * ```ts
 * import { normalizeExportPath } from "./exports.ts";
 * console.log(normalizeExportPath("data//x/")); // "/data/x"
 * ```
 */
export function normalizeExportPath(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    throw new TypeError(`Export path must not contain "..": ${path}`);
  }
  return "/" + parts.join("/");
}

/**
 * The result of resolving a mount path.
 *
 * @example
 * ```ts
 * import { ExportTable, type ExportMatch } from "./exports.ts";
 * import { MemFs } from "../vfs/memfs.ts";
 * const t = new ExportTable([{ path: "/data", fs: new MemFs() }]);
 * const m: ExportMatch | undefined = t.match("/data/sub");
 * console.log(m?.rest); // ["sub"]
 * ```
 */
export interface ExportMatch {
  /** The export. */
  export: Export;
  /** Path components below the export's path (for subdirectory mounts). */
  rest: string[];
}

/**
 * Every export, by id and by path.
 *
 * @example
 * ```ts
 * import { ExportTable } from "./exports.ts";
 * import { MemFs } from "../vfs/memfs.ts";
 * const fs = new MemFs();
 * const t = new ExportTable([{ path: "/", fs }]);
 * console.log(t.match("/docs/a")?.rest); // ["docs", "a"]
 * ```
 */
export class ExportTable {
  /** Exports in the order given; an export's id is its index. */
  readonly exports: readonly Export[];

  /** Builds the table; throws on duplicate paths or more than 256 exports. */
  constructor(options: readonly ExportOptions[]) {
    if (options.length === 0) throw new TypeError("No exports configured");
    if (options.length > 256) {
      throw new TypeError(`Too many exports: ${options.length}`);
    }
    this.exports = options.map((o, i) => new Export(i, o));
    const seen = new Set<string>();
    for (const e of this.exports) {
      if (seen.has(e.path)) {
        throw new TypeError(`Duplicate export path: ${e.path}`);
      }
      seen.add(e.path);
    }
  }

  /** The export with this id. */
  byId(id: number): Export | undefined {
    return this.exports[id];
  }

  /** The export at exactly this path. */
  find(path: string): Export | undefined {
    const p = normalizeExportPath(path);
    return this.exports.find((e) => e.path === p);
  }

  /**
   * The export whose path is the longest prefix of `path`, and the
   * components below it; undefined if none matches.
   */
  match(path: string): ExportMatch | undefined {
    const parts = path.split("/").filter((p) => p !== "" && p !== ".");
    let best: ExportMatch | undefined;
    for (const e of this.exports) {
      const ep = e.path === "/" ? [] : e.path.slice(1).split("/");
      if (ep.length > parts.length) continue;
      if (!ep.every((c, i) => c === parts[i])) continue;
      if (!best || ep.length > parts.length - best.rest.length) {
        best = { export: e, rest: parts.slice(ep.length) };
      }
    }
    return best;
  }
}
