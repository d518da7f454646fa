import assert from "node:assert/strict";
import { ipv4Bytes, ipv6Bytes } from "../../net/address.ts";

Deno.test("ipv4Bytes: dotted quads at the edges", () => {
  assert.deepEqual(ipv4Bytes("0.0.0.0"), new Uint8Array(4));
  assert.deepEqual(ipv4Bytes("255.255.255.255"), new Uint8Array(4).fill(255));
  for (
    const bad of [
      "256.0.0.1",
      "1.2.3",
      "1.2.3.4.5",
      "1.2.3.",
      "1.2.3.-4",
      "01234.1.1.1",
      "",
      "a.b.c.d",
    ]
  ) {
    assert.equal(ipv4Bytes(bad), undefined, `not an IPv4 address: ${bad}`);
  }
});

Deno.test("ipv6Bytes: compressed, full and IPv4-tailed forms", () => {
  assert.deepEqual(ipv6Bytes("::"), new Uint8Array(16));
  const one = new Uint8Array(16);
  one[15] = 1;
  assert.deepEqual(ipv6Bytes("::1"), one);
  assert.deepEqual(ipv6Bytes("0:0:0:0:0:0:0:1"), one);
  assert.deepEqual(
    ipv6Bytes("fd00::ffff:10.0.0.1")?.subarray(10),
    new Uint8Array([0xff, 0xff, 10, 0, 0, 1]),
  );
  assert.equal(ipv6Bytes("FE80::AB")?.[15], 0xab, "hex digits in either case");
});

Deno.test("ipv6Bytes: anything else is undefined, never an exception", () => {
  for (
    const bad of [
      "1::2::3",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7::8",
      "12345::",
      "::g",
      "[::1]",
      "fe80::1%eth0",
      "::1.2.3.256",
      "127.0.0.1",
      "",
    ]
  ) {
    assert.equal(ipv6Bytes(bad), undefined, `not an IPv6 address: ${bad}`);
  }
});
