/**
 * A {@link FileSystem} over a host directory, confined to it.
 *
 * - **Confinement**: every object is reached from the root by names the
 *   server checked itself (no "/", NUL, "." or ".." as names); symlinks are
 *   never followed on the server side (files are opened with `O_NOFOLLOW`);
 *   every located path, component by component, and every opened descriptor
 *   is verified against the expected device, inode and birth time, so a
 *   directory swapped for a symlink between two calls yields ESTALE, never
 *   an object outside. Within one call, Deno offers no openat/fstatat, so a
 *   host process swapping an ancestor and back can race a path: a name's
 *   object is therefore confirmed after the directory's path was verified
 *   (already recorded at that name, or the same object when read again and
 *   the directory's path verified once more after that), so a swap has to be
 *   made and undone three times in step with our system calls (a host loop
 *   swapping as fast as it can won the two-step version about once in 20,000
 *   lookups, and not in 180 runs of the race test since); objects made by a
 *   call are confirmed the same way, and a failed check removes only what
 *   the call made. Limits: a create raced that way (the swap made just
 *   before our mkdir/open and undone before the check) makes its new, empty
 *   object outside, where the undo cannot always reach it; changes made by
 *   path (unlink, rename, and lchown/lutimes of symlinks) check the object
 *   right before acting but could still be redirected by a swap won within
 *   that one system call. Reads and writes go through descriptors verified
 *   when opened (an open descriptor cannot escape). Metadata calls are
 *   synchronous, so no two client requests interleave inside one operation.
 * - **FileIds** are host inode numbers plus a generation in the bits above
 *   2^32 (bumped when the host reuses an inode number, seen by a different
 *   birth time). A journal in a hidden `.netfs` folder at the export's root
 *   (or `stateDir`) maps each FileId to its parent and name, so FileIds keep
 *   resolving after a restart; an object moved behind the server's back is
 *   found again by walking the tree (bounded by `scanLimit`). Each change is
 *   appended with write(2) before the call returns (in the page cache, so it
 *   survives a crash of the server process, as knfsd's dentries do) and
 *   fsynced on `commit` and `close`; the journal is compacted when it has
 *   doubled since the last compaction (amortised O(1) per change).
 * - **IO** is positional (`node:fs` read/write at an offset) through a
 *   bounded cache of open descriptors: synchronous up to 64 KiB (a pread from
 *   the page cache costs a few microseconds, the thread pool several times
 *   more), through the thread pool above. Attributes come from an lstat of
 *   the verified path (several times cheaper in Deno than node:fs `fstat`);
 *   a read or write reuses the attributes a getattr took in the same
 *   synchronous turn (NFS READ and WRITE ask for both at once), and a getattr
 *   reuses those a lookup verified for the directory in the same turn (NFS
 *   LOOKUP returns both): never older ones, so the staleness bound is one
 *   synchronous turn of the event loop (no code of ours runs in between), and
 *   every change made through this LocalFs drops them. Stable writes and
 *   `commit` fsync, and fsync errors are reported.
 *
 * This file is the facade: it prepares the root, the FileId journal and the
 * ownership policy once, and hands every call to an engine (the interface
 * is `_engine.ts`). The portable (pure Deno) engine is assembled in
 * `_portable.ts` from one private file per responsibility: `_confine.ts`
 * (finding objects and proving a path leads to them), `_attrs.ts` (host stat to attributes, the
 * change counter, the per-turn attributes), `_io.ts` (descriptors, reads,
 * writes, fsync, descriptor-based attribute changes), `_namespace.ts` and
 * `_create.ts` (names looked up, made, moved and removed), `_readdir.ts`
 * (hash-ordered listings), over `_id_index.ts` (the FileId journal),
 * `_fd_cache.ts` and `_host.ts` (host errors, lstat, open flags).
 *
 * @example Serve a temporary directory
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalFs, ROOT } from "@netfs/netfs/vfs";
 * const dir = await Deno.makeTempDir();
 * const fs = await LocalFs.open(dir);
 * const f = await fs.create(ROOT, fs.root, "hello.txt");
 * await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode("hi"), "file");
 * await fs.close();
 * assert.equal(await Deno.readTextFile(`${dir}/hello.txt`), "hi");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { accessBits } from "../access.ts";
import { VfsError } from "../errors.ts";
import type {
  Attributes,
  CreateOptions,
  Credentials,
  FileId,
  FileSystem,
  FsLimits,
  FsStats,
  MknodOptions,
  ReaddirOptions,
  ReaddirResult,
  ReadResult,
  SetAttributes,
  Stability,
  WriteResult,
  XattrOps,
} from "../types.ts";
import { owned } from "./_attrs.ts";
import type { Engine, EngineSetup } from "./_engine.ts";
import { settle } from "./_host.ts";
import { createOrOpen, removeEntry } from "./_names_policy.ts";
import { IdIndex } from "./_id_index.ts";
import type { Libc } from "./_libc.ts";
import { PortableEngine } from "./_portable.ts";
import { NativeEngine, openNative } from "./native/mod.ts";

const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;

/**
 * The engines a LocalFs runs on: `"native"` (Linux, `--allow-ffi`: the
 * kernel confines every lookup with openat2 and `*at` calls on directory
 * descriptors) or `"portable"` (pure Deno, scoped permissions, any OS).
 */
