/**
 * A block device on a regular file (or a block device node), with
 * positional IO through `node:fs` (real `pread`/`pwrite`, safe with many
 * requests in flight) and `fdatasync` for FLUSH and FUA.
 *
 * Deno exposes no `fallocate` (neither `Deno.FsFile` nor `node:fs`), so a
 * file device cannot punch holes or find them: it offers no TRIM, reports
 * every byte as data in block status, and WRITE_ZEROES is done by the server
 * writing zero buffers (FAST_ZERO requests are refused with ENOTSUP).
 *
 * @example
 * ```ts ignore
 * import { FileDevice } from "./file_device.ts";
 * const dev = await FileDevice.open("disk.img", { create: 64 << 20 });
 * await dev.writeAt(0, new Uint8Array(512).fill(1), { fua: true });
 * await dev.close();
 * ```
 *
 * @module
 */

import * as fs from "node:fs";
import type { Device, WriteOptions } from "./device.ts";

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
 * @example
 * ```ts ignore
 * import { FileDevice, serveNbd } from "./mod.ts";
 * const device = await FileDevice.open("/srv/disk.img");
 * serveNbd({ exports: [{ name: "disk", device }] });
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
  readonly #fd: number;
  #closed = false;

  private constructor(fd: number, size: number, options: FileDeviceOptions) {
    this.#fd = fd;
    this.size = size;
    this.readOnly = options.readOnly ?? false;
    this.rotational = options.rotational ?? false;
  }

  /**
   * Opens `path`. Needs read permission for the path, and write permission
   * unless `readOnly`.
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
    try {
      let st = await call<fs.Stats>((cb) => fs.fstat(fd, cb));
      if (options.create !== undefined && st.size < options.create) {
        await call<void>((cb) =>
          fs.ftruncate(fd, options.create, (e) => cb(e ?? null, undefined))
        );
        st = await call<fs.Stats>((cb) => fs.fstat(fd, cb));
      }
      return new FileDevice(fd, st.size, options);
    } catch (e) {
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

  /** Closes the descriptor. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await call<void>((cb) =>
      fs.close(this.#fd, (e) => cb(e ?? null, undefined))
    );
  }
}
