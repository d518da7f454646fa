// The NFSv4.2 part of the COMPOUND fuzzer: a valid instance of each 4.2
// operation (RFC 7862 and RFC 8276's xattrs), and an NFSv4 program whose
// SEQUENCE is steered onto a live session, so that mutated 4.1 and 4.2
// operations run past it instead of stopping at NFS4ERR_BADSESSION.
import {
  data_content4,
  type nfs_argop4,
  nfs_opnum4 as OP,
  nfsstat4,
  setxattr_option4,
  type stateid4,
} from "../../proto/nfs4/mod.ts";
import type { RpcProgram } from "../../rpc/program.ts";
import type { ExportTable } from "../../server/exports.ts";
import type { Op } from "../../server/nfs4/compound.ts";
import { Nfs4Server } from "../../server/nfs4/context.ts";
import { nfs4Ops, nfs4ProgramOf } from "../../server/nfs4/program.ts";
import { sessionArgs } from "../server/nfs4/state/_helpers.ts";

const enc = new TextEncoder();
const ZERO: stateid4 = { seqid: 0, other: new Uint8Array(12) };
const SOME: stateid4 = {
  seqid: 1,
  other: new Uint8Array([0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2]),
};

/** Each 4.2 operation with valid arguments. */
export function operations42(): nfs_argop4[] {
  const io = { ii_count: 3n, ii_bytes: 4096n };
  return [
    {
      argop: OP.OP_ALLOCATE,
      opallocate: { aa_stateid: ZERO, aa_offset: 8192, aa_length: 65536 },
    },
    {
      argop: OP.OP_COPY,
      opcopy: {
        ca_src_stateid: ZERO,
        ca_dst_stateid: ZERO,
        ca_src_offset: 0,
        ca_dst_offset: 20000,
        ca_count: 0,
        ca_consecutive: true,
        ca_synchronous: false,
        ca_source_server: [],
      },
    },
    {
      argop: OP.OP_COPY_NOTIFY,
      opcopy_notify: {
        cna_src_stateid: ZERO,
        cna_destination_server: {
          nl_type: 3,
          nl_addr: { na_r_netid: "tcp", na_r_addr: "127.0.0.1.8.1" },
        },
      },
    },
    {
      argop: OP.OP_DEALLOCATE,
      opdeallocate: { da_stateid: ZERO, da_offset: 100, da_length: 5000 },
    },
    {
      argop: OP.OP_IO_ADVISE,
      opio_advise: {
        iaa_stateid: ZERO,
        iaa_offset: 0,
        iaa_count: 4096,
        iaa_hints: [0x12],
      },
    },
    {
      argop: OP.OP_LAYOUTERROR,
      oplayouterror: {
        lea_offset: 0n,
        lea_length: 4096n,
        lea_stateid: SOME,
        lea_errors: [{
          de_deviceid: new Uint8Array(16).fill(1),
          de_status: 5,
          de_opnum: OP.OP_READ,
        }],
      },
    },
    {
      argop: OP.OP_LAYOUTSTATS,
      oplayoutstats: {
        lsa_offset: 0n,
        lsa_length: 4096n,
        lsa_stateid: SOME,
        lsa_read: io,
        lsa_write: io,
        lsa_deviceid: new Uint8Array(16),
        lsa_layoutupdate: { lou_type: 4, lou_body: new Uint8Array(8) },
      },
    },
    { argop: OP.OP_OFFLOAD_CANCEL, opoffload_cancel: { oca_stateid: SOME } },
    { argop: OP.OP_OFFLOAD_STATUS, opoffload_status: { osa_stateid: SOME } },
    {
      argop: OP.OP_READ_PLUS,
      opread_plus: { rpa_stateid: ZERO, rpa_offset: 0, rpa_count: 65536 },
    },
    {
      argop: OP.OP_SEEK,
      opseek: {
        sa_stateid: ZERO,
        sa_offset: 10,
        sa_what: data_content4.NFS4_CONTENT_HOLE,
      },
    },
    {
      argop: OP.OP_WRITE_SAME,
      opwrite_same: {
        wsa_stateid: ZERO,
        wsa_stable: 1,
        wsa_adb: {
          adb_offset: 0n,
          adb_block_size: 512n,
          adb_block_count: 4n,
          adb_reloff_blocknum: 0n,
          adb_block_num: 0,
          adb_reloff_pattern: 8n,
          adb_pattern: enc.encode("patt"),
        },
      },
    },
    {
      argop: OP.OP_CLONE,
      opclone: {
        cl_src_stateid: ZERO,
        cl_dst_stateid: ZERO,
        cl_src_offset: 0,
        cl_dst_offset: 0,
        cl_count: 4096,
      },
    },
    { argop: OP.OP_GETXATTR, opgetxattr: { gxa_name: enc.encode("colour") } },
    {
      argop: OP.OP_SETXATTR,
      opsetxattr: {
        sxa_option: setxattr_option4.SETXATTR4_EITHER,
        sxa_key: enc.encode("colour"),
        sxa_value: enc.encode("blue"),
      },
    },
    {
      argop: OP.OP_LISTXATTRS,
      oplistxattrs: { lxa_cookie: 0n, lxa_maxcount: 64 },
    },
    {
      argop: OP.OP_REMOVEXATTR,
      opremovexattr: { rxa_name: enc.encode("colour") },
    },
  ];
}

/**
 * The NFSv4 program over `exports` with one confirmed client and a session
 * of 64 slots, its SEQUENCE steered: whatever session, slot and sequence ID
 * a request names, it runs on a free slot of that session with the slot's
 * next sequence ID (NFS4ERR_DELAY when every slot is busy). Everything
 * after SEQUENCE is the real server.
 */
export function steeredProgram(
  exports: ExportTable,
  log: (message: string) => void,
): RpcProgram {
  const nfs = new Nfs4Server({ exports, graceTime: 0, log });
  const st = nfs.state;
  const principal = "sys:0@fuzz";
  const ex = st.exchangeId({
    ownerId: enc.encode("fuzz-steered"),
    verifier: new Uint8Array(8),
    flags: 0,
    principal,
    minor: 2,
  }, nfs.now());
  if (ex.status !== 0) throw new Error(`EXCHANGE_ID: ${ex.status}`);
  const args = sessionArgs(ex.sequenceid, principal, { slots: 64 });
  args.fore = {
    ...args.fore,
    maxRequestSize: 1 << 21,
    maxResponseSize: 1 << 21,
    maxResponseSizeCached: 1 << 16,
    maxOperations: 64,
  };
  const cs = st.createSession(ex.clientid, args, nfs.now());
  if (cs.status !== 0) throw new Error(`CREATE_SESSION: ${cs.status}`);
  st.reclaimComplete(ex.clientid, false, nfs.now());
  const session = st.sessions.get(cs.result.sessionid)!;
  const ops = new Map(nfs4Ops());
  const real = ops.get(OP.OP_SEQUENCE)!;
  const steered: Op = {
    ...real,
    run: (a, c, n) => {
      const slot = session.slots.findIndex((s) => !s.running);
      if (slot < 0) return { status: nfsstat4.NFS4ERR_DELAY };
      return real.run(
        {
          ...a,
          sa_sessionid: session.id,
          sa_slotid: slot,
          sa_highest_slotid: session.slots.length - 1,
          sa_sequenceid: (session.slots[slot].seqid + 1) >>> 0,
        },
        c,
        n,
      );
    },
  };
  ops.set(OP.OP_SEQUENCE, steered);
  return nfs4ProgramOf(nfs, ops);
}
