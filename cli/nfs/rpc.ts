/**
 * `netfs showmount HOST` (MOUNT EXPORT and DUMP, as `showmount -e` and
 * `-a`) and `netfs rpcinfo HOST` (portmap DUMP, as `rpcinfo -p`).
 *
 * @module
 */

import { MountClient } from "../../client/mount.ts";
import { PortmapClient } from "../../client/portmap.ts";
import { MOUNT_PROGRAM, MOUNT_V3 } from "../../proto/mount.ts";
import { IPPROTO_TCP, IPPROTO_UDP } from "../../proto/portmap.ts";
import { host as hostArg, port, UsageError } from "../_args.ts";
import { checkPermissions, netNeed } from "../_runtime.ts";
import { atMost, parseVerb } from "./_common.ts";

/** `netfs showmount --help`. */
export const SHOWMOUNT_HELP =
  `Usage: netfs showmount [-e | -a] [--port N] [--json] HOST

What an NFS server exports (MOUNT EXPORT) and who has mounted what (MOUNT
DUMP). Without -e or -a, both.

  -e, --exports    only the exports and the clients allowed to mount each
  -a, --all        only the mounts: client:directory
  --port N         the MOUNT port (default: asked of the portmapper on 111)
  --json           {"exports": [{dir, groups}], "mounts": [{hostname, directory}]}

Permissions (deno run): --allow-net=HOST.

Examples:
  netfs showmount -e 127.0.0.1 --port 2049
`;

/** `netfs rpcinfo --help`. */
export const RPCINFO_HELP = `Usage: netfs rpcinfo [--port N] [--json] HOST

The programs registered with a host's portmapper (portmap DUMP), as
"rpcinfo -p" prints them.

  --port N         the portmapper's port (default 111)
  --json           [{program, version, protocol, port, service}]

Permissions (deno run): --allow-net=HOST.

Examples:
  netfs rpcinfo 127.0.0.1 --port 2049
`;

/** Names of the common ONC RPC programs, as /etc/rpc has them. */
const SERVICES: Readonly<Record<number, string>> = {
  100000: "portmapper",
  100003: "nfs",
  100005: "mountd",
  100011: "rquotad",
  100021: "nlockmgr",
  100024: "status",
  100227: "nfs_acl",
};

function hostOf(verb: string, positionals: string[]): string {
  const h = positionals[0];
  if (h === undefined) {
    throw new UsageError(`Missing HOST (see: netfs ${verb} --help)`);
  }
  atMost(positionals, 1);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(h)) {
    throw new UsageError(
      `Expected a host, not a URL: ${h} (such as 127.0.0.1; --port N for the port)`,
    );
  }
  // A host name is fine here too: it is only connected to.
  return /^[A-Za-z0-9.-]+$/.test(h) && !/^[\d.]+$/.test(h)
    ? h
    : hostArg("HOST", h);
}

/** Runs `netfs showmount ARGS`. */
export async function showmountCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseVerb("showmount", args, {
    exports: { type: "boolean", short: "e" },
    all: { type: "boolean", short: "a" },
    port: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(SHOWMOUNT_HELP);
    return 0;
  }
  const hostname = hostOf("showmount", positionals);
  if (values.exports && values.all) {
    throw new UsageError("-e and -a cannot be used together");
  }
  const given = values.port === undefined
    ? undefined
    : port("--port", values.port);
  checkPermissions([netNeed(hostname, given ?? 0)]);
  let mountPort = given;
  if (mountPort === undefined) {
    const pm = await PortmapClient.connect({ hostname });
    try {
      mountPort = await pm.getPort({
        program: MOUNT_PROGRAM,
        version: MOUNT_V3,
      });
    } finally {
      pm.close();
      await pm.rpc.closed;
    }
    if (mountPort === 0) {
      throw new Error(
        `No MOUNT server registered with the portmapper: ${hostname}`,
      );
    }
  }
  const mount = await MountClient.connect({ hostname, port: mountPort });
  try {
    const exports = values.all ? undefined : await mount.export();
    const mounts = values.exports ? undefined : await mount.dump();
    if (values.json) {
      console.log(JSON.stringify({ exports, mounts }));
      return 0;
    }
    const out: string[] = [];
    if (exports) {
      out.push(`Export list for ${hostname}:`);
      const w = Math.max(0, ...exports.map((e) => e.dir.length));
      for (const e of exports) {
        out.push(`${e.dir.padEnd(w)} ${e.groups.join(",") || "(everyone)"}`);
      }
    }
    if (mounts) {
      out.push(`All mount points on ${hostname}:`);
      for (const m of mounts) out.push(`${m.hostname}:${m.directory}`);
    }
    console.log(out.join("\n"));
    return 0;
  } finally {
    mount.close();
    await mount.rpc.closed;
  }
}

/** Runs `netfs rpcinfo ARGS`. */
export async function rpcinfoCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseVerb("rpcinfo", args, {
    port: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(RPCINFO_HELP);
    return 0;
  }
  const hostname = hostOf("rpcinfo", positionals);
  const pmPort = values.port === undefined ? 111 : port("--port", values.port);
  checkPermissions([netNeed(hostname, pmPort)]);
  const pm = await PortmapClient.connect({ hostname, port: pmPort });
  try {
    const list = (await pm.dump()).map((m) => ({
      ...m,
      service: SERVICES[m.program] ?? "",
    }));
    if (values.json) {
      console.log(JSON.stringify(list));
      return 0;
    }
    const proto = (p: number) =>
      p === IPPROTO_TCP ? "tcp" : p === IPPROTO_UDP ? "udp" : String(p);
    const lines = ["   program vers proto   port  service"];
    for (const m of list) {
      lines.push(
        `${String(m.program).padStart(10)}${String(m.version).padStart(5)}${
          proto(m.protocol).padStart(6)
        }${String(m.port).padStart(7)}  ${m.service}`.trimEnd(),
      );
    }
    console.log(lines.join("\n"));
    return 0;
  } finally {
    pm.close();
    await pm.rpc.closed;
  }
}
