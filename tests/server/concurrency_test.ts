import assert from "node:assert/strict";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc } from "../../proto/nfs3.ts";
import {
  type Concurrency,
  type Credentials,
  type FileSystem,
  MemFs,
  PassthroughFs,
} from "../../vfs/mod.ts";
import { start } from "./_harness.ts";

/** Counts how many calls are in flight at once; each takes a few ms. */
class Overlap extends PassthroughFs {
  override readonly concurrency: Concurrency;
  active = 0;
  peak = 0;
  calls = 0;

  constructor(concurrency: Concurrency) {
    super(new MemFs());
    this.concurrency = concurrency;
  }

  protected override async forward<T>(
    cred: Credentials,
    op: (fs: FileSystem) => Promise<T>,
  ): Promise<T> {
    this.calls++;
    this.peak = Math.max(this.peak, ++this.active);
    try {
      await new Promise((r) => setTimeout(r, 2));
      return await super.forward(cred, op);
    } finally {
      this.active--;
    }
  }
}

async function peakOf(
  fs: Overlap,
  exportFs: FileSystem | ((cred: Credentials) => FileSystem),
): Promise<number> {
  const h = await start({ exports: [{ fs: exportFs }] });
  try {
    const replies = await Promise.all(
      Array.from({ length: 16 }, () =>
        h.nfs(
          Proc.GETATTR,
          (w) => P.encodeFhArgs(w, { object: h.root }),
          P.decodeGetattrRes,
        )),
    );
    for (const r of replies) assert.equal(r.status, 0);
    assert.ok(fs.calls >= 16, `every GETATTR reached the file system`);
    return fs.peak;
  } finally {
    await h.close();
  }
}

Deno.test("nfs concurrency: calls overlap on a parallel file system", async () => {
  const fs = new Overlap("parallel");
  const peak = await peakOf(fs, fs);
  assert.ok(peak > 1, `calls ran concurrently (peak ${peak})`);
});

Deno.test("nfs concurrency: a serialize file system gets one call at a time", async () => {
  const fs = new Overlap("serialize");
  assert.equal(await peakOf(fs, fs), 1, "never two calls at once");
});

Deno.test("nfs concurrency: a per-user factory's serialize file system is queued too", async () => {
  const fs = new Overlap("serialize");
  assert.equal(await peakOf(fs, () => fs), 1, "never two calls at once");
});
