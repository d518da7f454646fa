// The permission policy on its own: pure functions of credentials and
// attributes, one behaviour per test.
import assert from "node:assert/strict";
import {
  Access,
  accessBits,
  checkNewOwner,
  checkSetattr,
  hasPermission,
  modeAfterWrite,
  type Ownership,
  Perm,
  requireData,
  requirePermission,
  requireSticky,
  stickyAllows,
} from "../../vfs/access.ts";
import {
  type Credentials,
  FileType,
  isVfsError,
  ROOT,
  type VfsErrorCode,
} from "../../vfs/mod.ts";

const OWNER: Credentials = { uid: 1000, gid: 1000, groups: [] };
const MEMBER: Credentials = { uid: 1001, gid: 100, groups: [] };
const SUPPLEMENTARY: Credentials = { uid: 1002, gid: 2000, groups: [7, 100] };
const STRANGER: Credentials = { uid: 1003, gid: 2000, groups: [7] };
const ALL = 0x3f;

function file(mode: number, type: FileType = FileType.Regular): Ownership {
  return { type, mode, uid: OWNER.uid, gid: 100 };
}

function dir(mode: number): Ownership {
  return file(mode, FileType.Directory);
}

function throwsCode(fn: () => unknown, code: VfsErrorCode): void {
  assert.throws(
    fn,
    (e) => isVfsError(e) && e.code === code,
    `expected ${code}`,
  );
}

// ---- classes ----------------------------------------------------------------

Deno.test("access: the owner gets the owner bits", () => {
  const f = file(0o400);
  assert.equal(hasPermission(f, OWNER, Perm.R), true);
  assert.equal(hasPermission(f, OWNER, Perm.W), false, "0o400 is read-only");
});

Deno.test("access: the owner class does not fall through to group or other", () => {
  assert.equal(
    hasPermission(file(0o077), OWNER, Perm.R),
    false,
    "an owner denied by the owner bits is denied",
  );
});

Deno.test("access: the primary group gets the group bits", () => {
  const f = file(0o040);
  assert.equal(hasPermission(f, MEMBER, Perm.R), true);
  assert.equal(hasPermission(f, MEMBER, Perm.W), false);
});

Deno.test("access: a supplementary group gets the group bits", () => {
  assert.equal(
    hasPermission(file(0o060), SUPPLEMENTARY, Perm.R | Perm.W),
    true,
  );
});

Deno.test("access: the group class does not fall through to other", () => {
  assert.equal(
    hasPermission(file(0o707), SUPPLEMENTARY, Perm.R),
    false,
    "a member denied by the group bits is denied",
  );
});

Deno.test("access: everyone else gets the other bits", () => {
  const f = file(0o004);
  assert.equal(hasPermission(f, STRANGER, Perm.R), true);
  assert.equal(hasPermission(f, STRANGER, Perm.X), false);
});

Deno.test("access: every asked-for bit must be granted", () => {
  assert.equal(hasPermission(file(0o004), STRANGER, Perm.R | Perm.W), false);
});

// ---- root -------------------------------------------------------------------

Deno.test("access: root reads and writes a file with mode 0", () => {
  assert.equal(hasPermission(file(0), ROOT, Perm.R | Perm.W), true);
});

Deno.test("access: root executes a file only when some x bit is set", () => {
  assert.equal(hasPermission(file(0o644), ROOT, Perm.X), false);
  assert.equal(
    hasPermission(file(0o001), ROOT, Perm.X),
    true,
    "other x is enough",
  );
  assert.equal(
    hasPermission(file(0o010), ROOT, Perm.X),
    true,
    "group x is enough",
  );
});

Deno.test("access: root searches a directory with mode 0", () => {
  assert.equal(hasPermission(dir(0), ROOT, Perm.R | Perm.W | Perm.X), true);
});

// ---- edge uids and gids -----------------------------------------------------

Deno.test("access: group 0 is an ordinary group", () => {
  const wheel: Credentials = { uid: 1003, gid: 0, groups: [0] };
  assert.equal(hasPermission(file(0o600), wheel, Perm.R), false);
});

