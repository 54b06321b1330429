/**
 * Storage (REFERENCE §8): the boundary through which the replica makes txns durable, and its
 * implementations: the file store (txn log with group commit, snapshots, recovery, retention), the
 * in-memory store, and the simulator's store with crash semantics. Format: docs/STORAGE.md.
 * @module
 */
export * from "./types.ts";
export * from "./file_store.ts";
export * from "./memory_store.ts";
export * from "./sim_store.ts";
export * from "./inspect.ts";
