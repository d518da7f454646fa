// MemFs's capacity: by default a quarter of the machine's memory (1 GiB when
// the process may not ask), and ENOSPC beyond it, through the VFS and over
// NFSv3 (NFS3ERR_NOSPC), with space coming back when files go.
import assert from "node:assert/strict";
import { MountClient } from "../../client/mount.ts";
import {
  CreateMode,
  decodeCreateRes,
  decodeWriteRes,
  encodeCreateArgs,
  encodeWriteArgs,
  Nfs3Proc,
  Nfs3Status,
  StableHow,
} from "../../proto/nfs3.ts";
import { RpcClient } from "../../rpc/client.ts";
import { serveNfs } from "../../server/serve.ts";
import { FALLBACK_CAPACITY } from "../../vfs/memfs/_capacity.ts";
import { MemFs, ROOT } from "../../vfs/mod.ts";

Deno.test("memfs capacity: the default is a quarter of the machine's memory", async () => {
  const fs = new MemFs();
  const s = await fs.statfs(ROOT, fs.root);
  assert.equal(s.totalBytes, Math.floor(Deno.systemMemoryInfo().total / 4));
  assert.ok(s.totalBytes < Deno.systemMemoryInfo().total, "bounded by memory");
});

Deno.test("memfs capacity: without --allow-sys the default is 1 GiB, with no prompt", async () => {
  const script = new URL("./_memfs_capacity.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", script],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(
    JSON.parse(new TextDecoder().decode(out.stdout)),
    FALLBACK_CAPACITY,
  );
  assert.equal(FALLBACK_CAPACITY, 1 << 30);
});

Deno.test("memfs capacity: a write past it is ENOSPC and writes nothing; a remove frees space", async () => {
  const fs = new MemFs({ capacityBytes: 1 << 20 });
  const f = await fs.create(ROOT, fs.root, "fill");
  const chunk = new Uint8Array(256 << 10).fill(7);
  for (let i = 0; i < 4; i++) {
    await fs.write(ROOT, f.fileid, i * chunk.byteLength, chunk);
  }
  await assert.rejects(
    fs.write(ROOT, f.fileid, 4 * chunk.byteLength, chunk),
    { code: "ENOSPC" },
  );
  assert.equal((await fs.getattr(ROOT, f.fileid)).size, 1 << 20, "unchanged");
  assert.equal((await fs.statfs(ROOT, fs.root)).freeBytes, 0);
  await fs.remove(ROOT, fs.root, "fill");
  const g = await fs.create(ROOT, fs.root, "again");
  await fs.write(ROOT, g.fileid, 0, chunk);
});

Deno.test("memfs capacity: NFSv3 WRITE past it answers NFS3ERR_NOSPC and the server goes on", async () => {
  const fs = new MemFs({ capacityBytes: 1 << 20 });
  const server = serveNfs({
    port: 0,
    quiet: true,
    versions: [3],
    exports: [{ path: "/", fs, squash: "none" }],
  });
  const rpc = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    auth: { stamp: 1, machineName: "t", uid: 0, gid: 0, gids: [] },
  });
  try {
    const { handle: dir } = await new MountClient(rpc).mnt("/");
    const made = decodeCreateRes(
      await rpc.call(100003, 3, Nfs3Proc.CREATE, (w) =>
        encodeCreateArgs(w, {
          dir,
          name: "big",
          mode: CreateMode.UNCHECKED,
          attrs: { mode: 0o644 },
        })),
    );
    assert.equal(made.status, Nfs3Status.OK);
    const file = made.status === 0 ? made.object! : new Uint8Array();
    const data = new Uint8Array(64 << 10).fill(1);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = decodeWriteRes(
        await rpc.call(100003, 3, Nfs3Proc.WRITE, (w) =>
          encodeWriteArgs(w, {
            file,
            offset: i * data.byteLength,
            count: data.byteLength,
            stable: StableHow.UNSTABLE,
            data,
          })),
      );
      statuses.push(res.status);
    }
    assert.deepEqual(
      statuses,
      [...Array(16).fill(Nfs3Status.OK), ...Array(4).fill(Nfs3Status.NOSPC)],
      "16 × 64 KiB fill 1 MiB; the rest are NOSPC",
    );
    assert.equal(
      (await fs.getattr(ROOT, (await fs.lookup(ROOT, fs.root, "big")).fileid))
        .size,
      1 << 20,
    );
  } finally {
    rpc.close();
    await server.shutdown();
  }
});
