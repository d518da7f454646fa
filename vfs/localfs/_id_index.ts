// The persistent FileId index of LocalFs: FileId -> (parent FileId, name),
// plus the generation of every inode number seen, so a FileId keeps resolving
// after a restart and a reused inode number gets a new FileId.
//
// It is a journal of JSON lines appended as names are handed out:
//   {"i":id,"p":parent,"n":name,"b":btime}   id lives at parent/name
//   {"d":id,"b":btime}                       id is gone for good
//   {"g":ino,"v":gen,"b":btime}              inode's current generation
// Replaying the journal rebuilds the maps; it is rewritten (compacted) once
// it has grown to twice what the last compaction wrote (plus a floor), so a
// compaction costing O(live) comes after at least as many appends: O(1) per
// append, amortised, however the live set shrinks or grows.
//
// Durability: lines are appended with write(2) as each change happens, not
// fsynced; they are in the kernel's page cache before the reply leaves, so
// they survive a crash of the server process (as knfsd's dentries do), and
// `flush` (COMMIT, close) fsyncs them against a crash of the host. A host
// crash can leave a torn last line: replay ignores it and cuts it off before
// appending (tests/vfs/localfs_journal_cut_test.ts cuts at every byte). A
// compaction fsyncs the new file and its directory before appending to it.
// Losing the journal is not fatal: FileIds
// derive from inode numbers, so LocalFs finds objects again by walking the
// tree; only generations (inode reuse detection) are forgotten.
//
// LocalFs instances of one process on the same root and journal (PerUserFs's
// views of one tree, one per caller) share one IdIndex (IdIndex.open): what one
// makes, the others find by its record at once, and one journal has one
// writer in the process.
import * as nfs from "node:fs";
import type { FileId } from "../types.ts";
import { BoundedMap } from "../../collections/_bounded_map.ts";

/** Where an object was last seen. */
export interface IdRecord {
  parent: FileId;
  name: string;
  /** Birth time in ms (0 when the host file system has none). */
  btime: number;
}

/** Generation bookkeeping per inode number. */
interface Gen {
  gen: number;
  btime: number;
}

const GEN_UNIT = 2 ** 32;
/** Journal lines tolerated before the first compaction. */
const COMPACT_FLOOR = 10_000;
const MAX_GEN = 2 ** 21 - 1;

/** Splits a FileId into inode number and generation. */
export function splitId(id: FileId): { ino: number; gen: number } {
  if (id < GEN_UNIT) return { ino: id, gen: 0 };
  return { ino: id % GEN_UNIT, gen: Math.floor(id / GEN_UNIT) };
}

/** The indexes open through IdIndex.open, by journal (or root) and mode. */
const shared = new Map<string, IdIndex>();

export class IdIndex {
  readonly records: Map<FileId, IdRecord> = new Map();
  /** Its LocalFs instances still open, and its key in `shared`. */
  #users = 1;
  #key: string | undefined;
  readonly #gens = new Map<number, Gen>();
  /** Tombstones, bounded; generations still catch most reuse. */
  readonly #dead = new BoundedMap<FileId, number>(100_000);
  /** Ids whose record a removed hard link dropped, the object living on. */
  readonly #homeless = new BoundedMap<FileId, true>(100_000);
  #file: string | undefined;
  #fd: number | undefined;
  #lines = 0;
  /** Lines at which the next compaction runs. */
  #compactAt = COMPACT_FLOOR;
  #compactions = 0;
  #dirty = false;
  readonly #generations: boolean;

