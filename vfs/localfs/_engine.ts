// What the LocalFs facade (./mod.ts) asks of an engine, and what both
// engines share beyond their own host calls: the setup the facade prepares
// once (root, FileId journal, ownership policy), the checks and arithmetic
// of COPY, and statfs figures. The portable engine is ./_portable.ts, the
// native one ./native/mod.ts; both keep FileIds in the same journal
// (./_id_index.ts) and attributes in the same AttrMap (./_attrs.ts), so an
// export switches engines across a restart with every handle still valid.
import { VfsError } from "../errors.ts";
import type {
  Attributes,
  CreateOptions,
  Credentials,
  FileId,
  FileSystem,
  FsStats,
  SetAttributes,
} from "../types.ts";
import type { AttrMap, HostStat } from "./_attrs.ts";
import type { NameEffects, NameTree } from "./_names_policy.ts";
import type { IdIndex } from "./_id_index.ts";
import { isInt } from "./_host.ts";
import type { LocalFsEngine } from "./mod.ts";

/** The engines a LocalFs can run on. */
export type EngineKind = LocalFsEngine;

/** Everything the facade prepared for an engine. */
export interface EngineSetup {
  /** The export's real path (symlinks in it resolved once). */
  rootPath: string;
  /** The FileId journal. */
  index: IdIndex;
  /** The state folder's name when it sits directly in the root: hidden. */
  hidden: string | undefined;
  /** Most entries walked to find an object moved behind the server's back. */
  scanLimit: number;
  /** Most host files kept open. */
  openFiles: number;
  /** The fsid reported in attributes (default: the host device number). */
  fsid: number | undefined;
  /** Give new objects the caller's uid/gid. */
  chown: boolean;
  /** Largest file size. */
  maxFileSize: number;
}

/** An object an engine found: its stat, plus how that engine reaches it. */
export type Found = { st: HostStat };

/**
 * What an engine is made of, part by part, `L` being how it holds an object
 * it found and `D` a directory. The facade calls the parts and keeps what
 * is the same for both engines in one place: this turn's attributes,
 * setattr's and access's bookkeeping, and CREATE, REMOVE and RMDIR's
 * decisions (./_names_policy.ts).
 */
export interface Engine<L extends Found = Found, D extends Found = L> {
  /** Which engine this is. */
  readonly kind: EngineKind;
  /** Whether symlinks can be created. */
  readonly symlinks: boolean;
  /** Finds objects and proves they are what their FileId names. */
  readonly tree: NameTree<D, L> & {
    closed: boolean;
    /** See TreeIds.deferWalks and ./_walks.ts. */
    deferWalks: boolean;
    /** Walks the whole tree, taking turns with other calls, for `id`. */
    sweep(id: FileId): Promise<void>;
  };
  /** Attributes, the change counter and this turn's verified stats. */
  readonly attrs: AttrMap;
  /** Reads, writes, commits and attribute changes. */
  readonly io: Pick<FileSystem, "read" | "write" | "commit"> & {
    setattr(cred: Credentials, id: FileId, at: L, attrs: SetAttributes): void;
  };
  /** Lookup, readlink and rename; the entry a remove acts on, and the act. */
  readonly names: Pick<FileSystem, "lookup" | "readlink" | "rename"> & {
    /** As `lookup`, an absent name `undefined` (see `FileSystem.find`). */
    find: NonNullable<FileSystem["find"]>;
    /** What a change of names tells the rest of the engine. */
    readonly effects: NameEffects;
    /** The entry `name` of `dirId` to remove, permissions checked. */
    victim(
      cred: Credentials,
      dirId: FileId,
      name: string,
    ): { dir: D; victim: L; id: FileId };
    /** Removes the entry `name` of `dir`, which was `victim`. */
    unlink(dir: D, name: string, victim: L): void;
  };
  /** Mkdir, symlink, link and mknod, and how a new file is made. */
  readonly make: Pick<FileSystem, "mkdir" | "symlink" | "link" | "mknod"> & {
    /** Makes a new regular file (see MakeFile). */
    createIn(
      cred: Credentials,
      dirId: FileId,
      dir: D,
      name: string,
      options: CreateOptions,
      quietExists: boolean,
    ): Attributes | undefined;
  };
  /** READDIR. */
  readonly listings: Pick<FileSystem, "readdir">;
  /** The optional capabilities this engine has. */
  readonly caps?:
    & Required<Pick<FileSystem, "xattrs" | "allocate" | "deallocate" | "seek">>
    & { clone: Clone };
  /**
   * fsyncs the directory `id`, so that the names made, moved or removed in
   * it are on stable storage; nothing when the directory is gone or the
   * server may not open it for reading.
   */
  syncDir(id: FileId): Promise<void>;
  /** Host statfs figures of the file system holding `id`. */
  statfs(id: FileId): FsStats;
  /** Copies a byte range (see FileSystem.copy). */
  copy: NonNullable<FileSystem["copy"]>;
  /** Releases the engine's descriptors. */
  close(): void;
}

