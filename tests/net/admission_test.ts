import assert from "node:assert/strict";
import { Admission } from "../../net/admission.ts";

const peer = (hostname: string): Deno.NetAddr => ({
  transport: "tcp",
  hostname,
  port: 40000,
});

Deno.test("admission: loopback only by default", () => {
  const gate = new Admission({});
  assert.equal(gate.refusal(peer("127.0.0.1"), 0), undefined);
  assert.equal(gate.refusal(peer("::1"), 0), undefined);
  assert.equal(
    gate.refusal(peer("192.0.2.1"), 0),
    "not in the allowed clients",
  );
  assert.equal(gate.maxConnections, 1024);
});

Deno.test("admission: the allow list first, then the hook, then the limit", () => {
  const asked: string[] = [];
  const gate = new Admission({
    allow: ["10.0.0.0/8"],
    accept: (r) => {
      asked.push(r.hostname);
      return r.hostname !== "10.0.0.9";
    },
    maxConnections: 2,
  });
  assert.equal(
    gate.refusal(peer("127.0.0.1"), 0),
    "not in the allowed clients",
  );
  assert.deepEqual(asked, [], "the hook never sees a peer the list refused");
  assert.equal(gate.refusal(peer("10.0.0.9"), 0), "accept hook said no");
  assert.equal(gate.refusal(peer("10.0.0.1"), 1), undefined);
  assert.equal(gate.refusal(peer("10.0.0.1"), 2), "too many connections: 2");
});

Deno.test("admission: a throwing hook refuses, saying why", () => {
  const gate = new Admission({
    accept: () => {
      throw new Error("lookup failed");
    },
  });
  assert.equal(
    gate.refusal(peer("127.0.0.1"), 0),
    "accept hook failed: lookup failed",
  );
});