Deno.test("access: nobody (65534) and 2^32-1 are ordinary uids", () => {
  for (const uid of [65534, 0xffffffff]) {
    const cred = { uid, gid: uid, groups: [] };
    assert.equal(hasPermission(file(0o600), cred, Perm.R), false, `uid ${uid}`);
    const own = { type: FileType.Regular, mode: 0o600, uid, gid: 5 };
    assert.equal(hasPermission(own, cred, Perm.R), true, `uid ${uid} owns`);
    assert.equal(
      hasPermission(own, cred, Perm.X),
      false,
      `uid ${uid} is not root`,
    );
  }
});

Deno.test("access: a uid equal to the file's gid number is not in its group", () => {
  const cred = { uid: 100, gid: 2000, groups: [] };
  assert.equal(hasPermission(file(0o040), cred, Perm.R), false);
});

Deno.test("access: a file owned by root gives others nothing special", () => {
  const f = { type: FileType.Regular, mode: 0o600, uid: 0, gid: 0 };
  assert.equal(hasPermission(f, STRANGER, Perm.R), false);
});

// ---- ACCESS bits ------------------------------------------------------------

Deno.test("accessBits: a directory's r gives READ, x LOOKUP and EXECUTE", () => {
  assert.equal(
    accessBits(dir(0o005), STRANGER, ALL),
    Access.READ | Access.LOOKUP | Access.EXECUTE,
  );
});

Deno.test("accessBits: changing a directory needs w and x", () => {
  const change = Access.MODIFY | Access.EXTEND | Access.DELETE;
  assert.equal(
    accessBits(dir(0o002), STRANGER, change),
    0,
    "w alone is not enough",
  );
  assert.equal(accessBits(dir(0o003), STRANGER, change), change);
});

Deno.test("accessBits: a file never grants LOOKUP or DELETE, even to root", () => {
  assert.equal(accessBits(file(0o777), ROOT, Access.LOOKUP | Access.DELETE), 0);
});

Deno.test("accessBits: a file's r, w and x give READ, MODIFY|EXTEND and EXECUTE", () => {
  assert.equal(accessBits(file(0o004), STRANGER, ALL), Access.READ);
  assert.equal(
    accessBits(file(0o002), STRANGER, ALL),
    Access.MODIFY | Access.EXTEND,
  );
  assert.equal(accessBits(file(0o001), STRANGER, ALL), Access.EXECUTE);
});

Deno.test("accessBits: only bits in the mask are returned", () => {
  assert.equal(accessBits(file(0o777), OWNER, Access.READ), Access.READ);
  assert.equal(accessBits(file(0o777), OWNER, 0), 0);
});

Deno.test("accessBits: root gets READ|MODIFY|EXTEND on mode 0 but no EXECUTE", () => {
  assert.equal(
    accessBits(file(0), ROOT, ALL),
    Access.READ | Access.MODIFY | Access.EXTEND,
  );
});

// ---- owner override ---------------------------------------------------------

Deno.test("ownerOverride: the owner reads and writes a file with mode 0", () => {
  assert.equal(
    accessBits(file(0), OWNER, ALL, { ownerOverride: true }),
    Access.READ | Access.MODIFY | Access.EXTEND,
    "the owner override grants data access, not EXECUTE",
  );
});

Deno.test("ownerOverride: ACCESS without it shows the plain mode bits", () => {
  assert.equal(accessBits(file(0), OWNER, ALL), 0);
});

Deno.test("ownerOverride: gives a non-owner nothing", () => {
  assert.equal(accessBits(file(0), MEMBER, ALL, { ownerOverride: true }), 0);
});

Deno.test("ownerOverride: execute permission lets a regular file be read", () => {
  assert.equal(
    accessBits(file(0o001), STRANGER, Access.READ, { ownerOverride: true }),
    Access.READ,
  );
  assert.equal(
    accessBits(file(0o001), STRANGER, Access.READ),
    0,
    "not for ACCESS",
  );
});