/** Makes a range of one file share the storage of another's (reflink). */
export type Clone = (
  cred: Credentials,
  srcId: FileId,
  dstId: FileId,
  options: { srcOffset: number; dstOffset: number; length: number },
) => Promise<void>;

/** A COPY's range once checked: nothing to copy, or what to copy. */
export type CopyPlan = { srcOffset: number; dstOffset: number; length: number };

/**
 * Checks a COPY's arguments, then against the source's size: undefined
 * when the source has nothing at `srcOffset`, else the range clipped to
 * the source (length 0 means to its end). Overlapping ranges of one file
 * are EINVAL.
 */
export async function planCopy(
  srcId: FileId,
  dstId: FileId,
  options: { srcOffset: number; dstOffset: number; length: number },
  sizeOf: () => Promise<number>,
): Promise<CopyPlan | undefined> {
  const { srcOffset, dstOffset } = options;
  if (!isInt(srcOffset) || !isInt(dstOffset) || !isInt(options.length)) {
    throw new VfsError("EINVAL", `Invalid copy range: ${srcOffset}`);
  }
  const size = await sizeOf();
  if (srcOffset >= size) return undefined;
  const length = Math.min(
    options.length === 0 ? Infinity : options.length,
    size - srcOffset,
  );
  if (
    srcId === dstId && srcOffset < dstOffset + length &&
    dstOffset < srcOffset + length
  ) {
    throw new VfsError("EINVAL", `Invalid argument: overlapping copy`);
  }
  return { srcOffset, dstOffset, length };
}

/**
 * Copies through reads and writes of at most 1 MiB: what an engine does
 * without a kernel copy.
 */
export async function copyByReading(
  fs: Pick<FileSystem, "read" | "write">,
  cred: Credentials,
  srcId: FileId,
  dstId: FileId,
  plan: CopyPlan,
): Promise<number> {
  let done = 0;
  while (done < plan.length) {
    const r = await fs.read(
      cred,
      srcId,
      plan.srcOffset + done,
      Math.min(1 << 20, plan.length - done),
    );
    if (r.data.length === 0) break;
    await fs.write(cred, dstId, plan.dstOffset + done, r.data);
    done += r.data.length;
  }
  return done;
}

/** Host statfs figures as FsStats; large placeholders when there are none. */
export function fsStats(
  s:
    | {
      bsize: number;
      blocks: number;
      bfree: number;
      bavail: number;
      files: number;
      ffree: number;
    }
    | undefined,
): FsStats {
  if (s === undefined) {
    const big = 2 ** 50;
    return {
      totalBytes: big,
      freeBytes: big,
      availBytes: big,
      totalFiles: 2 ** 32,
      freeFiles: 2 ** 32,
      availFiles: 2 ** 32,
    };
  }
  return {
    totalBytes: s.blocks * s.bsize,
    freeBytes: s.bfree * s.bsize,
    availBytes: s.bavail * s.bsize,
    totalFiles: s.files,
    freeFiles: s.ffree,
    availFiles: s.ffree,
  };
}
