// The FileId journal of LocalFs: compaction is amortised (never O(n) per
// operation, however the live set shrinks) and a reload sees what was written.
import assert from "node:assert/strict";
import { IdIndex } from "../../vfs/localfs/_id_index.ts";

Deno.test("localfs id index: create/forget rounds compact a bounded number of times", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netfs-ids-" });
  try {
    const file = `${dir}/ids.jsonl`;
    const ids = new IdIndex(file, true);
    const n = 12_000;
    let appends = 0;
    for (let round = 0; round < 4; round++) {
      const made: number[] = [];
      for (let i = 0; i < n; i++) {
        // A new birth time per round: the host reused the inode numbers.
        const id = ids.idFor(1000 + i, 1_000_000 + round);
        ids.set(id, 1, `f${i}`, 1_000_000 + round);
        made.push(id);
        appends++;
      }
      for (const id of made) {
        ids.forget(id, 1_000_000 + round);
        appends++;
      }
    }
    // The old rule rewrote the whole journal on every forget once the live
    // set had shrunk: thousands of compactions here.
    assert.ok(ids.compactions <= 8, `compactions: ${ids.compactions}`);
    assert.ok(ids.lines < appends, `journal lines: ${ids.lines}`);
    const last = ids.idFor(1000, 1_000_003);
    ids.set(last, 1, "kept", 1_000_003);
    ids.close();

    const again = new IdIndex(file, true);
    try {
      assert.deepEqual(again.records.get(last), {
        parent: 1,
        name: "kept",
        btime: 1_000_003,
      });
      // Earlier generations of a reused inode number stay stale.
      assert.ok(again.isDead(1000));
      assert.ok(!again.isDead(last));
      assert.equal(again.idFor(1000, 1_000_003), last);
      assert.equal(again.idFor(1001, 1_000_003) > 2 ** 32 * 3, true);
    } finally {
      again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
