// `netfs serve nfs DIR --read-only` without write permission keeps its
// FileId journal in memory: a handle from an earlier instance must be
// STALE, never resolved by inode number (which the host may have reused
// for another file meanwhile).
import assert from "node:assert/strict";
import { MountClient } from "../../client/mount.ts";
import { Nfs3Client } from "../../client/nfs3.ts";
import { RpcClient } from "../../rpc/client.ts";
import { serve } from "./_cli.ts";

async function handleOf(port: number, name: string): Promise<Uint8Array> {
  const rpc = await RpcClient.connect({ hostname: "127.0.0.1", port });
  try {
    const { handle: root } = await new MountClient(rpc).mnt("/");
    return (await new Nfs3Client(rpc).lookup({ dir: root, name })).object;
  } finally {
    rpc.close();
  }
}

async function getattr(port: number, fh: Uint8Array): Promise<unknown> {
  const rpc = await RpcClient.connect({ hostname: "127.0.0.1", port });
  try {
    return await new Nfs3Client(rpc).getattr(fh).catch((e) => e);
  } finally {
    rpc.close();
  }
}

Deno.test("cli serve nfs --read-only without write permission: handles from before a restart are STALE", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.chmod(dir, 0o755); // root is squashed: others may search
    await Deno.writeTextFile(`${dir}/a`, "a");
    const perms = ["--allow-net=127.0.0.1", `--allow-read=${dir}`];
    const args = ["serve", "nfs", dir, "--read-only", "--port", "0"];
    const first = await serve(args, perms);
    assert.match(
      first.served.stdout,
      /serving NFS 3, 4\.0, 4\.1, 4\.2 on /,
      "NFSv2 is off unless --versions names it",
    );
    const fh = await handleOf(first.port, "a");
    const same = await getattr(first.port, fh);
    assert.equal((same as { size: number }).size, 1, "the handle works");
    assert.equal((await first.served.stop()).code, 0);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name),
      ["a"],
      "nothing was written to the export",
    );

    const second = await serve(args, perms);
    try {
      const after = await getattr(second.port, fh);
      assert.equal(
        (after as { statusName?: string }).statusName,
        "NFS3ERR_STALE",
        `no journal, so no handle outlives the instance: ${after}`,
      );
    } finally {
      await second.served.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