export type LocalFsEngine = "native" | "portable";

/** Options for {@link LocalFs.open}. */
export interface LocalFsOptions {
  /**
   * Where the FileId journal lives (default `<root>/.netfs`, hidden from
   * clients). Outside the root it needs its own write permission.
   * `false` keeps the index in memory only.
   */
  stateDir?: string | false;
  /** Most host files kept open (default 128). */
  openFiles?: number;
  /** The fsid reported in attributes (default: the host device number). */
  fsid?: number;
  /**
   * Give new objects the caller's uid/gid, as an NFS server running as root
   * does (default: true when the process runs as root and may ask its uid).
   */
  chownToCaller?: boolean;
  /** Most entries walked to find an object moved behind the server's back (default 100,000). */
  scanLimit?: number;
  /**
   * Put a generation above bit 32 of each FileId (default true). Turn off for
   * host file systems with inode numbers beyond 2^32 (then a reused inode
   * number is not detected).
   */
  generations?: boolean;
  /**
   * Which engine serves the export (default `"auto"`: native on Linux when
   * `--allow-ffi` is granted, portable otherwise). `"native"` fails with
   * ENOTSUP where it cannot run; both keep the same FileIds.
   */
  engine?: LocalFsEngine | "auto";
}

/** Deno's NotCapable as a one-line VfsError saying which flag to give. */
function permissionError(e: unknown, path: string, kind: LocalFsEngine): never {
  if (!(e instanceof Deno.errors.NotCapable)) throw e;
  if (/all access/.test(e.message)) {
    const way = kind === "native"
      ? "or keep the FileId journal outside /dev (stateDir)"
      : "or --allow-ffi for the native engine with the FileId journal outside /dev (stateDir)";
    throw new VfsError(
      "EACCES",
      `Deno's permissions cannot reach ${path} with scoped flags (paths under /dev need --allow-all): run with --allow-all, ${way}`,
    );
  }
  throw new VfsError(
    "EACCES",
    `Deno permission missing for ${path}: run with --allow-read=${path} --allow-write=${path}`,
  );
}

