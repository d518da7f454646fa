// Run by localfs_restart_test.ts with --allow-read=DIR --allow-write=DIR
// only: creates a few objects and prints their FileIds as JSON.
import { isVfsError, LocalFs, ROOT } from "../../vfs/mod.ts";

const dir = Deno.args[0];
const fs = await LocalFs.open(dir);
const d = await fs.mkdir(ROOT, fs.root, "scoped");
const f = await fs.create(ROOT, d.fileid, "file.txt");
await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode("scoped"), "file");
let symlink = "created";
try {
  await fs.symlink(ROOT, d.fileid, "ln", "file.txt");
} catch (e) {
  symlink = isVfsError(e) ? `${e.code}: ${e.message}` : String(e);
}
const stats = await fs.statfs(ROOT, fs.root);
await fs.close();
console.log(JSON.stringify({
  root: fs.root,
  dir: d.fileid,
  file: f.fileid,
  symlink,
  totalBytes: stats.totalBytes,
}));
