/**
 * Seed sweep of the ensemble simulation (tests/sim/_ensemble_sim.ts): runs seeds `from`,
 * `from + 1`, ... each through a safety phase with a swarm of faults under a client workload and
 * a liveness phase, prints progress and the report of each failing seed, and ends with exactly
 * one summary line:
 *
 *     ensemble_sweep: N seeds, F failures
 *
 * preceded by the replay command of each failure. Exits 1 when a seed failed. With `SIM_SEED` set
 * it runs that one seed and prints its full report (the replay).
 *
 * Usage: `ensemble_sweep.ts [--seeds N (10000)] [--from S (0)] [--max-minutes M (60)]
 * [--observers N]` (`--observers` fixes the number of observers; default: drawn per seed)
 * @module
 */
import { runEnsembleSim } from "../tests/sim/_ensemble_sim.ts";
import { integerFlag, parseSweepArgs, runSweep } from "./_sweep.ts";

const usage = "usage: scripts/ensemble_sweep [--seeds N (10000)] [--from S (0)] " +
  "[--max-minutes M (60)] [--observers N]";

function main(): number {
  const args = parseSweepArgs("ensemble_sweep", usage, { maxMinutes: 60, extraFlag: "observers" });
  if (args === null) return 0;
  const observers = args.extra === undefined
    ? undefined
    : integerFlag("ensemble_sweep", usage, args.extra, 0, "observers", 0);
  return runSweep({
    name: "ensemble_sweep",
    seeds: args.seeds,
    from: args.from,
    maxMinutes: args.maxMinutes,
    replayFlags: args.replayFlags,
    runSeed(seed, verbose, report) {
      runEnsembleSim({
        seed,
        observers,
        replayCommand: `scripts/ensemble_sweep${args.replayFlags}`,
        report,
        recentStepsMax: verbose ? 400 : 40,
      });
    },
  });
}

Deno.exit(main());
