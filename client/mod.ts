/**
 * netfs client (under construction).
 *
 * @module
 */
export {};
