/**
 * Fault schedules for the guarantee properties, as fast-check arbitraries: what
 * {@linkcode runEnsembleSim}'s `schedule` option carries out. Shrinking removes faults, brings
 * them closer together and simplifies each toward crashing server 0, so a failure ends as a short
 * schedule a person can read.
 * @module
 */
import fc from "fast-check";
import type { FaultStep, ScheduledFault } from "../tests/sim/_ensemble_sim.ts";

const small = fc.integer({ min: 0, max: 7 });

/** Any one fault; the leader is the favourite target. */
export const faultArb: fc.Arbitrary<ScheduledFault> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("crash" as const),
      server: fc.oneof(fc.constant("leader" as const), small),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("outage" as const),
      stallMs: fc.integer({ min: 0, max: 1500 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("restart" as const),
      server: fc.oneof(fc.constant("all" as const), small),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("isolateLeader" as const),
      followers: fc.integer({ min: 0, max: 2 }),
      clientMask: fc.integer({ min: 0, max: 15 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("partition" as const),
      mask: fc.integer({ min: 0, max: 511 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cut" as const), a: small, b: small }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("heal" as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("slowDisk" as const),
      server: fc.oneof(fc.constant("leader" as const), small),
      ms: fc.integer({ min: 50, max: 3000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("disconnectClient" as const), client: small }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("isolateClient" as const),
      client: small,
      ms: fc.integer({ min: 100, max: 6000 }),
    }),
  },
);

/** A schedule: up to `maxFaults` faults, each up to 2 s after the one before. */
export function scheduleArb(
  maxFaults = 10,
  faults: fc.Arbitrary<ScheduledFault> = faultArb,
): fc.Arbitrary<FaultStep[]> {
  return fc.array(
    fc.record({ afterMs: fc.integer({ min: 0, max: 2000 }), fault: faults }),
    { maxLength: maxFaults },
  );
}

/** A run's input: the seed (not shrunk: it picks the world) and the schedule (shrunk). */
/** A run's input. */
export interface GuaranteeCase {
  seed: number;
  schedule: FaultStep[];
}

/** A seed (picks the world; not shrunk) and a schedule (shrunk). */
export function caseArb(
  maxFaults = 10,
  faults: fc.Arbitrary<ScheduledFault> = faultArb,
): fc.Arbitrary<GuaranteeCase> {
  return fc.record({
    seed: fc.noShrink(fc.integer({ min: 0, max: 2 ** 31 - 1 })),
    schedule: scheduleArb(maxFaults, faults),
  });
}

/**
 * Only what loses unsynced writes: power outages after a disk stall, leader crashes, restarts.
 * The twins of the bugs that need such a moment to show use it.
 */
export const crashFaultArb: fc.Arbitrary<ScheduledFault> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("outage" as const),
      stallMs: fc.integer({ min: 100, max: 1500 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "crash" as const, server: "leader" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "restart" as const, server: "all" as const }) },
);
