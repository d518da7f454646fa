import assert from "node:assert/strict";
import { AllowList, LOOPBACK } from "../../net/allow.ts";

Deno.test("allow list: loopback default", () => {
  const a = new AllowList(LOOPBACK);
  assert.ok(a.allows("127.0.0.1"));
  assert.ok(a.allows("127.8.9.10"));
  assert.ok(a.allows("::1"));
  assert.ok(a.allows("::ffff:127.0.0.1"));
  assert.ok(!a.allows("10.0.0.1"));
  assert.ok(!a.allows("::2"));
  assert.ok(!a.allows("not an address"));
});

Deno.test("allow list: CIDRs of both families", () => {
  const a = new AllowList(["10.213.0.0/24", "fd00::/8", "192.0.2.7"]);
  assert.ok(a.allows("10.213.0.2"));
  assert.ok(!a.allows("10.213.1.2"));
  assert.ok(a.allows("fd12:3456::1"));
  assert.ok(!a.allows("fe80::1"));
  assert.ok(a.allows("192.0.2.7"));
  assert.ok(!a.allows("192.0.2.8"));
  assert.ok(new AllowList(["*"]).allows("203.0.113.9"));
  assert.throws(() => new AllowList(["10.0.0.0/33"]), /prefix/);
  assert.throws(() => new AllowList(["bogus"]), /Not an IP/);
  assert.throws(() => new AllowList(["1::2::3"]), /Not an IP/);
});
