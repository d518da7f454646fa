// One conformance suite for every FileSystem backend and wrapper. Each
// *_test.ts calls `conformance(name, factory, features)`; the same
// expectations hold for all of them, minus the features a backend declares
// it lacks. The cases are in _conformance_*.ts by area.
import type { FileSystem } from "../../vfs/mod.ts";
import { lentDataCases } from "./_lent_data.ts";
import { openHookCases } from "./_open_hooks.ts";
import { extraCases } from "./_conformance_extras.ts";
import { fileCases } from "./_conformance_files.ts";
import { findCases } from "./_conformance_find.ts";
import { permissionCases } from "./_conformance_permissions.ts";
import { readOnlySuite } from "./_conformance_readonly.ts";
import type { Features, Subject } from "./_conformance_shared.ts";
import { treeCases } from "./_conformance_tree.ts";

export type { Features, Subject };

/**
 * Registers the suite for one backend.
 *
 * @param name Shown in test names.
 * @param factory Makes a fresh, empty backend (root mode 0o777 is not assumed).
 * @param features What the backend supports.
 * @param register Registers one case (default: a Deno.test of its own); a
 *   caller with a setup to share (a mounted file system) collects the cases
 *   and runs them as steps.
 */
export function conformance(
  name: string,
  factory: () => Promise<Subject>,
  features: Features = {},
  register: (label: string, fn: () => Promise<void>) => void = Deno.test,
): void {
  const f = {
    ownership: true,
    mknod: true,
    devices: true,
    hardLinks: true,
    sparse: true,
    dirNlink: true,
    ...features,
  };
  const test = (label: string, fn: (fs: FileSystem) => Promise<void>) =>
    register(`${name}: ${label}`, async () => {
      const s = await factory();
      try {
        await fn(s.fs);
      } finally {
        await s.close();
      }
    });

  if (f.readOnly) {
    readOnlySuite(name, factory, f.openHooks ?? false);
    return;
  }
  openHookCases(test, f.openHooks ?? false);
  lentDataCases(test);

  fileCases(test, f);
  findCases(test);
  treeCases(test, f);
  permissionCases(test, f);
  extraCases(test, f, name);
}
