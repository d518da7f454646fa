/**
 * Regenerates every `_gen.ts` file from its `.x` specification, or checks
 * that the committed files are current.
 *
 * ```sh
 * deno task gen         # rewrite the generated files
 * deno task gen:check   # regenerate in memory; exit 1 on any difference
 * ```
 *
 * The jobs (spec, output, 64-bit choices, exclusions) are in
 * `tools/xdrgen/config.ts`. Output goes through `deno fmt`, so the
 * generated files are formatted like the rest of the repository.
 *
 * @module
 */

import { type Job, JOBS } from "./config.ts";
import { emitTs } from "./emit.ts";
import { Model } from "./model.ts";
import { parseXdr } from "./parse.ts";

const ROOT = new URL("../../", import.meta.url);

/** Formats TypeScript source with `deno fmt`, in memory. */
export async function formatTs(src: string): Promise<string> {
  const child = new Deno.Command("deno", {
    args: ["fmt", "--ext=ts", "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(src));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `deno fmt failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** The formatted output of one job, from the spec file on disk. */
export async function generate(job: Job): Promise<string> {
  const src = await Deno.readTextFile(new URL(job.spec, ROOT));
  const model = new Model(parseXdr(src, job.spec), job.config);
  return await formatTs(emitTs(model, {
    xdrModule: job.xdrModule,
    specPath: job.spec,
    task: "deno task gen",
    moduleDoc: job.moduleDoc,
  }));
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  let stale = 0;
  for (const job of JOBS) {
    const text = await generate(job);
    const path = new URL(job.out, ROOT);
    if (!check) {
      await Deno.writeTextFile(path, text);
      console.log(`xdrgen: wrote ${job.out}`);
      continue;
    }
    let current = "";
    try {
      current = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (current !== text) {
      console.error(
        `xdrgen: ${job.out} is stale: run \`deno task gen\` and commit it`,
      );
      stale++;
    }
  }
  if (check && stale === 0) {
    console.log(`xdrgen: ${JOBS.length} file(s) current`);
  }
  return stale === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
