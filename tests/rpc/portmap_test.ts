import assert from "node:assert/strict";
import { PortmapClient } from "../../client/portmap.ts";
import {
  decodeMappingList,
  decodeRpcbList,
  encodeMappingList,
  encodeRpcbList,
  formatUniversalAddress,
  parseUniversalAddress,
  PMAP_PROG,
  transportToUniversal,
  universalToTransport,
} from "../../proto/portmap.ts";
import { RpcAcceptError } from "../../rpc/client.ts";
import { AcceptStat } from "../../rpc/message.ts";
import { serveRpc } from "../../rpc/server.ts";
import { XdrError, XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import { portmapPrograms } from "../../server/portmap.ts";
import { TEST_PROG, testProgram } from "./_helpers.ts";

async function withPortmap(
  opts: { hostname?: string; setAllow?: string[] },
  fn: (pm: PortmapClient, port: number) => Promise<void>,
) {
  const server = serveRpc({
    hostname: opts.hostname ?? "127.0.0.1",
    port: 0,
    log: () => {},
    programs: [testProgram(1), testProgram(3)],
  });
  for (const p of portmapPrograms(server, { setAllow: opts.setAllow })) {
    server.register(p);
  }
  const pm = await PortmapClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    await fn(pm, server.addr.port);
  } finally {
    pm.close();
    await pm.rpc.closed;
    await server.shutdown();
  }
}

Deno.test("portmap v2: GETPORT answers for the server's own programs", async () => {
  await withPortmap({}, async (pm, port) => {
    await pm.ping(2);
    assert.equal(await pm.getPort({ program: TEST_PROG, version: 1 }), port);
    assert.equal(await pm.getPort({ program: PMAP_PROG, version: 2 }), port);
    // A missing version still gives the program's port (PROG_MISMATCH then
    // tells the caller which versions exist), as portmap does.
    assert.equal(await pm.getPort({ program: TEST_PROG, version: 2 }), port);
    assert.equal(await pm.getPort({ program: 0x2fff0000, version: 1 }), 0);
    assert.equal(
      await pm.getPort({ program: TEST_PROG, version: 1, protocol: 17 }),
      0,
      "we serve TCP only",
    );
  });
});

Deno.test("portmap v2: SET, DUMP, UNSET from loopback", async () => {
  await withPortmap({}, async (pm, port) => {
    const m = { program: 100005, version: 3, protocol: 6, port: 20048 };
    assert.equal(await pm.set(m), true);
    assert.equal(await pm.set(m), false, "already registered");
    assert.equal(await pm.set({ ...m, protocol: 17 }), true, "UDP is separate");
    assert.equal(
      await pm.set({ ...m, protocol: 99 }),
      false,
      "unknown protocol",
    );
    assert.equal(
      await pm.set({ program: TEST_PROG, version: 1, protocol: 6, port: 1 }),
      false,
      "the server's own program cannot be taken over",
    );
    assert.equal(await pm.getPort(m), 20048);
    const dump = await pm.dump();
    assert.ok(
      dump.some((e) =>
        e.program === 100005 && e.port === 20048 && e.protocol === 6
      ),
    );
    assert.ok(dump.some((e) => e.program === 100005 && e.protocol === 17));
    assert.ok(
      dump.some((e) =>
        e.program === TEST_PROG && e.version === 3 && e.port === port
      ),
    );
    assert.equal(await pm.unset(m), true);
    assert.equal(await pm.unset(m), false);
    assert.equal(await pm.getPort(m), 0);
    assert.equal(
      await pm.unset({ program: TEST_PROG, version: 1 }),
      false,
      "own programs stay",
    );
  });
});

Deno.test("portmap: SET and UNSET are refused from peers outside setAllow", async () => {
  await withPortmap({ setAllow: ["10.0.0.0/8"] }, async (pm) => {
    assert.equal(
      await pm.set({ program: 100005, version: 3, protocol: 6, port: 1 }),
      false,
    );
    assert.equal(
      await pm.setAddr({
        program: 100005,
        version: 3,
        netid: "tcp",
        addr: "127.0.0.1.0.1",
        owner: "x",
      }),
      false,
    );
    assert.equal(
      (await pm.dumpAddrs()).some((e) => e.program === 100005),
      false,
    );
  });
});

