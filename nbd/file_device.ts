/**
 * A block device on a regular file (or a block device node), with
 * positional IO through `node:fs` (real `pread`/`pwrite`, safe with many
 * requests in flight) and `fdatasync` for FLUSH and FUA.
 *
 * Deno has no `fallocate` or `SEEK_DATA`/`SEEK_HOLE`. On Linux with
 * `--allow-ffi` (the `"native"` engine, what `"auto"` picks there) the
 * device opens a second descriptor of the file through libc and gains:
 * TRIM (punching a hole, `FALLOC_FL_PUNCH_HOLE`; a file system that cannot
 * punch ignores the hint), WRITE_ZEROES by punching a hole or, with
 * NO_HOLE, by `FALLOC_FL_ZERO_RANGE` (or a punch then an allocation where
 * the file system has no ZERO_RANGE, as tmpfs), and block status read with
 * `lseek` SEEK_HOLE/SEEK_DATA (holes are HOLE|ZERO, the rest data). Where
 * none of the fast ways works, zeroes are written (and FAST_ZERO is refused
 * with ENOTSUP). The `"portable"` engine (any OS, no FFI) offers no TRIM,
 * reports every byte as data, and leaves WRITE_ZEROES to the server, which
 * writes zero buffers and refuses FAST_ZERO.
 *
 * @example Create a disk image and write to it
 * ```ts
 * import { FileDevice } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const dev = await FileDevice.open(`${dir}/disk.img`, { create: 64 << 20 });
 * assert.equal(dev.size, 64 << 20); // extended sparsely to the size asked for
 * await dev.writeAt(512, new Uint8Array(512).fill(1), { fua: true }); // then fdatasync
 * const back = new Uint8Array(1024);
 * await dev.readAt(0, back);
 * assert.deepEqual([back[0], back[511], back[512], back[1023]], [0, 0, 1, 1]);
 * await dev.close();
 * assert.equal((await Deno.stat(`${dir}/disk.img`)).size, 64 << 20);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import * as fs from "node:fs";
import {
  AT_FDCWD,
  EINVAL,
  ENOSYS,
  ENXIO,
  EOPNOTSUPP,
  errnoError,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
  type Libc,
  O_RDONLY,
  O_RDWR,
  openLibc,
  SEEK_DATA,
  SEEK_HOLE,
} from "../vfs/localfs/_libc.ts";
import type { Device, WriteOptions, WriteZeroesOptions } from "./device.ts";
import { NbdError } from "./errors.ts";
import { Errno } from "./protocol.ts";
import { extentsBySeek, writeZeroBuffers } from "./_sparse.ts";

/** Options of {@link FileDevice.open}. */
export interface FileDeviceOptions {
  /** Open read-only and advertise `NBD_FLAG_READ_ONLY`. */
  readOnly?: boolean;
  /**
   * Create the file if missing, and extend it (sparsely) to this size if it
   * is smaller. Never shrinks a file.
   */
  create?: number;
  /** Advertise `NBD_FLAG_ROTATIONAL`. */
  rotational?: boolean;
  /**
   * `"native"` (Linux, `--allow-ffi`: TRIM, fast WRITE_ZEROES and block
   * status through libc; fails with ENOTSUP where it cannot run),
   * `"portable"` (`node:fs` only), or `"auto"` (the default: native where
   * it can run).
   */
  engine?: "native" | "portable" | "auto";
}

/** The second, libc descriptor of the native engine. */
interface NativeFd {
  lib: Libc;
  fd: number;
}

/**
 * A libc descriptor of the file open at `path` as inode `ino`, or why there
 * is none (no FFI, not Linux, or the path now names another file).
 */
function openNativeFd(
  path: string,
  ino: number,
  readOnly: boolean,
): NativeFd | string {
  const lib = openLibc();
  if (typeof lib === "string") return lib;
  const fd = lib.openat2(AT_FDCWD, path, readOnly ? O_RDONLY : O_RDWR, 0, 0);
  if (fd < 0) {
    lib.release();
    return errnoError(fd, path).message;
  }
  const st = lib.fstat(fd);
  if (typeof st === "number" || st.ino !== ino) {
    lib.close(fd);
    lib.release();
    return `the file was replaced while opening: ${path}`;
  }
  return { lib, fd };
}

/** fallocate errors that mean "this file system cannot do that". */
function unsupported(r: number): boolean {
  return r === -EOPNOTSUPP || r === -ENOSYS || r === -EINVAL;
}

