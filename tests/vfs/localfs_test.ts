import { LocalFs } from "../../vfs/localfs.ts";
import { conformance } from "./conformance.ts";

conformance("localfs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netfs-localfs-" });
  const fs = await LocalFs.open(dir);
  // Make the root look like a fresh memfs root regardless of the host umask.
  await Deno.chmod(dir, 0o755);
  return {
    fs,
    close: async () => {
      await fs.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}, { mknod: false });
