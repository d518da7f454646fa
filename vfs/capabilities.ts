/**
 * The optional capabilities of a `FileSystem`: extended attributes,
 * NFSv4-style opens with share reservations, and synchronous forms of
 * calls that never wait (`now`). Re-exported by `types.ts`.
 *
 * @module
 */
import type {
  Attributes,
  CreateOptions,
  Credentials,
  FileId,
  ReadResult,
  Stability,
  WriteResult,
} from "./types.ts";

/** Extended attributes (RFC 8276), an optional capability. */
export interface XattrOps {
  /** The value of attribute `name`; ENODATA if absent. */
  getxattr(cred: Credentials, id: FileId, name: string): Promise<Uint8Array>;
  /**
   * Sets attribute `name`; `mode` "create" fails with EEXIST, "replace"
   * with ENODATA. `value` is lent for the call only, as `FileSystem.write`'s
   * data is: an NFSv4.2 SETXATTR's value is a view of the call's record.
   */
  setxattr(
    cred: Credentials,
    id: FileId,
    name: string,
    value: Uint8Array,
    mode?: "either" | "create" | "replace",
  ): Promise<void>;
  /** The names of all attributes. */
  listxattrs(cred: Credentials, id: FileId): Promise<string[]>;
  /** Removes attribute `name`; ENODATA if absent. */
  removexattr(cred: Credentials, id: FileId, name: string): Promise<void>;
}

/**
 * The share access bits of an open (NFSv4 `OPEN4_SHARE_ACCESS_*`): what the
 * opener means to do with the file.
 */
export const ShareAccess = {
  Read: 1,
  Write: 2,
  Both: 3,
} as const;

/** One of the {@link ShareAccess} values. */
export type ShareAccess = typeof ShareAccess[keyof typeof ShareAccess];

/**
 * The share deny bits of an open (NFSv4 `OPEN4_SHARE_DENY_*`): what the
 * opener forbids other opens of the file while its own lasts.
 */
export const ShareDeny = {
  None: 0,
  Read: 1,
  Write: 2,
  Both: 3,
} as const;

/** One of the {@link ShareDeny} values. */
export type ShareDeny = typeof ShareDeny[keyof typeof ShareDeny];

/** Options for `FileSystem.open`: what kind of open this is. */
export interface OpenOptions {
  /** What the opener will do (NFSv4.1's "want" bits already removed). */
  access: ShareAccess;
  /**
   * What the opener denies others. Informational: the server has already
   * refused any open that conflicts with another.
   */
  deny: ShareDeny;
  /** True when this open created the file (absent: it did not). */
  created?: boolean;
  /**
   * Who opens, for logs and for telling openers apart: the same string for
   * every open by one NFSv4 open owner (its client and the owner bytes), and
   * not meant to be parsed. The NFSv4 server always sets it.
   */
  owner?: string;
}

/**
 * The synchronous forms of `getattr`, `find`, `create`, `remove`, `read` and
 * `write`, for a file system whose answers never wait (memory): the same
 * arguments, results, errors (thrown, not rejected) and effects as the async
 * calls. A server answers a call from them in the same turn it decoded it,
 * skipping the promise turns of the async calls: 3–8 % less server CPU per
 * create and per stat over NFSv3 at 1 in flight, and 4 KiB READs and WRITEs
 * 1.05–1.09× as fast (bench/RESULTS.md, issue 16, sessions 11 and 12). A
 * server uses them only where the class that defines `now` also defines all
 * six async calls (and `lookup`) that the object has, so a subclass that
 * overrides one of them is called through it (`vfs/_find.ts`, `nowOf`). The
 * signatures repeat `FileSystem`'s on purpose, with the results unwrapped,
 * so that each reads as the API it is.
 *
 * @example The same answers, now
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemFs, ROOT } from "@netfs/netfs/vfs";
 *
 * const fs = new MemFs();
 * const now = fs.now;
 * const made = now.create(ROOT, fs.root, "a.txt", { exclusive: true });
 * assert.equal(now.find(ROOT, fs.root, "a.txt")?.fileid, made.fileid);
 * assert.equal(now.find(ROOT, fs.root, "b.txt"), undefined);
 * assert.deepEqual(now.getattr(ROOT, made.fileid), await fs.getattr(ROOT, made.fileid));
 * assert.throws(() => now.create(ROOT, fs.root, "a.txt", { exclusive: true }), { code: "EEXIST" });
 * now.remove(ROOT, fs.root, "a.txt");
 * assert.equal(now.find(ROOT, fs.root, "a.txt"), undefined);
 * ```
 */
export interface FileSystemNow {
  /** As `FileSystem.getattr`. */
  getattr(cred: Credentials, id: FileId): Attributes;
  /** As `FileSystem.find`. */
  find(cred: Credentials, dir: FileId, name: string): Attributes | undefined;
  /** As `FileSystem.create`. */
  create(
    cred: Credentials,
    dir: FileId,
    name: string,
    options?: CreateOptions,
  ): Attributes;
  /** As `FileSystem.remove`. */
  remove(cred: Credentials, dir: FileId, name: string): void;
  /** As `FileSystem.read`: the data may be a view, lent as that one's. */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): ReadResult;
  /** As `FileSystem.write`: `data` is lent for the call only, as to that one. */
  write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable?: Stability,
  ): WriteResult;
}
