// Conformance cases of `find`, the lookup of a name that may be absent:
// every back end in the suite offers it, and it answers exactly as the back
// end's own `lookup` does, except that an absent name is `undefined` where
// `lookup` rejects with ENOENT.
import assert from "node:assert/strict";
import {
  type Credentials,
  type FileId,
  type FileSystem,
  isVfsError,
  ROOT,
} from "../../vfs/mod.ts";
import { put, type Test, USER } from "./_conformance_shared.ts";

/** What `lookup` did: found the object, found nothing, or failed with a code. */
type Outcome = "found" | "absent" | string;

async function settled<T>(
  p: Promise<T>,
): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await p };
  } catch (error) {
    return { error };
  }
}

/**
 * Asks `lookup` and `find` the same question and asserts that they agree;
 * returns what `lookup` answered, for the caller to check too.
 */
export async function agree(
  fs: FileSystem,
  cred: Credentials,
  dir: FileId,
  name: string,
): Promise<Outcome> {
  const want = await settled(fs.lookup(cred, dir, name));
  const got = await settled(fs.find!(cred, dir, name));
  const what = `find(${dir}, ${JSON.stringify(name)})`;
  if (want.error === undefined) {
    assert.equal(got.error, undefined, `${what} fails where lookup finds`);
    assert.deepEqual(got.value, want.value, `${what} answers as lookup`);
    return "found";
  }
  assert.ok(isVfsError(want.error), `lookup throws VfsErrors only`);
  if (want.error.code === "ENOENT") {
    assert.equal(got.error, undefined, `${what} does not throw ENOENT`);
    assert.equal(got.value, undefined, `${what} is undefined`);
    return "absent";
  }
  assert.ok(
    isVfsError(got.error, want.error.code),
    `${what} fails with lookup's ${want.error.code}, got: ${got.error}`,
  );
  return want.error.code;
}

/** Registers the cases with `test`. */
export function findCases(test: Test): void {
  test("find: agrees with lookup on names that exist and one that does not", async (fs) => {
    assert.equal(typeof fs.find, "function", "every back end offers find");
    const d = await fs.mkdir(ROOT, fs.root, "d", { mode: 0o755 });
    await put(fs, d.fileid, "f", "x");
    await fs.symlink(ROOT, d.fileid, "ln", "f");
    const cases: [FileId, string, Outcome][] = [
      [fs.root, "d", "found"],
      [d.fileid, "f", "found"],
      [d.fileid, "ln", "found"],
      [d.fileid, ".", "found"],
      [d.fileid, "..", "found"],
      [fs.root, "..", "found"],
      [d.fileid, "absent", "absent"],
      [fs.root, "f", "absent"],
    ];
    for (const [dir, name, outcome] of cases) {
      assert.equal(await agree(fs, ROOT, dir, name), outcome, name);
      assert.equal(await agree(fs, USER, dir, name), outcome, name);
    }
  });

  test("find: sees a name as soon as it is made and after it is removed", async (fs) => {
    assert.equal(await fs.find!(ROOT, fs.root, "n"), undefined);
    const made = await fs.create(ROOT, fs.root, "n");
    assert.equal((await fs.find!(ROOT, fs.root, "n"))?.fileid, made.fileid);
    await fs.remove(ROOT, fs.root, "n");
    assert.equal(await fs.find!(ROOT, fs.root, "n"), undefined);
    assert.equal(await agree(fs, ROOT, fs.root, "n"), "absent");
  });

  test("find: fails as lookup does for a file, a closed directory, a bad name, a removed directory", async (fs) => {
    const file = await put(fs, fs.root, "file", "x");
    const priv = await fs.mkdir(ROOT, fs.root, "priv", { mode: 0o700 });
    await put(fs, priv.fileid, "inside", "x");
    const gone = await fs.mkdir(ROOT, fs.root, "gone");
    await fs.rmdir(ROOT, fs.root, "gone");
    assert.equal(await agree(fs, ROOT, file.fileid, "x"), "ENOTDIR");
    // The search permission is checked before the name is looked for.
    assert.equal(await agree(fs, USER, priv.fileid, "inside"), "EACCES");
    assert.equal(await agree(fs, USER, priv.fileid, "absent"), "EACCES");
    const bad = await agree(fs, ROOT, fs.root, "a/b");
    assert.ok(bad !== "found" && bad !== "absent", `"a/b" is refused: ${bad}`);
    const long = await agree(fs, ROOT, fs.root, "n".repeat(300));
    assert.ok(long !== "found", `a 300-byte name is never found: ${long}`);
    const stale = await agree(fs, ROOT, gone.fileid, "x");
    assert.ok(stale !== "found" && stale !== "absent", `stale: ${stale}`);
  });
}
