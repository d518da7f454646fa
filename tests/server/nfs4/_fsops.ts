// Helpers of the NFSv4 file-system operation tests: path walks, GETATTR
// decoding, fattr4 building, and a 4.1 server whose SEQUENCE only opens
// the session gate (the operations under test are the real ones).
import type { CompoundState } from "../../../server/nfs4/context.ts";
import { RpcClient } from "../../../rpc/client.ts";
import { serveRpc } from "../../../rpc/server.ts";
import {
  bitmapOf,
  type COMPOUND4res,
  decode_COMPOUND4res,
  decodeFattr4,
  encode_COMPOUND4args,
  encode_SEQUENCE4res,
  FATTR4,
  type fattr4,
  type Fattr4Name,
  fattr4Of,
  type Fattr4Values,
  type nfs_argop4,
  nfs_opnum4 as OP,
  nfsstat4,
} from "../../../proto/nfs4/mod.ts";
import { ExportTable } from "../../../server/exports.ts";
import type { Op } from "../../../server/nfs4/compound.ts";
import { Nfs4Server } from "../../../server/nfs4/context.ts";
import { nfs4Ops, nfs4ProgramOf } from "../../../server/nfs4/program.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { type Nfs4Harness, resultOf, sys } from "./_harness.ts";

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** PUTROOTFH and a LOOKUP per component of `path`. */
export function walk(path: string): nfs_argop4[] {
  const ops: nfs_argop4[] = [{ argop: OP.OP_PUTROOTFH }];
  for (const name of path.split("/").filter(Boolean)) {
    ops.push({ argop: OP.OP_LOOKUP, oplookup: { objname: enc.encode(name) } });
  }
  return ops;
}

/** The bitmap of attributes by name. */
export function bits(...names: Fattr4Name[]): number[] {
  return bitmapOf(names.map((n) => FATTR4[n].bit));
}

/** A GETATTR of the named attributes. */
export function getattr(...names: Fattr4Name[]): nfs_argop4 {
  return { argop: OP.OP_GETATTR, opgetattr: { attr_request: bits(...names) } };
}

/** The fattr4 a client would send. */
export function fattr(values: Fattr4Values): fattr4 {
  return fattr4Of(values);
}

/** The GETATTR result at `index` (default: the first GETATTR), decoded. */
export function attrsIn(
  res: COMPOUND4res,
  index?: number,
): Fattr4Values & { mask: number[] } {
  const r = resultOf(res, OP.OP_GETATTR, index).opgetattr;
  if (r.status !== nfsstat4.NFS4_OK) throw new Error(`GETATTR ${r.status}`);
  return {
    ...decodeFattr4(r.resok4.obj_attributes),
    mask: r.resok4.obj_attributes.attrmask,
  };
}

/** The handle of the GETFH result at `index` (default: the first). */
export function fhIn(res: COMPOUND4res, index?: number): Uint8Array {
  const r = resultOf(res, OP.OP_GETFH, index).opgetfh;
  if (r.status !== nfsstat4.NFS4_OK) throw new Error(`GETFH ${r.status}`);
  return r.resok4.object;
}

/** The status of the last result. */
export function lastStatus(res: COMPOUND4res): number {
  const r = res.resarray[res.resarray.length - 1] as unknown as {
    [k: string]: { status: number };
  };
  for (const k in r) if (k !== "resop") return r[k].status;
  return -1;
}

/** SEQUENCE's stand-in: opens the session gate for client 1. */
const fakeSequence: Op = {
  name: "SEQUENCE",
  encode: encode_SEQUENCE4res,
  run: (a, cs) => {
    cs.session = { clientid: 1n } as unknown as CompoundState["session"];
    // SEQUENCE4res names its fields sr_status and sr_resok4; the loop
    // reads status.
    return {
      status: nfsstat4.NFS4_OK,
      sr_status: nfsstat4.NFS4_OK,
      sr_resok4: {
        sr_sessionid: a.sa_sessionid,
        sr_sequenceid: a.sa_sequenceid,
        sr_slotid: a.sa_slotid,
        sr_highest_slotid: a.sa_highest_slotid,
        sr_target_highest_slotid: a.sa_highest_slotid,
        sr_status_flags: 0,
      },
    };
  },
};

/** A harness that also holds the program state. */
export interface StateHarness extends Nfs4Harness {
  nfs: Nfs4Server;
}

/**
 * A server over `fs` at "/" without grace, whose program state the test
 * holds. With `minor: 1`, `compound` puts a SEQUENCE first (4.1).
 */
export async function startState(
  fs = new MemFs(),
  minor: 0 | 1 = 0,
): Promise<StateHarness> {
  const exports = new ExportTable([{ path: "/", fs, squash: "none" }]);
  const nfs = new Nfs4Server({ exports, log: () => {}, graceTime: 0 });
  const ops = new Map(nfs4Ops());
  ops.set(OP.OP_SEQUENCE, fakeSequence);
  const server = serveRpc({
    port: 0,
    programs: [nfs4ProgramOf(nfs, ops)],
    log: () => {},
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    auth: sys(0),
  });
  let seq = 0;
  const sequence = (): nfs_argop4[] =>
    minor === 0 ? [] : [{
      argop: OP.OP_SEQUENCE,
      opsequence: {
        sa_sessionid: new Uint8Array(16),
        sa_sequenceid: ++seq,
        sa_slotid: 0,
        sa_highest_slotid: 0,
        sa_cachethis: false,
      },
    }];
  return {
    nfs,
    server,
    client,
    fs,
    exports,
    async compound(list, o = {}) {
      const r = await client.call(
        100003,
        4,
        1,
        (w) =>
          encode_COMPOUND4args(w, {
            tag: enc.encode(o.tag ?? ""),
            minorversion: minor,
            argarray: [...sequence(), ...list],
          }),
        o.auth === undefined ? undefined : { auth: o.auth },
      );
      return decode_COMPOUND4res(r);
    },
    async close() {
      client.close();
      await server.shutdown();
    },
  };
}

/** An NFSv4.1 server over `fs`; `compound` puts SEQUENCE first. */
export function start41(fs = new MemFs()): Promise<StateHarness> {
  return startState(fs, 1);
}
