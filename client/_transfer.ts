// Pipelined transfers for NfsClient and NfsFile: reads and writes cut into
// rsize/wsize calls with up to `window` of them in flight on the one
// connection.
//
// Writes go UNSTABLE; `flush` waits for them, sends COMMIT, and compares
// the verifier COMMIT returns with the one each WRITE returned: a
// different one means the server restarted and lost what it had not yet
// stored, so those pieces are sent again, FILE_SYNC. Until a COMMIT
// confirms them the pieces are kept (the caller's bytes, by reference), and
// a WriteBehind commits on its own once `commitBytes` are outstanding, so
// a long stream does not hold the whole file in memory.
//
// Every loop makes progress or throws: a READ that returns nothing before
// the end of the file, or a WRITE that stores nothing, is an
// NfsProtocolError rather than a retry forever.
import { RECORD_POOL_MIN, RecordPool } from "../rpc/record.ts";
import { NfsProtocolError } from "./errors.ts";
import type { NfsProtocol } from "./_protocol.ts";

/** Which file, through which protocol, and how many calls at once. */
export interface Target {
  proto: NfsProtocol;
  fh: Uint8Array;
  /** For error messages. */
  path: string;
  /** Calls in flight at most. */
  window: number;
}

function sameVerf(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs `tasks` (which may grow while running) with `window` at once. */
async function pool<T>(
  tasks: T[],
  window: number,
  run: (task: T) => Promise<void>,
): Promise<void> {
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && tasks.length > 0) {
      const t = tasks.shift()!;
      try {
        await run(t);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  const workers: Promise<void>[] = [];
  // More workers than tasks would idle; tasks added later are picked up by
  // the workers still running.
  for (let i = 0; i < Math.max(1, window); i++) workers.push(worker());
  await Promise.all(workers);
  if (failed !== undefined) throw failed;
}

/**
 * Reads `length` bytes from `offset` in `rsize` calls. Resolves to the
 * bytes (fewer if the file ends first) and whether the end was seen.
 */
export async function readRange(
  t: Target,
  at: { offset: number; length: number; rsize: number },
): Promise<{ data: Uint8Array; eof: boolean }> {
  const out = new Uint8Array(at.length);
  let end = at.length; // shrinks to where the file ended
  let eof = false;
  const tasks: { off: number; count: number }[] = [];
  for (let off = 0; off < at.length; off += at.rsize) {
    tasks.push({ off, count: Math.min(at.rsize, at.length - off) });
  }
  await pool(tasks, t.window, async ({ off, count }) => {
    if (off >= end) return;
    const res = await t.proto.read(t.fh, {
      offset: at.offset + off,
      count,
    }, t.path);
    out.set(res.data, off);
    const n = res.data.byteLength;
    t.proto.recycle(res.data);
    if (res.eof) {
      eof = true;
      end = Math.min(end, off + n);
    } else if (n === 0) {
      throw new NfsProtocolError(
        "READ",
        `no data and no end of file at offset ${at.offset + off} of ${t.path}`,
      );
    } else if (n < count) {
      tasks.push({ off: off + n, count: count - n });
    }
  });
  return { data: end < at.length ? out.subarray(0, end) : out, eof };
}

/** The most one `readWhole` step asks for, and allocates, at once. */
const SEGMENT = 64 * 1024 * 1024;

/**
 * A whole file of about `size` bytes: pipelined READs to `size`, then on
 * only while the server says the file grew, so a server that never says
 * "end of file" cannot make this read forever. Memory follows the bytes
 * that arrive, at most one segment ahead, not the size a server claims.
 */
export async function readWhole(
  t: Target,
  at: { size: number; rsize: number },
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let have = 0;
  let size = at.size;
  for (;;) {
    const { data, eof } = await readRange(t, {
      offset: have,
      length: size > have ? Math.min(size - have, SEGMENT) : at.rsize,
      rsize: at.rsize,
    });
    parts.push(data);
    have += data.byteLength;
    if (eof) break;
    if (have < size) continue;
    const now = (await t.proto.getattr(t.fh, t.path)).size;
    if (now <= have) break;
    size = now;
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(have);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

/**
 * A copy of the caller's bytes in reused storage, and how many WRITEs in
 * flight and uncommitted pieces still use it.
 */
interface Copy {
  bytes: Uint8Array;
  holds: number;
  /** A call that used it failed: it may still be queued, so never reuse it. */
  failed: boolean;
}

/** A written piece not yet known to be stored. */
interface Piece {
  offset: number;
  data: Uint8Array;
  verf: Uint8Array;
  copy: Copy | undefined;
}

/**
 * Write-behind for one file: `write` queues WRITE calls (waiting only for
 * room in the window), `flush` makes everything written durable.
 *
 * `write`'s `copy` keeps the caller's bytes as a copy of its own. Large
 * copies live in storage that is reused once every WRITE of it was
 * answered stable, or committed (a fresh 1 MiB array per write, zero-filled
 * and faulted in page by page, costs several times the copy itself);
 * `release` drops that storage. A copy a failed call used is left to the
 * garbage collector: the call may still hold it.
 */
export class WriteBehind {
  readonly #t: Target;
  readonly #wsize: number;
  readonly #commitBytes: number;
  readonly #inflight = new Set<Promise<void>>();
  #unstable: Piece[] = [];
  #unstableBytes = 0;
  #error: unknown;
  #pool: RecordPool | undefined;
  /** A COMMIT sent while writes go on. */
  #committing: Promise<void> | undefined;

  constructor(t: Target, options: { wsize: number; commitBytes?: number }) {
    this.#t = t;
    this.#wsize = options.wsize;
    this.#commitBytes = options.commitBytes ?? 64 * 1024 * 1024;
  }

  /** Forgets the storage kept for copies (when the file closes). */
  release(): void {
    this.#pool = undefined;
  }

  #copy(data: Uint8Array): Copy {
    const n = data.byteLength;
    let bytes;
    if (n < RECORD_POOL_MIN) bytes = data.slice();
    else {
      this.#pool ??= new RecordPool({ maxBytes: this.#commitBytes });
      bytes = this.#pool.take(n);
      bytes.set(data);
    }
    return { bytes, holds: 0, failed: false };
  }

  #unhold(c: Copy | undefined): void {
    if (c !== undefined && --c.holds === 0 && !c.failed) {
      this.#pool?.give(c.bytes);
    }
  }

  /** Whether writes wait to be committed. */
  get dirty(): boolean {
    return this.#inflight.size > 0 || this.#unstable.length > 0 ||
      this.#committing !== undefined;
  }

  /**
   * Queues `data` at `offset`. Without `copy` the bytes are kept by
   * reference until committed, so the caller must not change them. Rejects
   * with the error of an earlier write that failed.
   */
  async write(offset: number, data: Uint8Array, copy = false): Promise<void> {
    const c = copy ? this.#copy(data) : undefined;
    if (c !== undefined) data = c.bytes;
    for (let at = 0; at < data.byteLength; at += this.#wsize) {
      const piece = data.subarray(at, at + this.#wsize);
      while (this.#inflight.size >= this.#t.window) {
        await Promise.race(this.#inflight);
      }
      this.#check();
      if (c !== undefined) c.holds++;
      const p: Promise<void> = this.#send(offset + at, piece, false, c)
        .catch((e) => {
          this.#error ??= e;
          if (c !== undefined) c.failed = true;
        })
        .finally(() => {
          this.#inflight.delete(p);
          this.#unhold(c);
        });
      this.#inflight.add(p);
    }
    if (this.#unstableBytes < this.#commitBytes) return;
    // COMMIT what has been answered while the next WRITEs go on (waiting
    // for the window to empty first stalled the pipeline); a writer that
    // gets twice as far ahead waits for it.
    if (this.#committing === undefined) {
      this.#committing = this.#commit()
        .catch((e) => {
          this.#error ??= e;
        })
        .finally(() => {
          this.#committing = undefined;
        });
    } else if (this.#unstableBytes >= 2 * this.#commitBytes) {
      await this.#committing;
      this.#check();
    }
  }

  /** Waits for the writes (and a COMMIT) in flight; rejects if one failed. */
  async drain(): Promise<void> {
    while (this.#inflight.size > 0 || this.#committing !== undefined) {
      await Promise.all([...this.#inflight, this.#committing]);
    }
    this.#check();
  }

  /** Makes every write so far durable (COMMIT, resending what was lost). */
  async flush(): Promise<void> {
    await this.drain();
    if (this.#unstable.length > 0) await this.#commit();
  }

  /**
   * COMMITs the pieces answered so far (a COMMIT covers every WRITE the
   * server answered before it) and sends again those the server lost.
   */
  async #commit(): Promise<void> {
    const done = this.#unstable;
    const bytes = this.#unstableBytes;
    this.#unstable = [];
    this.#unstableBytes = 0;
    let verf: Uint8Array;
    try {
      verf = await this.#t.proto.commit(this.#t.fh, this.#t.path);
    } catch (e) {
      // Still to be committed, by the next flush.
      this.#unstable = done.concat(this.#unstable);
      this.#unstableBytes += bytes;
      throw e;
    }
    const lost = done.filter((p) => !sameVerf(p.verf, verf));
    // The server restarted since these were written: send them again,
    // stable this time, so no second COMMIT can disagree.
    await pool(
      lost,
      this.#t.window,
      (p) => this.#send(p.offset, p.data, true, p.copy),
    );
    for (const p of done) this.#unhold(p.copy);
  }

  #check(): void {
    if (this.#error !== undefined) {
      const e = this.#error;
      this.#error = undefined;
      throw e;
    }
  }

  async #send(
    offset: number,
    data: Uint8Array,
    stable: boolean,
    copy: Copy | undefined,
  ) {
    while (data.byteLength > 0) {
      const res = await this.#t.proto.write(this.#t.fh, {
        offset,
        data,
        stable,
      }, this.#t.path);
      if (res.count === 0) {
        throw new NfsProtocolError(
          "WRITE",
          `nothing written at offset ${offset} of ${this.#t.path}`,
        );
      }
      if (res.committed === 0) {
        this.#unstable.push({
          offset,
          data: data.subarray(0, res.count),
          verf: res.verf,
          copy,
        });
        if (copy !== undefined) copy.holds++;
        this.#unstableBytes += res.count;
      }
      offset += res.count;
      data = data.subarray(res.count);
    }
  }
}

/** Writes all of `data` at `offset` and makes it durable. */
export async function writeRange(
  t: Target,
  at: { offset: number; data: Uint8Array; wsize: number },
): Promise<void> {
  const w = new WriteBehind(t, { wsize: at.wsize });
  await w.write(at.offset, at.data);
  await w.flush();
}
