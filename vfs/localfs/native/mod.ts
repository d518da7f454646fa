// The native LocalFs engine: Linux with --allow-ffi. The kernel confines
// every lookup (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV on directory descriptors, see
// ./_tree.ts), every change is an *at call on a directory descriptor, and
// it offers what Deno has no API for: mknod, xattrs, allocate, deallocate,
// seek, copy_file_range and clones. It assembles ./_tree.ts, ./_io.ts,
// ./_names.ts, ./_create.ts and ./_caps.ts over the parts both engines
// share (the FileId journal, AttrMap, the descriptor cache, Listings).
import type { Credentials, FileId, FsStats } from "../../types.ts";
import { AttrMap } from "../_attrs.ts";
import { type Engine, type EngineSetup, fsStats } from "../_engine.ts";
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  ENOSYS,
  errnoError,
  type Libc,
  O_DIRECTORY,
  O_RDONLY,
  openLibc,
  RESOLVE_CONFINED,
} from "../_libc.ts";
import { type ListingHost, Listings } from "../_readdir.ts";
import { NativeCaps } from "./_caps.ts";
import { NativeCreator } from "./_create.ts";
import { NativeIo } from "./_io.ts";
import { NativeNames } from "./_names.ts";
import { type Found, type FoundDir, NativeTree } from "./_tree.ts";

/**
 * The libc bindings with openat2 at hand, or why the native engine cannot
 * run here. The caller releases them (the engine does on close).
 */
export function openNative(): Libc | string {
  const lib = openLibc();
  if (typeof lib === "string") return lib;
  // openat2 came with Linux 5.6.
  const fd = lib.openat2(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY, 0, 0);
  if (fd === -ENOSYS) {
    lib.release();
    return "the kernel has no openat2 (Linux 5.6 or later)";
  }
  if (fd >= 0) lib.close(fd);
  return lib;
}

/** The native engine's listings: names and entries through the directory's descriptor. */
function fdListing(tree: NativeTree): ListingHost<FoundDir> {
  return {
    root: tree.root,
    hidden: tree.hidden,
    dir: (id) => tree.dir(id),
    names: (dirId, dir) => {
      const names = tree.lib.readdir(dir.fd);
      if (typeof names === "number") throw errnoError(names, `fileid ${dirId}`);
      return names;
    },
    entry: (_dirId, dir, name) => {
      const st = tree.lib.statx(dir.fd, name, AT_SYMLINK_NOFOLLOW);
      return typeof st === "number" || st.dev !== tree.dev ? undefined : st;
    },
    // Read through a descriptor: nothing can have led elsewhere.
    settled: () => {},
    place: (dirId, name, st) => tree.place(dirId, name, st),
  };
}

/** The FFI engine. */
export class NativeEngine implements Engine<Found> {
  /** This engine. */
  readonly kind = "native" as const;
  /** symlinkat needs no Deno permission. */
  readonly symlinks = true;
  readonly tree: NativeTree;
  readonly attrs: AttrMap;
  readonly io: NativeIo;
  readonly names: NativeNames;
  readonly make: NativeCreator;
  readonly listings: Listings<FoundDir>;
  readonly caps: NonNullable<Engine["caps"]>;
  readonly #caps: NativeCaps;

  private constructor(setup: EngineSetup, lib: Libc, rootFd: number) {
    const rootSt = lib.fstat(rootFd);
    if (typeof rootSt === "number") throw errnoError(rootSt, setup.rootPath);
    const tree = new NativeTree(
      lib,
      rootFd,
      rootSt,
      setup.index,
      setup.hidden,
      setup.scanLimit,
    );
    const attrs = new AttrMap(setup.fsid);
    const io = new NativeIo(tree, attrs, setup.maxFileSize, setup.openFiles);
    const listings = new Listings(fdListing(tree), attrs);
    this.tree = tree;
    this.attrs = attrs;
    this.io = io;
    this.listings = listings;
    this.names = new NativeNames(tree, attrs, io, listings);
    this.make = new NativeCreator(tree, attrs, io, listings, setup.chown);
    const caps = new NativeCaps(tree, attrs, io, setup.maxFileSize);
    this.#caps = caps;
    this.caps = {
      xattrs: caps.xattrs,
      allocate: (c, id, o, l) => caps.allocate(c, id, o, l),
      deallocate: (c, id, o, l) => caps.deallocate(c, id, o, l),
      seek: (c, id, o, w) => caps.seek(c, id, o, w),
      clone: (c, s, d, o) => caps.clone(c, s, d, o),
    };
  }

  /**
   * The export's real path and a descriptor of it, through libc (no Deno
   * permission is asked); ENOTDIR unless it is a directory.
   */
  static openRoot(lib: Libc, root: string): { rootPath: string; fd: number } {
    const rootPath = lib.realpath(root);
    if (typeof rootPath === "number") throw errnoError(rootPath, root);
    const fd = lib.openat2(AT_FDCWD, rootPath, O_RDONLY | O_DIRECTORY, 0, 0);
    if (fd < 0) throw errnoError(fd, root);
    return { rootPath, fd };
  }

  /**
   * The engine over a root from {@link NativeEngine.openRoot}, holding
   * `lib` until it closes; on failure the root's descriptor and `lib` go.
   */
  static create(setup: EngineSetup, lib: Libc, rootFd: number): NativeEngine {
    try {
      return new NativeEngine(setup, lib, rootFd);
    } catch (e) {
      lib.close(rootFd);
      lib.release();
      throw e;
    }
  }

  /**
   * fsyncs the directory `id` through a descriptor of its own (a cached one
   * may be closed at the end of this turn, while the fsync runs on).
   */
  async syncDir(id: FileId): Promise<void> {
    const { lib } = this.tree;
    const dirFd = this.tree.dirFd(id);
    if (dirFd === undefined) return;
    const fd = lib.openat2(
      dirFd,
      ".",
      O_RDONLY | O_DIRECTORY,
      0,
      RESOLVE_CONFINED,
    );
    // Not readable by the server (only an O_PATH descriptor would open,
    // which cannot be fsynced): nothing to sync with.
    if (fd < 0) return;
    this.io.files.hold();
    try {
      const r = await lib.fsync(fd, false);
      if (r < 0) throw errnoError(r, `directory fileid ${id}`);
    } finally {
      lib.close(fd);
      this.io.files.unhold();
    }
  }

  /** fstatfs of the object's directory. */
  statfs(id: FileId): FsStats {
    const at = this.tree.locate(id);
    const s = this.tree.lib.fstatfs(at.fd ?? at.dirFd);
    return fsStats(typeof s === "number" ? undefined : s);
  }

  /** copy_file_range, or reads and writes where the kernel cannot copy. */
  copy(
    cred: Credentials,
    srcId: FileId,
    dstId: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number> {
    return this.#caps.copy(cred, srcId, dstId, options);
  }

  /** Closes every descriptor; the library goes once no call is in flight. */
  close(): void {
    this.io.files.clear();
    this.tree.close();
    this.tree.index.close();
    this.io.files.whenIdle(() => this.tree.lib.release());
  }
}
