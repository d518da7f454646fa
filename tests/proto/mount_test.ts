import assert from "node:assert/strict";
import { XdrError, XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import * as M from "../../proto/mount.ts";

Deno.test("proto/mount: round trips and truncations", () => {
  // deno-lint-ignore no-explicit-any
  const cases: [
    (w: XdrWriter, v: any) => void,
    (r: XdrReader) => unknown,
    unknown,
  ][] = [
    [M.encodeDirpath, M.decodeDirpath, "/data"],
    [M.encodeMntRes, M.decodeMntRes, {
      status: 0,
      handle: new Uint8Array(20).fill(3),
      flavors: [1, 0],
    }],
    [M.encodeMntRes, M.decodeMntRes, { status: M.MountStatus.ACCES }],
    [M.encodeMountList, M.decodeMountList, [{ hostname: "h", directory: "/" }, {
      hostname: "::1",
      directory: "/x",
    }]],
    [M.encodeMountList, M.decodeMountList, []],
    [M.encodeExports, M.decodeExports, [{ dir: "/", groups: [] }, {
      dir: "/d",
      groups: ["a", "10.0.0.0/8"],
    }]],
  ];
  for (const [enc, dec, v] of cases) {
    const w = new XdrWriter();
    enc(w, v);
    const bytes = w.bytes().slice();
    const r = new XdrReader(bytes);
    assert.deepEqual(dec(r), v);
    r.end();
    for (let n = 0; n < bytes.length; n += 4) {
      assert.throws(() => dec(new XdrReader(bytes.subarray(0, n))), XdrError);
    }
  }
  const long = new XdrWriter().string("x".repeat(1025)).bytes();
  assert.throws(() => M.decodeDirpath(new XdrReader(long)), XdrError);
});
