/**
 * The export table: which file systems are served under which paths, to
 * which clients, and how callers' credentials are mapped (squashing).
 *
 * @example Two exports; a mount path resolves to the longest match
 * ```ts
 * import { ExportTable } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs();
 * const table = new ExportTable([
 *   { path: "/", fs, squash: "none" },
 *   { path: "/data", fs, readOnly: true, clients: ["10.0.0.0/8"] },
 * ]);
 * const m = table.match("/data/projects/x");
 * assert.equal(m?.export.path, "/data");
 * assert.deepEqual(m?.rest, ["projects", "x"]); // mounted below the export
 * assert.equal(table.match("/docs")?.export.path, "/");
 * assert.equal(table.find("/data")?.readOnly, true);
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
 * @example A view per caller
 * ```ts
 * import { Export, type FileSystemFactory } from "@netfs/netfs/server";
 * import { MemFs, ReadOnlyFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const shared = new MemFs();
 * const guestView = new ReadOnlyFs(shared); // same file ids
 * const factory: FileSystemFactory = (cred) => cred.uid === 65534 ? guestView : shared;
 * const exp = new Export(0, { path: "/", fs: factory });
 * assert.equal(exp.baseFs, guestView); // made for the anonymous caller
 * assert.equal(exp.fsFor({ uid: 1000, gid: 1000, groups: [] }), shared);
 * ```
 */
export type FileSystemFactory = (cred: Credentials) => FileSystem;

/**
 * How callers' identities are mapped.
 *
 * @example What each mode does to an AUTH_SYS caller
 * ```ts
 * import { Export, type Squash } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs();
 * const asSeenBy = (squash: Squash, uid: number) =>
 *   new Export(0, { path: "/", fs, squash }).credentials({
 *     flavor: 1,
 *     sys: { stamp: 0, machineName: "client", uid, gid: uid, gids: [] },
 *   }).uid;
 * assert.equal(asSeenBy("root", 0), 65534); // the default: root is anonymous
 * assert.equal(asSeenBy("root", 1000), 1000);
 * assert.equal(asSeenBy("all", 1000), 65534);
 * assert.equal(asSeenBy("none", 0), 0); // trusts the client's root
 * ```
 */
export type Squash = "root" | "none" | "all";

/**
 * One export, as configured.
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
 * @example Which clients may use it
 * ```ts
 * import { Export } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const local = new Export(0, { path: "/", fs: new MemFs() });
 * assert.equal(local.allows("127.0.0.1"), true); // loopback by default
 * assert.equal(local.allows("192.0.2.7"), false);
 *
 * const lan = new Export(1, { path: "/lan", fs: new MemFs(), clients: ["192.0.2.0/24"] });
 * assert.equal(lan.allows("192.0.2.7"), true);
 * assert.equal(lan.allows("127.0.0.1"), false);
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
 * import { normalizeExportPath } from "@netfs/netfs/server";
 * import assert from "node:assert/strict";
 *
 * assert.equal(normalizeExportPath("data//x/./"), "/data/x");
 * assert.equal(normalizeExportPath(""), "/");
 * assert.throws(() => normalizeExportPath("/data/../etc"), {
 *   name: "TypeError",
 *   message: 'Export path must not contain "..": /data/../etc',
 * });
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
 * @example A table is checked when it is built
 * ```ts
 * import { ExportTable } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs();
 * const table = new ExportTable([{ path: "/a", fs }, { path: "/b", fs }]);
 * assert.equal(table.byId(1)?.path, "/b"); // an export's id is its index
 * assert.throws(() => new ExportTable([{ path: "/a", fs }, { path: "a/", fs }]), {
 *   message: "Duplicate export path: /a",
 * });
 * assert.throws(() => new ExportTable([]), { message: "No exports configured" });
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