  /**
   * Loads the journal at `file` (created if missing); without a file the
   * index lives in memory only.
   */
  constructor(file: string | undefined, generations: boolean) {
    this.#file = file;
    this.#generations = generations;
    if (file === undefined) return;
    let bytes = new Uint8Array(0);
    try {
      bytes = Deno.readFileSync(file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    // Lines end with "\n"; what follows the last one was cut by a crash.
    const end = bytes.lastIndexOf(0x0a) + 1;
    const text = new TextDecoder().decode(bytes.subarray(0, end));
    for (const line of text.split("\n")) this.#replay(line);
    const tail = new TextDecoder().decode(bytes.subarray(end));
    const whole = tail !== "" && this.#replay(tail);
    if (end < bytes.byteLength) {
      // Appending after a torn line would glue the next record to it, and
      // lose that record on the next replay: drop the fragment, or end the
      // line when only its newline was missing.
      if (whole) nfs.appendFileSync(file, "\n");
      else nfs.truncateSync(file, end);
    }
    this.#fd = nfs.openSync(file, "a");
    // Live lines: what a compaction now would write, about.
    const live = this.records.size + this.#dead.size;
    if (this.#lines > 2 * live + COMPACT_FLOOR) this.#compact();
    else this.#compactAt = Math.max(this.#lines, live) * 2 + COMPACT_FLOOR;
  }

  /**
   * The index of `file`, shared with every other LocalFs of this process
   * that opened it under the same `key` (the root's and the journal's real
   * paths) and has not closed it yet; each close is one
   * {@link close}.
   */
  static open(
    file: string | undefined,
    generations: boolean,
    key: string,
  ): IdIndex {
    key = `${generations}:${key}`;
    const have = shared.get(key);
    if (have !== undefined) {
      have.#users++;
      return have;
    }
    const index = new IdIndex(file, generations);
    index.#key = key;
    shared.set(key, index);
    return index;
  }

  /** Applies one journal line; false when it is not a whole record. */
  #replay(line: string): boolean {
    if (line === "") return false;
    let rec: {
      i?: number;
      p?: number;
      n?: string;
      b?: number;
      d?: number;
      g?: number;
      v?: number;
    };
    try {
      rec = JSON.parse(line);
    } catch {
      return false; // A torn line from a crash.
    }
    this.#lines++;
    if (typeof rec.i === "number" && typeof rec.n === "string") {
      const btime = rec.b ?? 0;
      this.records.set(rec.i, { parent: rec.p ?? 0, name: rec.n, btime });
      this.#dead.delete(rec.i);
      this.#noteGen(rec.i, btime);
    } else if (typeof rec.d === "number") {
      this.records.delete(rec.d);
      this.#dead.set(rec.d, rec.b ?? 0);
      this.#noteGen(rec.d, rec.b ?? 0);
    } else if (typeof rec.g === "number" && typeof rec.v === "number") {
      this.#noteGen(rec.v * GEN_UNIT + rec.g, rec.b ?? 0);
    }
    return true;
  }

  #noteGen(id: FileId, btime: number): void {
    const { ino, gen } = splitId(id);
    const g = this.#gens.get(ino);
    if (g === undefined || gen >= g.gen) this.#gens.set(ino, { gen, btime });
  }

  /**
   * The FileId of an inode with birth time `btime`: the inode number plus
   * its generation, bumped when the inode number comes back with a new birth
   * time (the host reused it for a new object).
   */
  idFor(ino: number, btime: number): FileId {
    if (!this.#generations || ino >= GEN_UNIT) {
      if (!Number.isSafeInteger(ino)) {
        throw new RangeError(`Inode number beyond 2^53: ${ino}`);
      }
      if (this.#generations) {
        throw new RangeError(
          `Inode number beyond 2^32, open with generations: false: ${ino}`,
        );
      }
      return ino;
    }
    const g = this.#gens.get(ino);
    if (g === undefined) {
      this.#gens.set(ino, { gen: 0, btime });
      return ino;
    }
    const current = g.gen * GEN_UNIT + ino;
    if (
      (g.btime !== btime && btime !== 0 && g.btime !== 0) ||
      this.#dead.has(current)
    ) {
      this.forget(g.gen * GEN_UNIT + ino, g.btime);
      g.gen = Math.min(g.gen + 1, MAX_GEN);
      g.btime = btime;
    } else if (g.btime === 0) {
      g.btime = btime;
    }
    return g.gen * GEN_UNIT + ino;
  }

  /**
   * The FileId that {@link idFor} would give now, without recording
   * anything; undefined when the inode number is unknown, its birth time
   * differs, or that id is gone.
   */
  peek(ino: number, btime: number): FileId | undefined {
    if (!this.#generations || ino >= GEN_UNIT) {
      return Number.isSafeInteger(ino) ? ino : undefined;
    }
    const g = this.#gens.get(ino);
    if (g === undefined) return undefined;
    if (g.btime !== btime && btime !== 0 && g.btime !== 0) return undefined;
    const id = g.gen * GEN_UNIT + ino;
    return this.#dead.has(id) ? undefined : id;
  }

  /** Whether `id` is known to be gone. */
  isDead(id: FileId): boolean {
    if (this.#dead.has(id)) return true;
    const { ino, gen } = splitId(id);
    const g = this.#gens.get(ino);
    return g !== undefined && gen < g.gen;
  }

  /** Records that `id` lives at `parent/name`. */
  set(id: FileId, parent: FileId, name: string, btime: number): void {
    const old = this.records.get(id);
    if (old !== undefined && old.parent === parent && old.name === name) {
      return;
    }
    this.records.set(id, { parent, name, btime });
    this.#dead.delete(id);
    this.#homeless.delete(id);
    this.#append(JSON.stringify({ i: id, p: parent, n: name, b: btime }));
  }

  /** Drops where `id` lives, without declaring it gone (another link may remain). */
  unplace(id: FileId): void {
    this.records.delete(id);
    this.#homeless.set(id, true);
  }

  /** Whether `id`'s record was dropped by {@link unplace} and not set again. */
  homeless(id: FileId): boolean {
    return this.#homeless.has(id);
  }

  /** Records that `id` is gone for good. */
  forget(id: FileId, btime: number): void {
    this.records.delete(id);
    this.#homeless.delete(id);
    if (this.#dead.has(id)) return;
    this.#dead.set(id, btime);
    this.#append(JSON.stringify({ d: id, b: btime }));
  }

  #append(line: string): void {
    if (this.#fd === undefined) return;
    nfs.writeSync(this.#fd, line + "\n");
    this.#lines++;
    this.#dirty = true;
    if (this.#lines > this.#compactAt) this.#compact();
  }

  #compact(): void {
    const file = this.#file!;
    const tmp = `${file}.tmp`;
    const out: string[] = [];
    for (const [id, r] of this.records) {
      out.push(JSON.stringify({ i: id, p: r.parent, n: r.name, b: r.btime }));
    }
    for (const [ino, g] of this.#gens) {
      if (g.gen > 0 && !this.records.has(g.gen * GEN_UNIT + ino)) {
        out.push(JSON.stringify({ g: ino, v: g.gen, b: g.btime }));
      }
    }
    for (const [id, b] of this.#dead) out.push(JSON.stringify({ d: id, b }));
    const fd = nfs.openSync(tmp, "w");
    try {
      nfs.writeSync(fd, out.join("\n") + (out.length ? "\n" : ""));
      nfs.fsyncSync(fd);
    } finally {
      nfs.closeSync(fd);
    }
    Deno.renameSync(tmp, file);
    syncDir(file.slice(0, file.lastIndexOf("/")) || "/");
    if (this.#fd !== undefined) nfs.closeSync(this.#fd);
    this.#fd = nfs.openSync(file, "a");
    this.#lines = out.length;
    this.#compactAt = 2 * out.length + COMPACT_FLOOR;
    this.#compactions++;
  }

  /** How many times the journal was rewritten (for tests). */
  get compactions(): number {
    return this.#compactions;
  }

  /** Lines in the journal now. */
  get lines(): number {
    return this.#lines;
  }

  /** Makes the journal durable. */
  flush(): void {
    if (this.#fd !== undefined && this.#dirty) {
      nfs.fsyncSync(this.#fd);
      this.#dirty = false;
    }
  }

  /**
   * Flushes the journal, and closes it when no other LocalFs shares it
   * (see {@link IdIndex.open}).
   */
  close(): void {
    if (this.#users > 1) {
      this.#users--;
      this.flush();
      return;
    }
    if (this.#users === 1) {
      this.#users = 0;
      if (this.#key !== undefined) shared.delete(this.#key);
    }
    if (this.#fd === undefined) return;
    try {
      this.flush();
    } finally {
      nfs.closeSync(this.#fd);
      this.#fd = undefined;
    }
  }
}

/**
 * fsyncs a directory, so a rename in it is durable before records are
 * appended to the renamed file (otherwise a host crash could bring the old
 * journal back and lose records fsynced since). Best effort: not every
 * platform opens directories.
 */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = nfs.openSync(dir, "r");
    nfs.fsyncSync(fd);
  } catch {
    // Windows cannot open a directory; the rename still happened.
  } finally {
    if (fd !== undefined) nfs.closeSync(fd);
  }
}
