/**
 * ZAB (REFERENCE §7, docs/ZAB.md): the pure protocol core of the ensemble — fast leader election
 * and the peer that runs discovery, synchronization and broadcast. No sockets, no clock, no
 * randomness: events in, actions out, hosted by the server shell or the simulator (src/sim).
 * @module
 */
export * from "./types.ts";
export * from "./election.ts";
export * from "./messages.ts";
export * from "./peer.ts";
