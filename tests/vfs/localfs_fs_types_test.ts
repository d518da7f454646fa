// The native LocalFs engine on tmpfs and on a loop-mounted ext4 image, as
// well as on whatever file system the temporary directory is on
// (localfs_test.ts): xattrs, allocate, hole punching, SEEK_DATA/SEEK_HOLE,
// kernel copies and clones behave per file system, so the whole conformance
// suite runs inside each mount, as steps of one test that mounts and
// unmounts. On ext4 the host also reuses a deleted file's inode number for
// the next file: the FileId moves to a new generation while clients are
// still shown the inode number. Needs root (mount) and, for ext4,
// mkfs.ext4: without them each test is ignored, its name saying why; with
// them, a mount that fails fails the test.
import assert from "node:assert/strict";
import { LocalFs } from "../../vfs/localfs.ts";
import { ROOT } from "../../vfs/types.ts";
import { conformance } from "./conformance.ts";
import { loopExt4 } from "./_ext4.ts";
import { privateTmpfs } from "./_tmpfs.ts";

const linux = Deno.build.os === "linux";

/** What `stat -f` calls the file system at `path`. */
async function fsType(path: string): Promise<string> {
  const r = await new Deno.Command("stat", { args: ["-f", "-c", "%T", path] })
    .output();
  return new TextDecoder().decode(r.stdout).trim();
}

function subject(base: string) {
  return async () => {
    const dir = await Deno.makeTempDir({ dir: base, prefix: "localfs-" });
    await Deno.chmod(dir, 0o755);
    const fs = await LocalFs.open(dir, { engine: "native" });
    return {
      fs,
      close: async () => {
        await fs.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  };
}

/** Whether `cmd` runs here. */
function runs(cmd: string, args: string[]): boolean {
  try {
    new Deno.Command(cmd, { args, stdout: "null", stderr: "null" })
      .outputSync();
    return true;
  } catch {
    return false;
  }
}

/** Why a kind of mount cannot be made here, decided before any test runs. */
function skipReason(needs: string[]): string | undefined {
  if (!linux) return "not Linux";
  if (Deno.uid() !== 0) return "mounting needs root";
  if (Deno.permissions.querySync({ name: "run" }).state !== "granted") {
    return "mounting needs --allow-run";
  }
  const missing = needs.filter((cmd) => !runs(cmd, ["-V"]));
  return missing.length > 0 ? `${missing.join(", ")} not found` : undefined;
}

const KINDS = {
  tmpfs: {
    mount: async () => (await privateTmpfs()) ?? "mounting tmpfs failed",
    type: "tmpfs",
    skip: skipReason(["mount"]),
  },
  ext4: {
    mount: () => loopExt4(),
    type: "ext2/ext3",
    skip: skipReason(["mount", "mkfs.ext4"]),
  },
};

for (const [kind, { mount, type, skip }] of Object.entries(KINDS)) {
  Deno.test({
    name:
      `localfs native on ${kind}: the conformance suite, with xattrs, allocate, holes, seek, copies and clones${
        skip === undefined ? "" : ` (ignored: ${skip})`
      }`,
    ignore: skip !== undefined,
    async fn(t) {
      const m = await mount();
      if (typeof m === "string") throw new Error(`Cannot mount ${kind}: ${m}`);
      try {
        assert.equal(await fsType(m.path), type, "the file system under test");
        const cases: [string, () => Promise<void>][] = [];
        conformance(
          `localfs native on ${kind}`,
          subject(m.path),
          { devices: Deno.uid() === 0 },
          (label, fn) => cases.push([label, fn]),
        );
        for (const [label, fn] of cases) await t.step(label, fn);
        await t.step(
          "every capability is there; clones are ENOTSUP",
          async () => {
            const s = await subject(m.path)();
            try {
              const fs = s.fs;
              for (const cap of ["xattrs", "allocate", "deallocate", "seek"]) {
                assert.ok(cap in fs, cap);
              }
              const a = await fs.create(ROOT, fs.root, "a");
              await fs.write(ROOT, a.fileid, 0, new Uint8Array(65536).fill(1));
              const b = await fs.create(ROOT, fs.root, "b");
              await assert.rejects(
                fs.clone!(ROOT, a.fileid, b.fileid, {
                  srcOffset: 0,
                  dstOffset: 0,
                  length: 0,
                }),
                { code: "ENOTSUP" },
              );
              // A punched hole frees storage and SEEK_HOLE finds it.
              const before = (await fs.getattr(ROOT, a.fileid)).used;
              await fs.deallocate!(ROOT, a.fileid, 0, 32768);
              assert.ok((await fs.getattr(ROOT, a.fileid)).used < before);
              assert.equal(
                (await fs.seek!(ROOT, a.fileid, 0, "hole")).offset,
                0,
              );
              assert.equal(
                (await fs.seek!(ROOT, a.fileid, 0, "data")).offset,
                32768,
              );
            } finally {
              await s.close();
            }
          },
        );
        if (kind === "ext4") {
          await t.step(
            "a reused inode number: a new FileId, the same inode shown",
            async () => {
              const s = await subject(m.path)();
              try {
                const fs = s.fs;
                const first = await fs.create(ROOT, fs.root, "first");
                await fs.remove(ROOT, fs.root, "first");
                const next = await fs.create(ROOT, fs.root, "next");
                assert.equal(
                  next.fileid % 2 ** 32,
                  first.fileid,
                  "ext4 reused it",
                );
                assert.notEqual(next.fileid, first.fileid);
                assert.equal(next.inode, first.fileid);
                const seen = await fs.lookup(ROOT, fs.root, "next");
                assert.deepEqual([seen.fileid, seen.inode], [
                  next.fileid,
                  first.fileid,
                ]);
              } finally {
                await s.close();
              }
            },
          );
        }
      } finally {
        await m.remove();
      }
    },
  });
}
