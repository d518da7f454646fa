import assert from "node:assert/strict";
import config from "../../deno.json" with { type: "json" };
import { netfs } from "./_cli.ts";

const VERBS = [
  [],
  ["serve"],
  ["serve", "nfs"],
  ["serve", "nbd"],
  ["nbd"],
  ["nbd", "list"],
  ["nbd", "info"],
  ["nbd", "copy"],
  ["ls"],
  ["cat"],
  ["cp"],
  ["stat"],
  ["mkdir"],
  ["rm"],
  ["mv"],
  ["showmount"],
  ["rpcinfo"],
  ["nbd", "attach"],
  ["nbd", "loopback"],
];

for (const verb of VERBS) {
  const name = ["netfs", ...verb].join(" ");
  Deno.test(`cli: ${name} --help prints usage with examples and exits 0`, async () => {
    const r = await netfs([...verb, "--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: netfs/);
    assert.match(r.stdout, /Examples:\n {2}netfs /, "the help shows examples");
    assert.equal(r.stderr, "");
  });
}

Deno.test("cli: netfs help serve nfs is the same text as netfs serve nfs --help", async () => {
  const a = await netfs(["help", "serve", "nfs"]);
  const b = await netfs(["serve", "nfs", "-h"]);
  assert.equal(a.code, 0);
  assert.equal(a.stdout, b.stdout);
});

Deno.test("cli: --version prints the version in deno.json", async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await netfs([flag]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `netfs ${config.version}\n`);
  }
});

Deno.test("cli: no verb prints the help on standard error and exits 2", async () => {
  const r = await netfs([]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /Usage: netfs VERB/);
});
