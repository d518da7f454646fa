/**
 * What NFSv2 and NFSv3 share about file handles: resolving one for a call
 * (export, access checks, the caller's credentials and view of the file
 * system) and a cache of the handles recently built (which NFSv4 uses too).
 *
 * The two versions differ only in the handle's wire form (v2 pads it to 32
 * bytes) and in how a failure is spelled: each maps the
 * {@link ResolveFailure} to its own status.
 *
 * @module
 */

import type { CallContext } from "../rpc/program.ts";
import type { Fattr3 } from "../proto/nfs3.ts";
import type { Credentials, FileId, FileSystem } from "../vfs/types.ts";
import type { Export, ExportTable } from "./exports.ts";
import { BoundedMap } from "../collections/_bounded_map.ts";
import {
  type DecodedHandle,
  encodeHandle,
  HANDLE_SIZE,
  padHandle,
} from "./handles.ts";

/**
 * A resolved file handle: the export, the caller's view and identity, the
 * object; made per call. `pre` is the one slot an NFSv3 procedure fills as
 * it runs, as knfsd keeps the pre-operation attributes in its file handle
 * struct: what its failure reply reports when it throws.
 */
export interface Target {
  /** The export the handle belongs to. */
  exp: Export;
  /** The file system as the caller sees it. */
  fs: FileSystem;
  /** The caller's credentials after squashing. */
  cred: Credentials;
  /** The object. */
  id: FileId;
  /**
   * The object's attributes as the procedure took them before it failed
   * (the wcc "before" of a procedure that changes the object), or their
   * promise while they are on their way; undefined until it takes them.
   * Its `fail` reports them (see nfs3/procedure.ts). NFSv2 replies carry
   * no attributes on failure and leave it alone.
   */
  pre?: Fattr3 | Promise<Fattr3 | undefined>;
}

/**
 * Why a handle does not resolve: `badhandle` for garbage, `stale` for
 * another server instance's handle or an unknown export, `acces` for a
 * client the export does not allow, `perm` for an unprivileged port on a
 * secure export.
 */
export type ResolveFailure = "badhandle" | "stale" | "acces" | "perm";

/** Resolves a decoded handle (undefined: it did not decode) for a call. */
export function resolveHandle(
  table: ExportTable,
  h: DecodedHandle | undefined,
  call: Pick<CallContext, "auth" | "remote">,
): Target | ResolveFailure {
  if (h === undefined) return "badhandle";
  const exp = table.byId(h.exportId);
  if (
    exp === undefined || exp.verfHi !== h.verfHi || exp.verfLo !== h.verfLo
  ) {
    return "stale";
  }
  if (!exp.allows(call.remote.hostname)) return "acces";
  if (exp.secure && call.remote.port >= 1024) return "perm";
  const cred = exp.credentials(call.auth);
  return { exp, fs: exp.fsFor(cred), cred, id: h.fileid, pre: undefined };
}

/** Handles kept per export (about 100 bytes each). */
const HANDLE_CACHE = 1 << 16;
/** Handles cut from one ArrayBuffer (see HandleCache's `#carve`). */
const HANDLE_BLOCK = 8;

/**
 * The handles of recently named objects, per export. A handle never
 * changes for a file id (ids are not reused and the verifier is fixed per
 * export), so recent ones are kept: READDIRPLUS sends one per entry, and
 * building one costs more than the rest of the entry's encoding. Past
 * `HANDLE_CACHE` handles the oldest goes: a {@link BoundedMap}, because
 * evicting through `keys().next()` cost 35-45 µs per new handle on a full
 * cache (1.6-2.6 µs now).
 */
export class HandleCache {
  readonly #padded: boolean;
  #block = new ArrayBuffer(0);
  #left = 0;
  readonly #handles = new WeakMap<Export, BoundedMap<FileId, Uint8Array>>();

  /** A cache of plain handles, or with `padded` of NFSv2's 32-byte ones. */
  constructor(padded = false) {
    this.#padded = padded;
  }

  /** The handle of object `fileid` in `exp`, shared (callers only encode it). */
  get(exp: Export, fileid: FileId): Uint8Array {
    return this.#get(exp, this.#cache(exp), fileid);
  }

  /**
   * {@link HandleCache.get} for one export, found once: a READDIRPLUS
   * listing asks for one handle per entry, all in the same export.
   */
  of(exp: Export): (fileid: FileId) => Uint8Array {
    const cache = this.#cache(exp);
    return (fileid) => this.#get(exp, cache, fileid);
  }

  #cache(exp: Export): BoundedMap<FileId, Uint8Array> {
    let cache = this.#handles.get(exp);
    if (cache === undefined) {
      this.#handles.set(exp, cache = new BoundedMap(HANDLE_CACHE));
    }
    return cache;
  }

  #get(
    exp: Export,
    cache: BoundedMap<FileId, Uint8Array>,
    fileid: FileId,
  ): Uint8Array {
    let fh = cache.get(fileid);
    if (fh === undefined) {
      const parts = { exportId: exp.id, verifier: exp.verifier, fileid };
      fh = this.#padded
        ? padHandle(encodeHandle(parts))
        : encodeHandle(parts, this.#carve());
      cache.set(fileid, fh);
    }
    return fh;
  }

  /**
   * Room for one handle, cut from a block of HANDLE_BLOCK: a handle in an
   * array of its own costs an ArrayBuffer (about 0.4 µs in Deno, however
   * small), and every created file gets one. A handle kept (here, or in
   * NFSv4 state) keeps its block alive: at most HANDLE_BLOCK × HANDLE_SIZE
   * bytes, about what an ArrayBuffer of its own costs beside its 20 bytes.
   */
  #carve(): Uint8Array {
    if (this.#left === 0) {
      this.#block = new ArrayBuffer(HANDLE_BLOCK * HANDLE_SIZE);
      this.#left = HANDLE_BLOCK;
    }
    const at = (HANDLE_BLOCK - this.#left--) * HANDLE_SIZE;
    return new Uint8Array(this.#block, at, HANDLE_SIZE);
  }
}
