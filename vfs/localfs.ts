// LocalFs lives in ./localfs/: the facade in ./localfs/mod.ts (its header
// states the confinement guarantees and limits) and the engine's parts
// beside it. This path keeps existing imports working.
export * from "./localfs/mod.ts";