Deno.test("ownerOverride: does not let the owner change a directory", () => {
  assert.equal(
    accessBits(dir(0o500), OWNER, Access.MODIFY, { ownerOverride: true }),
    0,
  );
});

Deno.test("requireData: the owner writes a file with mode 0", () => {
  requireData(file(0), OWNER, "write", "f");
  requireData(file(0), OWNER, "read", "f");
});

Deno.test("requireData: others need w to write and r or x to read", () => {
  throwsCode(() => requireData(file(0o004), STRANGER, "write", "f"), "EACCES");
  throwsCode(() => requireData(file(0o002), STRANGER, "read", "f"), "EACCES");
  requireData(file(0o002), STRANGER, "write", "f");
  requireData(file(0o001), STRANGER, "read", "f");
});

Deno.test("requirePermission: EACCES names the object", () => {
  assert.throws(
    () =>
      requirePermission(dir(0o700), STRANGER, Perm.X, "cannot search /priv"),
    /^VfsError: Permission denied: cannot search \/priv$/,
  );
});

// ---- sticky directories -----------------------------------------------------

const TMP: Ownership = {
  type: FileType.Directory,
  mode: 0o1777,
  uid: 500,
  gid: 500,
};
const ENTRY = { uid: OWNER.uid };

Deno.test("sticky: the entry's owner may remove it", () => {
  assert.equal(stickyAllows(TMP, ENTRY, OWNER), true);
});

Deno.test("sticky: the directory's owner may remove any entry", () => {
  assert.equal(
    stickyAllows(TMP, ENTRY, { uid: 500, gid: 500, groups: [] }),
    true,
  );
});

Deno.test("sticky: root may remove any entry", () => {
  assert.equal(stickyAllows(TMP, ENTRY, ROOT), true);
});

Deno.test("sticky: anyone else may not, even in the entry's group", () => {
  assert.equal(stickyAllows(TMP, ENTRY, MEMBER), false);
  throwsCode(() => requireSticky(TMP, ENTRY, MEMBER, "f"), "EPERM");
});

Deno.test("sticky: without the sticky bit the rule allows anyone", () => {
  assert.equal(stickyAllows({ ...TMP, mode: 0o777 }, ENTRY, STRANGER), true);
});

// ---- set-id bits --------------------------------------------------------------

Deno.test("modeAfterWrite: a non-root write clears setuid", () => {
  assert.equal(modeAfterWrite(0o4755, OWNER), 0o755);
});

Deno.test("modeAfterWrite: setgid goes only with group execute", () => {
  assert.equal(modeAfterWrite(0o2775, OWNER), 0o775);
  assert.equal(
    modeAfterWrite(0o2765, OWNER),
    0o2765,
    "setgid without g+x marks locking",
  );
});

Deno.test("modeAfterWrite: root's writes keep set-id bits", () => {
  assert.equal(modeAfterWrite(0o6755, ROOT), 0o6755);
});

Deno.test("modeAfterWrite: the sticky bit and permissions stay", () => {
  assert.equal(modeAfterWrite(0o1777, OWNER), 0o1777);
});

// ---- new objects ----------------------------------------------------------------

Deno.test("checkNewOwner: a user cannot create a file for another uid", () => {
  throwsCode(() => checkNewOwner(OWNER, { uid: 1001 }), "EPERM");
  checkNewOwner(OWNER, { uid: OWNER.uid });
});

Deno.test("checkNewOwner: the group must be one the caller is in", () => {
  throwsCode(() => checkNewOwner(STRANGER, { gid: 100 }), "EPERM");
  checkNewOwner(SUPPLEMENTARY, { gid: 100 });
});

Deno.test("checkNewOwner: root may create for anyone", () => {
  checkNewOwner(ROOT, { uid: 1, gid: 2 });
});

// ---- setattr ------------------------------------------------------------------

const ctx = { what: "f" };

