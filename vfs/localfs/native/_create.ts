// The namespace operations of the native LocalFs engine that make objects:
// create (openat2 O_CREAT|O_EXCL), mkdir (mkdirat), symlink (symlinkat),
// link (linkat) and mknod (mknodat), each relative to the descriptor of a
// directory verified to be inside the export, so that nothing is ever made
// outside it. Ownership and mode are set through the new object's own
// descriptor where one is opened (files, directories), else by name under
// the directory with AT_SYMLINK_NOFOLLOW.
import { checkNewOwner } from "../../access.ts";
import { VfsError } from "../../errors.ts";
import {
  type Attributes,
  type CreateOptions,
  type Credentials,
  type FileId,
  FileType,
  type MknodOptions,
  type SetAttributes,
  type Time,
} from "../../types.ts";
import { type AttrMap, newOwner, S_ISGID } from "../_attrs.ts";
import { settle } from "../_host.ts";
import {
  AT_EMPTY_PATH,
  AT_SYMLINK_NOFOLLOW,
  EEXIST,
  errnoError,
  makedev,
  type NativeStat,
  O_CREAT,
  O_EXCL,
  O_NOFOLLOW,
  O_RDWR,
  RESOLVE_CONFINED,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  S_IFSOCK,
} from "../_libc.ts";
import { dirForChange } from "../_names_policy.ts";
import type { Listings } from "../_readdir.ts";
import { check, type NativeIo, timeArg } from "./_io.ts";
import type { FoundDir, NativeTree } from "./_tree.ts";

const NODE_TYPES = new Map<number, number>([
  [FileType.Block, S_IFBLK],
  [FileType.Char, S_IFCHR],
  [FileType.Socket, S_IFSOCK],
  [FileType.Fifo, S_IFIFO],
]);

/** Create, mkdir, symlink, link and mknod. */
export class NativeCreator {
  readonly #tree: NativeTree;
  readonly #attrs: AttrMap;
  readonly #io: NativeIo;
  readonly #listings: Listings<FoundDir>;
  readonly #chown: boolean;

  /** `chown` gives new objects the caller's uid/gid. */
  constructor(
    tree: NativeTree,
    attrs: AttrMap,
    io: NativeIo,
    listings: Listings<FoundDir>,
    chown: boolean,
  ) {
    this.#tree = tree;
    this.#attrs = attrs;
    this.#io = io;
    this.#listings = listings;
    this.#chown = chown;
  }

