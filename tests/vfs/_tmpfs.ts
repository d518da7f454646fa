// A private tmpfs for tests that must run on tmpfs as well as on the disk
// (xattrs, holes, copies behave per file system). Needs root and the mount
// command; `undefined` where neither is available, and the caller says so.

/** A tmpfs mounted on a new temporary directory, or undefined. */
export async function privateTmpfs(): Promise<
  { path: string; remove(): Promise<void> } | undefined
> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return undefined;
  const path = await Deno.makeTempDir({ prefix: "netfs-tmpfs-" });
  const r = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", path],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!r.success) {
    await Deno.remove(path);
    return undefined;
  }
  return {
    path,
    async remove() {
      await new Deno.Command("umount", { args: ["-l", path] }).output();
      await Deno.remove(path, { recursive: true });
    },
  };
}
