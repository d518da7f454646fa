import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import { decodeMntRes, encodeDirpath } from "../../proto/mount.ts";
import {
  decodeGetattrRes,
  encodeFhArgs,
  NFS_PROGRAM,
} from "../../proto/nfs3.ts";
import { encodeMapping, Pmap2Proc } from "../../proto/portmap.ts";
import * as N2 from "../../proto/nfs2/mod.ts";
import { decode_fhstatus } from "../../proto/nfs2/mod.ts";
import {
  decode_COMPOUND4res,
  encode_COMPOUND4args,
  type nfs_argop4,
  nfs_opnum4,
} from "../../proto/nfs4/mod.ts";
import { RpcAcceptError } from "../../rpc/client.ts";
import { mountCommands, serveNfs } from "../../server/serve.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/types.ts";

/** The port portmap GETPORT gives for `program` version `version` (0: none). */
async function getport(
  client: RpcClient,
  program: number,
  version: number,
): Promise<number> {
  const r = await client.call(
    100000,
    2,
    Pmap2Proc.GETPORT,
    (w) => encodeMapping(w, { program, version, protocol: 6, port: 0 }),
  );
  return r.u32();
}

/** One NFSv4.0 COMPOUND. */
async function compound(client: RpcClient, ops: nfs_argop4[]) {
  return decode_COMPOUND4res(
    await client.call(100003, 4, 1, (w) =>
      encode_COMPOUND4args(w, {
        tag: new Uint8Array(),
        minorversion: 0,
        argarray: ops,
      })),
  );
}

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
  assert.equal(
    m.linux2,
    "sudo mount -t nfs -o vers=2,proto=tcp,port=11111,mountport=11111,mountproto=tcp,nolock 192.0.2.7:/ /mnt",
  );
  assert.match(m.windows, /needs an export with a name/);
  assert.equal(
    m.linux4,
    "sudo mount -t nfs -o vers=4.1,proto=tcp,port=11111 192.0.2.7:/ /mnt",
  );
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

