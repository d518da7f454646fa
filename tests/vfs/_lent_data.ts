// The conformance case of FileSystem.write's buffer contract: `data` is
// lent for the call only, so a back end that keeps bytes copies them. The
// NFS servers reuse a WRITE's record buffer once the write has settled;
// a back end that kept a view would show the next call's bytes in the file.
import assert from "node:assert/strict";
import { type FileSystem, ROOT, type Stability } from "../../vfs/mod.ts";

type Test = (label: string, fn: (fs: FileSystem) => Promise<void>) => void;

/** Bytes that differ at every offset of a 1 MiB chunk and from 0xEE. */
function pattern(n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => ((i * 7 + seed) % 251) + 1);
}

/** Registers the case with `test`. */
export function lentDataCases(test: Test): void {
  test("write keeps no view of data: reusing the buffer after the write changes nothing", async (fs) => {
    const f = await fs.create(ROOT, fs.root, "lent.bin");
    // A small write, a whole aligned 1 MiB (a back end may adopt a whole
    // chunk), and one across a 1 MiB boundary, each a view into a larger
    // buffer at an offset, as a WRITE's data lies in its RPC record.
    const cases: [number, number, Stability][] = [
      [0, 5, "file"],
      [1 << 20, 1 << 20, "unstable"],
      [(3 << 20) - 1000, 70_000, "data"],
    ];
    const record = new ArrayBuffer((1 << 20) + 4096);
    const expected = new Map<number, Uint8Array>();
    for (const [i, [offset, length, stable]] of cases.entries()) {
      const data = new Uint8Array(record, 148, length);
      data.set(pattern(length, i));
      const res = await fs.write(ROOT, f.fileid, offset, data, stable);
      assert.equal(res.count, length);
      expected.set(offset, data.slice());
      // The server reuses the storage for the next call at once.
      new Uint8Array(record).fill(0xee);
    }
    await fs.commit(ROOT, f.fileid);
    for (const [offset, bytes] of expected) {
      const got = await fs.read(ROOT, f.fileid, offset, bytes.length);
      assert.equal(got.data.length, bytes.length);
      assert.ok(
        got.data.every((b, k) => b === bytes[k]),
        `the bytes written at ${offset} must not change when the caller reuses its buffer`,
      );
    }
  });
}
