/**
 * NFSv4 owners: the `owner` and `owner_group` attributes are strings, not
 * numbers. By default this server sends and takes numeric strings ("1000"),
 * as knfsd does for AUTH_SYS clients with id mapping off, which is what
 * the Linux client expects when it runs without idmapd. With an
 * {@link Nfs4IdMapping} it sends `name@domain` for the ids the mapping
 * names and takes `name@domain` back; numeric strings are always accepted
 * on input, and ids the mapping does not name go out numeric.
 *
 * A string that is neither numeric nor a known name of the mapping's domain
 * is NFS4ERR_BADOWNER.
 *
 * @module
 */

import { nfsstat4 } from "../../proto/nfs4/mod.ts";
import { BoundedMap } from "../../collections/_bounded_map.ts";
import { fail } from "./errors.ts";

/**
 * How the server turns uids and gids into NFSv4 owner strings
 * (`user@domain`) and back. Each function is optional: without `user`,
 * owners go out numeric; without `uidOf`, only numeric owners are
 * accepted. A function returning undefined means "no such name" (input:
 * NFS4ERR_BADOWNER) or "no name for this id" (output: numeric).
 */
export interface Nfs4IdMapping {
  /** The NFSv4 domain, the part after "@" (compared without case). */
  domain: string;
  /** The user name of `uid`, without the domain. */
  user?(uid: number): string | undefined;
  /** The uid of user `name` (given without the domain). */
  uidOf?(name: string): number | undefined;
  /** The group name of `gid`, without the domain. */
  group?(gid: number): string | undefined;
  /** The gid of group `name` (given without the domain). */
  gidOf?(name: string): number | undefined;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
const CACHE = 1024;
const NUMERIC = /^[0-9]{1,10}$/;

/** Owner strings both ways, with a small cache of encoded names. */
export class OwnerNames {
  readonly #map: Nfs4IdMapping | undefined;
  readonly #domain: string | undefined;
  readonly #users = new BoundedMap<number, Uint8Array>(CACHE);
  readonly #groups = new BoundedMap<number, Uint8Array>(CACHE);

  /** Owner names under `mapping`; numeric only without one. */
  constructor(mapping?: Nfs4IdMapping) {
    this.#map = mapping;
    this.#domain = mapping?.domain.toLowerCase();
  }

  /** The `owner` string of `uid`. */
  owner(uid: number): Uint8Array {
    return this.#name(this.#users, uid, this.#map?.user);
  }

  /** The `owner_group` string of `gid`. */
  group(gid: number): Uint8Array {
    return this.#name(this.#groups, gid, this.#map?.group);
  }

  /** The uid an `owner` string names, or NFS4ERR_BADOWNER. */
  uidOf(raw: Uint8Array): number {
    return this.#id(raw, this.#map?.uidOf);
  }

  /** The gid an `owner_group` string names, or NFS4ERR_BADOWNER. */
  gidOf(raw: Uint8Array): number {
    return this.#id(raw, this.#map?.gidOf);
  }

  #name(
    cache: BoundedMap<number, Uint8Array>,
    id: number,
    name: ((id: number) => string | undefined) | undefined,
  ): Uint8Array {
    let out = cache.get(id);
    if (out !== undefined) return out;
    const n = name?.(id);
    out = enc.encode(
      n === undefined ? String(id) : `${n}@${this.#map!.domain}`,
    );
    cache.set(id, out);
    return out;
  }

  #id(
    raw: Uint8Array,
    idOf: ((name: string) => number | undefined) | undefined,
  ): number {
    let s: string;
    try {
      s = dec.decode(raw);
    } catch {
      fail(nfsstat4.NFS4ERR_BADOWNER, "Owner is not UTF-8");
    }
    const at = s.lastIndexOf("@");
    if (at < 0) return numeric(s);
    const name = s.slice(0, at);
    if (
      this.#domain === undefined ||
      s.slice(at + 1).toLowerCase() !== this.#domain
    ) {
      fail(nfsstat4.NFS4ERR_BADOWNER, `Unknown owner domain: ${s}`);
    }
    if (NUMERIC.test(name)) return numeric(name);
    const id = idOf?.(name);
    if (
      id === undefined || !Number.isInteger(id) || id < 0 || id > 0xffffffff
    ) {
      fail(nfsstat4.NFS4ERR_BADOWNER, `Unknown owner: ${s}`);
    }
    return id;
  }
}

function numeric(s: string): number {
  if (!NUMERIC.test(s) || Number(s) > 0xffffffff) {
    fail(nfsstat4.NFS4ERR_BADOWNER, `Unknown owner: ${s}`);
  }
  return Number(s);
}
