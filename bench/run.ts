// `deno task bench`: runs every benchmark in its own process, one after the
// other (they compete for the same two cores otherwise). Pass names to run
// only some: `deno task bench nfs nbd`. Results are appended to
// bench/RESULTS.md by each benchmark. `kernel` (the Linux client in the
// user-mode guest, several minutes) and `create4` (NFSv4.0 creates against
// the Node peer, which it installs from npm) run only when named.
const here = new URL(".", import.meta.url).pathname;
const all = ["rpc", "vfs", "nfs", "client", "readplus", "nbd"];
// Flags that make a benchmark record its results (the others always do).
const recordFlags: Record<string, string[]> = {
  nbd: ["--record"],
  nfs: ["--record"],
  client: ["--record"],
  readplus: ["--record"],
  kernel: ["--record"],
  create4: ["--record", "--ganesha", "--async"],
};
const chosen = Deno.args.length > 0 ? Deno.args : all;
let failed = 0;
for (const name of chosen) {
  const file = `${here}${name}_bench.ts`;
  try {
    await Deno.stat(file);
  } catch {
    console.error(`bench: no ${name}_bench.ts, skipped`);
    continue;
  }
  console.log(`bench: ${name}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1,[::1],localhost",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      "--allow-sys",
      file,
      ...(recordFlags[name] ?? []),
    ],
  }).spawn().status;
  if (!status.success) failed++;
}
Deno.exit(failed > 0 ? 1 : 0);
