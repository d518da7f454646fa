import { MemFs, ReadOnlyFs } from "../../vfs/mod.ts";
import { conformance } from "./conformance.ts";

conformance("readonly", () => {
  const inner = new MemFs();
  return Promise.resolve({
    fs: new ReadOnlyFs(inner),
    setup: inner,
    close: () => Promise.resolve(),
  });
}, { readOnly: true });
