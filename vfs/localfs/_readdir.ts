// READDIR for LocalFs, for both engines: a directory's names sorted by a
// hash of each name, so a cookie (the hash) stays valid across changes,
// evictions and restarts with no state kept; the sorted listing is cached per
// directory while the directory's times, size and link count are unchanged.
// How names and entries are read is the engine's (a ListingHost): the
// portable one reads by path and confirms entries like lookups (see
// Confinement.confirmed), the native one reads through the directory's
// descriptor.
import { BoundedMap } from "../../collections/_bounded_map.ts";
import { Perm } from "../access.ts";
import type {
  Credentials,
  DirEntry,
  FileId,
  ReaddirOptions,
  ReaddirResult,
} from "../types.ts";
import { type AttrMap, requireOn } from "./_attrs.ts";
import type { Confinement, Located } from "./_confine.ts";
import { hostError, lstat, settle } from "./_host.ts";

/** How an engine reads a directory for {@link Listings}. */
export interface ListingHost<D extends { st: Deno.FileInfo }> {
  /** The root directory's id. */
  readonly root: FileId;
  /** The state folder's name in the root, left out of listings. */
  readonly hidden: string | undefined;
  /** The directory `id`, verified (ENOTDIR, ESTALE otherwise). */
  dir(id: FileId): D;
  /** Every name in the directory, in host order. */
  names(dirId: FileId, dir: D): string[];
  /** The entry `name` of the directory, or undefined to leave it out. */
  entry(dirId: FileId, dir: D, name: string): Deno.FileInfo | undefined;
  /** Throws ESTALE unless the directory read is still `dirId`. */
  settled(dirId: FileId, dir: D): void;
  /** Records and returns the FileId of an entry. */
  place(dirId: FileId, name: string, st: Deno.FileInfo): FileId;
}

/** The portable engine's listings: by path, each new entry confirmed. */
export function pathListing(tree: Confinement): ListingHost<Located> {
  return {
    root: tree.root,
    hidden: tree.hidden,
    dir: (id) => tree.dir(id),
    names: (dirId, dir) => {
      try {
        return [...Deno.readDirSync(dir.path)].map((e) => e.name);
      } catch (e) {
        throw hostError(e, `fileid ${dirId}`);
      }
    },
    entry: (dirId, dir, name) => {
      const path = `${dir.path}/${name}`;
      const st = lstat(path);
      if (st === undefined || st.dev !== tree.dev) return undefined;
      if (!tree.known(dirId, name, st)) {
        // First sight of this object here: check the directory's path,
        // then that the name still shows the same object (see Confinement.confirmed).
        tree.stillThere(dirId, dir, () => {});
        if (!tree.confirmed(dirId, name, path, st)) return undefined;
      }
      return st;
    },
    // The names were read by path: make sure it still led to this directory.
    settled: (dirId, dir) => tree.stillThere(dirId, dir, () => {}),
    place: (dirId, name, st) => tree.place(dirId, name, st),
  };
}

/** How long a directory must be unchanged before its listing is cached. */
const LISTING_SETTLE_MS = 50;

interface Listing {
  stamp: string;
  /** Entries sorted by hash; the cookie of an entry is hash + 3. */
  names: string[];
  hashes: number[];
}

/** 53-bit string hash (cyrb53) for readdir cookies that need no state. */
function nameHash(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Directory listings by name hash, and a small cache of them. */
export class Listings<D extends { st: Deno.FileInfo }> {
  readonly #tree: ListingHost<D>;
  readonly #attrs: AttrMap;
  readonly #cache = new BoundedMap<FileId, Listing>(64);

  constructor(tree: ListingHost<D>, attrs: AttrMap) {
    this.#tree = tree;
    this.#attrs = attrs;
  }

  /** Drops the cached listing of `dirId` (a directory gone). */
  forget(dirId: FileId): void {
    this.#cache.delete(dirId);
  }

  /** An entry of `dirId` changed: its listing goes and its change counter moves. */
  changed(dirId: FileId): void {
    this.#cache.delete(dirId);
    this.#attrs.bump(dirId);
  }

  #listing(dirId: FileId, dir: D): Listing {
    const stamp =
      `${dir.st.mtime?.getTime()}:${dir.st.ctime?.getTime()}:${dir.st.size}:${dir.st.nlink}`;
    const cached = this.#cache.get(dirId);
    if (cached !== undefined && cached.stamp === stamp) {
      this.#cache.touch(dirId);
      return cached;
    }
    const all: { name: string; hash: number }[] = [];
    for (const name of this.#tree.names(dirId, dir)) {
      if (dirId === this.#tree.root && name === this.#tree.hidden) continue;
      all.push({ name, hash: nameHash(name) });
    }
    all.sort((a, b) =>
      a.hash - b.hash || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    );
    const listing: Listing = {
      stamp,
      names: all.map((e) => e.name),
      hashes: all.map((e) => e.hash),
    };
    // The stamp has millisecond times from a coarse kernel clock: a change
    // by the host within the same tick as this listing would leave the stamp
    // unchanged, and a cached listing stale until the next change. Only a
    // directory left alone for a while is cached.
    const changed = Math.max(
      dir.st.mtime?.getTime() ?? 0,
      dir.st.ctime?.getTime() ?? 0,
    );
    if (Date.now() - changed < LISTING_SETTLE_MS) {
      this.#cache.delete(dirId);
      return listing;
    }
    this.#cache.set(dirId, listing);
    return listing;
  }

  /**
   * A page of entries. Cookies are a hash of the name, so they stay valid
   * across changes, evictions and restarts.
   */
  readdir(
    cred: Credentials,
    dirId: FileId,
    options: ReaddirOptions = {},
  ): Promise<ReaddirResult> {
    return settle(() => {
      const dir = this.#tree.dir(dirId);
      requireOn(cred, dir.st, Perm.R, `cannot list fileid ${dirId}`);
      const listing = this.#listing(dirId, dir);
      this.#tree.settled(dirId, dir);
      const cookie = options.cookie ?? 0n;
      const limit = options.limit ?? Infinity;
      const { names, hashes } = listing;
      let i = 0;
      if (cookie >= 3n) {
        const after = Number(cookie - 3n);
        let lo = 0;
        let hi = hashes.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (hashes[mid] <= after) lo = mid + 1;
          else hi = mid;
        }
        i = lo;
      }
      const entries: DirEntry[] = [];
      for (; i < names.length && entries.length < limit; i++) {
        const name = names[i];
        const st = this.#tree.entry(dirId, dir, name);
        if (st === undefined) continue;
        const id = this.#tree.place(dirId, name, st);
        const entry: DirEntry = {
          name,
          fileid: id,
          cookie: BigInt(hashes[i]) + 3n,
        };
        if (st.ino !== id && st.ino !== null) entry.inode = st.ino;
        if (options.withAttributes) entry.attrs = this.#attrs.of(st, id);
        entries.push(entry);
      }
      this.#tree.settled(dirId, dir);
      return { entries, eof: i >= names.length };
    });
  }
}
