// The implementation of NfsFile (see nfs_file.ts for what it promises).

import { fileInfoOf, type NfsFileInfo } from "./file_info.ts";
import type { NfsFile } from "./nfs_file.ts";
import { ReadAhead } from "./_read_ahead.ts";
import { type Target, WriteBehind } from "./_transfer.ts";

/** How a file was opened and what it may use. */
export interface NfsFileSetup {
  /** Where the file is and how many calls may be in flight. */
  target: Target;
  /** READ size. */
  rsize: number;
  /** WRITE size. */
  wsize: number;
  /** Bytes to read ahead. */
  readahead: number;
  /** Opened for reading. */
  read: boolean;
  /** Opened for writing. */
  write: boolean;
  /** Each write goes to the end. */
  append: boolean;
  /** The size when opened (for append and SeekMode.End). */
  size: number;
}

/** The NfsFile of NFSv3 and NFSv2 alike: it talks only to a Target. */
export class OpenFile implements NfsFile {
  readonly #s: NfsFileSetup;
  readonly #ahead: ReadAhead;
  readonly #behind: WriteBehind;
  #pos = 0;
  #size: number;
  #closed = false;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  constructor(setup: NfsFileSetup) {
    this.#s = setup;
    this.#size = setup.size;
    this.#ahead = new ReadAhead(setup.target, {
      rsize: setup.rsize,
      ahead: setup.readahead,
    });
    this.#behind = new WriteBehind(setup.target, { wsize: setup.wsize });
    if (setup.append) this.#pos = setup.size;
  }

  /** The file handle. */
  get handle(): Uint8Array {
    return this.#s.target.fh;
  }

  #open(what: "read" | "write"): void {
    if (this.#closed) throw new Deno.errors.BadResource("File is closed");
    if (!this.#s[what]) {
      throw new Deno.errors.PermissionDenied(
        `File not opened for ${what}ing: ${this.#s.target.path}`,
      );
    }
  }

  async read(p: Uint8Array): Promise<number | null> {
    this.#open("read");
    if (p.byteLength === 0) return 0;
    // Our own writes must reach the server before we read over them.
    if (this.#behind.dirty) await this.#behind.drain();
    const { n, eof } = await this.#ahead.readInto(this.#pos, p);
    if (n === 0 && eof) return null;
    this.#pos += n;
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    this.#open("write");
    if (this.#s.append) this.#pos = Math.max(this.#pos, this.#size);
    const at = this.#pos;
    this.#pos += p.byteLength;
    this.#size = Math.max(this.#size, this.#pos);
    this.#ahead.clear();
    await this.#behind.write(at, p, true);
    return p.byteLength;
  }

  async seek(
    offset: number | bigint,
    whence: Deno.SeekMode = Deno.SeekMode.Start,
  ): Promise<number> {
    if (this.#closed) throw new Deno.errors.BadResource("File is closed");
    const off = Number(offset);
    let base = 0;
    if (whence === Deno.SeekMode.Current) base = this.#pos;
    else if (whence === Deno.SeekMode.End) {
      await this.#behind.drain();
      base = this.#size = Math.max(this.#size, (await this.#attrs()).size);
    }
    if (base + off < 0) {
      throw new TypeError(`Seek before the start of the file: ${base + off}`);
    }
    return this.#pos = base + off;
  }

  async #attrs() {
    const t = this.#s.target;
    return await t.proto.getattr(t.fh, t.path);
  }

  /** The file's information, after the writes in flight have landed. */
  async stat(): Promise<NfsFileInfo> {
    if (this.#closed) throw new Deno.errors.BadResource("File is closed");
    await this.#behind.drain();
    return fileInfoOf(await this.#attrs());
  }

  async truncate(len = 0): Promise<void> {
    this.#open("write");
    // A WRITE still in flight past `len` would grow the file again.
    await this.#behind.drain();
    const t = this.#s.target;
    await t.proto.setattr(t.fh, { size: len }, t.path);
    this.#size = len;
    this.#ahead.clear();
  }

  /** Commits every write so far to stable storage. */
  async sync(): Promise<void> {
    if (this.#closed) throw new Deno.errors.BadResource("File is closed");
    await this.#behind.flush();
  }

  /** The same as {@link NfsFile.sync}: NFS commits data and metadata together. */
  async syncData(): Promise<void> {
    await this.sync();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#behind.flush();
    } finally {
      this.#closed = true;
      this.#ahead.clear();
      this.#behind.release();
    }
  }

  /** Closes the file, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        this.#open("read");
        const { data, eof } = await this.#ahead.read(
          this.#pos,
          this.#s.rsize,
        );
        if (data.byteLength > 0) {
          this.#pos += data.byteLength;
          controller.enqueue(data);
        }
        if (eof) {
          controller.close();
          await this.close();
        }
      },
      cancel: async () => {
        await this.close();
      },
    }, { highWaterMark: 0 });
    return this.#readable;
  }

  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: async () => {
        await this.close();
      },
      abort: async () => {
        await this.close();
      },
    });
    return this.#writable;
  }
}
