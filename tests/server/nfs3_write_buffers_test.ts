// A WRITE's data is a view of its RPC record, and the RPC server reuses a
// large record's storage for a later call once the WRITE has settled
// (rpc/record.ts RecordPool, Procedure.borrowsArgs). These tests pipeline
// 1 MiB WRITEs through a file system that holds on to `data` across an await
// before copying it, as a back end writing from a thread pool does: a record
// handed back before the write settled would put the next call's bytes in
// the file.
import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import type { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc, NFS_PROGRAM } from "../../proto/nfs3.ts";
import {
  decodeMntRes,
  encodeDirpath,
  MOUNT_PROGRAM,
} from "../../proto/mount.ts";
import { mountProgram } from "../../server/mount.ts";
import { nfs3Program } from "../../server/nfs3/program.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/mod.ts";
import { exportTable, sys } from "./_harness.ts";
import { pattern, SlowWrites } from "./_slow_writes.ts";

const MiB = 1 << 20;

Deno.test("nfs3 WRITE: pipelined 1 MiB writes through a file system that keeps data until it settles land whole", async () => {
  const fs = new SlowWrites(new MemFs());
  const exports = exportTable(fs);
  const server = serveRpc({
    port: 0,
    programs: [
      mountProgram({ exports }),
      nfs3Program({ exports, log: () => {} }),
    ],
    log: () => {},
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    auth: sys(0),
  });
  try {
    const mnt = decodeMntRes(
      await client.call(MOUNT_PROGRAM, 3, 1, (w) => encodeDirpath(w, "/")),
    );
    const call = async <T>(
      proc: number,
      enc: (w: XdrWriter) => void,
      dec: (r: XdrReader) => T,
    ) => {
      const r = await client.call(NFS_PROGRAM, 3, proc, enc);
      const v = dec(r);
      r.end();
      return v;
    };
    const made = await call(
      Proc.CREATE,
      (w) =>
        P.encodeCreateArgs(w, {
          dir: mnt.handle!,
          name: "big.bin",
          mode: P.CreateMode.UNCHECKED,
          attrs: { mode: 0o644 },
        }),
      P.decodeCreateRes,
    );
    const file = made.object!;
    // Eight 1 MiB WRITEs in flight at once, two rounds: the second round's
    // records are read while the first round's writes still wait.
    const blocks = Array.from({ length: 16 }, (_, i) => pattern(MiB, i));
    for (let round = 0; round < 2; round++) {
      const replies = await Promise.all(
        blocks.slice(round * 8, round * 8 + 8).map((data, k) =>
          call(
            Proc.WRITE,
            (w) =>
              P.encodeWriteArgs(w, {
                file,
                offset: (round * 8 + k) * MiB,
                count: MiB,
                stable: P.StableHow.UNSTABLE,
                data,
              }),
            P.decodeWriteRes,
          )
        ),
      );
      for (const r of replies) assert.equal(r.status, 0);
    }
    const id = (await fs.lookup(ROOT, fs.root, "big.bin")).fileid;
    for (const [i, expected] of blocks.entries()) {
      const got = await fs.read(ROOT, id, i * MiB, MiB);
      assert.ok(
        got.data.length === MiB && got.data.every((b, k) => b === expected[k]),
        `block ${i} must hold its own WRITE's bytes, not a later call's`,
      );
    }
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});
