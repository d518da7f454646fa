// The transmission phase's answers without a promise: a WRITE received
// straight into device memory, a READ answered from a view of it (copied
// after its header into a pooled buffer when short), in each reply shape.
import assert from "node:assert/strict";
import { readNow, writeTarget, written } from "../../nbd/_commands.ts";
import { COPIED_READ, viewReply } from "../../nbd/_replies.ts";
import { BufferPool } from "../../nbd/_stream.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { Cmd, CmdFlag } from "../../nbd/protocol.ts";
import { bytesOf, req, SHAPES, tx } from "./_commands_util.ts";

Deno.test("commands: reads and writes in place, without a promise when possible", async () => {
  const dev = new MemoryDevice(1 << 20);
  for (const shape of SHAPES) {
    const t = tx(shape, dev);
    const target = writeTarget(t, req(Cmd.WRITE, 100, 5));
    assert.ok(target, "a view of device memory");
    target.set([104, 101, 108, 108, 111]);
    const pool = new BufferPool();
    const ok = written(t, req(Cmd.WRITE, 100, 5), pool);
    assert.ok(!(ok instanceof Promise), "no FUA: answered at once");
    assert.equal(
      !(ok instanceof Uint8Array) && ok.pooled === true,
      shape !== "extended",
      "a simple reply in a pooled buffer",
    );
    const fua = written(t, req(Cmd.WRITE, 100, 5, CmdFlag.FUA), pool);
    assert.ok(fua instanceof Promise, "FUA: after the flush");
    assert.deepEqual(bytesOf(await fua), bytesOf(ok));
    assert.equal(
      writeTarget(t, req(Cmd.WRITE, 1 << 20, 5)),
      undefined,
      "invalid: no view",
    );
    assert.equal(
      writeTarget(t, req(Cmd.WRITE, 0, 0)),
      undefined,
      "nothing to receive",
    );
    const small = req(Cmd.READ, 100, 5);
    const now = readNow(t, small, pool);
    assert.ok(now && !(now instanceof Uint8Array), "answered at once");
    const expected = bytesOf(viewReply(t, small, dev.view(100, 5)!));
    assert.deepEqual(bytesOf(now), expected, "viewReply's bytes");
    if (shape === "extended") {
      assert.ok(now.data, "extended: a header and a view");
    } else {
      assert.ok(now.pooled, "compact: the view copied in after the header");
      // A copy: a later write to the range does not change the reply.
      dev.view(100, 5, { write: true })!.fill(0);
      assert.deepEqual(bytesOf(now), expected, "unchanged");
      dev.view(100, 5, { write: true })!.set([104, 101, 108, 108, 111]);
    }
    assert.equal(new TextDecoder().decode(bytesOf(now).slice(-5)), "hello");
    const long = readNow(t, req(Cmd.READ, 0, COPIED_READ + 4), pool);
    assert.ok(long && !(long instanceof Uint8Array) && long.data, "a view");
    assert.equal(long.data.length, COPIED_READ + 4);
    assert.equal(
      readNow(t, req(Cmd.READ, 1 << 20, 5), pool),
      undefined,
      "invalid reads take the slow path",
    );
    assert.equal(readNow(t, req(Cmd.FLUSH), pool), undefined);
    assert.equal(
      readNow(t, req(Cmd.READ, 0, 65536), pool) === undefined,
      shape !== "simple",
      "long structured reads are checked for holes first",
    );
  }
});
