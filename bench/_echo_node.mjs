// A bare node:net TCP echo server for bench/rtt_bench.ts, run by Node.js.
//
//   node bench/_echo_node.mjs PORT
//   deno run --allow-net=127.0.0.1 bench/_echo_node.mjs PORT   (Deno's node:net)
import net from "node:net";
import process from "node:process";

net.createServer({ noDelay: true }, (sock) => {
  sock.on("data", (d) => sock.write(d));
  sock.on("error", () => sock.destroy());
}).listen(Number(process.argv[2]), "127.0.0.1");
