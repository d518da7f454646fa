/**
 * An open file on an NFS server, shaped as `Deno.FsFile`: `read`, `write`,
 * `seek`, `stat`, `truncate`, `sync`, `close`, and `readable`/`writable`
 * web streams. Get one from `NfsClient.open` or `NfsClient.create`.
 *
 * How it moves data: reads come from a read-ahead of `readahead` bytes
 * (several READ calls in flight while the caller consumes the first);
 * writes go out as UNSTABLE WRITE calls, several in flight, and `sync`,
 * `close` and every 64 MiB send COMMIT, resending what a restarted server
 * lost (its write verifier changed). A failed write surfaces on a later
 * `write`, `sync` or `close`. Unlike `Deno.FsFile.close`, `close` is async:
 * it commits first.
 *
 * Calls on one file should not overlap (await each), as with a file
 * descriptor shared by concurrent writers; the streams do that for you.
 *
 * @example Stream a file in and out
 * ```ts
 * import { NfsClient } from "@netfs/netfs/client";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/", fs: new MemFs({ rootMode: 0o1777 }) }] });
 * await using nfs = await NfsClient.connect(`nfs://127.0.0.1:${server.addr.port}/`);
 * const out = await nfs.create("/big.bin");
 * await ReadableStream.from([new Uint8Array(300_000).fill(7), new Uint8Array(5)]).pipeTo(out.writable);
 * const file = await nfs.open("/big.bin");
 * let total = 0;
 * for await (const chunk of file.readable) total += chunk.byteLength;
 * assert.equal(total, 300_005);
 * await nfs.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import type { NfsFileInfo } from "./file_info.ts";

/** An open NFS file; see the module documentation. */
export interface NfsFile extends AsyncDisposable {
  /** The file handle. */
  readonly handle: Uint8Array;

  /**
   * Reads up to `p.byteLength` bytes into `p` at the position; resolves to
   * the count, or null at the end of the file.
   *
   * @param p Where the bytes go.
   */
  read(p: Uint8Array): Promise<number | null>;

  /**
   * Writes all of `p` at the position (at the end, if opened to append);
   * resolves to `p.byteLength` once the WRITE calls are in flight. The
   * bytes are copied, so `p` may be reused at once.
   *
   * @param p The bytes.
   */
  write(p: Uint8Array): Promise<number>;

  /**
   * Moves the position, as `Deno.FsFile.seek`; resolves to the new one.
   *
   * @param offset Bytes, relative to `whence`.
   * @param whence `Deno.SeekMode.Start` (default), `Current` or `End`.
   */
  seek(offset: number | bigint, whence?: Deno.SeekMode): Promise<number>;

  /** The file's information, after the writes in flight have landed. */
  stat(): Promise<NfsFileInfo>;

  /**
   * Cuts or extends the file to `len` bytes.
   *
   * @param len The new size. Default 0.
   */
  truncate(len?: number): Promise<void>;

  /** Commits every write so far to stable storage. */
  sync(): Promise<void>;

  /** The same as `sync`: NFS commits data and metadata together. */
  syncData(): Promise<void>;

  /**
   * Commits what was written and closes the file. Rejects with the error
   * of a write that failed; the file is closed either way.
   */
  close(): Promise<void>;

  /**
   * The file from the position to its end, as a stream; the file closes
   * when the stream ends or is cancelled.
   */
  readonly readable: ReadableStream<Uint8Array>;

  /**
   * A stream writing at the position; closing it commits and closes the
   * file, aborting it closes the file.
   */
  readonly writable: WritableStream<Uint8Array>;
}
