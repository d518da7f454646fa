// The conformance suite of a read-only file system: reads work and every
// change fails with EROFS.
import assert from "node:assert/strict";
import {
  Access,
  FileType,
  ROOT,
  ShareAccess,
  ShareDeny,
} from "../../vfs/mod.ts";
import {
  dec,
  enc,
  names,
  rejects,
  type Subject,
  text,
} from "./_conformance_shared.ts";
import { agree } from "./_conformance_find.ts";

/** Registers the read-only suite for one back end. */
export function readOnlySuite(
  name: string,
  factory: () => Promise<Subject>,
  openHooks: boolean,
): void {
  Deno.test(`${name}: reads work and every change fails with EROFS`, async () => {
    const s = await factory();
    try {
      const w = s.setup!;
      const d = await w.mkdir(ROOT, w.root, "d");
      const a = await w.create(ROOT, d.fileid, "a");
      await w.write(ROOT, a.fileid, 0, enc.encode("hello"));
      const ln = await w.symlink(ROOT, w.root, "ln", "d/a");
      const fs = s.fs;
      assert.equal(fs.root, w.root);
      const la = await fs.lookup(ROOT, d.fileid, "a");
      assert.equal(la.fileid, a.fileid);
      assert.equal(await text(fs, a.fileid), "hello");
      assert.equal(await fs.readlink(ROOT, ln.fileid), "d/a");
      assert.deepEqual(await names(fs, fs.root), ["d", "ln"]);
      await fs.statfs(ROOT, fs.root);
      await fs.getattr(ROOT, a.fileid);
      assert.equal(await fs.access(ROOT, a.fileid, 0x3f), Access.READ);
      await rejects(fs.lookup(ROOT, fs.root, "none"), "ENOENT");
      assert.equal(await agree(fs, ROOT, fs.root, "none"), "absent");
      assert.equal(await agree(fs, ROOT, d.fileid, "a"), "found");
      assert.equal("open" in fs, openHooks, "open is offered as declared");
      if (fs.open && fs.release) {
        const ctx = await fs.open(ROOT, a.fileid, {
          access: ShareAccess.Read,
          deny: ShareDeny.Write,
        });
        const r = await fs.read(ROOT, a.fileid, 0, 100, ctx);
        assert.equal(dec.decode(r.data), "hello", "a read open works");
        await fs.release(ROOT, a.fileid, ctx);
      }
      const changes: Promise<unknown>[] = [
        fs.setattr(ROOT, a.fileid, { mode: 0o600 }),
        fs.write(ROOT, a.fileid, 0, enc.encode("x")),
        fs.create(ROOT, fs.root, "new"),
        fs.create(ROOT, d.fileid, "a"),
        fs.mkdir(ROOT, fs.root, "nd"),
        fs.symlink(ROOT, fs.root, "nl", "x"),
        fs.mknod(ROOT, fs.root, "np", { type: FileType.Fifo }),
        fs.link(ROOT, a.fileid, fs.root, "hl"),
        fs.remove(ROOT, d.fileid, "a"),
        fs.rmdir(ROOT, fs.root, "d"),
        fs.rename(ROOT, d.fileid, "a", fs.root, "b"),
      ];
      if (fs.xattrs) {
        changes.push(
          fs.xattrs.setxattr(ROOT, a.fileid, "user.x", enc.encode("v")),
          fs.xattrs.removexattr(ROOT, a.fileid, "user.x"),
        );
      }
      if (fs.open) {
        for (const access of [ShareAccess.Write, ShareAccess.Both]) {
          changes.push(fs.open(ROOT, a.fileid, { access, deny: 0 }));
        }
      }
      if (fs.allocate) changes.push(fs.allocate(ROOT, a.fileid, 0, 10));
      if (fs.deallocate) changes.push(fs.deallocate(ROOT, a.fileid, 0, 1));
      if (fs.copy) {
        changes.push(
          fs.copy(ROOT, a.fileid, a.fileid, {
            srcOffset: 0,
            dstOffset: 10,
            length: 1,
          }),
        );
      }
      for (const p of changes) await rejects(p, "EROFS");
      assert.equal(await text(fs, a.fileid), "hello", "nothing changed");
    } finally {
      await s.close();
    }
  });
}