Deno.test("rpcbind v3/v4: SET, GETADDR, GETVERSADDR, DUMP, UNSET", async () => {
  await withPortmap({}, async (pm, port) => {
    const own = formatUniversalAddress({ hostname: "127.0.0.1", port });
    for (const version of [3, 4] as const) {
      await pm.ping(version);
      assert.equal(
        await pm.getAddr({ program: TEST_PROG, version: 3 }, { version }),
        own,
      );
      assert.equal(
        await pm.getAddr({ program: TEST_PROG, version: 3, netid: "udp" }, {
          version,
        }),
        "",
      );
    }
    // GETADDR falls back to another version; GETVERSADDR does not.
    assert.equal(await pm.getAddr({ program: TEST_PROG, version: 2 }), own);
    assert.equal(await pm.getVersAddr({ program: TEST_PROG, version: 2 }), "");
    assert.equal(await pm.getVersAddr({ program: TEST_PROG, version: 3 }), own);

    const nfs = {
      program: 100003,
      version: 3,
      netid: "tcp6",
      addr: "::1.8.1",
      owner: "nfsd",
    };
    assert.equal(await pm.setAddr(nfs, { version: 3 }), true);
    assert.equal(await pm.setAddr(nfs), false, "already registered");
    assert.equal(
      await pm.setAddr({ ...nfs, netid: "tcp", addr: "not an address" }),
      false,
      "a bad universal address is refused",
    );
    assert.equal(
      await pm.getAddr({ program: 100003, version: 3, netid: "tcp6" }),
      "::1.8.1",
    );
    const dump = await pm.dumpAddrs({ version: 3 });
    assert.deepEqual(dump.find((e) => e.program === 100003), nfs);
    assert.ok(
      dump.some((e) =>
        e.program === PMAP_PROG && e.version === 4 && e.netid === "tcp" &&
        e.addr === own && e.owner === "superuser"
      ),
    );
    const list = await pm.getAddrList({ program: 100003, version: 3 });
    assert.deepEqual(list, [{
      maddr: "::1.8.1",
      netid: "tcp6",
      semantics: 3,
      protoFamily: "inet6",
      proto: "tcp",
    }]);
    // Version 2 sees the tcp6 mapping as TCP port 2049.
    assert.equal(await pm.getPort({ program: 100003, version: 3 }), 2049);
    assert.equal(
      await pm.unsetAddr({ program: 100003, version: 3, netid: "udp" }),
      false,
    );
    assert.equal(await pm.unsetAddr({ program: 100003, version: 3 }), true);
    assert.equal(
      await pm.getAddr({ program: 100003, version: 3, netid: "tcp6" }),
      "",
    );
  });
});

Deno.test("rpcbind: a wildcard listen address is merged with the caller's local address", async () => {
  await withPortmap({ hostname: "0.0.0.0" }, async (pm, port) => {
    assert.equal(
      await pm.getAddr({ program: TEST_PROG, version: 1 }),
      formatUniversalAddress({ hostname: "127.0.0.1", port }),
    );
    const dump = await pm.dumpAddrs();
    assert.ok(
      dump.some((e) => e.addr === `0.0.0.0.${port >> 8}.${port & 255}`),
    );
  });
});

Deno.test("rpcbind: GETTIME, UADDR2TADDR and TADDR2UADDR", async () => {
  await withPortmap({}, async (pm) => {
    const t = await pm.getTime();
    assert.ok(Math.abs(t - Date.now() / 1000) < 86400, `clock ${t}`);
    const v4 = await pm.uaddrToTaddr("192.0.2.1.8.1");
    assert.equal(v4.buf.length, 16);
    assert.deepEqual([...v4.buf.subarray(0, 8)], [2, 0, 8, 1, 192, 0, 2, 1]);
    assert.equal(await pm.taddrToUaddr(v4), "192.0.2.1.8.1");
    const v6 = await pm.uaddrToTaddr("fe80::1:2.0.111");
    assert.equal(v6.buf.length, 28);
    assert.equal(await pm.taddrToUaddr(v6), "fe80::1:2.0.111");
    assert.equal((await pm.uaddrToTaddr("nonsense")).buf.length, 0);
    assert.equal(
      await pm.taddrToUaddr({ maxlen: 3, buf: new Uint8Array([1, 2, 3]) }),
      "",
    );
  });
});

