/**
 * `NfsClient`: files on an NFS server through the calls Deno gives local
 * files, so a Deno user knows it at sight: `readFile`, `writeFile`,
 * `readDir`, `stat`, `lstat`, `realPath`, `mkdir`, `rename`, `remove`,
 * `symlink`, `readLink`, `link`, `truncate`, `chmod`, `chown`, `utime`,
 * `open` and `create` (an {@link NfsFile}), plus `statfs`.
 *
 * Paths are from the directory the URL names; ".." stops there, and an
 * absolute symbolic link counts from there too. Errors are those of Deno
 * where one fits (`Deno.errors.NotFound` …), and every server status is an
 * `NfsError` with the procedure, status and path.
 *
 * Large files move in pipelined calls: up to `window` READs or WRITEs in
 * flight, sized by the server's FSINFO (at most 1 MiB); writes are UNSTABLE
 * and then committed, with the write verifier checked and the data sent
 * again if the server restarted in between. Over NFSv2 (`?version=2`, or a
 * server without version 3) calls carry 8 KiB each and every WRITE is
 * stable; sizes are 32 bits, so a file of 4 GiB − 1 bytes or more is a
 * `RangeError` for reads and writes (`stat` reports 4294967295). Idempotent calls survive a
 * dropped connection (resent on a new one with the same xid); when the
 * server is gone for good, calls fail with an `RpcClosedError` saying so.
 *
 * @example The tour: write, read, list, stat, rename, remove
 * ```ts
 * import { NfsClient } from "@netfs/netfs/client";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/", fs: new MemFs({ rootMode: 0o1777 }) }] });
 * await using nfs = await NfsClient.connect(`nfs://127.0.0.1:${server.addr.port}/`);
 * await nfs.mkdir("/dir");
 * await nfs.writeTextFile("/dir/a.txt", "hello");
 * assert.equal(await nfs.readTextFile("/dir/a.txt"), "hello");
 * assert.equal((await nfs.stat("/dir/a.txt")).size, 5);
 * await nfs.rename("/dir/a.txt", "/dir/b.txt");
 * const names = [];
 * for await (const e of nfs.readDir("/dir")) names.push(e.name);
 * assert.deepEqual(names, ["b.txt"]);
 * await nfs.remove("/dir", { recursive: true });
 * await assert.rejects(nfs.stat("/dir"), Deno.errors.NotFound);
 * await nfs.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import { type Fattr3, Ftype3, type Sattr3 } from "../proto/nfs3.ts";
import {
  dirEntryOf,
  fileInfoOf,
  type NfsDirEntry,
  type NfsFileInfo,
  type NfsFsStats,
} from "./file_info.ts";
import { NfsError } from "./errors.ts";
import { type Opened, openUrl } from "./_open.ts";
import { NFS2_MAX_SIZE, tooLarge } from "./_v2.ts";
import type { NfsFile } from "./nfs_file.ts";
import { OpenFile } from "./_file.ts";
import type { NfsProtocol } from "./_protocol.ts";
import { readWhole, type Target, writeRange } from "./_transfer.ts";
import { components, type Resolved, Walker } from "./_walk.ts";
import { emptyDir, entryTypes, mkdirAll, type Tree } from "./_tree.ts";
import type {
  NfsClientInfo,
  NfsConnectOptions,
  NfsMkdirOptions,
  NfsOpenOptions,
  NfsRemoveOptions,
  NfsWriteFileOptions,
} from "./nfs_options.ts";
import type { MountClient } from "./mount.ts";
import type { ReconnectingRpc } from "./caller.ts";

function toTime(t: number | Date): { sec: number; nsec: number } {
  const ms = typeof t === "number" ? t * 1000 : t.getTime();
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}

/** A connection to one NFS export; see the module documentation. */
export class NfsClient implements AsyncDisposable {
  /** What connect found: version, ports, export, transfer sizes. */
  readonly info: NfsClientInfo;
  readonly #proto: NfsProtocol;
  readonly #walker: Walker;
  readonly #tree: Tree;
  readonly #mount: MountClient;
  readonly #mountRpc: ReconnectingRpc;
  readonly #window: number;
  readonly #readahead: number;
  readonly #maxSize: number;
  #closed = false;

