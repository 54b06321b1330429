/**
 * ZAB (REFERENCE §7): the pure protocol core of the ensemble — fast leader election now;
 * discovery, synchronization and broadcast next. No sockets, no clock, no randomness: events in,
 * actions out, hosted by the server shell or the deterministic simulator (src/sim).
 * @module
 */
export * from "./types.ts";
