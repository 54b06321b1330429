/**
 * The znode tree (REFERENCE §1, §2, §5): paths, stat, ACL checks and the deterministic txn apply.
 * Pure: no I/O, no clock, no randomness. Everything above it (the request pipeline, the
 * ensemble, the simulator) relies on every replica reaching the same tree from the same txns.
 * @module
 */
export * from "./types.ts";
export * from "./path.ts";
export * from "./txn.ts";
export * from "./acl.ts";
export * from "./data_tree.ts";