  private constructor(parts: Opened) {
    this.info = parts.info;
    this.#proto = parts.proto;
    this.#walker = new Walker(parts.proto, parts.info.root);
    this.#tree = {
      proto: parts.proto,
      walker: this.#walker,
      window: parts.window,
    };
    this.#mount = parts.mount;
    this.#mountRpc = parts.mountRpc;
    this.#window = parts.window;
    this.#readahead = parts.readahead;
    this.#maxSize = parts.proto.version === 2 ? NFS2_MAX_SIZE : Infinity;
  }

  /**
   * Connects to the export an `nfs://` URL names (see `parseNfsUrl`),
   * finding ports through the server's portmapper when the URL has none.
   * Without `version` in the URL, version 3 is spoken where the server has
   * it and version 2 where it has only that (asked of the portmapper, or
   * told by the server's PROG_MISMATCH on the NFS port).
   *
   * @param url `nfs://host[:port]/export/path?version=3&uid=N&…`.
   * @param options Credentials, timeouts, retries, pipelining.
   */
  static async connect(
    url: string | URL,
    options: NfsConnectOptions = {},
  ): Promise<NfsClient> {
    return new NfsClient(await openUrl(url, options));
  }

  /**
   * Throws when the attributes say the file is larger than the version
   * can address (an NFSv2 size saturates at 4 GiB − 1).
   */
  #fits(attrs: Fattr3, path: string): void {
    if (attrs.size > this.#maxSize) {
      throw tooLarge(path, `its size reads ${attrs.size}, the most it can say`);
    }
  }

  #target(r: { handle: Uint8Array }, path: string): Target {
    return {
      proto: this.#proto,
      fh: r.handle,
      path,
      window: this.#window,
    };
  }

  #resolve(path: string, follow = true): Promise<Resolved> {
    if (this.#closed) {
      return Promise.reject(
        new Deno.errors.BadResource("NFS client is closed"),
      );
    }
    return this.#walker.walk(components(path), follow, path);
  }

  /**
   * Finds or makes the file `path` for writing, as open(2) would with
   * O_CREAT, O_EXCL and O_TRUNC.
   */
  async #prepare(
    path: string,
    o: NfsOpenOptions,
  ): Promise<{ handle: Uint8Array; attrs: Fattr3 }> {
    const mode = o.mode ?? 0o644;
    const make = async () => {
      const p = await this.#walker.parent(path);
      const f = await this.#proto.create(
        p.dir,
        { name: p.name, mode, exclusive: true },
        path,
      );
      return {
        handle: f.handle,
        attrs: f.attrs ?? await this.#proto.getattr(f.handle, path),
      };
    };
    if (this.#closed) throw new Deno.errors.BadResource("NFS client is closed");
    if (o.createNew) return await make();
    let r: { handle: Uint8Array; attrs: Fattr3 };
    try {
      r = await this.#resolve(path);
    } catch (e) {
      if (!o.create || !(e instanceof Deno.errors.NotFound)) throw e;
      try {
        return await make();
      } catch (e2) {
        // Made by someone else meanwhile: use theirs.
        if (!(e2 instanceof Deno.errors.AlreadyExists)) throw e2;
        r = await this.#resolve(path);
      }
    }
    if (r.attrs.type === Ftype3.DIR) {
      throw new Deno.errors.IsADirectory(`Is a directory: ${path}`);
    }
    if (o.truncate && r.attrs.size > 0) {
      await this.#proto.setattr(r.handle, { size: 0 }, path);
      r.attrs = { ...r.attrs, size: 0 };
    }
    return r;
  }

  /**
   * Writes `data` to the file at `path`, replacing it unless `append`.
   *
   * @param path The file.
   * @param data The bytes, or a stream of them.
   * @param options Create, createNew, append, mode.
   */
  async writeFile(
    path: string,
    data: Uint8Array | ReadableStream<Uint8Array>,
    options: NfsWriteFileOptions = {},
  ): Promise<void> {
    const r = await this.#prepare(path, {
      create: options.create ?? true,
      createNew: options.createNew,
      mode: options.mode,
      truncate: !options.append,
    });
    if (options.append) this.#fits(r.attrs, path);
    const offset = options.append ? r.attrs.size : 0;
    if (data instanceof Uint8Array) {
      await writeRange(this.#target(r, path), {
        offset,
        data,
        wsize: this.info.wsize,
      });
      return;
    }
    const file = this.#file(r, path, { write: true, append: false }, offset);
    await file.seek(offset);
    await data.pipeTo(file.writable);
  }

  /**
   * Writes text as UTF-8; see {@link NfsClient.writeFile}.
   *
   * @param path The file.
   * @param text The text.
   * @param options Create, createNew, append, mode.
   */
  async writeTextFile(
    path: string,
    text: string,
    options: NfsWriteFileOptions = {},
  ): Promise<void> {
    await this.writeFile(path, new TextEncoder().encode(text), options);
  }

  /**
   * The whole content of the file at `path`.
   *
   * @param path The file.
   */
  async readFile(path: string): Promise<Uint8Array> {
    const r = await this.#resolve(path);
    if (r.attrs.type === Ftype3.DIR) {
      throw new Deno.errors.IsADirectory(`Is a directory: ${path}`);
    }
    this.#fits(r.attrs, path);
    return await readWhole(this.#target(r, path), {
      size: r.attrs.size,
      rsize: this.info.rsize,
    });
  }

  /**
   * The file's content decoded as UTF-8.
   *
   * @param path The file.
   */
  async readTextFile(path: string): Promise<string> {
    return new TextDecoder().decode(await this.readFile(path));
  }

  /**
   * The entries of a directory (not "." and ".."), as `Deno.readDir`.
   * Uses READDIRPLUS, or READDIR and a LOOKUP per entry where the server
   * has no READDIRPLUS.
   *
   * @param path The directory.
   */
  async *readDir(path: string): AsyncIterable<NfsDirEntry> {
    const dir = await this.#resolve(path);
    for await (const page of this.#proto.list(dir.handle, path)) {
      const types = await entryTypes(this.#tree, dir.handle, page, path);
      for (let i = 0; i < page.length; i++) {
        if (types[i] !== 0) yield dirEntryOf(page[i].name, types[i]);
      }
    }
  }

  /**
   * Information about `path`, following a symbolic link, as `Deno.stat`.
   *
   * @param path The file, directory or link.
   */
  async stat(path: string): Promise<NfsFileInfo> {
    return fileInfoOf((await this.#resolve(path)).attrs);
  }

  /**
   * Information about `path` itself, link or not, as `Deno.lstat`.
   *
   * @param path The file, directory or link.
   */
  async lstat(path: string): Promise<NfsFileInfo> {
    return fileInfoOf((await this.#resolve(path, false)).attrs);
  }

  /**
   * The path with every symbolic link, "." and ".." resolved.
   *
   * @param path Any path.
   */
  async realPath(path: string): Promise<string> {
    return (await this.#resolve(path)).path;
  }

  /**
   * Space and file slots of the file system holding `path`.
   *
   * @param path Any path in it. Default "/".
   */
  async statfs(path = "/"): Promise<NfsFsStats> {
    const r = await this.#resolve(path);
    return await this.#proto.statfs(r.handle, path);
  }

  /**
   * Makes a directory, as `Deno.mkdir`.
   *
   * @param path The new directory.
   * @param options Recursive, mode.
   */
  async mkdir(path: string, options: NfsMkdirOptions = {}): Promise<void> {
    const mode = options.mode ?? 0o755;
    if (!options.recursive) {
      const p = await this.#walker.parent(path);
      await this.#proto.mkdir(p.dir, { name: p.name, mode }, path);
      return;
    }
    await mkdirAll(this.#tree, path, mode);
  }

  /**
   * Moves `oldpath` to `newpath`, replacing what is there if allowed.
   *
   * @param oldpath What to move.
   * @param newpath Where to.
   */
  async rename(oldpath: string, newpath: string): Promise<void> {
    const from = await this.#walker.parent(oldpath);
    const to = await this.#walker.parent(newpath);
    await this.#proto.rename(
      { dir: from.dir, name: from.name },
      { dir: to.dir, name: to.name },
      oldpath,
    );
  }

  /**
   * Removes a file, link or empty directory; with `recursive`, a
   * directory and everything below it.
   *
   * @param path What to remove.
   * @param options Recursive.
   */
  async remove(path: string, options: NfsRemoveOptions = {}): Promise<void> {
    const p = await this.#walker.parent(path);
    // REMOVE first: most removes are of files, and then it is the one
    // round trip. When it fails, LOOKUP tells a directory (for RMDIR) from
    // anything else (REMOVE's error stands), and a name that is not there
    // fails in LOOKUP as it always did.
    let refused: NfsError;
    try {
      await this.#proto.remove(p.dir, p.name, path);
      return;
    } catch (e) {
      if (!(e instanceof NfsError)) throw e;
      refused = e;
    }
    const f = await this.#proto.lookup(p.dir, p.name, path);
    const type = (f.attrs ?? await this.#proto.getattr(f.handle, path)).type;
    if (type !== Ftype3.DIR) throw refused;
    if (options.recursive) await emptyDir(this.#tree, f.handle, path);
    await this.#proto.rmdir(p.dir, p.name, path);
  }

  /**
   * Makes a symbolic link at `newpath` pointing to `oldpath`, as
   * `Deno.symlink`.
   *
   * @param oldpath The target, stored as given.
   * @param newpath The link.
   */
  async symlink(oldpath: string, newpath: string): Promise<void> {
    const p = await this.#walker.parent(newpath);
    await this.#proto.symlink(
      p.dir,
      { name: p.name, target: oldpath },
      newpath,
    );
  }

  /**
   * The target of the symbolic link at `path`.
   *
   * @param path The link.
   */
  async readLink(path: string): Promise<string> {
    const r = await this.#resolve(path, false);
    return await this.#proto.readlink(r.handle, path);
  }

  /**
   * Makes `newpath` a second name of `oldpath` (a link is not followed).
   *
   * @param oldpath The existing file.
   * @param newpath The new name.
   */
  async link(oldpath: string, newpath: string): Promise<void> {
    const r = await this.#resolve(oldpath, false);
    const to = await this.#walker.parent(newpath);
    await this.#proto.link(r.handle, { dir: to.dir, name: to.name }, newpath);
  }

  async #setattr(path: string, attrs: Sattr3): Promise<void> {
    const r = await this.#resolve(path);
    await this.#proto.setattr(r.handle, attrs, path);
  }

  /**
   * Cuts or extends the file to `len` bytes.
   *
   * @param path The file.
   * @param len The new size. Default 0.
   */
  async truncate(path: string, len = 0): Promise<void> {
    await this.#setattr(path, { size: len });
  }

  /**
   * Sets the permission bits.
   *
   * @param path The file or directory.
   * @param mode The bits, such as 0o640.
   */
  async chmod(path: string, mode: number): Promise<void> {
    await this.#setattr(path, { mode: mode & 0o7777 });
  }

  /**
   * Sets the owner and group; null leaves one as it is.
   *
   * @param path The file or directory.
   * @param uid The new owner, or null.
   * @param gid The new group, or null.
   */
  async chown(
    path: string,
    uid: number | null,
    gid: number | null,
  ): Promise<void> {
    const attrs: Sattr3 = {};
    if (uid !== null) attrs.uid = uid;
    if (gid !== null) attrs.gid = gid;
    await this.#setattr(path, attrs);
  }

  /**
   * Sets the access and modification times; numbers are seconds since the
   * epoch, as in `Deno.utime`.
   *
   * @param path The file or directory.
   * @param atime The access time.
   * @param mtime The modification time.
   */
  async utime(
    path: string,
    atime: number | Date,
    mtime: number | Date,
  ): Promise<void> {
    await this.#setattr(path, { atime: toTime(atime), mtime: toTime(mtime) });
  }

  #file(
    r: { handle: Uint8Array; attrs: Fattr3 },
    path: string,
    mode: { read?: boolean; write: boolean; append: boolean },
    size = r.attrs.size,
  ): NfsFile {
    return new OpenFile({
      target: this.#target(r, path),
      rsize: this.info.rsize,
      wsize: this.info.wsize,
      readahead: this.#readahead,
      read: mode.read ?? false,
      write: mode.write || mode.append,
      append: mode.append,
      size,
    });
  }

  /**
   * Opens a file, as `Deno.open`; for reading when no option is given.
   *
   * @param path The file.
   * @param options Read, write, append, truncate, create, createNew, mode.
   */
  async open(
    path: string,
    options: NfsOpenOptions = { read: true },
  ): Promise<NfsFile> {
    const writing = options.write || options.append;
    if ((options.create || options.createNew || options.truncate) && !writing) {
      throw new TypeError(
        `Create and truncate need write or append: ${path}`,
      );
    }
    const r = writing
      ? await this.#prepare(path, options)
      : await this.#resolve(path);
    if (!writing && r.attrs.type === Ftype3.DIR) {
      throw new Deno.errors.IsADirectory(`Is a directory: ${path}`);
    }
    this.#fits(r.attrs, path);
    return this.#file(r, path, {
      read: options.read,
      write: options.write ?? false,
      append: options.append ?? false,
    });
  }

  /**
   * Opens a file for reading and writing, made empty or new, as
   * `Deno.create`.
   *
   * @param path The file.
   */
  async create(path: string): Promise<NfsFile> {
    return await this.open(path, {
      read: true,
      write: true,
      create: true,
      truncate: true,
    });
  }

  /**
   * Unmounts (politely: a server that is gone is not waited for) and
   * closes the connections. Open files stop working.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#mountRpc.connected) {
        await this.#mount.umnt(this.info.exportPath);
      }
    } catch { /* the server forgets mounts on its own */ }
    this.#mount.close();
    await Promise.all([this.#proto.close(), this.#mount.rpc.closed]);
  }

  /** Closes, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
