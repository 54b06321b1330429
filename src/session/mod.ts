/**
 * Sessions (REFERENCE §3): the session table with bucketed, tick-based expiry. Pure.
 * @module
 */
export * from "./session_table.ts";
