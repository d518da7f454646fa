// Run by localfs_permissions_test.ts with scoped permissions: opens a
// LocalFs on Deno.args[0] (stateDir false when Deno.args[1] is "none") and
// prints the engine, or the error's code and message, as JSON.
import { isVfsError, LocalFs } from "../../vfs/mod.ts";

try {
  const fs = await LocalFs.open(Deno.args[0], {
    stateDir: Deno.args[1] === "none" ? false : undefined,
  });
  console.log(JSON.stringify({ engine: fs.engine }));
  await fs.close();
} catch (e) {
  console.log(JSON.stringify({
    code: isVfsError(e) ? e.code : (e as Error).name,
    message: (e as Error).message,
  }));
}
