/**
 * netfs nbd (under construction).
 *
 * @module
 */
export {};
