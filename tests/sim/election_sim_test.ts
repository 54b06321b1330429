/**
 * Fast leader election (REFERENCE §7) hosted in the deterministic simulator: many seeds of
 * crashes, restarts, cut links, partitions and slow disks, checked after every step (safety),
 * then a bounded wait for an established leader once a majority is up and connected (liveness).
 *
 * `SIM_SEED=<n> deno test -A tests/sim/election_sim_test.ts` replays one seed with a longer
 * trace in the report; `scripts/sim_sweep` runs thousands.
 * @module
 */
import assert from "../assert.ts";
import { SimulationError } from "../../src/sim/simulator.ts";
import type { ElectionBug, ElectionSimResult } from "./_election_sim.ts";
import { runElectionSim } from "./_election_sim.ts";

const replayCommand = "deno test -A tests/sim/election_sim_test.ts";
const replaySeed = Deno.env.get("SIM_SEED");

/** The seeds to run: `count` from `from`, or only the one SIM_SEED names. */
function seeds(from: number, count: number): number[] {
  if (replaySeed !== undefined) return [Number(replaySeed)];
  return Array.from({ length: count }, (_, i) => from + i);
}

function sweep(voters: number, from: number, count: number): ElectionSimResult[] {
  return seeds(from, count).map((seed) =>
    runElectionSim({
      seed,
      voters,
      replayCommand,
      recentStepsMax: replaySeed === undefined ? 40 : 400,
    })
  );
}

/** Runs a seed with a planted bug; returns the failure report. */
function reportWith(bug: ElectionBug, seed: number): string {
  const printed: string[] = [];
  assert.throws(
    () => runElectionSim({ seed, bug, replayCommand, report: (text) => printed.push(text) }),
    SimulationError,
  );
  assert.equal(printed.length, 1);
  return printed[0];
}

Deno.test("election sim: 3 voters elect a leader under faults, 150 seeds", () => {
  const results = sweep(3, 0, 150);
  assert.ok(results.every((r) => r.voters === 3));
  if (replaySeed === undefined) {
    assert.ok(results.filter((r) => r.faults !== "none").length > 100, "most seeds inject faults");
  }
});

Deno.test("election sim: 5 voters elect a leader under faults, 150 seeds", () => {
  const results = sweep(5, 1000, 150);
  assert.ok(results.every((r) => r.decisions >= 3), "a quorum decided at least once");
});

Deno.test("election sim: a seed replays the same trace", () => {
  const a = runElectionSim({ seed: 4242, replayCommand });
  const b = runElectionSim({ seed: 4242, replayCommand });
  assert.deepEqual(a, b);
  const c = runElectionSim({ seed: 4243, replayCommand });
  assert.notEqual(a.traceHash, c.traceHash);
});

Deno.test("election sim: the safety check catches a node that elects itself", () => {
  const report = reportWith("selfElect", 7);
  assert.match(report, /decided \d in round \d+ with 0 voters announcing it/);
  assert.match(report, /Replay: SIM_SEED=7 deno test -A tests\/sim\/election_sim_test.ts/);
});

Deno.test("election sim: the liveness check catches an election that never talks", () => {
  const report = reportWith("mute", 8);
  assert.match(report, /no established leader within 30000 ms after the faults stopped/);
  assert.match(report, /Replay: SIM_SEED=8 /);
});