Deno.test("checkSetattr: only the owner or root may chmod", () => {
  throwsCode(
    () => checkSetattr(file(0o666), MEMBER, { mode: 0o777 }, ctx),
    "EPERM",
  );
  assert.equal(
    checkSetattr(file(0o666), OWNER, { mode: 0o10640 }, ctx),
    0o640,
    "low 12 bits",
  );
  assert.equal(checkSetattr(file(0o666), ROOT, { mode: 0o600 }, ctx), 0o600);
});

Deno.test("checkSetattr: a mode that is not a whole number is EINVAL", () => {
  for (const mode of [-1, 0.5, NaN]) {
    throwsCode(() => checkSetattr(file(0), OWNER, { mode }, ctx), "EINVAL");
  }
});

Deno.test("checkSetattr: chmod drops setgid when the owner is outside the group", () => {
  assert.equal(checkSetattr(file(0), OWNER, { mode: 0o2755 }, ctx), 0o755);
  const owner = { ...OWNER, groups: [100] };
  assert.equal(checkSetattr(file(0), owner, { mode: 0o2755 }, ctx), 0o2755);
  assert.equal(checkSetattr(file(0), ROOT, { mode: 0o2755 }, ctx), 0o2755);
});

Deno.test("checkSetattr: only root may change the owner", () => {
  throwsCode(
    () => checkSetattr(file(0o777), OWNER, { uid: 1001 }, ctx),
    "EPERM",
  );
  checkSetattr(file(0o777), OWNER, { uid: OWNER.uid }, ctx);
  checkSetattr(file(0o777), ROOT, { uid: 1001 }, ctx);
});

Deno.test("checkSetattr: the owner may change the group to one it is in", () => {
  const owner = { ...OWNER, groups: [42] };
  checkSetattr(file(0), owner, { gid: 42 }, ctx);
  throwsCode(() => checkSetattr(file(0), owner, { gid: 43 }, ctx), "EPERM");
  throwsCode(
    () =>
      checkSetattr(file(0o777), { ...MEMBER, groups: [42] }, { gid: 42 }, ctx),
    "EPERM",
  );
});

Deno.test("checkSetattr: truncating takes the owner override", () => {
  assert.equal(checkSetattr(file(0), OWNER, { size: 0 }, ctx), undefined);
  throwsCode(
    () => checkSetattr(file(0o664), STRANGER, { size: 0 }, ctx),
    "EACCES",
  );
});

Deno.test("checkSetattr: only a regular file has a size to set", () => {
  throwsCode(() => checkSetattr(dir(0o777), ROOT, { size: 0 }, ctx), "EISDIR");
  throwsCode(
    () => checkSetattr(file(0o777, FileType.Symlink), ROOT, { size: 0 }, ctx),
    "EINVAL",
  );
  throwsCode(
    () => checkSetattr(file(0o777), ROOT, { size: -1 }, ctx),
    "EINVAL",
  );
});

Deno.test("checkSetattr: a size above maxFileSize is EFBIG", () => {
  const limit = { what: "f", maxFileSize: 4096 };
  checkSetattr(file(0o666), ROOT, { size: 4096 }, limit);
  throwsCode(
    () => checkSetattr(file(0o666), ROOT, { size: 4097 }, limit),
    "EFBIG",
  );
});

Deno.test("checkSetattr: explicit times need the owner", () => {
  const t = { sec: 1, nsec: 0 };
  throwsCode(
    () => checkSetattr(file(0o666), STRANGER, { mtime: t }, ctx),
    "EPERM",
  );
  checkSetattr(file(0), OWNER, { atime: t, mtime: t }, ctx);
});

Deno.test("checkSetattr: anyone who may write sets the times to now", () => {
  checkSetattr(
    file(0o002),
    STRANGER,
    { atime: "server", mtime: "server" },
    ctx,
  );
  throwsCode(
    () => checkSetattr(file(0o004), STRANGER, { mtime: "server" }, ctx),
    "EACCES",
  );
});
