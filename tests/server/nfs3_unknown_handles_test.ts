// Made-up file handles against a LocalFs export: handles carry no secret, so
// a client may send any FileId, and LocalFs walks its tree for one it cannot
// find at a recorded place. One client floods the server with GETATTRs of
// made-up FileIds over a real socket while another keeps asking for a real
// file's attributes: the other client is answered throughout, every made-up
// handle is NFS3ERR_STALE, and the flood's walk work stays at about one walk
// of the tree per SWEEP_TRUST_MS instead of one walk per handle. And while
// one walk of a larger tree runs, for a GETATTR or a LOOKUP (which asks
// FileSystem.find), another client's calls are answered.
import assert from "node:assert/strict";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc } from "../../proto/nfs3.ts";
import { RpcClient } from "../../rpc/client.ts";
import { decodeHandle, encodeHandle } from "../../server/handles.ts";
import { LocalFs } from "../../vfs/mod.ts";
import { SWEEP_TRUST_MS, walkTotals } from "../../vfs/localfs/_walks.ts";
import { type Harness, start, sys } from "./_harness.ts";
import { getattr, lookup } from "./_nfs3.ts";

const ENGINES = Deno.build.os === "linux"
  ? ["portable", "native"] as const
  : ["portable"] as const;

const DIRS = 20;
const FILES_PER_DIR = 100;
/** Entries in the exported tree, its hidden state folder included: what one walk passes. */
const TREE = DIRS * (FILES_PER_DIR + 1) + 1;
/** Made-up handles the flood keeps in flight, at least sends, at most sends. */
const WINDOW = 32;
const FLOOD_MIN = 600;
const FLOOD_MAX = 4000;
/** The other client's sequential GETATTRs. */
const OTHER_CALLS = 30;
/** A cap on the flood's duration, never asserted on. */
const FLOOD_CAP_MS = 30_000;
/** The tree one walk of which other calls take turns with. */
const BIG_DIRS = 25;
const BIG_FILES = 200;
const BIG_TREE = BIG_DIRS * (BIG_FILES + 1) + 1;
/** The other client's GETATTRs answered during that walk: at least, at most. */
const OTHER_MIN = 3;
const OTHER_DURING = 10_000;

interface Setup {
  h: Harness;
  flooder: RpcClient;
  /** A real file's handle, and a made-up handle per number. */
  real: Uint8Array;
  madeUp(i: number): Uint8Array;
}

