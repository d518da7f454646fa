// MountClient against netfs's own MOUNT server, versions 3 and 1.
import assert from "node:assert/strict";
import { NfsError } from "../../client/errors.ts";
import { MountClient } from "../../client/mount.ts";
import { mountStatusName } from "../../proto/mount.ts";
import { serve } from "./_server.ts";

async function withMount(
  body: (m: MountClient) => Promise<void>,
  version: 1 | 3 = 3,
): Promise<void> {
  const s = serve({ exports: [{ path: "/a" }, { path: "/b" }] });
  const m = await MountClient.connect(
    { hostname: "127.0.0.1", port: s.port },
    version,
  );
  try {
    await body(m);
  } finally {
    m.close();
    await m.rpc.closed;
    await s.close();
  }
}

Deno.test("mount: EXPORT lists every export with its groups", async () => {
  await withMount(async (m) => {
    const list = await m.export();
    assert.deepEqual(list.map((e) => e.dir), ["/a", "/b"]);
    assert.ok(list.every((e) => Array.isArray(e.groups)));
  });
});

for (const version of [3, 1] as const) {
  Deno.test(`mount v${version}: MNT and UMNT add and drop a DUMP line; UMNTALL drops all`, async () => {
    await withMount(async (m) => {
      assert.equal(m.version, version);
      await m.null();
      const a = await m.mnt("/a");
      if (version === 1) {
        assert.equal(a.handle.byteLength, 32, "an NFSv2 handle");
        assert.deepEqual(a.flavors, [], "version 1 names no flavours");
      } else {
        assert.ok(a.handle.byteLength > 0 && a.handle.byteLength <= 64);
        assert.ok(a.flavors.includes(1));
      }
      await m.mnt("/b");
      assert.deepEqual((await m.dump()).map((e) => e.directory).sort(), [
        "/a",
        "/b",
      ]);
      await m.umnt("/a");
      assert.deepEqual((await m.dump()).map((e) => e.directory), ["/b"]);
      await m.umntall();
      assert.deepEqual(await m.dump(), []);
    }, version);
  });
}

Deno.test("mount: MNT of an unknown path is MNT3ERR_NOENT as NotFound", async () => {
  await withMount(async (m) => {
    await assert.rejects(
      m.mnt("/nope"),
      (e) =>
        e instanceof Deno.errors.NotFound && e instanceof NfsError &&
        e.program === "MOUNT" && e.procedure === "MNT" &&
        e.statusName === "MNT3ERR_NOENT" && e.path === "/nope" &&
        e.message ===
          "No such file or directory (MNT3ERR_NOENT from MNT): /nope",
    );
  });
});

Deno.test("mount: status names, and a number no table knows", () => {
  assert.equal(mountStatusName(0), "MNT3_OK");
  assert.equal(mountStatusName(13), "MNT3ERR_ACCES");
  assert.equal(mountStatusName(4242), "mountstat3 4242");
});

Deno.test("mount v1: EXPORT lists every export", async () => {
  await withMount(async (m) => {
    assert.deepEqual((await m.export()).map((e) => e.dir), ["/a", "/b"]);
  }, 1);
});

Deno.test("mount v1: MNT of an unknown path is its errno, named as NFSv2 names it", async () => {
  await withMount(async (m) => {
    await assert.rejects(
      m.mnt("/nope"),
      (e) =>
        e instanceof Deno.errors.NotFound && e instanceof NfsError &&
        e.program === "MOUNT" && e.version === 1 && e.procedure === "MNT" &&
        e.statusName === "NFSERR_NOENT" && e.code === "ENOENT" &&
        e.path === "/nope",
    );
  }, 1);
});
