import { LocalFs, type LocalFsEngine } from "../../vfs/localfs.ts";
import { conformance } from "./conformance.ts";

function subject(engine: LocalFsEngine) {
  return async () => {
    const dir = await Deno.makeTempDir({ prefix: "netfs-localfs-" });
    const fs = await LocalFs.open(dir, { engine });
    if (fs.engine !== engine) throw new Error(`Engine ${fs.engine} runs`);
    // Make the root look like a fresh memfs root regardless of the host umask.
    await Deno.chmod(dir, 0o755);
    return {
      fs,
      close: async () => {
        await fs.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  };
}

conformance("localfs portable", subject("portable"), { mknod: false });
// Native (Linux): mknod makes fifos and sockets, and devices as root.
if (Deno.build.os === "linux") {
  conformance("localfs native", subject("native"), {
    devices: Deno.uid() === 0,
  });
}
