// A host process that swaps `root/d` for a symlink to `outside` and back as
// fast as it can (rename away, symlink, unlink, rename back), until the
// returned stop() is called or 30 s pass: the race the LocalFs adversarial
// tests run against. It is a separate process, so its swaps interleave with
// the system calls of a synchronous LocalFs call.

/** Starts the swap loop; stop() ends it and fails on a crash of the loop. */
export function startSwapper(
  root: string,
  outside: string,
  stopFile: string,
): { stop(): Promise<void> } {
  const script = `
import os, sys, time
root, outside, stop = sys.argv[1], sys.argv[2], sys.argv[3]
end = time.time() + 30
while time.time() < end and not os.path.exists(stop):
    os.rename(root + "/d", root + "/real")
    os.symlink(outside, root + "/d")
    os.unlink(root + "/d")
    os.rename(root + "/real", root + "/d")
`;
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, root, outside, stopFile],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        await Deno.writeTextFile(stopFile, "");
        const status = await child.output();
        if (status.code !== 0) {
          throw new Error(
            `Swap loop failed: ${new TextDecoder().decode(status.stderr)}`,
          );
        }
      })();
      return stopped;
    },
  };
}