Deno.test("portmap: indirect calls are PROC_UNAVAIL in every version", async () => {
  await withPortmap({}, async (pm) => {
    for (const [version, proc] of [[2, 5], [3, 5], [4, 5], [4, 10]]) {
      await assert.rejects(
        () =>
          pm.rpc.call(
            PMAP_PROG,
            version,
            proc,
            (w) => w.u32(1).u32(1).u32(0).u32(0),
          ),
        (e) =>
          e instanceof RpcAcceptError && e.status === AcceptStat.PROC_UNAVAIL,
      );
    }
    // PROG_MISMATCH names versions 2 to 4.
    await assert.rejects(
      () => pm.rpc.call(PMAP_PROG, 5, 0, () => {}),
      (e) => e instanceof RpcAcceptError && e.low === 2 && e.high === 4,
    );
  });
});

Deno.test("portmap: GETSTAT counts calls per version", async () => {
  await withPortmap({}, async (pm) => {
    await pm.ping(2);
    await pm.ping(2);
    await pm.dump();
    const r = await pm.rpc.call(PMAP_PROG, 4, 12, () => {});
    const v2 = Array.from({ length: 13 }, () => r.i32());
    assert.equal(v2[0], 2, "two v2 NULLs");
    assert.equal(v2[4], 1, "one v2 DUMP");
  });
});

Deno.test("portmap codecs: universal addresses", () => {
  assert.equal(
    formatUniversalAddress({ hostname: "10.1.2.3", port: 65535 }),
    "10.1.2.3.255.255",
  );
  assert.deepEqual(parseUniversalAddress("10.1.2.3.255.255"), {
    hostname: "10.1.2.3",
    port: 65535,
  });
  assert.deepEqual(parseUniversalAddress("::.0.0"), {
    hostname: "::",
    port: 0,
  });
  assert.deepEqual(parseUniversalAddress("::ffff:1.2.3.4.1.0"), {
    hostname: "::ffff:1.2.3.4",
    port: 256,
  });
  for (
    const bad of [
      "",
      "1.2.3.4",
      "1.2.3.4.256.1",
      "1.2.3.4.1.x",
      "host.0.1",
      "1.2.3.4.5.0.1",
      ":::1.0.1",
    ]
  ) {
    assert.equal(parseUniversalAddress(bad), undefined, bad);
  }
  assert.equal(
    transportToUniversal(universalToTransport("::ffff:1.2.3.4.1.0")!.buf),
    "::ffff:102:304.1.0",
  );
  assert.equal(
    transportToUniversal(universalToTransport("1:2:3:4:5:6:7:8.0.1")!.buf),
    "1:2:3:4:5:6:7:8.0.1",
  );
  assert.equal(
    transportToUniversal(universalToTransport("1:0:0:4:0:0:0:8.0.1")!.buf),
    "1:0:0:4::8.0.1",
  );
  // A family in network byte order is understood too.
  assert.equal(
    transportToUniversal(new Uint8Array([0, 2, 0, 111, 127, 0, 0, 1])),
    "127.0.0.1.0.111",
  );
});

Deno.test("portmap codecs: lists round-trip and refuse overruns", () => {
  const maps = [
    { program: 1, version: 2, protocol: 6, port: 3 },
    { program: 4294967295, version: 0, protocol: 17, port: 65535 },
  ];
  const w = new XdrWriter();
  encodeMappingList(w, maps);
  assert.deepEqual(decodeMappingList(new XdrReader(w.bytes())), maps);
  const cut = w.bytes().subarray(0, w.length - 4);
  assert.throws(() => decodeMappingList(new XdrReader(cut)), XdrError);
  const rpcb = [{
    program: 1,
    version: 1,
    netid: "tcp",
    addr: "1.2.3.4.0.1",
    owner: "o",
  }];
  const w2 = new XdrWriter();
  encodeRpcbList(w2, rpcb);
  assert.deepEqual(decodeRpcbList(new XdrReader(w2.bytes())), rpcb);
  // A netid length far past the end.
  const bad = new XdrWriter().bool(true).u32(1).u32(1).u32(0x7fffffff).bytes();
  assert.throws(() => decodeRpcbList(new XdrReader(bad)), XdrError);
});
