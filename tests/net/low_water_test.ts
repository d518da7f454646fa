// Receive low-water marks (net/_low_water.ts) on real sockets: the mark
// lands on the connection it was asked for (found among the process's
// descriptors by its address pair), holds a read back until that many bytes
// are queued, and does nothing once the connection says it is closed.
import assert from "node:assert/strict";
import {
  addressKey,
  kernelProblem,
  LowWaterMarks,
  openLowWater,
  socketKey,
} from "../../net/_low_water.ts";
import { settlesWithin, within } from "../_within.ts";

/** Two connections to one listener on `hostname`: [client, server] pairs. */
async function pairs(hostname: string, n: number) {
  const listener = Deno.listen({ hostname, port: 0 });
  const out: [Deno.TcpConn, Deno.TcpConn][] = [];
  for (let i = 0; i < n; i++) {
    const client = await Deno.connect({ hostname, port: listener.addr.port });
    out.push([client, await listener.accept()]);
  }
  listener.close();
  return out;
}

function marks(): LowWaterMarks {
  const m = LowWaterMarks.open();
  assert.ok(typeof m !== "string", `marks unavailable: ${m}`);
  return m;
}

for (const hostname of ["127.0.0.1", "::1"]) {
  Deno.test(`low water: a mark holds back its own connection's read only (${hostname})`, async () => {
    const m = marks();
    const [[clientA, serverA], [clientB, serverB]] = await pairs(hostname, 2);
    try {
      // B was accepted last, so its descriptor is found after A's would be:
      // a mark set through A's setter must not land on B.
      const setA = m.watch(serverA, () => false);
      setA(8);
      const bufA = new Uint8Array(16);
      const readA = serverA.read(bufA);
      await clientA.write(new Uint8Array([1, 2, 3, 4]));
      await clientB.write(new Uint8Array([9]));
      assert.equal(await serverB.read(new Uint8Array(16)), 1, "B: unmarked");
      assert.equal(
        await settlesWithin(readA, 150),
        false,
        "A waits for 8 bytes while 4 are queued",
      );
      await clientA.write(new Uint8Array([5, 6, 7, 8]));
      assert.equal(await readA, 8, "all 8 in one read");
      assert.deepEqual(
        bufA.subarray(0, 8),
        new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
      );
      // Back to 1: a single byte wakes the reader again.
      setA(0);
      const again = serverA.read(bufA);
      await clientA.write(new Uint8Array([42]));
      assert.equal(await again, 1);
    } finally {
      for (const c of [clientA, serverA, clientB, serverB]) c.close();
      m.close();
    }
  });
}

Deno.test("low water: no mark once the connection says it is closed, or the marks are closed", async () => {
  const m = marks();
  const [[client, server]] = await pairs("127.0.0.1", 1);
  try {
    let closed = true;
    const set = m.watch(server, () => closed);
    set(1000);
    const first = server.read(new Uint8Array(16));
    await client.write(new Uint8Array([1]));
    assert.equal(
      await within(first, 5000, "a mark set on a closed connection"),
      1,
    );
    closed = false;
    m.close();
    set(1000);
    const second = server.read(new Uint8Array(16));
    await client.write(new Uint8Array([2]));
    assert.equal(
      await within(second, 5000, "a mark set through closed marks"),
      1,
    );
  } finally {
    client.close();
    server.close();
    m.close();
  }
});

Deno.test("low water: Deno's addresses and the kernel's sockaddrs give one key", () => {
  const v4 = new Uint8Array(16);
  v4.set([2, 0, 0x08, 0x01, 127, 0, 0, 1]); // AF_INET, port 2049, 127.0.0.1
  const mapped = new Uint8Array(28);
  mapped.set([10, 0, 0x08, 0x01]); // AF_INET6, port 2049
  mapped.set([0xff, 0xff, 127, 0, 0, 1], 18); // ::ffff:127.0.0.1
  const key = addressKey({
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 2049,
  });
  assert.ok(key !== undefined);
  assert.deepEqual(socketKey(v4, 16), key);
  assert.deepEqual(
    socketKey(mapped, 28),
    key,
    "a dual-stack socket's IPv4 peer",
  );
  assert.deepEqual(
    addressKey({ transport: "tcp", hostname: "::ffff:127.0.0.1", port: 2049 }),
    key,
  );
  const v6 = new Uint8Array(28);
  v6.set([10, 0, 0x08, 0x02]);
  v6[23] = 1; // ::1
  assert.deepEqual(
    socketKey(v6, 28),
    addressKey({ transport: "tcp", hostname: "::1", port: 2050 }),
  );
  assert.notDeepEqual(socketKey(v6, 28), key);
  assert.equal(socketKey(v4, 7), undefined, "too short for its family");
  assert.equal(
    socketKey(new Uint8Array([1, 0, 0, 0]), 4),
    undefined,
    "AF_UNIX",
  );
  assert.equal(
    addressKey({ transport: "tcp", hostname: "localhost", port: 1 }),
    undefined,
  );
});

Deno.test("low water: openLowWater reads the servers' option", () => {
  assert.equal(openLowWater(false), undefined);
  const on = openLowWater(true);
  assert.ok(on instanceof LowWaterMarks);
  on.close();
  const auto = openLowWater(undefined);
  assert.ok(auto instanceof LowWaterMarks, "--allow-ffi is granted here");
  auto.close();
});

Deno.test("low water: without --allow-ffi the default is off and true is an error", async () => {
  const script = `
    import { serveRpc } from "${
    new URL("../../rpc/mod.ts", import.meta.url).href
  }";
    const s = serveRpc({ port: 0, programs: [] });
    await s.shutdown();
    try {
      const t = serveRpc({ port: 0, programs: [], lowWater: true });
      console.log("started");
      await t.shutdown();
    } catch (e) {
      console.log(e.message);
    }
  `;
  // `deno eval` would grant every permission: a file run without --allow-ffi.
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, script);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--allow-net=127.0.0.1", "--allow-read", file],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output().finally(() => Deno.remove(file));
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(
    new TextDecoder().decode(out.stdout).trim(),
    "Receive low-water marks unavailable: --allow-ffi not granted",
  );
});

Deno.test("low water: kernels before 4.19 are refused", () => {
  for (
    const ok of ["4.19.0", "5.4.0-150-generic", "6.18.44-fc-v1272", "10.0"]
  ) {
    assert.equal(kernelProblem(ok), undefined, ok);
  }
  assert.equal(kernelProblem("4.18.20"), "kernel 4.18.20 is older than 4.19");
  assert.equal(
    kernelProblem("3.10.0-1160.el7"),
    "kernel 3.10.0-1160.el7 is older than 4.19",
  );
  assert.equal(kernelProblem("weird"), "unknown kernel release: weird");
});
