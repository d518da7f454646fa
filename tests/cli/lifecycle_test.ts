import assert from "node:assert/strict";
import { Served } from "./_cli.ts";

const CHILD = new URL("./_lifecycle_child.ts", import.meta.url).pathname;

function start(timeoutMs: number, mode = ""): Served {
  return new Served(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", CHILD, String(timeoutMs), mode],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
}

/** Waits until the child listens for signals. */
async function ready(s: Served) {
  await s.waitFor(/^ready$/m, 20_000);
  assert.equal(s.stderr, "");
}

Deno.test("cli lifecycle: calls still in flight at the timeout get their connections closed, then exit 0", async () => {
  const s = start(300);
  await ready(s);
  s.kill("SIGTERM");
  const end = await s.finished();
  assert.equal(end.code, 0, end.stderr);
  assert.equal(end.stdout, "ready\ndisconnectAll\nclosed\nexit 0\n");
  assert.match(end.stderr, /Received SIGTERM: stopping/);
  assert.match(
    end.stderr,
    /WARN +Calls still in flight after 300 ms: closing their connections/,
  );
});

Deno.test("cli lifecycle: a second signal exits at once", async () => {
  const s = start(60_000);
  await ready(s);
  s.kill("SIGINT");
  await s.waitFor(/Received SIGINT: stopping/, 10_000, "stderr");
  const t0 = Date.now();
  s.kill("SIGTERM");
  const end = await s.finished();
  assert.ok(Date.now() - t0 < 5000, "no waiting for the 60 s timeout");
  assert.equal(end.code, 143, "128 + SIGTERM");
  assert.equal(end.stdout, "ready\n", "nothing was closed or finished");
  assert.match(end.stderr, /WARN +Received SIGTERM again: exiting at once/);
});

Deno.test("cli lifecycle: a failed shutdown (a flush) still closes, then is thrown (exit 1)", async () => {
  const s = start(60_000, "fail");
  await ready(s);
  s.kill("SIGTERM");
  const end = await s.finished();
  assert.equal(end.code, 1, end.stderr);
  assert.equal(end.stdout, "ready\nclosed\nthrew Flush failed: test\n");
});
