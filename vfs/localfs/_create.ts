// The namespace operations of the portable LocalFs engine that make objects:
// create, mkdir, symlink, link and mknod (not available: Deno has no mknod).
// Each makes its object by path, then confirms through ./_confine.ts that
// the directory's path still leads to the directory and the new name to the
// object made (else it removes that object again, if still there, and answers
// ESTALE), and changes ownership and mode through a descriptor of the new
// object wherever one can be opened.
import * as nfs from "node:fs";
import { checkNewOwner } from "../access.ts";
import { VfsError } from "../errors.ts";
import {
  type Attributes,
  type CreateOptions,
  type Credentials,
  type FileId,
  FileType,
  type MknodOptions,
  type SetAttributes,
  type SetTime,
} from "../types.ts";
import {
  type AttrMap,
  fromNodeStats,
  newOwner,
  S_ISGID,
  toSeconds,
} from "./_attrs.ts";
import type { Confinement, Located } from "./_confine.ts";
import {
  C,
  hostError,
  lstat,
  O_DIRECTORY,
  O_NOFOLLOW,
  sameObject,
  settle,
} from "./_host.ts";
import type { DataIo } from "./_io.ts";
import { dirForChange } from "./_names_policy.ts";
import type { Listings } from "./_readdir.ts";

const ROOT_CRED: Credentials = { uid: 0, gid: 0, groups: [] };

/** Create, mkdir, symlink, link and mknod. */
export class Creator {
  readonly #tree: Confinement;
  readonly #attrs: AttrMap;
  readonly #io: DataIo;
  readonly #listings: Listings<Located>;
  readonly #chown: boolean;
  readonly #symlinks: boolean;

  /**
   * `chown` gives new objects the caller's uid/gid; `symlinks` is whether
   * Deno may create symlinks here.
   */
  constructor(
    tree: Confinement,
    attrs: AttrMap,
    io: DataIo,
    listings: Listings<Located>,
    options: { chown: boolean; symlinks: boolean },
  ) {
    this.#tree = tree;
    this.#attrs = attrs;
    this.#io = io;
    this.#listings = listings;
    this.#chown = options.chown;
    this.#symlinks = options.symlinks;
  }

