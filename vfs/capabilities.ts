/**
 * The optional capabilities of a `FileSystem`: extended attributes and
 * NFSv4-style opens with share reservations. Re-exported by `types.ts`.
 *
 * @module
 */
import type { Credentials, FileId } from "./types.ts";

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
