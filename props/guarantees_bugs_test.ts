/**
 * The checkers can fail: each seeded bug of the ensemble simulator (tests/sim/_ensemble_sim.ts,
 * `EnsembleHostBug`) must be caught, within a bounded number of fault schedules, by every
 * property it breaks, each on its own: the history checkers run with the per-step protocol
 * invariants switched off (so only that checker can notice), and the protocol invariants run with
 * no history checker. A run the bug derails before the checkers see it (say, it never converges)
 * counts as not caught. And a failure shrinks to a short schedule.
 * @module
 */
import fc from "fast-check";
import assert from "../tests/assert.ts";
import { SimulationError } from "../src/sim/simulator.ts";
import type { EnsembleHostBug } from "../tests/sim/_ensemble_sim.ts";
import type { CheckName } from "./check/mod.ts";
import { runGuaranteeCase } from "./_guarantees.ts";
import { assertFindsBug, propsSeed } from "./_props.ts";
import { caseArb, crashFaultArb, type GuaranteeCase } from "./_schedule.ts";

/** Who must catch it: a history checker, or the protocol invariants ("invariants"). */
type Catcher = CheckName | "invariants";

const cases: Array<
  { bug: EnsembleHostBug; catchers: Catcher[]; runs: number; crashes?: boolean }
> = [
  // Committing early loses a write only when a crash takes every unsynced copy: outages.
  {
    bug: "commitBeforeQuorum",
    catchers: ["invariants", "linearizable", "reads"],
    runs: 200,
    crashes: true,
  },
  { bug: "deposedLeaderAnswers", catchers: ["invariants", "linearizable", "reads"], runs: 300 },
  { bug: "applyOutOfOrder", catchers: ["invariants", "reads"], runs: 300 },
  { bug: "watchFiresTwice", catchers: ["watches"], runs: 100 },
  { bug: "watchLost", catchers: ["watches"], runs: 100 },
  { bug: "responsesReordered", catchers: ["fifo"], runs: 100 },
  { bug: "ephemeralSurvives", catchers: ["reads", "linearizable"], runs: 200 },
];

/** Runs one case with the bug; only `catcher` may notice. */
function judge(c: GuaranteeCase, bug: EnsembleHostBug, catcher: Catcher): void {
  try {
    runGuaranteeCase(c, {
      bug,
      voters: 3,
      invariants: catcher === "invariants",
      only: catcher === "invariants" ? [] : [catcher],
    });
  } catch (error) {
    // Derailed before anyone judged (no convergence, a crash the bug caused): not caught here.
    if (error instanceof SimulationError) return;
    throw error;
  }
}

for (const { bug, catchers, runs, crashes } of cases) {
  for (const catcher of catchers) {
    const testName = `seeded bug ${bug} is caught by ${
      catcher === "invariants" ? "the protocol invariants" : `the ${catcher} checker`
    }`;
    Deno.test(testName, () => {
      assertFindsBug(
        { url: import.meta.url, testName },
        fc.property(caseArb(8, crashes ? crashFaultArb : undefined), (c) => judge(c, bug, catcher)),
        { runs },
      );
    });
  }
}

Deno.test("a failing schedule shrinks to the faults it needs", () => {
  // commitBeforeQuorum needs an outage while a commit is not yet logged by a quorum: shrinking
  // keeps the faults that do it and drops the rest. Fault times are relative to the previous
  // fault, so dropping one moves the later ones, and shrinking can stop at a local minimum (6
  // faults for PROPS_SEED=161007688, 1-2 for most seeds). What it guarantees is that minimum:
  // leave out any one fault left and the bug goes unseen. A schedule that did not shrink keeps
  // faults that can go (fc.noShrink on the case fails this on each of 5 seeds tried).
  const seed = propsSeed();
  const caught = (c: GuaranteeCase) => {
    try {
      judge(c, "commitBeforeQuorum", "linearizable");
      return false;
    } catch {
      return true;
    }
  };
  const details = fc.check(fc.property(caseArb(10, crashFaultArb), (c) => !caught(c)), {
    seed,
    numRuns: 300,
  });
  assert.ok(details.failed, "the seeded bug was caught");
  const [shrunk] = details.counterexample!;
  shrunk.schedule.forEach((_, i) => {
    const without = { ...shrunk, schedule: shrunk.schedule.filter((_, j) => j !== i) };
    assert.ok(
      !caught(without),
      `fault ${i} of the shrunk schedule is not needed (PROPS_SEED=${seed} replays it): ` +
        JSON.stringify(shrunk.schedule),
    );
  });
});
