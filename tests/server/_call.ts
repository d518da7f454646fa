// The CallContext of a call run on a procedure or an operation directly,
// without a socket: AUTH_SYS as root from 127.0.0.1 on connection 1.
import type { CallContext } from "../../rpc/program.ts";

/** A call of `program`/`version`/`procedure` with xid 1, as root. */
export function rootCall(
  program: number,
  version: number,
  procedure: number,
): CallContext {
  return {
    xid: 1,
    program,
    version,
    procedure,
    auth: {
      flavor: 1,
      sys: { stamp: 0, machineName: "test", uid: 0, gid: 0, gids: [] },
    },
    remote: { transport: "tcp", hostname: "127.0.0.1", port: 700 },
    local: { transport: "tcp", hostname: "127.0.0.1", port: 2049 },
    connectionId: 1,
  } as CallContext;
}