  /** Makes the new regular file `name` in `dir` (O_EXCL); undefined when it exists and `quietExists`. */
  createIn(
    cred: Credentials,
    dirId: FileId,
    dir: Located,
    name: string,
    options: CreateOptions,
    quietExists: boolean,
  ): Attributes | undefined {
    const size = options.attrs?.size ?? 0;
    const path = `${dir.path}/${name}`;
    const mode = (options.attrs?.mode ?? 0o644) & 0o7777;
    let fd: number;
    try {
      fd = nfs.openSync(
        path,
        C.O_RDWR | C.O_CREAT | C.O_EXCL | O_NOFOLLOW,
        mode,
      );
    } catch (e) {
      if (quietExists && (e as { code?: string }).code === "EEXIST") {
        return undefined;
      }
      throw hostError(e, name);
    }
    let st: Deno.FileInfo;
    try {
      // Everything before the check acts on the descriptor, the new empty
      // file itself, wherever a raced path put it.
      const owner = newOwner(this.#chown, cred, dir.st, options.attrs);
      if (owner !== undefined) nfs.fchownSync(fd, owner.uid, owner.gid);
      // The process umask trimmed the mode: set it exactly.
      nfs.fchmodSync(fd, mode);
      if (size > 0) nfs.ftruncateSync(fd, size);
      const a = options.attrs;
      if (a?.atime !== undefined || a?.mtime !== undefined) {
        const now = Date.now() / 1000;
        const pick = (t: SetTime | undefined) =>
          t === undefined || t === "server" ? now : toSeconds(t);
        nfs.futimesSync(fd, pick(a.atime), pick(a.mtime));
      }
      // From the descriptor, which is cached under this FileId below.
      st = fromNodeStats(nfs.fstatSync(fd));
      this.#tree.madeIn(dirId, dir, path, st);
    } catch (e) {
      nfs.closeSync(fd);
      throw hostError(e, name);
    }
    const id = this.#tree.place(dirId, name, st);
    this.#listings.changed(dirId);
    // Keep the new file open: a WRITE usually follows a CREATE.
    this.#io.files.release(this.#io.files.add(id, fd, true));
    return this.#attrs.of(st, id);
  }

  /** Creates a directory. */
  mkdir(
    cred: Credentials,
    dirId: FileId,
    name: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return settle(() => {
      const dir = dirForChange(this.#tree, cred, dirId, name);
      checkNewOwner(cred, attrs);
      let mode = (attrs?.mode ?? 0o755) & 0o7777;
      if ((dir.st.mode! & S_ISGID) !== 0) mode |= S_ISGID;
      let id: FileId;
      {
        const path = `${dir.path}/${name}`;
        try {
          Deno.mkdirSync(path, { mode: 0o700 });
        } catch (e) {
          throw hostError(e, name);
        }
        const made = this.#tree.madeIn(dirId, dir, path, lstat(path));
        let fd: number;
        try {
          fd = nfs.openSync(path, C.O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        } catch (e) {
          throw hostError(e, name);
        }
        let st: Deno.FileInfo;
        try {
          // Changed only through a descriptor that is the directory made.
          if (!sameObject(fromNodeStats(nfs.fstatSync(fd)), made)) {
            throw new VfsError("ESTALE", `Directory changed: ${name}`);
          }
          const owner = newOwner(this.#chown, cred, dir.st, attrs);
          if (owner !== undefined) nfs.fchownSync(fd, owner.uid, owner.gid);
          nfs.fchmodSync(fd, mode);
          st = fromNodeStats(nfs.fstatSync(fd));
        } catch (e) {
          throw hostError(e, name);
        } finally {
          nfs.closeSync(fd);
        }
        id = this.#tree.place(dirId, name, st);
        this.#listings.changed(dirId);
      }
      if (attrs?.atime !== undefined || attrs?.mtime !== undefined) {
        this.#io.setattr(ROOT_CRED, id, this.#tree.locate(id), {
          atime: attrs.atime,
          mtime: attrs.mtime,
        });
      }
      return this.#attrs.of(this.#tree.locate(id).st, id);
    });
  }

  /** Creates a symbolic link (needs unscoped read and write permission). */
  symlink(
    cred: Credentials,
    dirId: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return settle(() => {
      const dir = dirForChange(this.#tree, cred, dirId, name);
      if (!this.#symlinks) {
        throw new VfsError(
          "ENOTSUP",
          "Symlink creation is not supported: Deno needs unscoped --allow-read and --allow-write to create symlinks",
        );
      }
      checkNewOwner(cred, attrs);
      if (target === "") {
        throw new VfsError("ENOENT", `Empty symlink target: ${name}`);
      }
      if (target.includes("\0")) {
        throw new VfsError("EINVAL", `Symlink target contains NUL: ${name}`);
      }
      {
        const path = `${dir.path}/${name}`;
        try {
          Deno.symlinkSync(target, path);
        } catch (e) {
          throw hostError(e, name);
        }
        let st = this.#tree.madeIn(dirId, dir, path, lstat(path));
        const owner = newOwner(this.#chown, cred, dir.st, attrs);
        if (owner !== undefined) {
          // There is no fchownat in Deno: the path was just confirmed to
          // show the link made, and is checked again after.
          try {
            nfs.lchownSync(path, owner.uid, owner.gid);
          } catch (e) {
            throw hostError(e, name);
          }
          st = this.#tree.madeIn(dirId, dir, path, st);
        }
        this.#listings.changed(dirId);
        return this.#attrs.of(st, this.#tree.place(dirId, name, st));
      }
    });
  }

  /** Adds a hard link `dir/name` to `id`. */
  link(
    cred: Credentials,
    id: FileId,
    dirId: FileId,
    name: string,
  ): Promise<Attributes> {
    return settle(() => {
      const src = this.#tree.locate(id);
      const dir = dirForChange(this.#tree, cred, dirId, name);
      if (src.st.isDirectory) {
        throw new VfsError(
          "EPERM",
          `Operation not permitted: hard link to directory fileid ${id}`,
        );
      }
      {
        const path = `${dir.path}/${name}`;
        try {
          Deno.linkSync(src.path, path);
        } catch (e) {
          throw hostError(e, name);
        }
        const st = this.#tree.madeIn(dirId, dir, path, lstat(path));
        // The source is reached by path: a raced swap could have linked
        // another object, which is undone here before anyone sees it.
        if (!this.#tree.matches(st, id)) {
          this.#tree.unmake(path, st);
          throw new VfsError("ESTALE", `Object changed while linking: ${name}`);
        }
        this.#listings.changed(dirId);
        this.#attrs.bump(id);
        return this.#attrs.of(st, id);
      }
    });
  }

  /** Not available: Deno has no mknod. */
  mknod(
    cred: Credentials,
    dirId: FileId,
    name: string,
    options: MknodOptions,
  ): Promise<Attributes> {
    return settle(() => {
      const dir = dirForChange(this.#tree, cred, dirId, name);
      if (this.#tree.child(dirId, dir, name) !== undefined) {
        throw new VfsError("EEXIST", `File exists: ${name}`);
      }
      const t = options.type;
      if (
        t !== FileType.Block && t !== FileType.Char &&
        t !== FileType.Socket && t !== FileType.Fifo
      ) {
        throw new VfsError("EINVAL", `Invalid node type for mknod: ${t}`);
      }
      throw new VfsError(
        "ENOTSUP",
        `Creating device, fifo and socket nodes is not supported: Deno has no mknod (${name})`,
      );
    });
  }
}
