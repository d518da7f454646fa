// Conformance cases of permissions: mode bits, ownership and chown, sticky
// directories, the owner override, supplementary groups.
import assert from "node:assert/strict";
import { Access, ROOT } from "../../vfs/mod.ts";
import {
  dec,
  enc,
  type Features,
  OTHER,
  put,
  rejects,
  type Test,
  USER,
} from "./_conformance_shared.ts";

/** Registers the cases with `test`, for a back end with features `f`. */
export function permissionCases(test: Test, f: Features): void {
  test("permissions: a non-root uid is denied by mode bits", async (fs) => {
    const priv = await fs.mkdir(ROOT, fs.root, "priv", { mode: 0o700 });
    await put(fs, priv.fileid, "inside", "x");
    const pub = await fs.mkdir(ROOT, fs.root, "pub", { mode: 0o755 });
    const secret = await put(fs, pub.fileid, "secret", "s");
    await fs.setattr(ROOT, secret.fileid, { mode: 0o600 });
    const open = await put(fs, pub.fileid, "open", "o");
    await fs.setattr(ROOT, open.fileid, { mode: 0o644 });

    await rejects(fs.lookup(USER, priv.fileid, "inside"), "EACCES");
    await rejects(fs.readdir(USER, priv.fileid), "EACCES");
    await rejects(fs.create(USER, pub.fileid, "new"), "EACCES");
    await rejects(fs.mkdir(USER, pub.fileid, "new"), "EACCES");
    await rejects(fs.remove(USER, pub.fileid, "open"), "EACCES");
    await rejects(
      fs.rename(USER, pub.fileid, "open", pub.fileid, "o2"),
      "EACCES",
    );
    await rejects(fs.read(USER, secret.fileid, 0, 1), "EACCES");
    await rejects(fs.write(USER, open.fileid, 0, enc.encode("w")), "EACCES");
    await rejects(fs.setattr(USER, open.fileid, { size: 0 }), "EACCES");
    await rejects(fs.setattr(USER, open.fileid, { mode: 0o777 }), "EPERM");
    await rejects(fs.setattr(USER, open.fileid, { uid: USER.uid }), "EPERM");
    assert.equal(
      dec.decode((await fs.read(USER, open.fileid, 0, 10)).data),
      "o",
    );
    assert.equal(
      await fs.access(USER, open.fileid, 0x3f),
      Access.READ,
    );
    assert.equal(
      await fs.access(USER, pub.fileid, 0x3f),
      Access.READ | Access.LOOKUP | Access.EXECUTE,
    );
    assert.equal(await fs.access(USER, priv.fileid, 0x3f), 0);
    // Root reads and writes anything but executes only with some x bit.
    assert.equal(
      await fs.access(ROOT, secret.fileid, 0x3f),
      Access.READ | Access.MODIFY | Access.EXTEND,
    );
    await fs.setattr(ROOT, secret.fileid, { mode: 0o700 });
    assert.ok((await fs.access(ROOT, secret.fileid, Access.EXECUTE)) !== 0);
  });

  test("permissions: ownership, chown, sticky directories", async (fs) => {
    if (!f.ownership) return;
    const tmp = await fs.mkdir(ROOT, fs.root, "tmp", { mode: 0o1777 });
    const mine = await fs.create(USER, tmp.fileid, "mine");
    assert.equal(mine.uid, USER.uid);
    assert.equal(mine.gid, USER.gid);
    await fs.write(USER, mine.fileid, 0, enc.encode("m"));
    await fs.setattr(USER, mine.fileid, { mode: 0o666 });
    // Others may write the file but not remove or rename it in a sticky dir.
    await fs.write(OTHER, mine.fileid, 0, enc.encode("o"));
    await rejects(fs.remove(OTHER, tmp.fileid, "mine"), ["EPERM", "EACCES"]);
    await rejects(
      fs.rename(OTHER, tmp.fileid, "mine", tmp.fileid, "stolen"),
      ["EPERM", "EACCES"],
    );
    await rejects(fs.setattr(USER, mine.fileid, { uid: OTHER.uid }), "EPERM");
    await rejects(fs.setattr(USER, mine.fileid, { gid: OTHER.gid }), "EPERM");
    const member = { uid: USER.uid, gid: USER.gid, groups: [4242] };
    const g = await fs.setattr(member, mine.fileid, { gid: 4242 });
    assert.equal(g.gid, 4242, "owner may chgrp to a group it is in");
    const c = await fs.setattr(ROOT, mine.fileid, { uid: OTHER.uid });
    assert.equal(c.uid, OTHER.uid);
    await fs.remove(OTHER, tmp.fileid, "mine");
    // Set-id bits drop when a non-owner writes.
    const s = await fs.create(USER, tmp.fileid, "suid", {
      attrs: { mode: 0o4777 },
    });
    await fs.setattr(USER, s.fileid, { mode: 0o4777 });
    assert.equal((await fs.getattr(ROOT, s.fileid)).mode & 0o4000, 0o4000);
    await fs.write(OTHER, s.fileid, 0, enc.encode("x"));
    assert.equal((await fs.getattr(ROOT, s.fileid)).mode & 0o4000, 0);
  });

  test("permissions: the owner writes a file it created with mode 0", async (fs) => {
    if (!f.ownership) return;
    const tmp = await fs.mkdir(ROOT, fs.root, "tmp", { mode: 0o777 });
    // What an NFS client's open(O_CREAT|O_EXCL, 0) does: create, then write.
    const made = await fs.create(USER, tmp.fileid, "locked", {
      exclusive: true,
      attrs: { mode: 0 },
    });
    assert.equal(made.mode & 0o777, 0);
    await fs.write(USER, made.fileid, 0, enc.encode("mine"));
    assert.equal(
      dec.decode((await fs.read(USER, made.fileid, 0, 10)).data),
      "mine",
      "the owner reads and writes whatever the mode (knfsd's owner override)",
    );
    await fs.setattr(USER, made.fileid, { size: 2 });
    assert.equal(
      await fs.access(USER, made.fileid, 0x3f),
      0,
      "ACCESS shows the mode",
    );
    await rejects(fs.read(OTHER, made.fileid, 0, 1), "EACCES");
    await rejects(fs.write(OTHER, made.fileid, 0, enc.encode("o")), "EACCES");
  });

  test("permissions: a supplementary group gets the group bits", async (fs) => {
    if (!f.ownership) return;
    const shared = await put(fs, fs.root, "shared", "s");
    await fs.setattr(ROOT, shared.fileid, { gid: 4242, mode: 0o660 });
    const member = { uid: 1002, gid: 1002, groups: [17, 4242] };
    await fs.write(member, shared.fileid, 0, enc.encode("m"));
    assert.equal(
      await fs.access(member, shared.fileid, 0x3f),
      Access.READ | Access.MODIFY | Access.EXTEND,
    );
    await rejects(fs.read(OTHER, shared.fileid, 0, 1), "EACCES");
  });
}
