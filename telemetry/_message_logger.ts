/**
 * The bridge from the servers' older `log: (message) => void` option to a
 * {@link Logger}: every level goes to the one function, fields dropped (the
 * messages sent this way already name their connection where they did
 * before loggers existed), so a caller of `log` sees the lines it always
 * saw. Servers send the events that are new with loggers (connections
 * opened and closed) only to a `logger` given as such.
 *
 * @module
 */

import type { Logger } from "./log.ts";

/** A logger that hands every message, at any level, to `write`. */
export function messageLogger(write: (message: string) => void): Logger {
  const one = (message: string) => write(message);
  return { error: one, warn: one, info: one, debug: one };
}
