/**
 * A block device backed by a regular file of any netfs {@link FileSystem}:
 * serve a disk image that lives in a `MemFs`, a `LocalFs` tree or a
 * callback file system over NBD.
 *
 * Optional file-system capabilities become device capabilities: with
 * `deallocate` the device trims and zeroes by punching holes, with `seek`
 * it reports holes in block status.
 *
 * @example Serve a disk image that lives in a MemFs
 * ```ts
 * import { connectNbd, serveNbd, VfsDevice } from "@netfs/netfs/nbd";
 * import { MemFs, ROOT } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs();
 * const image = await fs.create(ROOT, fs.root, "disk.img", { attrs: { size: 1 << 20 } });
 * const device = await VfsDevice.open(fs, image.fileid);
 * const server = serveNbd({ exports: [{ name: "img", device }] });
 * const disk = await connectNbd({ port: server.addr.port, export: "img" });
 * await disk.writeAt(0, new TextEncoder().encode("hello"));
 * // The bytes land in the file.
 * const { data } = await fs.read(ROOT, image.fileid, 0, 5);
 * assert.equal(new TextDecoder().decode(data), "hello");
 * await disk.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import type {
  Concurrency,
  Credentials,
  FileId,
  FileSystem,
} from "../vfs/types.ts";
import { ROOT } from "../vfs/types.ts";
import type {
  BlockStatusOptions,
  Device,
  WriteOptions,
  WriteZeroesOptions,
} from "./device.ts";
import { NbdError } from "./errors.ts";
import { Errno, type Extent } from "./protocol.ts";
import { extentsBySeek, writeZeroBuffers } from "./_sparse.ts";

/** Options of {@link VfsDevice.open}. */
export interface VfsDeviceOptions {
  /** Who performs the IO (default root). */
  cred?: Credentials;
  /** Refuse writes. */
  readOnly?: boolean;
  /**
   * Whether every connection sees the same data (true for in-process file
   * systems, the default).
   */
  multiConn?: boolean;
}

const CHUNK = 1 << 20;

/**
 * A file of a {@link FileSystem} as a block device; its size is the file's
 * size when opened.
 *
 * @example The file's holes show in block status
 * ```ts
 * import { State, VfsDevice } from "@netfs/netfs/nbd";
 * import { MemFs, ROOT } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs(); // sparse, with seek: the device gets blockStatus
 * const image = await fs.create(ROOT, fs.root, "disk.img", { attrs: { size: 1 << 20 } });
 * const device = await VfsDevice.open(fs, image.fileid);
 * assert.equal(device.size, 1 << 20);
 * await device.writeAt(0, new Uint8Array(4096).fill(1));
 * const extents = await device.blockStatus!(0, device.size);
 * assert.equal(extents[0].flags, 0); // data where it was written
 * assert.equal(extents.at(-1)!.flags, State.HOLE | State.ZERO); // a hole after it
 * assert.equal(extents.reduce((n, e) => n + e.length, 0), device.size);
 * ```
 */
export class VfsDevice implements Device {
  /** Size in bytes. */
  readonly size: number;
  /** Whether writes are refused. */
  readonly readOnly: boolean;
  /** See {@link VfsDeviceOptions.multiConn}. */
  readonly multiConn: boolean;
  /** The file system's declaration: calls reach it one for one. */
  declare readonly concurrency?: Concurrency;
  /** Present when the file system can deallocate. */
  declare readonly trim?: Device["trim"];
  /** Present when the file system can deallocate. */
  declare readonly writeZeroes?: Device["writeZeroes"];
  /** Present when the file system can seek data and holes. */
  declare readonly blockStatus?: Device["blockStatus"];
  readonly #fs: FileSystem;
  readonly #id: FileId;
  readonly #cred: Credentials;

  private constructor(
    fs: FileSystem,
    id: FileId,
    size: number,
    options: VfsDeviceOptions,
  ) {
    this.#fs = fs;
    this.#id = id;
    this.size = size;
    this.#cred = options.cred ?? ROOT;
    this.readOnly = options.readOnly ?? false;
    this.multiConn = options.multiConn ?? true;
    if (fs.concurrency !== undefined) this.concurrency = fs.concurrency;
    if (fs.deallocate) {
      this.trim = (o, l, opts) => this.#punch(o, l, opts?.fua ?? false);
      this.writeZeroes = (o, l, opts) => this.#zero(o, l, opts ?? {});
    }
    if (fs.seek) {
      this.blockStatus = (o, l, opts) => this.#status(o, l, opts ?? {});
    }
  }

  /** Opens file `id` of `fs` (it must be a regular file). */
  static async open(
    fs: FileSystem,
    id: FileId,
    options: VfsDeviceOptions = {},
  ): Promise<VfsDevice> {
    const attrs = await fs.getattr(options.cred ?? ROOT, id);
    if (attrs.type !== 1) {
      throw new NbdError(Errno.EINVAL, `Not a regular file: file id ${id}`);
    }
    return new VfsDevice(fs, id, attrs.size, options);
  }

  /** Reads through the file system; short reads at end of file read zeroes. */
  async readAt(offset: number, into: Uint8Array): Promise<void> {
    let at = 0;
    while (at < into.length) {
      const n = Math.min(CHUNK, into.length - at);
      const r = await this.#fs.read(this.#cred, this.#id, offset + at, n);
      into.set(r.data, at);
      if (r.data.length < n) {
        into.fill(0, at + r.data.length, at + n);
        if (r.eof) {
          into.fill(0, at + n);
          return;
        }
      }
      at += n;
    }
  }

  /** Writes through the file system; `fua` asks for FILE_SYNC stability. */
  async writeAt(
    offset: number,
    data: Uint8Array,
    options: WriteOptions = {},
  ): Promise<void> {
    let at = 0;
    while (at < data.length) {
      const r = await this.#fs.write(
        this.#cred,
        this.#id,
        offset + at,
        data.subarray(at, Math.min(data.length, at + CHUNK)),
        options.fua ? "file" : "unstable",
      );
      if (r.count <= 0) {
        throw new NbdError(Errno.EIO, `Short write at offset ${offset + at}`);
      }
      at += r.count;
    }
  }

  /** Commits the file. */
  flush(): Promise<void> {
    return this.#fs.commit(this.#cred, this.#id);
  }

  async #punch(offset: number, length: number, fua: boolean): Promise<void> {
    await this.#fs.deallocate!(this.#cred, this.#id, offset, length);
    if (fua) await this.flush();
  }

  async #zero(
    offset: number,
    length: number,
    o: WriteZeroesOptions,
  ): Promise<void> {
    if (!o.noHole) return this.#punch(offset, length, o.fua ?? false);
    if (o.fast) {
      throw new NbdError(Errno.ENOTSUP, "Provisioned zeroing is not fast here");
    }
    await writeZeroBuffers(this, offset, length);
    if (o.fua) await this.flush();
  }

  #status(
    offset: number,
    length: number,
    o: BlockStatusOptions,
  ): Promise<Extent[]> {
    return extentsBySeek(
      (pos, what) => this.#fs.seek!(this.#cred, this.#id, pos, what),
      offset,
      length,
      this.size,
      o.maxExtents ?? 1 << 20,
    );
  }
}