function call<T>(
  f: (cb: (e: NodeJS.ErrnoException | null, v: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) =>
    f((e, v) => e ? reject(e) : resolve(v))
  );
}

/**
 * A file served as a block device. One descriptor is shared by every
 * connection and `fdatasync` covers all of them, so it supports multiple
 * connections.
 *
 * @example Serve an image read-only
 * ```ts
 * import { connectNbd, FileDevice, NbdError, serveNbd, TxFlag } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/disk.img`, new Uint8Array(4096).fill(7));
 * const device = await FileDevice.open(`${dir}/disk.img`, { readOnly: true });
 * const server = serveNbd({ exports: [{ name: "disk", device }] });
 * const disk = await connectNbd({ port: server.addr.port, export: "disk" });
 * assert.notEqual(disk.flags & TxFlag.READ_ONLY, 0); // advertised to the client
 * assert.deepEqual(await disk.readAt(0, 2), new Uint8Array([7, 7]));
 * await assert.rejects(disk.writeAt(0, new Uint8Array(1)), (e) => e instanceof NbdError && e.code === "EPERM");
 * await disk.close();
 * await server.shutdown();
 * await device.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FileDevice implements Device {
  /** Size in bytes (fixed when opened). */
  readonly size: number;
  /** Whether the file was opened read-only. */
  readonly readOnly: boolean;
  /** As given in the options. */
  readonly rotational: boolean;
  /** One shared descriptor: flush covers every connection. */
  readonly multiConn = true;
  /** Calls may overlap. */
  readonly concurrency = "parallel" as const;
  /** Which engine serves the device (see {@link FileDeviceOptions.engine}). */
  readonly engine: "native" | "portable";
  /** Punches a hole (native engine, writable devices). */
  declare readonly trim?: Device["trim"];
  /** Zeroes by fallocate where it can (native engine, writable devices). */
  declare readonly writeZeroes?: Device["writeZeroes"];
  /** Holes found with SEEK_HOLE/SEEK_DATA (native engine). */
  declare readonly blockStatus?: Device["blockStatus"];
  readonly #fd: number;
  readonly #native: NativeFd | undefined;
  readonly #path: string;
  #closed = false;

  private constructor(
    fd: number,
    size: number,
    path: string,
    native: NativeFd | undefined,
    options: FileDeviceOptions,
  ) {
    this.#fd = fd;
    this.size = size;
    this.#path = path;
    this.#native = native;
    this.readOnly = options.readOnly ?? false;
    this.rotational = options.rotational ?? false;
    this.engine = native ? "native" : "portable";
    if (native === undefined) return;
    const opts = { fua: false };
    if (!this.readOnly) {
      this.trim = (o, l, w) => this.#trim(native, o, l, w ?? opts);
      this.writeZeroes = (o, l, w) => this.#zero(native, o, l, w ?? opts);
    }
    this.blockStatus = (o, l, b) =>
      extentsBySeek(
        (pos, what) => Promise.resolve(this.#seek(native, pos, what)),
        o,
        l,
        this.size,
        b?.maxExtents ?? 1 << 20,
      );
  }

  /**
   * Opens `path`. Needs read permission for the path, and write permission
   * unless `readOnly`; the native engine needs `--allow-ffi`.
   */
  static async open(
    path: string,
    options: FileDeviceOptions = {},
  ): Promise<FileDevice> {
    const mode = options.readOnly ? "r" : "r+";
    let fd: number;
    try {
      fd = await call<number>((cb) => fs.open(path, mode, cb));
    } catch (e) {
      if (
        (e as { code?: string }).code !== "ENOENT" ||
        options.create === undefined
      ) throw e;
      // "wx" creates without ever truncating an existing file.
      fd = await call<number>((cb) => fs.open(path, "wx+", 0o644, cb));
    }
    let native: NativeFd | undefined;
    try {
      let st = await call<fs.Stats>((cb) => fs.fstat(fd, cb));
      if (options.create !== undefined && st.size < options.create) {
        await call<void>((cb) =>
          fs.ftruncate(fd, options.create, (e) => cb(e ?? null, undefined))
        );
        st = await call<fs.Stats>((cb) => fs.fstat(fd, cb));
      }
      const engine = options.engine ?? "auto";
      if (engine !== "portable") {
        const n = openNativeFd(path, st.ino, options.readOnly ?? false);
        if (typeof n !== "string") native = n;
        else if (engine === "native") {
          throw new NbdError(Errno.ENOTSUP, `No native engine here: ${n}`);
        }
      }
      return new FileDevice(fd, st.size, path, native, options);
    } catch (e) {
      if (native) {
        native.lib.close(native.fd);
        native.lib.release();
      }
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Reads with `pread`; past the end of the file reads zeroes. */
  async readAt(offset: number, into: Uint8Array): Promise<void> {
    let at = 0;
    while (at < into.length) {
      const n = await call<number>((cb) =>
        fs.read(this.#fd, into, at, into.length - at, offset + at, cb)
      );
      if (n === 0) {
        into.fill(0, at);
        return;
      }
      at += n;
    }
  }

  /** Writes with `pwrite`; with `fua`, then `fdatasync`. */
  async writeAt(
    offset: number,
    data: Uint8Array,
    options: WriteOptions = {},
  ): Promise<void> {
    let at = 0;
    while (at < data.length) {
      at += await call<number>((cb) =>
        fs.write(this.#fd, data, at, data.length - at, offset + at, cb)
      );
    }
    if (options.fua) await this.flush();
  }

  /** `fdatasync`. */
  flush(): Promise<void> {
    if (this.readOnly) return Promise.resolve();
    return call<void>((cb) =>
      fs.fdatasync(this.#fd, (e) => cb(e ?? null, undefined))
    );
  }

  /**
   * Prefetches by reading the range into the page cache (there is no
   * `posix_fadvise` in Deno); at most 64 MiB per call.
   */
  async cache(offset: number, length: number): Promise<void> {
    const scratch = new Uint8Array(Math.min(length, 1 << 20));
    const end = Math.min(offset + length, offset + (64 << 20), this.size);
    for (let pos = offset; pos < end; pos += scratch.length) {
      await this.readAt(
        pos,
        scratch.subarray(0, Math.min(scratch.length, end - pos)),
      );
    }
  }

  /** Punches a hole; a file system that cannot ignores the hint. */
  async #trim(
    n: NativeFd,
    offset: number,
    length: number,
    o: WriteOptions,
  ): Promise<void> {
    const r = await n.lib.fallocateAsync(
      n.fd,
      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
      offset,
      length,
    );
    if (r < 0 && !unsupported(r)) throw errnoError(r, this.#path);
    if (o.fua) await this.flush();
  }

  /**
   * Zeroes a range: a hole (or ZERO_RANGE) when holes are allowed,
   * ZERO_RANGE (or a hole then an allocation) with `noHole`; zero buffers
   * where the file system can do neither, unless `fast`.
   */
  async #zero(
    n: NativeFd,
    offset: number,
    length: number,
    o: WriteZeroesOptions,
  ): Promise<void> {
    const punch = [FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE];
    const zero = [FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE];
    const provision = [...punch, FALLOC_FL_KEEP_SIZE];
    const ways = o.noHole ? [zero, provision] : [punch, zero];
    let done = false;
    for (const steps of ways) {
      let r = 0;
      for (const mode of steps) {
        r = await n.lib.fallocateAsync(n.fd, mode, offset, length);
        if (r < 0) break;
      }
      if (r >= 0) {
        done = true;
        break;
      }
      if (!unsupported(r)) throw errnoError(r, this.#path);
    }
    if (!done) {
      if (o.fast) {
        throw new NbdError(Errno.ENOTSUP, "Zeroing is not fast here");
      }
      await writeZeroBuffers(this, offset, length);
    }
    if (o.fua) await this.flush();
  }

  /** lseek SEEK_HOLE/SEEK_DATA; an error reads as data to the end. */
  #seek(
    n: NativeFd,
    pos: number,
    what: "data" | "hole",
  ): { offset: number; eof: boolean } {
    const r = n.lib.seek(n.fd, pos, what === "data" ? SEEK_DATA : SEEK_HOLE);
    // ENXIO: no data after pos. Other failures: assume data, never a hole.
    if (r === -ENXIO) return { offset: this.size, eof: true };
    if (r < 0) return { offset: what === "hole" ? this.size : pos, eof: false };
    return { offset: r, eof: r >= this.size };
  }

  /** Closes the descriptors. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#native) {
      this.#native.lib.close(this.#native.fd);
      this.#native.lib.release();
    }
    await call<void>((cb) =>
      fs.close(this.#fd, (e) => cb(e ?? null, undefined))
    );
  }
}
