/**
 * The server shell: configuration, wiring a replica to the network, storage and clock, logs.
 * @module
 */
export * from "./server.ts";
export * from "./log.ts";
export * from "./config.ts";
