// A loop-mounted ext4 image for tests that must run on ext4 as well as on
// tmpfs and whatever the temporary directory is on (xattrs, holes, copies
// and inode reuse behave per file system). Needs root, mkfs.ext4 and loop
// devices; otherwise the reason it cannot be had, for the caller to print.

/** An ext4 file system of `mib` MiB mounted on a new temporary directory. */
export async function loopExt4(mib = 64): Promise<
  { path: string; remove(): Promise<void> } | string
> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "loop mounting needs root";
  const work = await Deno.makeTempDir({ prefix: "netfs-ext4-" });
  const image = `${work}/fs.img`;
  const path = `${work}/mnt`;
  const run = async (cmd: string, args: string[]) => {
    const r = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return r.success
      ? ""
      : `${cmd} failed: ${
        new TextDecoder().decode(r.stderr).trim() || `exit ${r.code}`
      }`;
  };
  await Deno.mkdir(path);
  const failed = await run("mkfs.ext4", ["-q", "-F", image, `${mib}M`]) ||
    await run("mount", ["-o", "loop,user_xattr", image, path]);
  if (failed) {
    await Deno.remove(work, { recursive: true });
    return failed;
  }
  return {
    path,
    async remove() {
      await run("umount", [path]);
      await Deno.remove(work, { recursive: true });
    },
  };
}
