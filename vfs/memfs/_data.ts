// The file data of MemFs: read, write, allocate, deallocate, seek, copy and
// truncate on each regular file's sparse chunk store (../../store/_chunks.ts,
// 1 MiB chunks that start at 4 KiB and double). The store does the byte work;
// this part checks ranges and data permissions (../access.ts), keeps the
// file's size, charges the inode table for what the store allocates or frees
// (ENOSPC before anything is written) and clears set-id bits on a write.
// A whole-chunk write whose storage the RPC server offers (an NFS WRITE's
// record, ../../store/_offers.ts) is kept rather than copied.
import { modeAfterWrite, requireData } from "../access.ts";
import { VfsError } from "../errors.ts";
import { ChunkStore } from "../../store/_chunks.ts";
import { ChunkSpares, MapChunks } from "../../store/_chunk_backings.ts";
import { offered } from "../../store/_offers.ts";
import type { Credentials, FileId, ReadResult, WriteResult } from "../types.ts";
import { describe, type Inodes, isInt, type Node, settle } from "./_nodes.ts";

/** File data lives in chunks of this size, absent chunks read as zeros. */
const CHUNK = 1 << 20;
/** A chunk starts this small and doubles, so small files stay small. */
const MIN_CHUNK = 4096;
const EMPTY = new Uint8Array(0);
/**
 * Freed storage no reader saw, kept for new chunks (see `ChunkSpares`): at
 * most this, and at most a quarter of the capacity (the default capacity
 * without `--allow-sys` is 1 GiB). Enough for a 256 MiB file truncated and
 * written again to reuse all of its storage.
 */
const POOLED = 256 << 20;

/** The byte-range operations on regular files. */
export class FileData {
  readonly #t: Inodes;
  /**
   * Freed chunks kept for the file's next write (truncate, then write), and
   * freed storage that no reader saw, for any file's next chunk.
   */
  readonly #spares: ChunkSpares;

  constructor(table: Inodes) {
    this.#t = table;
    const pooled = Math.min(POOLED, Math.floor(table.stats().totalBytes / 4));
    this.#spares = new ChunkSpares(undefined, undefined, pooled);
  }

  /** A regular file's chunk store, made on first use so that empty files stay cheap. */
  #store(node: Node): ChunkStore {
    return node.data ??= new ChunkStore(
      new MapChunks(CHUNK, MIN_CHUNK, this.#spares),
    );
  }

