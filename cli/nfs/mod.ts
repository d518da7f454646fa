/**
 * The NFS client verbs of `netfs`: `ls`, `cat`, `cp`, `stat`, `mkdir`,
 * `rm`, `mv`, `showmount` and `rpcinfo`, on `client/`. Each lives in the
 * file of its group; this one only names them.
 *
 * @module
 */

import { CAT_HELP, catCommand, MKDIR_HELP, mkdirCommand } from "./change.ts";
import { MV_HELP, mvCommand, RM_HELP, rmCommand } from "./change.ts";
import { CP_HELP, cpCommand } from "./cp.ts";
import { LS_HELP, lsCommand, STAT_HELP, statCommand } from "./ls.ts";
import {
  RPCINFO_HELP,
  rpcinfoCommand,
  SHOWMOUNT_HELP,
  showmountCommand,
} from "./rpc.ts";

/** A client verb: its help and how it runs. */
export interface NfsVerb {
  readonly help: string;
  run(args: string[]): Promise<number>;
}

/** Every NFS client verb by name. */
export const NFS_VERBS: Readonly<Record<string, NfsVerb>> = {
  ls: { help: LS_HELP, run: lsCommand },
  cat: { help: CAT_HELP, run: catCommand },
  cp: { help: CP_HELP, run: cpCommand },
  stat: { help: STAT_HELP, run: statCommand },
  mkdir: { help: MKDIR_HELP, run: mkdirCommand },
  rm: { help: RM_HELP, run: rmCommand },
  mv: { help: MV_HELP, run: mvCommand },
  showmount: { help: SHOWMOUNT_HELP, run: showmountCommand },
  rpcinfo: { help: RPCINFO_HELP, run: rpcinfoCommand },
};
