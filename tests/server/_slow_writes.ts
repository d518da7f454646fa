// A file system that relies on a WRITE's data until the write settles, for
// the tests of the RPC server's record reuse (nfs3_write_buffers_test.ts,
// nfs4/write_buffers_test.ts): it copies `data` only after a timer, as a
// back end writing from a thread pool does, so a record handed back before
// the write settled puts a later call's bytes in the file.
import { VfsError } from "../../vfs/errors.ts";
import { PassthroughFs } from "../../vfs/passthrough.ts";
import type {
  Attributes,
  Credentials,
  FileId,
  Stability,
  WriteResult,
} from "../../vfs/types.ts";

/** Copies `data` only after a timer: it relies on `data` until it settles. */
export class SlowWrites extends PassthroughFs {
  /** Files whose getattr fails at once, while their writes still land. */
  readonly failing = new Set<FileId>();

  override getattr(cred: Credentials, id: FileId): Promise<Attributes> {
    if (this.failing.has(id)) {
      return Promise.reject(new VfsError("EIO", "Injected getattr failure"));
    }
    return super.getattr(cred, id);
  }

  override async write(
    cred: Credentials,
    id: FileId,
    offset: number,
    data: Uint8Array,
    stable?: Stability,
    context?: unknown,
  ): Promise<WriteResult> {
    await new Promise((r) => setTimeout(r, 5));
    return await super.write(cred, id, offset, data, stable, context);
  }
}

/** `n` bytes, none zero, different for each `seed`. */
export function pattern(n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => ((i * 13 + seed * 101) % 253) + 1);
}
