// The conformance cases of the open/release hooks, for the file systems
// that declare them (Features.openHooks): an open's context carries reads
// and writes until release, opens are independent, permission is checked,
// and a context follows its file through a rename.
import assert from "node:assert/strict";
import {
  type Credentials,
  type FileId,
  type FileSystem,
  ROOT,
  ShareAccess,
  ShareDeny,
} from "../../vfs/mod.ts";

type Test = (label: string, fn: (fs: FileSystem) => Promise<void>) => void;

const USER: Credentials = { uid: 1000, gid: 1000, groups: [] };
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The hooks of `fs`, which declares it has them. */
function hooks(fs: FileSystem) {
  assert.ok(fs.open && fs.release, "the file system declares open hooks");
  return { open: fs.open.bind(fs), release: fs.release.bind(fs) };
}

async function file(fs: FileSystem, name: string, body: string, mode = 0o644) {
  const a = await fs.create(ROOT, fs.root, name, { attrs: { mode } });
  await fs.write(ROOT, a.fileid, 0, enc.encode(body), "file");
  return a.fileid;
}

async function text(
  fs: FileSystem,
  id: FileId,
  context?: unknown,
  cred: Credentials = ROOT,
): Promise<string> {
  return dec.decode((await fs.read(cred, id, 0, 1 << 16, context)).data);
}

/** Registers the cases; `declared` is whether the subject says it has the hooks. */
export function openHookCases(test: Test, declared: boolean): void {
  test("open hooks: offered as declared, open and release together", (fs) => {
    assert.equal("open" in fs, declared, "open is offered as declared");
    assert.equal("release" in fs, "open" in fs, "release goes with open");
    return Promise.resolve();
  });
  if (!declared) return;

  test("open hooks: reads and writes carry the context until release", async (fs) => {
    const { open, release } = hooks(fs);
    const id = await file(fs, "a", "hello");
    const ctx = await open(ROOT, id, {
      access: ShareAccess.Both,
      deny: ShareDeny.None,
      owner: "conformance",
    });
    assert.equal(await text(fs, id, ctx), "hello");
    const w = await fs.write(ROOT, id, 0, enc.encode("J"), "file", ctx);
    assert.equal(w.count, 1);
    assert.equal(await text(fs, id), "Jello", "seen without the context");
    assert.equal(await text(fs, id, ctx), "Jello", "and with it");
    await fs.write(ROOT, id, 5, enc.encode("!"), "unstable", ctx);
    await fs.commit(ROOT, id);
    await release(ROOT, id, ctx);
    assert.equal(await text(fs, id), "Jello!", "the data stays after release");
  });

  test("open hooks: opens of one file are independent, any caller's", async (fs) => {
    const { open, release } = hooks(fs);
    const id = await file(fs, "a", "shared");
    const r1 = await open(ROOT, id, {
      access: ShareAccess.Read,
      deny: ShareDeny.None,
    });
    const r2 = await open(USER, id, {
      access: ShareAccess.Read,
      deny: ShareDeny.Write,
      owner: "another owner",
    });
    await release(ROOT, id, r1);
    assert.equal(await text(fs, id, r2, USER), "shared", "r2 outlives r1");
    await fs.write(ROOT, id, 0, enc.encode("S"), "file");
    assert.equal(await text(fs, id, r2, USER), "Shared");
    await release(USER, id, r2);
  });

  test("open hooks: open checks permission and wants a regular file", async (fs) => {
    const { open, release } = hooks(fs);
    const secret = await file(fs, "secret", "x", 0o600);
    const shared = await file(fs, "shared", "y", 0o644);
    const read = { access: ShareAccess.Read, deny: ShareDeny.None } as const;
    const write = { access: ShareAccess.Write, deny: ShareDeny.None } as const;
    await assert.rejects(open(USER, secret, read), { code: "EACCES" });
    await assert.rejects(open(USER, shared, write), { code: "EACCES" });
    const ok = await open(USER, shared, read);
    await release(USER, shared, ok);
    const d = await fs.mkdir(ROOT, fs.root, "d");
    await assert.rejects(open(ROOT, d.fileid, read), { code: "EISDIR" });
  });

  test("open hooks: a context follows its file through a rename", async (fs) => {
    const { open, release } = hooks(fs);
    const id = await file(fs, "before", "moved");
    const d = await fs.mkdir(ROOT, fs.root, "d");
    const ctx = await open(ROOT, id, {
      access: ShareAccess.Both,
      deny: ShareDeny.Both,
    });
    await fs.rename(ROOT, fs.root, "before", d.fileid, "after");
    assert.equal(await text(fs, id, ctx), "moved");
    await fs.write(ROOT, id, 0, enc.encode("M"), "file", ctx);
    assert.equal(await text(fs, id), "Moved");
    await release(ROOT, id, ctx);
  });
}
