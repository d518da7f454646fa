// Run by memfs_capacity_test.ts without --allow-sys: prints the capacity a
// default MemFs reports.
import { MemFs, ROOT } from "../../vfs/mod.ts";

const fs = new MemFs();
console.log(JSON.stringify((await fs.statfs(ROOT, fs.root)).totalBytes));
