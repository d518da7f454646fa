import assert from "node:assert/strict";
import { ExportTable } from "../../../server/exports.ts";
import { PseudoFs } from "../../../server/nfs4/pseudo.ts";
import { MemFs } from "../../../vfs/memfs.ts";

const all = () => true;

function table(...paths: string[]): ExportTable {
  return new ExportTable(paths.map((path) => ({ path, fs: new MemFs() })));
}

Deno.test("pseudo: an export at / is the root itself", () => {
  const t = table("/");
  const p = new PseudoFs(t);
  assert.equal(p.root, undefined);
  const root = p.rootObject();
  assert.equal(root.kind, "export");
  assert.equal(root.kind === "export" && root.exp, t.exports[0]);
});

Deno.test("pseudo: prefixes of export paths become pseudo directories", () => {
  const t = table("/srv/a", "/srv/b", "/data");
  const p = new PseudoFs(t);
  assert.ok(p.root);
  assert.deepEqual(p.entries(p.root, all).map((e) => e.name), ["data", "srv"]);
  const srv = p.lookup(p.root, "srv", all);
  assert.equal(srv?.kind, "pseudo");
  if (srv?.kind !== "pseudo") return;
  assert.equal(srv.node.path, "/srv");
  const a = p.lookup(srv.node, "a", all);
  assert.equal(a?.kind === "export" && a.exp.path, "/srv/a");
  assert.equal(p.lookup(srv.node, "c", all), undefined);
});

Deno.test("pseudo: directories leading only to hidden exports are not visible", () => {
  const t = table("/srv/a", "/data");
  const p = new PseudoFs(t);
  const onlyData = (e: { path: string }) => e.path === "/data";
  assert.deepEqual(p.entries(p.root!, onlyData).map((e) => e.name), ["data"]);
  assert.equal(p.lookup(p.root!, "srv", onlyData), undefined);
});

Deno.test("pseudo: handles decode back to their node and reject garbage", () => {
  const p = new PseudoFs(table("/srv/a"));
  const srv = p.lookup(p.root!, "srv", all);
  assert.ok(srv?.kind === "pseudo");
  assert.equal(p.decode(srv.node.fh), srv.node);
  assert.equal(p.decode(p.root!.fh), p.root);
  const bad = srv.node.fh.slice();
  bad[15] = 1;
  assert.equal(p.decode(bad), "badhandle");
  assert.equal(p.decode(new Uint8Array(3)), "badhandle");
  const other = new PseudoFs(table("/x/a"));
  const x = other.lookup(other.root!, "x", all);
  assert.ok(x?.kind === "pseudo");
  assert.equal(
    p.decode(x.node.fh),
    "stale",
    "a node of another table is stale",
  );
});

Deno.test("pseudo: handles are the same for the same export table", () => {
  const a = new PseudoFs(table("/srv/a"));
  const b = new PseudoFs(table("/srv/a"));
  assert.deepEqual(a.root!.fh, b.root!.fh);
});

Deno.test("pseudo: an export under another export's root is nested there", () => {
  const t = table("/", "/data", "/data/deep/x");
  const p = new PseudoFs(t);
  assert.equal(p.nestedExport(t.exports[0], "data"), t.exports[1]);
  assert.deepEqual(p.parentOfExport(t.exports[1]), {
    kind: "export",
    exp: t.exports[0],
    fileid: t.exports[0].root,
  });
  assert.equal(p.parentOfExport(t.exports[0]), undefined);
  // Under a real directory of /data: not offered.
  assert.equal(p.nestedExports(t.exports[1]).size, 0);
});

Deno.test("pseudo: LOOKUPP from an export root reaches its pseudo parent", () => {
  const t = table("/srv/a");
  const p = new PseudoFs(t);
  const up = p.parentOfExport(t.exports[0]);
  assert.equal(up?.kind === "pseudo" && up.node.path, "/srv");
  const mounted = p.mountedOnFileid(t.exports[0]);
  const srv = p.lookup(p.root!, "srv", all);
  assert.ok(srv?.kind === "pseudo");
  assert.equal(p.entries(srv.node, all)[0].fileid, mounted);
  assert.notEqual(mounted, srv.node.fileid);
});
