// The NFSv3 calls the tests/server/nfs3_*_test.ts files make most: each
// encodes its arguments, calls through the harness and decodes the result.
import assert from "node:assert/strict";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc } from "../../proto/nfs3.ts";
import type { Harness } from "./_harness.ts";

export const NOVERF = new Uint8Array(8);

export async function lookup(h: Harness, dir: Uint8Array, name: string) {
  return await h.nfs(
    Proc.LOOKUP,
    (w) => P.encodeDirOpArgs(w, { dir, name }),
    P.decodeLookupRes,
  );
}

export async function create(
  h: Harness,
  dir: Uint8Array,
  name: string,
  args: Partial<P.CreateArgs> = {},
) {
  return await h.nfs(
    Proc.CREATE,
    (w) =>
      P.encodeCreateArgs(w, {
        dir,
        name,
        mode: P.CreateMode.UNCHECKED,
        attrs: { mode: 0o644 },
        ...args,
      }),
    P.decodeCreateRes,
  );
}

export async function mkdir(h: Harness, dir: Uint8Array, name: string) {
  const r = await h.nfs(
    Proc.MKDIR,
    (w) => P.encodeMkdirArgs(w, { dir, name, attrs: { mode: 0o755 } }),
    P.decodeCreateRes,
  );
  assert.equal(r.status, 0);
  return r.object!;
}

export async function write(
  h: Harness,
  file: Uint8Array,
  offset: number,
  data: Uint8Array,
  stable: number = P.StableHow.FILE_SYNC,
) {
  return await h.nfs(
    Proc.WRITE,
    (w) =>
      P.encodeWriteArgs(w, { file, offset, count: data.length, stable, data }),
    P.decodeWriteRes,
  );
}

export async function read(
  h: Harness,
  file: Uint8Array,
  offset: number,
  count: number,
) {
  return await h.nfs(
    Proc.READ,
    (w) => P.encodeReadArgs(w, { file, offset, count }),
    P.decodeReadRes,
  );
}

export async function getattr(h: Harness, object: Uint8Array) {
  return await h.nfs(
    Proc.GETATTR,
    (w) => P.encodeFhArgs(w, { object }),
    P.decodeGetattrRes,
  );
}
