/**
 * A {@link FileSystem} over a host directory, confined to it, on one of two
 * engines that keep the same FileIds (an export may switch engines across a
 * restart and every handle stays valid):
 *
 * - **native** (Linux with `--allow-ffi`, picked by default there): the
 *   kernel confines every lookup. Objects are reached through directory
 *   descriptors, each opened with `openat2(parent, name, RESOLVE_BENEATH |
 *   RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)` and
 *   checked against the FileId's device, inode and birth time; every
 *   create, remove, rename and attribute change is an `*at` call on such a
 *   descriptor (`AT_SYMLINK_NOFOLLOW`), so no call, however a host process
 *   races it, reads, changes or makes anything outside the export (the
 *   adversarial and race tests swap a directory for a symlink to the
 *   outside within single calls: zero escapes, zero objects made outside).
 *   Directory descriptors are cached (256) and trusted for at most a second
 *   since their names were last seen: a directory the host moves out of
 *   the export stops being served within that second. It adds MKNOD
 *   (devices as root), symlinks under scoped permissions, `user.` xattrs,
 *   allocate, deallocate, seek, kernel copies, clones (reflinks, where the
 *   host file system has them: ENOTSUP elsewhere) and nanosecond times.
 * - **portable** (pure Deno: scoped permissions, any OS): every object is
 *   reached from the root by names the server checked itself (no "/", NUL,
 *   "." or ".."); symlinks are never followed (`O_NOFOLLOW`); every located
 *   path, component by component, and every opened descriptor is verified
 *   against device, inode and birth time, so a directory swapped for a
 *   symlink between two calls yields ESTALE, never an object outside.
 *   Within one call Deno offers no openat, so a host process swapping an
 *   ancestor and back can race a path: a name's object is therefore
 *   confirmed after the directory's path was verified (already recorded at
 *   that name, or the same object read again and the path verified once
 *   more), so a swap has to be made and undone three times in step with our
 *   system calls (the two-step version lost about once in 20,000 lookups to
 *   a host loop swapping as fast as it can, the three-step one not in 180
 *   runs of the race test). Limits: a create raced that way can leave its
 *   new, empty object outside; changes made by path (unlink, rename,
 *   lchown/lutimes of symlinks) check the object right before acting but
 *   could still be redirected by a swap won within that one system call.
 *   Times have millisecond precision (ctime whole seconds).
 *
 * Both: metadata calls are synchronous, so no two client requests
 * interleave inside one operation; reads and writes go through descriptors
 * verified when opened (an open descriptor cannot escape).
 *
 * - **FileIds** are host inode numbers plus a generation in the bits above
 *   2^32 (bumped when the host reuses an inode number, seen by a different
 *   birth time); where the two differ, attributes and listings carry the
 *   inode number as `inode`, which servers show clients as the fileid. A journal in a hidden `.netfs` folder at the export's root
 *   (or `stateDir`) maps each FileId to its parent and name, so FileIds keep
 *   resolving after a restart; an object moved behind the server's back, or
 *   whose record a host crash cut from the journal, is found again by
 *   walking the tree (bounded by `scanLimit`). Handles carry no secret: a
 *   walk records every object it passes, so after one that ran to its end a
 *   FileId with no record answers ESTALE without another walk for 5 s, or 50
 *   times as long as that walk took (at most 60 s): a flood of made-up
 *   handles costs one walk per such period, and calls that change nothing
 *   wait for a walk that takes turns with other calls (`_walks.ts`). Each
 *   change is appended with write(2) before the call returns (in the page
 *   cache, so it survives a crash of the server process, as knfsd's dentries
 *   do) and fsynced on `commit` and `close`; the journal is compacted when
 *   it has doubled since the last compaction (amortised O(1) per change).
 * - **IO** is positional through a bounded cache of open descriptors:
 *   synchronous up to 64 KiB (a pread from the page cache costs a few
 *   microseconds, the thread pool several times more), through the thread
 *   pool above. A read or write reuses the attributes a getattr took in the
 *   same synchronous turn (NFS READ and WRITE ask for both at once), and a
 *   getattr reuses those a lookup verified for the directory in the same
 *   turn (NFS LOOKUP returns both): never older ones, so the staleness bound
 *   is one synchronous turn of the event loop (no code of ours runs in
 *   between), and every change made through this LocalFs drops them. Stable
 *   writes and `commit` fsync, and fsync errors are reported (the native
 *   engine reports any fsync failure as EIO: its errno stays on the thread
 *   that ran it).
 * - **Names** made, moved or removed are on stable storage when the call
 *   returns: the directories changed are fsynced (`syncMetadata`, on by
 *   default), as knfsd commits metadata on its `sync` exports.
 *
 * This file is the facade: it prepares the root, the FileId journal and the
 * ownership policy once, keeps what both engines decide alike (this turn's
 * attributes, SETATTR, ACCESS, CREATE, REMOVE, RMDIR), and hands the rest
 * to the engine's parts (`_engine.ts` says which). Shared by both:
 * `_names_policy.ts` (lookup, victims, rename checks, bookkeeping),
 * `_file_io.ts` (READ, WRITE, COMMIT), `_readdir.ts` (hash-ordered
 * listings), `_attrs.ts` (stat to attributes, the change counter, this
 * turn's attributes), `_tree_ids.ts`, `_id_index.ts` (the FileId journal),
 * `_walks.ts` (walks for FileIds) and `_fd_cache.ts`. The portable engine
 * is `_portable.ts` over `_confine.ts` (finding objects and proving a path
 * leads to them), `_io.ts`, `_namespace.ts`, `_create.ts` and `_host.ts`;
 * the native engine is `native/` over the libc bindings `_libc.ts` and
 * `_libc_abi.ts`.
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
 * @example Choose the engine
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalFs } from "@netfs/netfs/vfs";
 * const dir = await Deno.makeTempDir();
 * const fs = await LocalFs.open(dir, { engine: "portable" });
 * assert.equal(fs.engine, "portable");
 * assert.equal("xattrs" in fs, false); // the native engine's capabilities
 * await fs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { accessBits } from "../access.ts";
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
import type { Engine } from "./_engine.ts";
import { settle } from "./_host.ts";
import { createOrOpen, removeEntry } from "./_names_policy.ts";
import { MAX_FILE_SIZE, openEngine } from "./_open.ts";
import { afterWalks } from "./_walks.ts";

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
  /**
   * Most entries walked to find an object moved behind the server's back
   * (default 100,000). After a walk that ran to its end, FileIds with no
   * record answer ESTALE without walking for at least 5 s.
   */
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
  /**
   * fsync the directory (both, for a rename) after each create, mkdir,
   * mknod, symlink, link, rename, remove and rmdir, before the call returns
   * (default true): NFSv3 and NFSv4 promise that these results are on
   * stable storage when answered, as knfsd's default `sync` export does.
   * `false` trades that for speed: a host crash or power loss can then lose
   * names made, moved or removed just before it (and with a new file, the
   * data a stable WRITE or COMMIT reported durable).
   */
  syncMetadata?: boolean;
}

