/**
 * netfs server (under construction).
 *
 * @module
 */
export {};
