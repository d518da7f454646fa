/**
 * NFSv3 FSSTAT, FSINFO and PATHCONF: what the client learns about the file
 * system as a whole.
 *
 * - FSSTAT passes the file system's `statfs` through, with `invarsec` 0
 *   (nothing promised to stay put).
 * - FSINFO offers the program's `rtmax` and `wtmax` as both the largest and
 *   the preferred size, 4096 as their multiple, its `dtpref`, and the file
 *   system's largest file and time granularity; LINK and SYMLINK only when
 *   the file system has hard links and symbolic links, HOMOGENEOUS and
 *   CANSETTIME always.
 * - PATHCONF reports the file system's link and name limits, and names that
 *   are never truncated, case-sensitive and case-preserving, with chown
 *   restricted.
 *
 * A failure carries the object's attributes when they can be read.
 *
 * @module
 */

import {
  decodeFhArgs,
  encodeFsinfoRes,
  encodeFsstatRes,
  encodePathconfRes,
  FsfProps,
  Nfs3Proc,
} from "../../proto/nfs3.ts";
import { fattr } from "./context.ts";
import { attrsFailed, type Nfs3Procedure, nfs3Procedure } from "./procedure.ts";

/**
 * The FSSTAT, FSINFO and PATHCONF procedures.
 */
export const fsinfoProcedures: Record<number, Nfs3Procedure<any, any>> = {
  [Nfs3Proc.FSSTAT]: nfs3Procedure({
    name: "FSSTAT",
    borrowsArgs: true, // a handle it resolves and numbers: none kept
    decode: decodeFhArgs,
    encode: encodeFsstatRes,
    fh: (a) => a.object,
    run: async (_a, t) => {
      const attrs = fattr(await t.fs.getattr(t.cred, t.id));
      const s = await t.fs.statfs(t.cred, t.id);
      return {
        status: 0,
        attrs,
        tbytes: s.totalBytes,
        fbytes: s.freeBytes,
        abytes: s.availBytes,
        tfiles: s.totalFiles,
        ffiles: s.freeFiles,
        afiles: s.availFiles,
        invarsec: 0,
      };
    },
    fail: attrsFailed,
  }),
  [Nfs3Proc.FSINFO]: nfs3Procedure({
    name: "FSINFO",
    borrowsArgs: true, // a handle it resolves and numbers: none kept
    decode: decodeFhArgs,
    encode: encodeFsinfoRes,
    fh: (a) => a.object,
    run: async (_a, t, nfs) => {
      const attrs = fattr(await t.fs.getattr(t.cred, t.id));
      const l = t.fs.limits;
      const delta = Math.max(1, l.timeDelta);
      return {
        status: 0,
        attrs,
        rtmax: nfs.rtmax,
        rtpref: nfs.rtmax,
        rtmult: 4096,
        wtmax: nfs.wtmax,
        wtpref: nfs.wtmax,
        wtmult: 4096,
        dtpref: nfs.dtpref,
        maxfilesize: l.maxFileSize,
        timeDelta: { sec: Math.floor(delta / 1e9), nsec: delta % 1e9 },
        properties: (l.hardLinks ? FsfProps.LINK : 0) |
          (l.symlinks ? FsfProps.SYMLINK : 0) | FsfProps.HOMOGENEOUS |
          FsfProps.CANSETTIME,
      };
    },
    fail: attrsFailed,
  }),
  [Nfs3Proc.PATHCONF]: nfs3Procedure({
    name: "PATHCONF",
    borrowsArgs: true, // a handle it resolves and numbers: none kept
    decode: decodeFhArgs,
    encode: encodePathconfRes,
    fh: (a) => a.object,
    run: async (_a, t) => {
      const attrs = fattr(await t.fs.getattr(t.cred, t.id));
      const l = t.fs.limits;
      return {
        status: 0,
        attrs,
        linkmax: Math.min(l.maxLinks, 0xffffffff),
        nameMax: l.maxNameLength,
        noTrunc: true,
        chownRestricted: true,
        caseInsensitive: false,
        casePreserving: true,
      };
    },
    fail: attrsFailed,
  }),
};
