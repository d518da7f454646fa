// MemFs lives in ./memfs/: the facade in ./memfs/mod.ts (its header names
// the private parts beside it). This path keeps existing imports working.
export * from "./memfs/mod.ts";
