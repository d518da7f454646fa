// The NFS servers the benchmarks compare: nfs-ganesha (MEM or VFS FSAL) in a
// private mount namespace with a unix-socket rpcbind stand-in
// (tests/interop/_ganesha.ts, shared with the interop tests), and netfs
// (bench/_nfs_server.ts, MemFs or LocalFs) in a child process, optionally
// from another checkout (a before/after comparison), and Deno's floor
// (bench/_nfs_floor_deno.ts, a bare NFSv3 server). Each reports its process
// id, so a benchmark can charge the server's CPU time to the work it did.
import { NfsClient } from "../client/mod.ts";
import {
  atExit,
  type ServerProcess,
  startDeno,
  terminate,
} from "./_bench_util.ts";
import { startGanesha as startGanesha_ } from "../tests/interop/_ganesha.ts";

const here = new URL(".", import.meta.url).pathname;

/** A running NFS server. */
export interface NfsServer {
  /** netfs-memfs, ganesha-mem, ... */
  name: string;
  /** The TCP port of NFS (and, for netfs, of MOUNT). */
  port: number;
  /** The MOUNT port (ganesha keeps it apart). */
  mountPort: number;
  /** The export path for NFSv3 MOUNT and the NFSv4 pseudo tree. */
  exportPath: string;
  /** The server process, for its CPU time. */
  pid: number;
  /** A libnfs URL of the export root over NFS `version` 3 or 4. */
  url(version: 3 | 4): string;
  stop(): Promise<void>;
}

function libnfsUrl(s: Omit<NfsServer, "url" | "stop">, version: 3 | 4) {
  return `nfs://127.0.0.1${s.exportPath}?nfsport=${s.port}&mountport=${s.mountPort}&version=${version}`;
}

/**
 * A file of the export as an nfs-cp URL over NFSv3: export path, "/", file
 * name (so "nfs://host//name" for the export "/", which libnfs splits right).
 */
export function fileUrl(srv: NfsServer, name: string): string {
  const u = srv.url(3);
  const q = u.indexOf("?");
  return `${u.slice(0, q)}/${name}${u.slice(q)}`;
}

/**
 * libnfs's `nfs-cp` of the local file `local` to the new file `name` on the
 * server ("in": nfs-cp will not overwrite), or of the server's `name` to
 * `local` ("out"), timed as a whole process (connecting and mounting
 * included). Returns the seconds it took.
 */
export async function nfsCp(
  srv: NfsServer,
  direction: "in" | "out",
  local: string,
  name: string,
): Promise<number> {
  const remote = fileUrl(srv, name);
  const t0 = performance.now();
  const r = await new Deno.Command("nfs-cp", {
    args: direction === "in" ? [local, remote] : [remote, local],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(
      `nfs-cp failed on ${srv.name}: ${new TextDecoder().decode(r.stderr)}`,
    );
  }
  return (performance.now() - t0) / 1000;
}

/**
 * Removes the file `name` from the export's root, as root over NFSv3: what
 * an nfs-cp "in" copied (nfs-cp will not overwrite, and a MemFs without
 * --allow-sys holds 1 GiB).
 */
export async function removeFile(srv: NfsServer, name: string): Promise<void> {
  await using nfs = await rootClient(srv);
  await nfs.remove(`/${name}`);
}

/** An NfsClient of the export over NFSv3, as root (the benches' checks). */
export function rootClient(srv: NfsServer): Promise<NfsClient> {
  return NfsClient.connect(srv.url(3), {
    auth: { stamp: 0, machineName: "bench", uid: 0, gid: 0, gids: [] },
  });
}

/**
 * nfs-ganesha 4.3 serving `dir` (VFS) or an in-memory tree (MEM) over NFSv3
 * and NFSv4 (minor versions 0 and 1), root not squashed, without a grace
 * period and with numeric owners (as netfs answers them); see
 * tests/interop/_ganesha.ts. Needs root.
 */
export async function startGanesha(
  fsal: "MEM" | "VFS",
  dir: string,
): Promise<NfsServer> {
  const g = await startGanesha_(fsal, dir, { nfs4: true });
  const forget = atExit(() => terminate(g.pid));
  const stop = () => {
    forget();
    return g.stop();
  };
  const s = {
    name: `ganesha-${fsal.toLowerCase()}`,
    port: g.nfsPort,
    mountPort: g.mountPort,
    exportPath: g.exportPath,
    pid: g.pid,
  };
  return { ...s, url: (version) => libnfsUrl(s, version), stop };
}

/** Options of {@link startNetfs}. */
export interface NetfsOptions {
  /** A checkout to run bench/_nfs_server.ts from. Default this one. */
  root?: string;
  /** Appended to the server's name ("netfs-memfs-before"). */
  tag?: string;
  /** Write a V8 CPU profile of the server into this folder (--cpu-prof). */
  profileDir?: string;
  /**
   * LocalFs's engine (default portable: the server runs without
   * --allow-ffi). Native grants --allow-ffi; either names the server
   * "netfs-localfs-native" or "...-portable".
   */
  engine?: "native" | "portable";
  /** MemFs whose writes keep nothing (bench/_nfs_server.ts --discard). */
  discard?: boolean;
  /**
   * LocalFs without an fsync of the directory after each create, remove
   * or rename (bench/_nfs_server.ts --async); adds "async" to the name.
   */
  async?: boolean;
}

/**
 * netfs's server (bench/_nfs_server.ts) in its own process: MemFs, or
 * LocalFs over `dir`, exported at "/" over NFSv3 and NFSv4.
 */
export async function startNetfs(
  kind: "mem" | "local",
  dir: string,
  options: NetfsOptions = {},
): Promise<NfsServer> {
  const root = options.root ? `${options.root}/bench/` : here;
  const perms = kind === "local"
    ? [
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      ...(options.engine === "native" ? ["--allow-ffi"] : []),
    ]
    // MemFs: --allow-ffi for the receive low-water marks (lowWater).
    : ["--allow-ffi"];
  const child = await startDeno(
    [
      "--allow-net=127.0.0.1",
      ...perms,
      ...(options.profileDir
        ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`]
        : []),
    ],
    `${root}_nfs_server.ts`,
    [
      ...(kind === "local" ? ["--dir", dir] : []),
      ...(kind === "local" && options.engine
        ? ["--engine", options.engine]
        : []),
      ...(options.discard ? ["--discard"] : []),
      ...(options.async ? ["--async"] : []),
    ],
  );
  const name = [
    `netfs-${kind}fs`,
    options.engine,
    options.async ? "async" : undefined,
    options.tag,
  ].filter((x) => x).join("-");
  return denoServer(name, child);
}

/**
 * Deno's floor ("deno-floor"): bench/_nfs_floor_deno.ts, a bare NFSv3 server
 * from memory, exported at "/". It serves file I/O (LOOKUP, CREATE, READ,
 * WRITE and what libnfs mounts with) and no other namespace call, and no
 * NFSv4.
 */
export async function startFloor(): Promise<NfsServer> {
  const child = await startDeno(
    ["--allow-net=127.0.0.1"],
    `${here}_nfs_floor_deno.ts`,
  );
  return denoServer("deno-floor", child);
}

/** A Deno child serving NFS and MOUNT of "/" on its one port. */
function denoServer(name: string, child: ServerProcess): NfsServer {
  const s = {
    name,
    port: child.port,
    mountPort: child.port,
    exportPath: "/",
    pid: child.pid,
  };
  return { ...s, url: (version) => libnfsUrl(s, version), stop: child.stop };
}
