/**
 * Watches (REFERENCE §4): the server's one-shot data and child watch tables and their triggers.
 * Pure; the replica decides when to trigger (at apply) and where the events go.
 * @module
 */
export * from "./watch_table.ts";