Deno.test("serveNfs: NFSv4 on the same port, in portmap and in the banner", async () => {
  const lines: string[] = [];
  const fs = new MemFs();
  const f = await fs.create(ROOT, fs.root, "hello.txt");
  await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode("hello"));
  const server = serveNfs({
    port: 0,
    exports: [{ path: "/data", fs, squash: "none" }],
    log: (m) => lines.push(m),
  });
  const port = server.addr.port;
  const client = await RpcClient.connect({ hostname: "127.0.0.1", port });
  try {
    assert.equal(await getport(client, 100003, 4), port);
    assert.equal(await getport(client, 100003, 3), port);
    const res = await compound(client, [
      { argop: nfs_opnum4.OP_PUTROOTFH },
      {
        argop: nfs_opnum4.OP_LOOKUP,
        oplookup: { objname: new TextEncoder().encode("data") },
      },
      {
        argop: nfs_opnum4.OP_LOOKUP,
        oplookup: { objname: new TextEncoder().encode("hello.txt") },
      },
      {
        argop: nfs_opnum4.OP_READ,
        opread: {
          stateid: { seqid: 0, other: new Uint8Array(12) },
          offset: 0,
          count: 100,
        },
      },
    ]);
    assert.equal(res.status, 0);
    const read = res.resarray[3];
    assert.ok(read.resop === nfs_opnum4.OP_READ && read.opread.status === 0);
    assert.equal(new TextDecoder().decode(read.opread.resok4.data), "hello");
    const banner = lines.join("\n");
    assert.match(banner, /NFSv3 \+ MOUNT v3 \+ NFSv4 \+ portmap/);
    assert.match(
      banner,
      new RegExp(
        `vers=4\\.1,proto=tcp,port=${port} 127\\.0\\.0\\.1:/data /mnt`,
      ),
    );
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("serveNfs: versions [4] leaves out MOUNT and NFSv3", async () => {
  const lines: string[] = [];
  const server = serveNfs({
    port: 0,
    versions: [4],
    exports: [{ path: "/", fs: new MemFs() }],
    log: (m) => lines.push(m),
  });
  const port = server.addr.port;
  const client = await RpcClient.connect({ hostname: "127.0.0.1", port });
  try {
    assert.equal(await getport(client, 100003, 4), port);
    assert.equal(await getport(client, 100005, 3), 0, "no MOUNT");
    await assert.rejects(
      client.call(100003, 3, 0, () => {}),
      (e) => e instanceof RpcAcceptError && e.low === 4 && e.high === 4,
      "NFSv3 is PROG_MISMATCH, only version 4 is served",
    );
    const banner = lines.join("\n");
    assert.match(banner, /netfs nfs: NFSv4 \+ portmap/);
    assert.doesNotMatch(banner, /vers=3|macOS|Windows/);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
  assert.throws(
    () =>
      serveNfs({
        port: 0,
        versions: [],
        exports: [{ path: "/", fs: new MemFs() }],
      }),
    /NFS versions must be among 2, 3 and 4/,
  );
});

Deno.test("serveNfs: NFSv4 reads at most the smaller of rtmax and wtmax", async () => {
  const fs = new MemFs();
  const f = await fs.create(ROOT, fs.root, "big");
  await fs.write(ROOT, f.fileid, 0, new Uint8Array(100_000));
  const server = serveNfs({
    port: 0,
    quiet: true,
    rtmax: 8192,
    exports: [{ path: "/", fs, squash: "none" }],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    const read = await compound(client, [
      { argop: nfs_opnum4.OP_PUTROOTFH },
      {
        argop: nfs_opnum4.OP_LOOKUP,
        oplookup: { objname: new TextEncoder().encode("big") },
      },
      {
        argop: nfs_opnum4.OP_READ,
        opread: {
          stateid: { seqid: 0, other: new Uint8Array(12) },
          offset: 0,
          count: 65536,
        },
      },
    ]);
    const r = read.resarray[2];
    assert.ok(r.resop === nfs_opnum4.OP_READ && r.opread.status === 0);
    assert.equal(r.opread.resok4.data.byteLength, 8192);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("serveNfs: NFSv2 and MOUNT v1 on the same port, in portmap and in the banner", async () => {
  const lines: string[] = [];
  const fs = new MemFs();
  const f = await fs.create(ROOT, fs.root, "hello.txt");
  await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode("hello"));
  const server = serveNfs({
    port: 0,
    exports: [{ path: "/data", fs, squash: "none" }],
    log: (m) => lines.push(m),
  });
  const port = server.addr.port;
  const client = await RpcClient.connect({ hostname: "127.0.0.1", port });
  try {
    assert.equal(await getport(client, 100003, 2), port);
    assert.equal(await getport(client, 100005, 1), port);
    const mnt = decode_fhstatus(
      await client.call(100005, 1, 1, (w) => encodeDirpath(w, "/data")),
    );
    assert.ok("directory" in mnt);
    const found = N2.decode_diropres(
      await client.call(
        100003,
        2,
        N2.NFSPROC_LOOKUP,
        (w) =>
          N2.encode_diropargs(w, { dir: mnt.directory, name: "hello.txt" }),
      ),
    );
    assert.ok(found.status === N2.nfsstat.NFS_OK);
    assert.equal(found.diropres.attributes.size, 5);
    const banner = lines.join("\n");
    assert.match(
      banner,
      /netfs nfs: NFSv2 \+ MOUNT v1 \+ NFSv3 \+ MOUNT v3 \+ NFSv4 \+ portmap/,
    );
    assert.match(
      banner,
      new RegExp(
        `vers=2,proto=tcp,port=${port},mountport=${port},mountproto=tcp,nolock 127\\.0\\.0\\.1:/data /mnt`,
      ),
    );
    assert.match(banner, /127\.0\.0\.1 mounted \/data/, "a v1 mount is news");
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("serveNfs: versions [2] serves NFSv2 and MOUNT v1 alone", async () => {
  const lines: string[] = [];
  const server = serveNfs({
    port: 0,
    versions: [2],
    exports: [{ path: "/", fs: new MemFs() }],
    log: (m) => lines.push(m),
  });
  const port = server.addr.port;
  const client = await RpcClient.connect({ hostname: "127.0.0.1", port });
  try {
    assert.equal(await getport(client, 100003, 2), port);
    assert.equal(await getport(client, 100005, 1), port);
    await assert.rejects(
      client.call(100003, 3, 0, () => {}),
      (e) => e instanceof RpcAcceptError && e.low === 2 && e.high === 2,
      "NFSv3 is PROG_MISMATCH, only version 2 is served",
    );
    await assert.rejects(
      client.call(100005, 3, 0, () => {}),
      (e) => e instanceof RpcAcceptError && e.low === 1 && e.high === 1,
      "MOUNT v3 is PROG_MISMATCH, only version 1 is served",
    );
    const banner = lines.join("\n");
    assert.match(banner, /netfs nfs: NFSv2 \+ MOUNT v1 \+ portmap/);
    assert.doesNotMatch(banner, /vers=3|vers=4|macOS|Windows/);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});
