// CallbackFs lives in ./callback/: the adapter in ./callback/mod.ts, the
// handler table in ./callback/handlers.ts and the private parts beside them.
// This path keeps existing imports working.
export * from "./callback/mod.ts";
