import assert from "node:assert/strict";
import { FileStableStorage } from "../../../server/nfs4/stable_storage.ts";

Deno.test("stable storage: owners survive a reopen, removals too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/clients`;
    const a = new FileStableStorage(path);
    assert.deepEqual(a.list(), []);
    a.add(new Uint8Array([1, 2]));
    a.add(new Uint8Array([0xff]));
    a.add(new Uint8Array([1, 2])); // recorded once
    assert.equal(new FileStableStorage(path).list().length, 2);
    a.remove(new Uint8Array([1, 2]));
    assert.deepEqual(new FileStableStorage(path).list(), [
      new Uint8Array([0xff]),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stable storage: a line that is not hex is skipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/clients`;
    await Deno.writeTextFile(path, "zz\nabc\n0a0b\n\n");
    assert.deepEqual(new FileStableStorage(path).list(), [
      new Uint8Array([10, 11]),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
