/**
 * Storage (REFERENCE §8): the boundary through which the replica makes txns durable, and its
 * implementations. This release has the in-memory store; the file store is the next step.
 * @module
 */
export * from "./types.ts";
export * from "./memory_store.ts";
export * from "./sim_store.ts";
export * from "./inspect.ts";