  /** Charges the file system for what a change to `node`'s data allocated or freed. */
  #charge(node: Node, before: number): void {
    this.#t.charge(node, node.data!.allocated - before);
  }

  /** Data access with the nfsd owner override. */
  #requireData(cred: Credentials, node: Node, write: boolean): void {
    requireData(node, cred, write ? "write" : "read", describe(node));
  }

  #checkRange(offset: number, length: number): void {
    if (!isInt(offset) || !isInt(length) || length === 0) {
      throw new VfsError("EINVAL", `Invalid range: ${offset}+${length}`);
    }
    if (offset + length > this.#t.limits.maxFileSize) {
      throw new VfsError("EFBIG", `File too large: ${offset + length}`);
    }
  }

  /** Reads up to `length` bytes; may return a view of the file's storage. */
  read(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<ReadResult> {
    return settle(() => this.readNow(cred, id, offset, length));
  }

  /** {@link read}, its errors thrown (MemFs `now`). */
  readNow(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): ReadResult {
    const node = this.#t.regular(id);
    this.#requireData(cred, node, false);
    if (!isInt(offset) || !isInt(length)) {
      throw new VfsError("EINVAL", `Invalid range: ${offset}+${length}`);
    }
    const size = node.size;
    if (offset >= size || length === 0) {
      return { data: EMPTY, eof: offset >= size };
    }
    const end = Math.min(size, offset + length);
    // A view of the chunk when the range lies in one, else a new copy.
    const data = this.#store(node).bytes(offset, end - offset);
    return { data, eof: end >= size };
  }

  /** Writes at `offset`; data is durable on return. */
  write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
  ): Promise<WriteResult> {
    return settle(() => this.writeNow(cred, id, offset, data));
  }

  /** {@link write}, its errors thrown (MemFs `now`). */
  writeNow(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
  ): WriteResult {
    const t = this.#t;
    const node = t.regular(id);
    this.#requireData(cred, node, true);
    if (!isInt(offset)) {
      throw new VfsError("EINVAL", `Invalid offset: ${offset}`);
    }
    if (offset + data.length > t.limits.maxFileSize) {
      throw new VfsError(
        "EFBIG",
        `File too large: write ends at ${offset + data.length}`,
      );
    }
    if (data.length > 0) {
      const store = this.#store(node);
      const end = offset + data.length;
      if (!this.#adopt(node, store, offset, data)) {
        t.reserve(store.growth(offset, end));
        const before = store.allocated;
        store.write(offset, data);
        this.#charge(node, before);
      }
      if (end > node.size) node.size = end;
      // A non-root write clears setuid, and setgid when group-executable.
      node.mode = modeAfterWrite(node.mode, cred);
      t.modified(node);
    }
    return { count: data.length, committed: "file", attrs: t.attrs(node) };
  }

  /**
   * Keeps `data` as the file's chunk instead of copying it, when it is a
   * whole chunk whose storage the RPC server offers, the chunk's current
   * storage was lent to no reader, and the storage it holds (the record's
   * whole buffer: 1 MiB and the pool's step, 4 KiB, for a 1 MiB WRITE)
   * fits the capacity; false when it did not (the write then copies, and
   * reports ENOSPC if even that does not fit). Each adoption lets the
   * record pool have storage the file system let go of (see `ChunkSpares`).
   * Measured: bench/RESULTS.md, "Issue 16: WRITEs kept without a copy".
   */
  #adopt(
    node: Node,
    store: ChunkStore,
    offset: number,
    data: Uint8Array,
  ): boolean {
    if (data.length !== CHUNK) return false;
    const offer = offered(data);
    if (offer === undefined) return false;
    const more = store.adoptGrowth(offset, offer);
    if (more === undefined || !this.#t.fits(more) || !offer.take()) {
      return false;
    }
    const before = store.allocated;
    store.adopt(offset, data, offer);
    this.#charge(node, before);
    return true;
  }

  /** Sets the size of `node`, freeing what lies beyond a smaller one. */
  truncate(node: Node, size: number): void {
    if (size < node.size) {
      // Shrinks the tail chunk too, so a later extension reads zeros and `used` drops.
      const store = this.#store(node);
      const before = store.allocated;
      store.truncate(size);
      this.#charge(node, before);
    }
    node.size = size;
  }

  /** Reserves zeroed storage for a range, extending the file if needed. */
  allocate(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void> {
    return settle(() => {
      const t = this.#t;
      const node = t.regular(id);
      this.#requireData(cred, node, true);
      this.#checkRange(offset, length);
      const end = offset + length;
      const store = this.#store(node);
      t.reserve(store.growth(offset, end));
      const before = store.allocated;
      store.reserve(offset, end);
      this.#charge(node, before);
      if (end > node.size) {
        node.size = end;
        t.modified(node);
      } else {
        t.changed(node);
      }
    });
  }

  /** Punches a hole: the range reads as zeros and whole chunks are freed. */
  deallocate(
    cred: Credentials,
    id: FileId,
    offset: number,
    length: number,
  ): Promise<void> {
    return settle(() => {
      const node = this.#t.regular(id);
      this.#requireData(cred, node, true);
      this.#checkRange(offset, length);
      const store = this.#store(node);
      const before = store.allocated;
      store.zero(offset, Math.min(node.size, offset + length), {
        size: node.size,
      });
      this.#charge(node, before);
      this.#t.modified(node);
    });
  }

  /** Next data or hole at or after `offset`, at the granularity of chunk storage. */
  seek(
    cred: Credentials,
    id: FileId,
    offset: number,
    what: "data" | "hole",
  ): Promise<{ offset: number; eof: boolean }> {
    return settle(() => {
      const node = this.#t.regular(id);
      this.#requireData(cred, node, false);
      if (!isInt(offset)) {
        throw new VfsError("EINVAL", `Invalid offset: ${offset}`);
      }
      const size = node.size;
      if (offset >= size) {
        throw new VfsError("ENXIO", `Offset beyond end of file: ${offset}`);
      }
      if (what === "data") {
        const data = this.#store(node).nextData(offset, size);
        return data === undefined
          ? { offset: size, eof: true }
          : { offset: data, eof: false };
      }
      const hole = this.#store(node).nextHole(offset, size);
      return { offset: hole, eof: hole >= size };
    });
  }

  /** Copies a byte range between regular files; length 0 copies to end of file. */
  copy(
    cred: Credentials,
    srcId: FileId,
    dstId: FileId,
    options: { srcOffset: number; dstOffset: number; length: number },
  ): Promise<number> {
    return settle(() => {
      const t = this.#t;
      const src = t.regular(srcId);
      const dst = t.regular(dstId);
      this.#requireData(cred, src, false);
      this.#requireData(cred, dst, true);
      const { srcOffset, dstOffset } = options;
      if (!isInt(srcOffset) || !isInt(dstOffset) || !isInt(options.length)) {
        throw new VfsError(
          "EINVAL",
          `Invalid copy range: ${srcOffset}+${options.length} to ${dstOffset}`,
        );
      }
      if (srcOffset >= src.size) return 0;
      const length = Math.min(
        options.length === 0 ? Infinity : options.length,
        src.size - srcOffset,
      );
      if (
        src === dst && srcOffset < dstOffset + length &&
        dstOffset < srcOffset + length
      ) {
        throw new VfsError(
          "EINVAL",
          `Invalid argument: overlapping copy within ${describe(src)}`,
        );
      }
      if (dstOffset + length > t.limits.maxFileSize) {
        throw new VfsError("EFBIG", `File too large: ${dstOffset + length}`);
      }
      const store = this.#store(dst);
      t.reserve(store.growth(dstOffset, dstOffset + length));
      const before = store.allocated;
      dst.size = store.copyFrom(
        this.#store(src),
        srcOffset,
        dstOffset,
        length,
        dst.size,
      );
      this.#charge(dst, before);
      dst.mode = modeAfterWrite(dst.mode, cred);
      t.modified(dst);
      return length;
    });
  }
}
