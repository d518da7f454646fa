// Port helpers shared by the tests and the benchmarks, for peers that need
// a port number before they start (nbdkit, qemu-nbd, child servers).

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Resolves once something accepts connections on 127.0.0.1:`port`. */
export async function waitForPort(
  port: number,
  timeoutMs = 10000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch (e) {
      if (Date.now() > end) {
        throw new Error(`Nothing listens on port ${port}: ${e}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