/**
 * A file system serving a host directory, confined to it, with FileIds that
 * survive a restart. Open one with {@link LocalFs.open}.
 *
 * Needs `--allow-read=DIR --allow-write=DIR` for the export (and for
 * `stateDir` when it is outside). Creating symlinks needs unscoped
 * `--allow-read --allow-write` (Deno's rule), otherwise SYMLINK answers
 * ENOTSUP; `--allow-sys=statfs,uid` gives real statfs figures and lets a
 * root process create objects owned by the caller. mknod, xattrs, allocate
 * and seek are not available in Deno and are absent or ENOTSUP.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileType, LocalFs, ROOT } from "@netfs/netfs/vfs";
 * const dir = await Deno.makeTempDir();
 * const fs = await LocalFs.open(dir, { openFiles: 64 });
 * const d = await fs.mkdir(ROOT, fs.root, "docs");
 * const again = await LocalFs.open(dir);
 * assert.equal((await again.getattr(ROOT, d.fileid)).type, FileType.Directory);
 * await again.close();
 * await fs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class LocalFs implements FileSystem {
  /** The root directory's id. */
  readonly root: FileId;
  /** Fixed properties. */
  readonly limits: FsLimits;
  /** Calls may overlap. */
  readonly concurrency = "parallel" as const;
  /** The engine serving this export. */
  readonly engine: LocalFsEngine;

  /** Extended attributes in the `user.` namespace (native engine only). */
  declare readonly xattrs?: XattrOps;
  /** Reserves space with fallocate (native engine only). */
  declare readonly allocate?: (
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ) => Promise<void>;
  /** Punches a hole with fallocate (native engine only). */
  declare readonly deallocate?: (
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ) => Promise<void>;
  /** The next data or hole with lseek SEEK_DATA/SEEK_HOLE (native engine only). */
  declare readonly seek?: (
    cred: Credentials,
    id: FileId,
    offset: number,
    what: "data" | "hole",
  ) => Promise<{ offset: number; eof: boolean }>;

  readonly #engine: Engine;

  private constructor(engine: Engine) {
    this.#engine = engine;
    this.root = engine.tree.root;
    // Capabilities are own properties only when the engine has them, so
    // that servers and wrappers see what this export can do.
    const caps = engine.caps;
    if (caps !== undefined) {
      Object.assign(this, {
        xattrs: caps.xattrs,
        allocate: caps.allocate,
        deallocate: caps.deallocate,
        seek: caps.seek,
      });
    }
    this.engine = engine.kind;
    this.limits = Object.freeze({
      maxNameLength: 255,
      maxLinks: 65000,
      maxFileSize: MAX_FILE_SIZE,
      timeDelta: 1_000_000,
      symlinks: engine.symlinks,
      hardLinks: true,
    });
  }

  /**
   * Opens a host directory for serving.
   *
   * @param root The directory to export (symlinks in this path itself are resolved once).
   * @param options State folder, open-file cache size, ownership, fsid.
   * @returns The file system.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LocalFs } from "@netfs/netfs/vfs";
   * const dir = await Deno.makeTempDir();
   * const fs = await LocalFs.open(dir, { stateDir: false });
   * await fs.close();
   * assert.deepEqual([...Deno.readDirSync(dir)], []); // no .netfs folder
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  static async open(
    root: string,
    options: LocalFsOptions = {},
  ): Promise<LocalFs> {
    const want = options.engine ?? "auto";
    let lib: Libc | undefined;
    if (want !== "portable") {
      const native = openNative();
      if (typeof native !== "string") lib = native;
      else if (want === "native") {
        throw new VfsError("ENOTSUP", `Native engine unavailable: ${native}`);
      }
    }
    const kind: LocalFsEngine = lib !== undefined ? "native" : "portable";
    let rootPath: string;
    let rootSt: Deno.FileInfo | undefined;
    let rootFd = -1;
    try {
      if (lib !== undefined) {
        ({ rootPath, fd: rootFd } = NativeEngine.openRoot(lib, root));
      } else {
        rootPath = await Deno.realPath(root);
        rootSt = Deno.lstatSync(rootPath);
        if (!rootSt.isDirectory) {
          throw new VfsError("ENOTDIR", `Not a directory: ${root}`);
        }
      }
    } catch (e) {
      lib?.release();
      permissionError(e, root, kind);
    }
    let setup: EngineSetup;
    try {
      setup = LocalFs.#setup(rootPath, options, lib);
    } catch (e) {
      if (lib !== undefined) {
        lib.close(rootFd);
        lib.release();
      }
      permissionError(e, rootPath, kind);
    }
    return new LocalFs(
      lib !== undefined
        ? NativeEngine.create(setup, lib, rootFd)
        : new PortableEngine(setup, rootSt!),
    );
  }

  /** The journal, the hidden state folder and the ownership policy. */
  static #setup(
    rootPath: string,
    options: LocalFsOptions,
    lib: Libc | undefined,
  ): EngineSetup {
    let hidden: string | undefined;
    let journal: string | undefined;
    if (options.stateDir !== false) {
      const dir = options.stateDir ?? `${rootPath}/.netfs`;
      try {
        Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
        journal = `${dir}/ids.jsonl`;
        const real = Deno.realPathSync(dir);
        const slash = real.lastIndexOf("/");
        if (real.slice(0, slash) === rootPath) hidden = real.slice(slash + 1);
      } catch (e) {
        // A read-only export still serves; FileIds then rely on inode walks.
        // A missing Deno permission is the user's to fix, not to hide.
        if (
          options.stateDir !== undefined ||
          e instanceof Deno.errors.NotCapable
        ) throw e;
      }
    }
    const index = new IdIndex(journal, options.generations ?? true);
    let chown = options.chownToCaller;
    if (chown === undefined) {
      try {
        chown = (lib !== undefined ? lib.geteuid() : Deno.uid()) === 0;
      } catch {
        chown = false;
      }
    }
    return {
      rootPath,
      index,
      hidden,
      scanLimit: options.scanLimit ?? 100_000,
      openFiles: options.openFiles ?? 128,
      fsid: options.fsid,
      chown,
      maxFileSize: MAX_FILE_SIZE,
    };
  }

  /** Attributes of an object; ESTALE if it no longer exists. */
  getattr(_cred: Credentials, id: FileId): Promise<Attributes> {
    const { tree, attrs } = this.#engine;
    return settle(() => {
      // Attributes verified earlier in this same synchronous turn (the NFS
      // LOOKUP asks for the directory's right after looking a name up in
      // it) are as fresh as another stat: no code of ours ran in between,
      // and every change made through this LocalFs drops them (AttrMap.bump).
      const seen = tree.closed || tree.index.isDead(id)
        ? undefined
        : attrs.turnStat(id);
      if (seen !== undefined) return attrs.of(seen, id);
      const at = tree.locate(id);
      attrs.noteTurn(id, at.st);
      return attrs.of(at.st, id);
    });
  }

  /** Changes attributes with POSIX ownership rules. */
  setattr(
    cred: Credentials,
    id: FileId,
    set: SetAttributes,
  ): Promise<Attributes> {
    const { tree, attrs, io } = this.#engine;
    return settle(() => {
      io.setattr(cred, id, tree.locate(id), set);
      attrs.bump(id);
      return attrs.of(tree.locate(id).st, id);
    });
  }

  /** Which NFS ACCESS bits the caller has. */
  access(cred: Credentials, id: FileId, mask: number): Promise<number> {
    return settle(() =>
      accessBits(owned(this.#engine.tree.locate(id).st), cred, mask)
    );
  }

  /** Finds a name; "." and ".." name the directory itself and its parent. */
  lookup(cred: Credentials, dirId: FileId, name: string): Promise<Attributes> {
    return this.#engine.names.lookup(cred, dirId, name);
  }

  /** Reads up to `length` bytes at `offset` with one positional read. */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<ReadResult> {
    return this.#engine.io.read(cred, id, offset, length);
  }

  /** Writes at `offset`; "data" and "file" stability fsync before returning. */
  write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable: Stability = "unstable",
  ): Promise<WriteResult> {
    return this.#engine.io.write(cred, id, offset, data, stable);
  }

  /** Creates a regular file, or opens an existing one unless `exclusive`. */
  create(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: CreateOptions = {},
  ): Promise<Attributes> {
    const { tree, attrs, io, make } = this.#engine;
    return settle(() =>
      createOrOpen(
        tree,
        attrs,
        (c, id, at, a) => io.setattr(c, id, at, a),
        (c, d, dir, n, o, quiet) => make.createIn(c, d, dir, n, o, quiet),
        cred,
        dirId,
        name,
        options,
      )
    );
  }

  /** Creates a directory. */
  mkdir(
    cred: Credentials,
    dirId: FileId,
    name: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#engine.make.mkdir(cred, dirId, name, attrs);
  }

  /** Creates a symbolic link (needs unscoped read and write permission). */
  symlink(
    cred: Credentials,
    dirId: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#engine.make.symlink(cred, dirId, name, target, attrs);
  }

  /** The target of a symbolic link. */
  readlink(cred: Credentials, id: FileId): Promise<string> {
    return this.#engine.names.readlink(cred, id);
  }

  /** Not available: Deno has no mknod. */
  mknod(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    return this.#engine.make.mknod(cred, dirId, name, options);
  }

  /** Adds a hard link `dir/name` to `id`. */
  link(
    cred: Credentials,
    id: FileId,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    return this.#engine.make.link(cred, id, dirId, name);
  }

  /** Removes a non-directory entry. */
  remove(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return this.#remove(cred, dirId, name, false);
  }

  /** Removes an empty directory. */
  rmdir(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return this.#remove(cred, dirId, name, true);
  }

  #remove(
    cred: Credentials,
    dirId: FileId,
    name: string,
    wantDir: boolean,
  ): Promise<void> {
    const { tree, names } = this.#engine;
    return settle(() =>
      removeEntry(
        names.victim(cred, dirId, name),
        tree.index,
        names.effects,
        { dirId, name, wantDir },
        (dir, victim) => names.unlink(dir, name, victim),
      )
    );
  }

  /**
   * Atomically renames with POSIX rules (host rename(2)). Both directories
   * are verified before, and the moved object and the target directory
   * after; a raced swap is undone as far as paths allow.
   */
  rename(
    cred: Credentials,
    fromDirId: FileId,
    fromName: string,
    toDirId: FileId,
    toName: string,
  ): Promise<void> {
    return this.#engine.names.rename(
      cred,
      fromDirId,
      fromName,
      toDirId,
      toName,
    );
  }

  /**
   * A page of entries. Cookies are a hash of the name, so they stay valid
   * across changes, evictions and restarts.
   */
  readdir(
    cred: Credentials,
    dirId: FileId,
    options: ReaddirOptions = {},
  ): Promise<ReaddirResult> {
    return this.#engine.listings.readdir(cred, dirId, options);
  }

  /** fsyncs the file (and the FileId journal); errors are reported. */
  commit(cred: Credentials, id: FileId): Promise<void> {
    return this.#engine.io.commit(cred, id);
  }

  /** Host statfs figures (the portable engine needs `--allow-sys=statfs`), else large placeholders. */
  statfs(_cred: Credentials, id: FileId): Promise<FsStats> {
    return settle(() => this.#engine.statfs(id));
  }

  /** Copies a byte range through the host, 1 MiB at a time; length 0 copies to end of file. */
  copy(
    cred: Credentials,
    srcId: FileId,
    dstId: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number> {
    return this.#engine.copy(cred, srcId, dstId, options);
  }

  /** Closes open files and the FileId journal. */
  close(): Promise<void> {
    return settle(() => {
      if (this.#engine.tree.closed) return;
      this.#engine.tree.closed = true;
      this.#engine.close();
    });
  }
}
