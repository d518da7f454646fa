// The portable LocalFs engine: pure Deno (no FFI), for scoped permissions
// and for hosts other than Linux. It finds objects by path and proves each
// path component by component (./_confine.ts, whose guarantees and limits
// the facade's header states), and assembles the parts that act on the
// host: ./_io.ts, ./_namespace.ts, ./_create.ts and ./_readdir.ts.
import * as nfs from "node:fs";
import type { Credentials, FileId, FsStats } from "../types.ts";
import { AttrMap } from "./_attrs.ts";
import { Confinement, type Located } from "./_confine.ts";
import { Creator } from "./_create.ts";
import {
  copyByReading,
  type Engine,
  type EngineSetup,
  fsStats,
  planCopy,
} from "./_engine.ts";
import { syncFd } from "./_fd_cache.ts";
import { C, hostError, O_DIRECTORY, O_NOFOLLOW } from "./_host.ts";
import { DataIo } from "./_io.ts";
import { Namespace } from "./_namespace.ts";
import { Listings, pathListing } from "./_readdir.ts";

/** The pure-Deno engine. */
export class PortableEngine implements Engine<Located> {
  /** This engine. */
  readonly kind = "portable" as const;
  /** Deno creates symlinks only with unscoped read and write permission. */
  readonly symlinks: boolean;
  readonly tree: Confinement;
  readonly attrs: AttrMap;
  readonly io: DataIo;
  readonly names: Namespace;
  readonly make: Creator;
  readonly listings: Listings<Located>;

  /** `rootSt` is the root's lstat, taken by the facade. */
  constructor(setup: EngineSetup, rootSt: Deno.FileInfo) {
    const tree = new Confinement(
      setup.rootPath,
      rootSt,
      setup.index,
      setup.hidden,
      setup.scanLimit,
    );
    const granted = (name: "read" | "write") =>
      Deno.permissions.querySync({ name }).state === "granted";
    this.symlinks = granted("read") && granted("write");
    const attrs = new AttrMap(setup.fsid);
    const io = new DataIo(tree, attrs, setup.maxFileSize, setup.openFiles);
    const listings = new Listings(pathListing(tree), attrs);
    this.tree = tree;
    this.attrs = attrs;
    this.io = io;
    this.listings = listings;
    this.names = new Namespace(tree, attrs, io, listings);
    this.make = new Creator(tree, attrs, io, listings, {
      chown: setup.chown,
      symlinks: this.symlinks,
    });
  }

  /** fsyncs the directory `id` through a descriptor of its own. */
  async syncDir(id: FileId): Promise<void> {
    let fd: number;
    try {
      fd = nfs.openSync(
        this.tree.locate(id).path,
        C.O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
      );
    } catch {
      // Gone since the change, or not readable by the server: nothing to
      // open, so nothing to sync (the change itself was made).
      return;
    }
    this.io.files.hold();
    try {
      await syncFd(fd, false);
    } catch (e) {
      throw hostError(e, `directory fileid ${id}`);
    } finally {
      nfs.closeSync(fd);
      this.io.files.unhold();
    }
  }

  /** Host statfs figures (with `--allow-sys=statfs`), else large placeholders. */
  statfs(id: FileId): FsStats {
    const at = this.tree.locate(id);
    try {
      return fsStats(nfs.statfsSync(at.path));
    } catch {
      return fsStats(undefined);
    }
  }

  /** Copies through reads and writes, 1 MiB at a time. */
  async copy(
    cred: Credentials,
    srcId: FileId,
    dstId: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number> {
    const plan = await planCopy(
      srcId,
      dstId,
      options,
      () => Promise.resolve(this.tree.locate(srcId).st.size),
    );
    return plan === undefined
      ? 0
      : await copyByReading(this.io, cred, srcId, dstId, plan);
  }

  close(): void {
    this.io.files.clear();
    this.tree.index.close();
  }
}
