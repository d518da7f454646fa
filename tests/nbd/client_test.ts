// Our client against our server: handshake questions, every command,
// extended headers, and STARTTLS with a certificate made by openssl.
import assert from "node:assert/strict";
import { connectNbd, NbdHandshake, NbdOptionError } from "../../nbd/client.ts";
import { NbdError } from "../../nbd/errors.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { Info, Rep, State, TxFlag } from "../../nbd/protocol.ts";
import { type NbdTlsOptions, serveNbd } from "../../nbd/server.ts";
import { makeCerts } from "./_peers.ts";

function server(tls?: NbdTlsOptions) {
  return serveNbd({
    port: 0,
    exports: [
      {
        name: "mem",
        device: new MemoryDevice(16 << 20),
        description: "sixteen",
      },
      { name: "tiny", device: new MemoryDevice(512) },
    ],
    defaultExport: "mem",
    tls,
  });
}

Deno.test("client: list, info, meta contexts, abort", async () => {
  const s = server();
  const h = await NbdHandshake.connect({ port: s.addr.port });
  assert.ok(h.noZeroes);
  assert.deepEqual(await h.list(), [
    { name: "mem", description: "sixteen" },
    { name: "tiny", description: "" },
  ]);
  const info = await h.info("");
  assert.equal(info.name, "mem");
  assert.equal(info.size, 16 << 20);
  assert.equal(info.description, "sixteen");
  await assert.rejects(
    h.info("nope"),
    (e) => e instanceof NbdOptionError && e.reply === Rep.ERR_UNKNOWN,
  );
  await assert.rejects(
    h.listMetaContexts("mem"),
    NbdOptionError,
    "meta contexts need structured replies",
  );
  assert.ok(await h.structuredReplies());
  assert.deepEqual(await h.listMetaContexts("mem"), ["base:allocation"]);
  assert.deepEqual([...await h.setMetaContexts("mem", ["base:allocation"])], [[
    "base:allocation",
    1,
  ]]);
  await h.abort();
  await s.shutdown();
});

Deno.test("client: every command, with compact and extended headers", async () => {
  const s = server();
  for (const extendedHeaders of [false, true]) {
    const d = await connectNbd({
      port: s.addr.port,
      export: "mem",
      extendedHeaders,
    });
    assert.equal(d.extended, extendedHeaders);
    assert.ok(d.hasAllocation);
    assert.ok(d.flags & TxFlag.SEND_DF);
    const blob = new Uint8Array(3 << 20).map((_, i) => (i * 7) & 0xff);
    await d.writeAt(1 << 20, blob, { fua: true });
    assert.deepEqual(await d.readAt(1 << 20, 3 << 20), blob);
    await d.cache(0, 1 << 20);
    await d.flush();
    await d.trim(1 << 20, 1 << 20);
    await d.writeZeroes(2 << 20, 4096, { noHole: true, fua: true });
    await d.writeZeroes(3 << 20, 4096, { fast: true });
    const bs = (await d.blockStatus(0, 16 << 20)).get("base:allocation")!;
    // Partial zeroing leaves chunks allocated: one data extent from 2 to 4 MiB.
    assert.deepEqual(bs, [
      { length: 2 << 20, flags: State.HOLE | State.ZERO },
      { length: 2 << 20, flags: 0 },
      { length: 12 << 20, flags: State.HOLE | State.ZERO },
    ]);
    const back = await d.readAt(2 << 20, 2 << 20);
    assert.ok(back.subarray(0, 4096).every((x) => x === 0));
    assert.deepEqual(
      back.subarray(4096, 1 << 20),
      blob.subarray((1 << 20) + 4096, 2 << 20),
    );
    await assert.rejects(
      d.readAt(16 << 20, 1),
      (e) => e instanceof NbdError && e.code === "EINVAL",
    );
    // Many in flight from one caller.
    const all = await Promise.all(
      Array.from({ length: 300 }, (_, i) => d.readAt(i * 4096, 4096)),
    );
    assert.equal(all.length, 300);
    await d.close();
    await d.close(); // idempotent
    await assert.rejects(d.readAt(0, 1), /closed/);
  }
  await s.shutdown();
});

Deno.test("client: legacy EXPORT_NAME and GO without block size request", async () => {
  const s = server();
  const h = await NbdHandshake.connect({ port: s.addr.port });
  const d = await h.exportName("tiny");
  assert.equal(d.size, 512);
  assert.equal(d.structured, false);
  await d.writeAt(0, new Uint8Array(512).fill(3));
  assert.equal((await d.readAt(511, 1))[0], 3);
  await d.close();
  const h2 = await NbdHandshake.connect({ port: s.addr.port });
  const d2 = await h2.go("tiny", { requests: [] });
  assert.equal(d2.blockSize?.min, 1, "block sizes are volunteered");
  await d2.close();
  await s.shutdown();
});

Deno.test("client: STARTTLS in optional and required modes", async () => {
  const certs = await makeCerts();
  try {
    for (const mode of ["optional", "required"] as const) {
      const s = server({ mode, cert: certs.cert, key: certs.key });
      const h = await NbdHandshake.connect({ port: s.addr.port });
      if (mode === "required") {
        await assert.rejects(
          h.list(),
          (e) => e instanceof NbdOptionError && e.reply === Rep.ERR_TLS_REQD,
        );
      } else {
        assert.equal(
          (await h.list()).length,
          2,
          "optional: plaintext options work",
        );
        assert.ok(await h.structuredReplies());
      }
      await h.startTls({ caCerts: [certs.ca], hostname: "localhost" });
      assert.equal(h.structured, false, "STARTTLS forgets earlier negotiation");
      await assert.rejects(
        h.startTls({ caCerts: [certs.ca] }),
        /Option 5 failed/,
      );
      assert.equal((await h.list()).length, 2);
      assert.ok(await h.structuredReplies());
      await h.setMetaContexts("mem", ["base:allocation"]);
      const d = await h.go("mem", { requests: [Info.BLOCK_SIZE] });
      const data = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
      await d.writeAt(0, data);
      assert.deepEqual(await d.readAt(0, 1 << 20), data);
      assert.equal(
        (await d.blockStatus(0, 1 << 20)).get("base:allocation")![0].flags,
        0,
      );
      await d.close();
      // connectNbd does the same in one call; a wrong CA fails the handshake.
      const d2 = await connectNbd({
        port: s.addr.port,
        export: "mem",
        tls: { caCerts: [certs.ca] },
      });
      assert.deepEqual(await d2.readAt(0, 16), data.subarray(0, 16));
      await d2.close();
      await assert.rejects(
        connectNbd({ port: s.addr.port, export: "mem", tls: { caCerts: [] } }),
      );
      await s.shutdown();
    }
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
