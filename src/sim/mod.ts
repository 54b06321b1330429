/**
 * The deterministic simulator (DESIGN.md): hosts N pure nodes (ZAB election now, replicas later)
 * on a virtual clock, a virtual network and virtual disks, all driven by one seed, and injects
 * faults the way TigerBeetle's VOPR does: crashes that lose unsynced writes, restarts from disk,
 * cut links, partitions and slow disks, with a per-seed ("swarm") mix. A checker runs after every
 * step; a failure prints `Replay: SIM_SEED=<seed> <command>`, and that seed replays the very same
 * run, step for step.
 *
 * - {@linkcode Simulator}: the clock, the event queue, the fault schedule, the hosted nodes.
 * - {@linkcode SimNode}, {@linkcode SimEvent}, {@linkcode SimAction}: the contract a hosted node
 *   implements (events in, actions out).
 * - {@linkcode Network}: FIFO lanes, connections that go down and up, partitions.
 * - {@linkcode SimDisk}, {@linkcode KvDisk}: durable-after-fsync disks with crash semantics.
 * - {@linkcode Rng}: the seeded random source; {@linkcode swarmFaults}: per-seed fault mixes.
 *
 * @example
 * ```ts
 * import { KvDisk, Simulator } from "./mod.ts";
 * const sim = new Simulator<string, KvDisk<number>>({
 *   seed: 1,
 *   nodeCount: 3,
 *   faults: "swarm",
 *   createDisk: () => new KvDisk(),
 *   createNode: () => ({ step: () => [] }),
 * });
 * sim.run({ untilMs: 60_000 });
 * ```
 * @module
 */
export * from "./disk.ts";
export * from "./faults.ts";
export * from "./network.ts";
export * from "./rng.ts";
export * from "./simulator.ts";