/**
 * A file system serving a host directory, confined to it, with FileIds that
 * survive a restart. Open one with {@link LocalFs.open}.
 *
 * Permissions: the native engine needs `--allow-ffi` (which Deno treats as
 * all access) plus `--allow-read=DIR --allow-write=DIR` for the FileId
 * journal (unless `stateDir` is false or elsewhere). The portable engine
 * needs `--allow-read=DIR --allow-write=DIR` for the export (and for
 * `stateDir` when it is outside); creating symlinks needs unscoped
 * `--allow-read --allow-write` (Deno's rule), otherwise SYMLINK answers
 * ENOTSUP; `--allow-sys=statfs,uid` gives real statfs figures and lets a
 * root process create objects owned by the caller. MKNOD answers ENOTSUP,
 * and xattrs, allocate, deallocate, seek and clone are absent, on the
 * portable engine. A root Deno's permissions cannot reach with the flags given (any
 * path under /dev) fails with one line saying which flag to give.
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
  /**
   * Reflinks a range with FICLONE/FICLONERANGE (native engine only):
   * ENOTSUP where the host file system has no reflinks (ext4, tmpfs), and
   * EINVAL for ranges it cannot share (unaligned to its blocks).
   */
  declare readonly clone?: (
    cred: Credentials,
    src: FileId,
    dst: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ) => Promise<void>;

  readonly #engine: Engine;
  readonly #syncMetadata: boolean;

  private constructor(engine: Engine, syncMetadata: boolean) {
    this.#engine = engine;
    this.#syncMetadata = syncMetadata;
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
        clone: caps.clone,
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
    return new LocalFs(
      await openEngine(root, options),
      options.syncMetadata ?? true,
    );
  }

  /**
   * `done`'s result once the directories it changed are fsynced (see
   * `syncMetadata`); a failed fsync fails the call (EIO), as knfsd answers
   * when committing metadata fails.
   */
  async #synced<T>(done: Promise<T>, ...dirs: FileId[]): Promise<T> {
    const result = await done;
    if (this.#syncMetadata) {
      for (const id of new Set(dirs)) await this.#engine.syncDir(id);
    }
    return result;
  }

  /** Attributes of an object; ESTALE if it no longer exists. */
  getattr(_cred: Credentials, id: FileId): Promise<Attributes> {
    const { tree, attrs } = this.#engine;
    return afterWalks(tree, () =>
      settle(() => {
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
      }));
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
    const tree = this.#engine.tree;
    return afterWalks(
      tree,
      () => settle(() => accessBits(owned(tree.locate(id).st), cred, mask)),
    );
  }

  /** Finds a name; "." and ".." name the directory itself and its parent. */
  lookup(cred: Credentials, dirId: FileId, name: string): Promise<Attributes> {
    const { tree, names } = this.#engine;
    return afterWalks(tree, () => names.lookup(cred, dirId, name));
  }

  /** As {@link lookup}, but an absent name resolves to `undefined`. */
  find(
    cred: Credentials,
    dirId: FileId,
    name: string,
  ): Promise<Attributes | undefined> {
    const { tree, names } = this.#engine;
    return afterWalks(tree, () => names.find(cred, dirId, name));
  }

  /** Reads up to `length` bytes at `offset` with one positional read. */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<ReadResult> {
    const { tree, io } = this.#engine;
    return afterWalks(tree, () => io.read(cred, id, offset, length));
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
    const done = settle(() =>
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
    return this.#synced(done, dirId);
  }

  /** Creates a directory. */
  mkdir(
    cred: Credentials,
    dirId: FileId,
    name: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#synced(
      this.#engine.make.mkdir(cred, dirId, name, attrs),
      dirId,
    );
  }

  /** Creates a symbolic link (the portable engine needs unscoped read and write permission). */
  symlink(
    cred: Credentials,
    dirId: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#synced(
      this.#engine.make.symlink(cred, dirId, name, target, attrs),
      dirId,
    );
  }

  /** The target of a symbolic link. */
  readlink(cred: Credentials, id: FileId): Promise<string> {
    const { tree, names } = this.#engine;
    return afterWalks(tree, () => names.readlink(cred, id));
  }

  /** Creates a device (as root), fifo or socket node; ENOTSUP on the portable engine. */
  mknod(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    return this.#synced(
      this.#engine.make.mknod(cred, dirId, name, options),
      dirId,
    );
  }

  /** Adds a hard link `dir/name` to `id`. */
  link(
    cred: Credentials,
    id: FileId,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    return this.#synced(
      this.#engine.make.link(cred, id, dirId, name),
      dirId,
    );
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
    const done = settle(() =>
      removeEntry(
        names.victim(cred, dirId, name),
        tree.index,
        names.effects,
        { dirId, name, wantDir },
        (dir, victim) => names.unlink(dir, name, victim),
      )
    );
    return this.#synced(done, dirId);
  }

  /**
   * Atomically renames with POSIX rules: renameat2 on the native engine;
   * rename(2) on the portable one, with both directories verified before and
   * the moved object and the target directory after (a raced swap is undone
   * as far as paths allow).
   */
  rename(
    cred: Credentials,
    fromDirId: FileId,
    fromName: string,
    toDirId: FileId,
    toName: string,
  ): Promise<void> {
    return this.#synced(
      this.#engine.names.rename(cred, fromDirId, fromName, toDirId, toName),
      fromDirId,
      toDirId,
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
    const { tree, listings } = this.#engine;
    return afterWalks(tree, () => listings.readdir(cred, dirId, options));
  }

  /** fsyncs the file (and the FileId journal); errors are reported. */
  commit(cred: Credentials, id: FileId): Promise<void> {
    return this.#engine.io.commit(cred, id);
  }

  /** Host statfs figures (the portable engine needs `--allow-sys=statfs`), else large placeholders. */
  statfs(_cred: Credentials, id: FileId): Promise<FsStats> {
    return settle(() => this.#engine.statfs(id));
  }

  /**
   * Copies a byte range: copy_file_range on the native engine, reads and
   * writes of 1 MiB on the portable one; length 0 copies to end of file.
   */
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
