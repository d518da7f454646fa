// The server's MessageWriter holds replies back while corked (the replies to
// the requests of one socket read go out in one write), never holds them
// past an uncork, and never leaves idle() or waitBelow() waiting on a cork.
import assert from "node:assert/strict";
import { MessageWriter, type Stream } from "../../nbd/_stream.ts";

/** A stream whose writes complete only when the test says so. */
class ManualStream implements Stream {
  writes: Uint8Array[] = [];
  #pending: (() => void)[] = [];
  read(): Promise<number | null> {
    return Promise.resolve(null);
  }
  write(p: Uint8Array): Promise<number> {
    this.writes.push(p.slice());
    return new Promise((r) => this.#pending.push(() => r(p.length)));
  }
  /** Completes the oldest write still pending. */
  complete(): void {
    this.#pending.shift()?.();
  }
  close(): void {}
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const msg = (n: number) => new Uint8Array(16).fill(n);

Deno.test("reply batching: corked messages go out in one write at the uncork", async () => {
  const s = new ManualStream();
  const w = new MessageWriter(s);
  w.cork();
  w.send(msg(1));
  w.send(msg(2));
  w.sendParts([msg(3), msg(4)]);
  await tick();
  assert.equal(s.writes.length, 0);
  assert.equal(w.pendingCount, 4);
  w.uncork();
  assert.equal(s.writes.length, 1);
  assert.deepEqual(
    [...s.writes[0]],
    [...msg(1), ...msg(2), ...msg(3), ...msg(4)],
  );
  s.complete();
  await w.idle();
  assert.equal(w.pendingCount, 0);
  assert.equal(w.bytesOut, 64);
});

Deno.test("reply batching: a cork during a write holds what is queued after it", async () => {
  const s = new ManualStream();
  const w = new MessageWriter(s);
  w.send(msg(1));
  assert.equal(s.writes.length, 1);
  w.cork();
  w.send(msg(2));
  w.send(msg(3));
  s.complete();
  await tick();
  assert.equal(s.writes.length, 1, "the pump stops while corked");
  w.uncork();
  assert.equal(s.writes.length, 2);
  assert.deepEqual([...s.writes[1]], [...msg(2), ...msg(3)]);
  s.complete();
  await w.idle();
});

Deno.test("reply batching: idle() and waitBelow() uncork instead of waiting forever", async () => {
  const s = new ManualStream();
  const w = new MessageWriter(s);
  w.cork();
  w.send(msg(1));
  w.send(msg(2));
  const below = w.waitBelow(0, 0);
  assert.equal(s.writes.length, 1, "waitBelow uncorks");
  s.complete();
  await below;
  w.cork();
  w.send(msg(3));
  const idle = w.idle();
  assert.equal(s.writes.length, 2, "idle uncorks");
  s.complete();
  await idle;
  assert.equal(w.bytesOut, 48);
});
