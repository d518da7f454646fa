// The Node peer of issue 16: the NFSv4 server of the npm package
// @jsonjoy.com/json-pack (TypeScript, compiled to CommonJS), its Node-fs
// operations over one folder, on 127.0.0.1. Run by bench/_node_peer.ts with
// the node 22 it installs:
//
//   node bench/_node_peer.mjs PREFIX DIR PORT LOG
//
// PREFIX is the npm --prefix the package was installed into, DIR the folder
// served as the NFSv4 root, LOG a file for the server's own log lines (its
// errors; it logs nothing per call without debug).
import { createRequire } from "node:module";
import * as fs from "node:fs";
import { Console } from "node:console";

const [prefix, dir, port, log] = process.argv.slice(2);
const require = createRequire(`${prefix}/package.json`);
const base = "@jsonjoy.com/json-pack/lib/nfs/v4/server";
const { Nfsv4TcpServer } = require(`${base}/Nfsv4TcpServer`);
const { Nfsv4OperationsNode } = require(
  `${base}/operations/node/Nfsv4OperationsNode`,
);

const logger = new Console(fs.createWriteStream(log, { flags: "a" }));
const server = new Nfsv4TcpServer({
  ops: new Nfsv4OperationsNode({ fs, dir }),
  host: "127.0.0.1",
  port: Number(port),
  logger,
  onError: (err) => {
    logger.error("Server error:", err);
    process.exit(1);
  },
});
await server.start();
// No state worth a clean stop; server.stop() would wait for every client.
process.on("SIGTERM", () => process.exit(0));
