/**
 * The three guarantees under faults, in simulation: fast-check draws a *fault schedule* (crashes
 * of any server and of the leader, restarts, partitions that isolate the leader with a minority,
 * cut links, slow disks, broken client connections, clients cut off long enough for their session
 * to expire) and a seed (cluster size, message delays, session timeout, the clients' workload);
 * the ensemble simulator (tests/sim/_ensemble_sim.ts) runs the real members and clients through
 * it, checking the protocol invariants after every step; then the history checkers
 * (props/check/) judge what the clients saw: linearizable writes and synced reads, sequentially
 * consistent reads, FIFO order, one-shot watches.
 *
 * A failure shrinks to a short schedule and prints it, the violation and the replay command.
 * @module
 */
import assert from "../tests/assert.ts";
import { SimulationError } from "../src/sim/simulator.ts";
import {
  type EnsembleHostBug,
  type EnsembleSimResult,
  type FaultStep,
  runEnsembleSim,
} from "../tests/sim/_ensemble_sim.ts";
import type { GuaranteeCase } from "./_schedule.ts";
import { checkHistory, type CheckName, describeViolations } from "./check/mod.ts";

/** Totals over the runs of one property, for the tests' own checks and for the soak's summary. */
export interface GuaranteeTotals {
  runs: number;
  ops: number;
  checked: number;
  faults: number;
  unknown: number;
  events: number;
}

export function newTotals(): GuaranteeTotals {
  return { runs: 0, ops: 0, checked: 0, faults: 0, unknown: 0, events: 0 };
}

function describeSchedule(schedule: readonly FaultStep[]): string {
  return schedule.map((s) => `+${s.afterMs}ms ${JSON.stringify(s.fault)}`).join("; ") || "none";
}

/** Options of {@linkcode runGuaranteeCase}. */
export interface RunCaseOptions {
  /** Voting servers (default: 3 or 5 from the seed). */
  voters?: number;
  bug?: EnsembleHostBug;
  /** Only these checkers judge (default: all). */
  only?: readonly CheckName[];
  /** Protocol invariants after every step (default true). */
  invariants?: boolean;
  totals?: GuaranteeTotals;
  replayCommand?: string;
}

/**
 * Runs one case and judges it; throws an AssertionError naming the violations (or the broken
 * protocol invariant) and the schedule.
 */
export function runGuaranteeCase(
  c: GuaranteeCase,
  options: RunCaseOptions = {},
): EnsembleSimResult {
  let report = "";
  let result: EnsembleSimResult;
  try {
    result = runEnsembleSim({
      seed: c.seed,
      schedule: c.schedule,
      voters: options.voters,
      observers: 0,
      watches: true,
      invariants: options.invariants ?? true,
      bug: options.bug,
      replayCommand: options.replayCommand ?? "(see the PROPS_SEED replay command below)",
      report: (text) => report = text,
    });
  } catch (error) {
    if (error instanceof SimulationError && error.cause instanceof assert.AssertionError) {
      throw new assert.AssertionError({
        message: `protocol invariant broken; schedule: ${describeSchedule(c.schedule)}\n${report}`,
      });
    }
    throw error;
  }
  const all: CheckName[] = ["linearizable", "reads", "fifo", "watches"];
  const skip = options.only ? all.filter((n) => !options.only!.includes(n)) : [];
  const verdict = checkHistory(result.checked, { skip });
  const totals = options.totals;
  if (totals !== undefined) {
    totals.runs++;
    totals.ops += result.history.length;
    totals.checked += Object.values(verdict.checked).reduce((a, b) => a + b, 0);
    totals.faults += c.schedule.length;
    totals.unknown += result.ops.unknown + result.ops.pending;
    totals.events += result.checked.events.length;
  }
  if (verdict.violations.length > 0) {
    throw new assert.AssertionError({
      message: `${verdict.violations.length} violation(s) in seed ${c.seed} with schedule: ` +
        `${describeSchedule(c.schedule)}\n${describeViolations(verdict.violations)}`,
    });
  }
  return result;
}
