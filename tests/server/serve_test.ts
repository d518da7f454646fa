import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import { decodeMntRes, encodeDirpath } from "../../proto/mount.ts";
import {
  decodeGetattrRes,
  encodeFhArgs,
  NFS_PROGRAM,
} from "../../proto/nfs3.ts";
import { encodeMapping, Pmap2Proc } from "../../proto/portmap.ts";
import { mountCommands, serveNfs } from "../../server/serve.ts";
import { MemFs } from "../../vfs/memfs.ts";

Deno.test("serveNfs: portmap, MOUNT and NFS on one port; banner; signal", async () => {
  const lines: string[] = [];
  const ac = new AbortController();
  const server = serveNfs({
    port: 0,
    exports: [{ path: "/data", fs: new MemFs() }],
    log: (m) => lines.push(m),
    signal: ac.signal,
  });
  const port = server.addr.port;
  const client = await RpcClient.connect({ hostname: "127.0.0.1", port });
  try {
    for (const [prog, vers] of [[100005, 3], [100003, 3]]) {
      const r = await client.call(
        100000,
        2,
        Pmap2Proc.GETPORT,
        (w) =>
          encodeMapping(w, {
            program: prog,
            version: vers,
            protocol: 6,
            port: 0,
          }),
      );
      assert.equal(r.u32(), port, `GETPORT ${prog}`);
    }
    const mnt = decodeMntRes(
      await client.call(100005, 3, 1, (w) => encodeDirpath(w, "/data")),
    );
    assert.equal(mnt.status, 0);
    const g = decodeGetattrRes(
      await client.call(
        NFS_PROGRAM,
        3,
        1,
        (w) => encodeFhArgs(w, { object: mnt.handle! }),
      ),
    );
    assert.equal(g.status, 0);
    const banner = lines.join("\n");
    assert.match(banner, new RegExp(`port=${port},mountport=${port}`));
    assert.match(
      banner,
      /Windows: mount -o anon,nolock \\\\127\.0\.0\.1\\data Z:/,
    );
    assert.match(banner, /127\.0\.0\.1 mounted \/data/);
    assert.equal(server.connections().length, 1);
  } finally {
    client.close();
    await client.closed;
    ac.abort();
    await server.finished;
  }
});

Deno.test("serveNfs: mount commands for each platform", () => {
  const m = mountCommands("192.0.2.7", 11111, "/");
  assert.equal(
    m.linux,
    "sudo mount -t nfs -o vers=3,proto=tcp,port=11111,mountport=11111,mountproto=tcp,nolock 192.0.2.7:/ /mnt",
  );
  assert.match(m.macos, /vers=3,tcp,port=11111,mountport=11111/);
  assert.match(m.windows, /needs an export with a name/);
  assert.match(mountCommands("::1", 2049, "/a/b").linux, / \[::1\]:\/a\/b /);
});

Deno.test("serveNfs: with stableHandles, LocalFs handles survive a restart", async () => {
  const { LocalFs } = await import("../../vfs/localfs.ts");
  const { ROOT } = await import("../../vfs/types.ts");
  const dir = await Deno.makeTempDir();
  try {
    const getattr = async (port: number, fh: Uint8Array) => {
      const c = await RpcClient.connect({ hostname: "127.0.0.1", port });
      try {
        return decodeGetattrRes(
          await c.call(
            NFS_PROGRAM,
            3,
            1,
            (w) => encodeFhArgs(w, { object: fh }),
          ),
        );
      } finally {
        c.close();
        await c.closed;
      }
    };
    const handles: Uint8Array[] = [];
    for (const stable of [true, true, false]) {
      const fs = await LocalFs.open(dir);
      const server = serveNfs({
        port: 0,
        quiet: true,
        exports: [{ path: "/data", fs, stableHandles: stable }],
      });
      try {
        const c = await RpcClient.connect({
          hostname: "127.0.0.1",
          port: server.addr.port,
        });
        const mnt = decodeMntRes(
          await c.call(100005, 3, 1, (w) => encodeDirpath(w, "/data")),
        );
        c.close();
        await c.closed;
        if (handles.length === 0) {
          const f = await fs.create(ROOT, fs.root, "keep.txt");
          const { encodeHandle } = await import("../../server/handles.ts");
          handles.push(
            mnt.handle!,
            encodeHandle({
              exportId: 0,
              verifier: mnt.handle!.slice(4, 12),
              fileid: f.fileid,
            }),
          );
        }
        for (const fh of handles) {
          const g = await getattr(server.addr.port, fh);
          assert.equal(g.status, stable ? 0 : 70, `stable ${stable}`);
        }
      } finally {
        await server.shutdown();
        await fs.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
