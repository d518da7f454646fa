// The `netfs` NFS client verbs, run as a user runs them, against
// nfs-ganesha (VFS FSAL over a temporary folder): the scenario of
// tests/cli/_verbs.ts, as against `netfs serve nfs`. rpcinfo is left out:
// ganesha's rpcbind here is a private stand-in on a unix socket (see
// _ganesha.ts), which no TCP client can reach. Skipped, saying why, where
// ganesha cannot run.
import { exerciseVerbs } from "../cli/_verbs.ts";
import { ganeshaMissing, startGanesha } from "./_ganesha.ts";

const missing = ganeshaMissing("VFS");
if (missing) console.log(`cli_verbs_ganesha_test: skipped: ${missing}`);

Deno.test({
  name: "ganesha: every netfs NFS client verb but rpcinfo against nfs-ganesha",
  ignore: missing !== null,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "netfs-ganesha-export-" });
    const scratch = await Deno.makeTempDir();
    await Deno.chmod(dir, 0o755);
    const g = await startGanesha("VFS", dir);
    try {
      await exerciseVerbs(t, {
        base: g.url,
        disk: dir,
        scratch,
        exportPath: dir,
        mountArgs: ["127.0.0.1", "--port", String(g.mountPort)],
      });
    } catch (e) {
      console.log(await g.log());
      throw e;
    } finally {
      await g.stop();
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(scratch, { recursive: true });
    }
  },
});
