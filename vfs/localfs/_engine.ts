// What the LocalFs facade (./mod.ts) asks of an engine, and what both
// engines share beyond their own host calls: the setup the facade prepares
// once (root, FileId journal, ownership policy), the checks and arithmetic
// of COPY, and statfs figures. The portable engine is ./_portable.ts, the
// native one ./native/mod.ts; both keep FileIds in the same journal
// (./_id_index.ts) and attributes in the same AttrMap (./_attrs.ts), so an
// export switches engines across a restart with every handle still valid.
import { VfsError } from "../errors.ts";
import type { Credentials, FileId, FileSystem, FsStats } from "../types.ts";
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

/** The file-system calls an engine serves, the facade's limits aside. */
export type Engine =
  & Omit<FileSystem, "limits" | "concurrency" | "copy" | "close">
  & {
    /** Which engine this is. */
    readonly kind: EngineKind;
    /** Whether symlinks can be created. */
    readonly symlinks: boolean;
    /** Copies a byte range (see FileSystem.copy). */
    copy: NonNullable<FileSystem["copy"]>;
    /** Releases descriptors and closes the journal. */
    close(): Promise<void>;
  };

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