/** A LocalFs export of `dirs` folders of `files` files, and two clients. */
async function withExport(
  engine: "portable" | "native",
  dirs: number,
  files: number,
  body: (s: Setup) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "netfs-unknown-" });
  for (let d = 0; d < dirs; d++) {
    Deno.mkdirSync(`${dir}/d${d}`);
    for (let f = 0; f < files; f++) {
      Deno.writeFileSync(`${dir}/d${d}/f${f}`, new Uint8Array(0));
    }
  }
  const fs = await LocalFs.open(dir, { engine });
  const h = await start({ exports: [{ fs }] });
  const flooder = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: h.server.addr.port,
    auth: sys(0),
  });
  try {
    const d0 = await lookup(h, h.root, "d0");
    const real = (await lookup(h, d0.object!, "f0")).object!;
    const { exportId } = decodeHandle(h.root)!;
    const verifier = h.root.slice(4, 12); // the export's, as the handle carries it
    const madeUp = (i: number) =>
      encodeHandle({
        exportId,
        verifier,
        // Generation 7 of inode numbers near 2^32: no object of the tree.
        fileid: 7 * 2 ** 32 + (2 ** 32 - 1 - i),
      });
    await body({ h, flooder, real, madeUp });
  } finally {
    flooder.close();
    await flooder.closed;
    await h.close();
    await fs.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** GETATTR of `object` through `client`: its status. */
async function getattrStatus(
  client: RpcClient,
  object: Uint8Array,
): Promise<number> {
  const r = await client.call(
    P.NFS_PROGRAM,
    3,
    Proc.GETATTR,
    (w) => P.encodeFhArgs(w, { object }),
  );
  const res = P.decodeGetattrRes(r);
  r.end();
  return res.status;
}

/** LOOKUP of a name in the folder `dir` through `client`: its status. */
async function lookupStatus(
  client: RpcClient,
  dir: Uint8Array,
): Promise<number> {
  const r = await client.call(
    P.NFS_PROGRAM,
    3,
    Proc.LOOKUP,
    (w) => P.encodeDirOpArgs(w, { dir, name: "x" }),
  );
  const res = P.decodeLookupRes(r);
  r.end();
  return res.status;
}

/** A call with a made-up handle: GETATTR of it, or LOOKUP in it. */
const UNKNOWN_CALLS = { GETATTR: getattrStatus, LOOKUP: lookupStatus };

for (const engine of ENGINES) {
  Deno.test(`nfs3 unknown handles (${engine}): a flood of made-up handles does not walk the tree per handle`, async () => {
    await withExport(
      engine,
      DIRS,
      FILES_PER_DIR,
      async ({ h, flooder, real, madeUp }) => {
        const before = { ...walkTotals };
        const began = Date.now();
        let sent = 0;
        let answered = 0;
        let stale = 0;
        let otherDone = false;
        let floodAtOtherDone = -1;
        const floodOver = () =>
          (otherDone && answered >= FLOOD_MIN) || sent >= FLOOD_MAX ||
          Date.now() - began > FLOOD_CAP_MS;
        const lane = async () => {
          while (!floodOver()) {
            const status = await getattrStatus(flooder, madeUp(sent++));
            answered++;
            if (status === P.Nfs3Status.STALE) stale++;
          }
        };
        const flood = Promise.all(Array.from({ length: WINDOW }, lane));
        const other = (async () => {
          for (let i = 0; i < OTHER_CALLS; i++) {
            const r = await getattr(h, real);
            assert.equal(r.status, 0, `the other client's GETATTR ${i}`);
          }
          otherDone = true;
          floodAtOtherDone = answered;
        })();
        await Promise.all([flood, other]);
        const elapsed = Date.now() - began;
        const walks = walkTotals.walks - before.walks;
        const entries = walkTotals.entries - before.entries;
        assert.equal(stale, answered, "every made-up handle is NFS3ERR_STALE");
        assert.ok(
          answered >= FLOOD_MIN,
          `made-up handles answered: ${answered}`,
        );
        assert.ok(
          floodAtOtherDone >= 0 && floodAtOtherDone < answered,
          `the other client finished while the flood went on (${floodAtOtherDone} of ${answered})`,
        );
        // One walk per trust period the flood lasted, whatever its length.
        const allowed = 1 + Math.ceil(elapsed / SWEEP_TRUST_MS);
        assert.ok(
          walks <= allowed && entries <= allowed * TREE,
          `${answered} made-up handles cost ${walks} walks and ${entries} entries (at most ${allowed} walks of ${TREE})`,
        );
      },
    );
  });

  for (const [proc, unknownCall] of Object.entries(UNKNOWN_CALLS)) {
    Deno.test(`nfs3 unknown handles (${engine}): another client is answered while a walk for a ${proc} runs`, async () => {
      await withExport(
        engine,
        BIG_DIRS,
        BIG_FILES,
        async ({ h, flooder, real, madeUp }) => {
          const before = { ...walkTotals };
          let answeredBefore = -1;
          let otherAnswered = 0;
          const unknown = unknownCall(flooder, madeUp(0)).then((status) => {
            answeredBefore = otherAnswered;
            return status;
          });
          // Sent after the made-up handle, one after the other, until it is answered.
          for (let i = 0; i < OTHER_DURING && answeredBefore < 0; i++) {
            const r = await getattr(h, real);
            assert.equal(r.status, 0, `the other client's GETATTR ${i}`);
            otherAnswered++;
          }
          assert.equal(await unknown, P.Nfs3Status.STALE);
          assert.equal(walkTotals.walks - before.walks, 1, "one walk");
          assert.equal(walkTotals.entries - before.entries, BIG_TREE);
          assert.ok(
            answeredBefore >= OTHER_MIN,
            `the other client's GETATTRs answered while the walk of ${BIG_TREE} entries ran: ${answeredBefore}`,
          );
        },
      );
    });
  }
}
