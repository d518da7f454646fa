// The seam between NfsClient and a protocol version: what the path-level
// API needs, in version-neutral terms. NFSv3 implements it in _v3.ts, NFSv2
// in _v2.ts (v2 has no COMMIT, so its writes are FILE_SYNC and `commit`
// only returns the constant verifier; no READDIRPLUS, so `list` pages with
// READDIR; 32-bit sizes).
//
// Attributes use the NFSv3 shape (Fattr3, Sattr3): v2's map onto it. Every
// method takes the path it works for, for error messages.
import type { Fattr3, Sattr3 } from "../proto/nfs3.ts";
import type { NfsFsStats } from "./file_info.ts";

/** A handle and, when the server sent them, its attributes. */
export interface Found {
  handle: Uint8Array;
  attrs?: Fattr3;
}

/** One directory entry from a listing. */
export interface Listed {
  name: string;
  fileid: number;
  /** Present when the listing carried them (READDIRPLUS). */
  attrs?: Fattr3;
  handle?: Uint8Array;
}

/** What a WRITE achieved. */
export interface Written {
  count: number;
  /** 0 UNSTABLE, 1 DATA_SYNC, 2 FILE_SYNC. */
  committed: number;
  /** The server's write verifier (8 bytes). */
  verf: Uint8Array;
}

/** Transfer sizes and limits, from FSINFO (or v2's fixed 8 KiB). */
export interface Limits {
  rsize: number;
  wsize: number;
  dirSize: number;
  maxFileSize: number;
}

/** One NFS version, as NfsClient uses it. */
export interface NfsProtocol {
  readonly version: 2 | 3;
  getattr(fh: Uint8Array, path: string): Promise<Fattr3>;
  setattr(fh: Uint8Array, attrs: Sattr3, path: string): Promise<void>;
  lookup(dir: Uint8Array, name: string, path: string): Promise<Found>;
  readlink(fh: Uint8Array, path: string): Promise<string>;
  read(
    fh: Uint8Array,
    at: { offset: number; count: number },
    path: string,
  ): Promise<{ data: Uint8Array; eof: boolean }>;
  /**
   * Hands back the storage of `read`'s data once it was copied out and no
   * view of it is used again.
   */
  recycle(data: Uint8Array): void;
  /** `stable`: false asks for UNSTABLE (commit later), true FILE_SYNC. */
  write(
    fh: Uint8Array,
    at: { offset: number; data: Uint8Array; stable: boolean },
    path: string,
  ): Promise<Written>;
  /** Commits everything written to `fh`; resolves to the verifier. */
  commit(fh: Uint8Array, path: string): Promise<Uint8Array>;
  /** `exclusive`: fail with EXIST when the name exists. */
  create(
    dir: Uint8Array,
    entry: { name: string; mode: number; exclusive: boolean },
    path: string,
  ): Promise<Found>;
  mkdir(
    dir: Uint8Array,
    entry: { name: string; mode: number },
    path: string,
  ): Promise<Found>;
  symlink(
    dir: Uint8Array,
    entry: { name: string; target: string },
    path: string,
  ): Promise<void>;
  remove(dir: Uint8Array, name: string, path: string): Promise<void>;
  rmdir(dir: Uint8Array, name: string, path: string): Promise<void>;
  rename(
    from: { dir: Uint8Array; name: string },
    to: { dir: Uint8Array; name: string },
    path: string,
  ): Promise<void>;
  link(
    fh: Uint8Array,
    to: { dir: Uint8Array; name: string },
    path: string,
  ): Promise<void>;
  /** Every entry but "." and "..", page by page. */
  list(dir: Uint8Array, path: string): AsyncIterable<Listed[]>;
  statfs(fh: Uint8Array, path: string): Promise<NfsFsStats>;
  limits(root: Uint8Array): Promise<Limits>;
  /** Closes the connection; resolves once it is down. */
  close(): Promise<void>;
}

/** A name in a directory, as REMOVE and RMDIR take it in both versions. */
type DirName = { dir: Uint8Array; name: string };

/** What the version 2 and version 3 clients offer alike. */
interface VersionClient {
  readonly rpc: {
    readonly closed: Promise<void>;
    recycle?(data: Uint8Array): void;
  };
  close(): void;
  remove(args: DirName, options: { path: string }): Promise<unknown>;
  rmdir(args: DirName, options: { path: string }): Promise<unknown>;
}

/** The NfsProtocol methods that forward alike to either version's client. */
export abstract class AlikeCalls<C extends VersionClient> {
  readonly nfs: C;

  constructor(nfs: C) {
    this.nfs = nfs;
  }

  async close(): Promise<void> {
    this.nfs.close();
    await this.nfs.rpc.closed;
  }

  recycle(data: Uint8Array): void {
    this.nfs.rpc.recycle?.(data);
  }

  async remove(dir: Uint8Array, name: string, path: string): Promise<void> {
    await this.nfs.remove({ dir, name }, { path });
  }

  async rmdir(dir: Uint8Array, name: string, path: string): Promise<void> {
    await this.nfs.rmdir({ dir, name }, { path });
  }
}