  /** The stat of the entry `name` just made in `dir`. */
  #made(dir: FoundDir, name: string): NativeStat {
    const st = this.#tree.lib.statx(dir.fd, name, AT_SYMLINK_NOFOLLOW);
    if (typeof st === "number") throw errnoError(st, name);
    return st;
  }

  /** Makes the new regular file `name` in `dir` (O_EXCL); undefined when it exists and `quietExists`. */
  createIn(
    cred: Credentials,
    dirId: FileId,
    dir: FoundDir,
    name: string,
    options: CreateOptions,
    quietExists: boolean,
  ): Attributes | undefined {
    const lib = this.#tree.lib;
    const size = options.attrs?.size ?? 0;
    const mode = (options.attrs?.mode ?? 0o644) & 0o7777;
    const fd = lib.openat2(
      dir.fd,
      name,
      O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW,
      mode,
      RESOLVE_CONFINED,
    );
    if (fd === -EEXIST && quietExists) return undefined;
    check(fd, name);
    const a = options.attrs;
    const made = this.#finish(fd, name, {
      owner: newOwner(this.#chown, cred, dir.st, a),
      mode,
      size,
      // Times asked for one of the two: the other is now, as for a new file.
      times: a?.atime !== undefined || a?.mtime !== undefined
        ? [timeArg(a.atime ?? "server"), timeArg(a.mtime ?? "server")]
        : undefined,
    });
    const id = this.#tree.place(dirId, name, made);
    this.#listings.changed(dirId);
    // Keep the new file open: a WRITE usually follows a CREATE.
    this.#io.files.release(this.#io.files.add(id, fd, true));
    return this.#attrs.of(made, id);
  }

  /**
   * Owner, exact mode (the process umask trimmed it), size and times of a
   * new object, through its descriptor; its stat after. Closes the
   * descriptor on failure.
   */
  #finish(
    fd: number,
    name: string,
    set: {
      owner: { uid: number; gid: number } | undefined;
      mode: number;
      size: number;
      times: [Time | "now" | "omit", Time | "now" | "omit"] | undefined;
    },
  ): NativeStat {
    const lib = this.#tree.lib;
    const stat = (): NativeStat => {
      const st = lib.fstat(fd);
      check(typeof st === "number" ? st : 0, name);
      return st as NativeStat;
    };
    try {
      // What the kernel made already has the owner and mode asked for,
      // usually (the caller's ids, the umask leaving the mode alone): a
      // call is made only for what differs, and the stat is taken again
      // only after a change.
      let st = stat();
      let changed = false;
      if (
        set.owner !== undefined &&
        (st.uid !== set.owner.uid || st.gid !== set.owner.gid)
      ) {
        const { uid, gid } = set.owner;
        check(lib.fchownat(fd, "", uid, gid, AT_EMPTY_PATH), name);
        changed = true; // A chown may clear the set-id bits: the mode follows.
      }
      if (changed || (st.mode! & 0o7777) !== set.mode) {
        check(lib.fchmod(fd, set.mode), name);
        changed = true;
      }
      if (set.size > 0) {
        check(lib.ftruncate(fd, set.size), name);
        changed = true;
      }
      if (set.times !== undefined) {
        check(lib.futimens(fd, set.times[0], set.times[1]), name);
        changed = true;
      }
      if (changed) st = stat();
      return st;
    } catch (e) {
      lib.close(fd);
      throw e;
    }
  }

  /** Gives the new entry `name` of `dir` its owner, never following a symlink. */
  #chownAt(
    cred: Credentials,
    dir: FoundDir,
    name: string,
    attrs: SetAttributes | undefined,
  ): void {
    const owner = newOwner(this.#chown, cred, dir.st, attrs);
    if (owner === undefined) return;
    const { uid, gid } = owner;
    check(
      this.#tree.lib.fchownat(dir.fd, name, uid, gid, AT_SYMLINK_NOFOLLOW),
      name,
    );
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
      const lib = this.#tree.lib;
      check(lib.mkdirat(dir.fd, name, 0o700), name);
      this.#listings.changed(dirId);
      // A host process may have put something else at the name since:
      // whatever the descriptor shows is inside the directory, and the
      // kernel refuses a symlink there.
      const fd = check(this.#tree.openDir(dir.fd, name), name);
      const made = this.#finish(fd, name, {
        owner: newOwner(this.#chown, cred, dir.st, attrs),
        mode,
        size: 0,
        times: attrs?.atime !== undefined || attrs?.mtime !== undefined
          ? [timeArg(attrs.atime), timeArg(attrs.mtime)]
          : undefined,
      });
      const id = this.#tree.place(dirId, name, made);
      this.#tree.adopt(id, fd);
      return this.#attrs.of(made, id);
    });
  }

  /** Creates a symbolic link. */
  symlink(
    cred: Credentials,
    dirId: FileId,
    name: string,
    target: string,
    attrs?: SetAttributes,
  ): Promise<Attributes> {
    return settle(() => {
      const dir = dirForChange(this.#tree, cred, dirId, name);
      checkNewOwner(cred, attrs);
      if (target === "") {
        throw new VfsError("ENOENT", `Empty symlink target: ${name}`);
      }
      if (target.includes("\0")) {
        throw new VfsError("EINVAL", `Symlink target contains NUL: ${name}`);
      }
      const lib = this.#tree.lib;
      check(lib.symlinkat(target, dir.fd, name), name);
      this.#listings.changed(dirId);
      this.#chownAt(cred, dir, name, attrs);
      const st = this.#made(dir, name);
      return this.#attrs.of(st, this.#tree.place(dirId, name, st));
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
      const lib = this.#tree.lib;
      check(lib.linkat(src.dirFd, src.name, dir.fd, name), name);
      const st = this.#made(dir, name);
      // The source is reached by name: a host process renaming entries of
      // its directory meanwhile could have had another entry linked, which
      // is undone here before anyone sees it.
      if (!this.#tree.matches(st, id)) {
        lib.unlinkat(dir.fd, name, 0);
        throw new VfsError("ESTALE", `Object changed while linking: ${name}`);
      }
      this.#listings.changed(dirId);
      this.#attrs.bump(id);
      return this.#attrs.of(st, id);
    });
  }

  /** Creates a device (as root), fifo or socket node. */
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
      const type = NODE_TYPES.get(options.type);
      if (type === undefined) {
        throw new VfsError(
          "EINVAL",
          `Invalid node type for mknod: ${options.type}`,
        );
      }
      const device = type === S_IFBLK || type === S_IFCHR;
      if (device && cred.uid !== 0) {
        throw new VfsError(
          "EPERM",
          `Operation not permitted: only root makes devices (${name})`,
        );
      }
      checkNewOwner(cred, options.attrs);
      const mode = (options.attrs?.mode ?? 0o644) & 0o7777;
      const rdev = device && options.rdev
        ? makedev(options.rdev.major, options.rdev.minor)
        : 0;
      const lib = this.#tree.lib;
      check(lib.mknodat(dir.fd, name, type | mode, rdev), name);
      this.#listings.changed(dirId);
      this.#chownAt(cred, dir, name, options.attrs);
      // The process umask trimmed the mode: set it exactly.
      check(lib.fchmodat(dir.fd, name, mode, AT_SYMLINK_NOFOLLOW), name);
      const st = this.#made(dir, name);
      return this.#attrs.of(st, this.#tree.place(dirId, name, st));
    });
  }
}
