/**
 * What `deno task gen` generates, and the choices the specifications
 * cannot express: which 64-bit values are plain numbers, and which codecs
 * are written by hand.
 *
 * 64-bit rule: every `hyper` is a `bigint` (cookies, verifiers, change
 * ids, client ids, lock offsets and lengths, layout ranges: all 64 bits
 * matter), except sizes, counts of files and bytes, file ids and I/O
 * offsets, listed here, which are `number`. Unsigned ones decode
 * saturated at `Number.MAX_SAFE_INTEGER` (2^53 − 1): a size or offset that
 * large means "beyond any real file" either way, and servers report
 * 2^64 − 1 for "no limit". `nfstime4.seconds` is signed and refused
 * outside ±(2^53 − 1) seconds.
 *
 * @module
 */

import type { GenConfig } from "./model.ts";

/** One specification and the file generated from it. */
export interface Job {
  /** The `.x` file, relative to the repository root. */
  spec: string;
  /** The generated file, relative to the repository root. */
  out: string;
  /** `rpc/xdr.ts` as the generated file imports it. */
  xdrModule: string;
  /** Module documentation of the generated file. */
  moduleDoc: string;
  /** 64-bit choices and exclusions. */
  config: GenConfig;
}

/** Everything `deno task gen` writes. */
export const JOBS: readonly Job[] = [
  {
    spec: "proto/nfs4/nfs4.x",
    out: "proto/nfs4/nfs4_gen.ts",
    xdrModule: "../../rpc/xdr.ts",
    moduleDoc: `
NFSv4.0 (RFC 7531), NFSv4.1 (RFC 5662), NFSv4.2 (RFC 7863) and its
extended attributes (RFC 8276): constants, types, and an encoder, a
decoder and the encoded size bounds of every type, for the COMPOUND
procedure and the callback program, in both directions.

Names are the RFCs' (\`COMPOUND4args\`, \`nfs_argop4\`, \`READ4resok\`).
Import through \`proto/nfs4/mod.ts\`, which adds the hand-written pieces:
the attribute table and fattr4 codec, bitmap helpers, READ's uncopied
result data (READ's and READ_PLUS's) and READDIR's paging.`,
    config: {
      hyperAsNumber: [
        "fattr4_size",
        "fattr4_fileid",
        "fattr4_mounted_on_fileid",
        "fattr4_files_avail",
        "fattr4_files_free",
        "fattr4_files_total",
        "fattr4_maxfilesize",
        "fattr4_maxread",
        "fattr4_maxwrite",
        "fattr4_quota_avail_hard",
        "fattr4_quota_avail_soft",
        "fattr4_quota_used",
        "fattr4_space_avail",
        "fattr4_space_free",
        "fattr4_space_total",
        "fattr4_space_used",
        "nfstime4.seconds",
        "READ4args.offset",
        "WRITE4args.offset",
        "COMMIT4args.offset",
        "fattr4_space_freed",
        "ALLOCATE4args.aa_offset",
        "ALLOCATE4args.aa_length",
        "DEALLOCATE4args.da_offset",
        "DEALLOCATE4args.da_length",
        "SEEK4args.sa_offset",
        "seek_res4.sr_offset",
        "READ_PLUS4args.rpa_offset",
        "data4.d_offset",
        "data_info4.di_offset",
        "data_info4.di_length",
        "IO_ADVISE4args.iaa_offset",
        "IO_ADVISE4args.iaa_count",
        "COPY4args.ca_src_offset",
        "COPY4args.ca_dst_offset",
        "COPY4args.ca_count",
        "CLONE4args.cl_src_offset",
        "CLONE4args.cl_dst_offset",
        "CLONE4args.cl_count",
        "write_response4.wr_count",
        "OFFLOAD_STATUS4resok.osr_count",
        "offload_info4.coa_bytes_copied",
      ],
      exclude: {
        READ4resok: {
          encode: "./read.ts",
          reason: "the data goes out uncopied (`XdrWriter.opaqueRef`), as " +
            "NFSv3 READ's does.",
        },
        data4: {
          encode: "./read.ts",
          reason: "READ_PLUS's data goes out uncopied " +
            "(`XdrWriter.opaqueRef`), as READ's does.",
        },
      },
    },
  },
  {
    spec: "proto/nfs2/nfs2.x",
    out: "proto/nfs2/nfs2_gen.ts",
    xdrModule: "../../rpc/xdr.ts",
    moduleDoc: `
NFSv2 (RFC 1094) and the MNT reply of MOUNT v1: constants, types, and an
encoder, a decoder and the encoded size bounds of every type, in both
directions.

Names are the RFC's (\`fattr\`, \`diropargs\`, \`readdirres\`). Import
through \`proto/nfs2/mod.ts\`, which adds the hand-written pieces: file
data encoded uncopied and READDIR's entry sizes.`,
    config: {
      exclude: {
        nfsdata: {
          encode: "./data.ts",
          reason: "READ's data (and a client's WRITE data) goes out " +
            "uncopied (`XdrWriter.opaqueRef`), as NFSv3 READ's does.",
        },
      },
    },
  },
];
