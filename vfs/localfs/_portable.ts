// The portable LocalFs engine: pure Deno (no FFI), for scoped permissions
// and for hosts other than Linux. It finds objects by path and proves each
// path component by component (./_confine.ts, whose guarantees and limits
// the facade's header states), and assembles the parts that act on the
// host: ./_io.ts, ./_namespace.ts, ./_create.ts and ./_readdir.ts.
import * as nfs from "node:fs";
import { accessBits } from "../access.ts";
import type {
  Attributes,
  CreateOptions,
  Credentials,
  FileId,
  FsStats,
  MknodOptions,
  ReaddirOptions,
  ReaddirResult,
  ReadResult,
  SetAttributes,
  Stability,
  WriteResult,
} from "../types.ts";
import { AttrMap, owned } from "./_attrs.ts";
import { Confinement } from "./_confine.ts";
import { Creator } from "./_create.ts";
import {
  copyByReading,
  type Engine,
  type EngineSetup,
  fsStats,
  planCopy,
} from "./_engine.ts";
import { settle } from "./_host.ts";
import { DataIo } from "./_io.ts";
import { Namespace } from "./_namespace.ts";
import { Listings } from "./_readdir.ts";

/** The pure-Deno engine. */
export class PortableEngine implements Engine {
  /** This engine. */
  readonly kind = "portable" as const;
  /** The root directory's id. */
  readonly root: FileId;
  /** Deno creates symlinks only with unscoped read and write permission. */
  readonly symlinks: boolean;

  readonly #tree: Confinement;
  readonly #attrs: AttrMap;
  readonly #io: DataIo;
  readonly #listings: Listings;
  readonly #ns: Namespace;
  readonly #make: Creator;

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
    this.root = tree.root;
    const attrs = new AttrMap(setup.fsid);
    const io = new DataIo(tree, attrs, setup.maxFileSize, setup.openFiles);
    const listings = new Listings(tree, attrs);
    this.#tree = tree;
    this.#attrs = attrs;
    this.#io = io;
    this.#listings = listings;
    this.#ns = new Namespace(tree, attrs, io, listings);
    this.#make = new Creator(tree, attrs, io, listings, {
      chown: setup.chown,
      symlinks: this.symlinks,
    });
  }

  getattr(_cred: Credentials, id: FileId): Promise<Attributes> {
    return settle(() => {
      // Attributes verified earlier in this same synchronous turn (the NFS
      // LOOKUP asks for the directory's right after looking a name up in
      // it) are as fresh as another lstat: no code of ours ran in between,
      // and every change made through this LocalFs drops them (AttrMap.bump).
      const seen = this.#tree.closed || this.#tree.index.isDead(id)
        ? undefined
        : this.#attrs.turnStat(id);
      if (seen !== undefined) return this.#attrs.of(seen, id);
      const at = this.#tree.locate(id);
      this.#attrs.noteTurn(id, at.st);
      return this.#attrs.of(at.st, id);
    });
  }

  setattr(
    cred: Credentials,
    id: FileId,
    attrs: SetAttributes,
  ): Promise<Attributes> {
    return settle(() => {
      const at = this.#tree.locate(id);
      this.#io.setattr(cred, id, at, attrs);
      this.#attrs.bump(id);
      return this.#attrs.of(this.#tree.locate(id).st, id);
    });
  }

  access(cred: Credentials, id: FileId, mask: number): Promise<number> {
    return settle(() =>
      accessBits(owned(this.#tree.locate(id).st), cred, mask)
    );
  }

  lookup(cred: Credentials, dirId: FileId, name: string): Promise<Attributes> {
    return this.#ns.lookup(cred, dirId, name);
  }

  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<ReadResult> {
    return this.#io.read(cred, id, offset, length);
  }

  write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable?: Stability,
  ): Promise<WriteResult> {
    return this.#io.write(cred, id, offset, data, stable);
  }

  create(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options?: CreateOptions,
  ): Promise<Attributes> {
    return this.#make.create(cred, dirId, name, options);
  }

  mkdir(
    cred: Credentials,
    dirId: FileId,
    name: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#make.mkdir(cred, dirId, name, attrs);
  }

  symlink(
    cred: Credentials,
    dirId: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return this.#make.symlink(cred, dirId, name, target, attrs);
  }

  readlink(cred: Credentials, id: FileId): Promise<string> {
    return this.#ns.readlink(cred, id);
  }

  mknod(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    return this.#make.mknod(cred, dirId, name, options);
  }

  link(
    cred: Credentials,
    id: FileId,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    return this.#make.link(cred, id, dirId, name);
  }

  remove(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return this.#ns.remove(cred, dirId, name);
  }

  rmdir(cred: Credentials, dirId: FileId, name: string): Promise<void> {
    return this.#ns.rmdir(cred, dirId, name);
  }

  rename(
    cred: Credentials,
    fromDirId: FileId,
    fromName: string,
    toDirId: FileId,
    toName: string,
  ): Promise<void> {
    return this.#ns.rename(cred, fromDirId, fromName, toDirId, toName);
  }

  readdir(
    cred: Credentials,
    dirId: FileId,
    options?: ReaddirOptions,
  ): Promise<ReaddirResult> {
    return this.#listings.readdir(cred, dirId, options);
  }

  commit(cred: Credentials, id: FileId): Promise<void> {
    return this.#io.commit(cred, id);
  }

  /** Host statfs figures (with `--allow-sys=statfs`), else large placeholders. */
  statfs(_cred: Credentials, id: FileId): Promise<FsStats> {
    return settle(() => {
      const at = this.#tree.locate(id);
      try {
        return fsStats(nfs.statfsSync(at.path));
      } catch {
        return fsStats(undefined);
      }
    });
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
      async () => (await this.getattr(cred, srcId)).size,
    );
    return plan === undefined
      ? 0
      : await copyByReading(this, cred, srcId, dstId, plan);
  }

  close(): Promise<void> {
    return settle(() => {
      if (this.#tree.closed) return;
      this.#tree.closed = true;
      this.#io.files.clear();
      this.#tree.index.close();
    });
  }
}
