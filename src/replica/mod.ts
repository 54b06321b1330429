/**
 * The replica: the pure, deterministic request pipeline (prepare -> order -> durable -> apply ->
 * respond + notify) over the tree, sessions and watches. Hosted by the server shell or a simulator.
 * @module
 */
export * from "./types.ts";
export * from "./replica.ts";
export { PendingChanges } from "./prepare.ts";
