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
