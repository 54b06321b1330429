/**
 * Seed sweep of the ZAB simulation (tests/sim/_zab_sim.ts): runs seeds `from`,
 * `from + 1`, ... each through a safety phase with a swarm of faults and a liveness phase, prints
 * progress and the report of each failing seed, and ends with exactly one summary line:
 *
 *     zab_sweep: N seeds, F failures
 *
 * preceded by the replay command of each failure. Exits 1 when a seed failed. With `SIM_SEED` set
 * it runs that one seed and prints its full report (the replay).
 *
 * Usage: `zab_sweep.ts [--seeds N (10000)] [--from S (0)] [--max-minutes M (15)]
 * [--history N]` (`--history` fixes the peers' historyRecordsMax; default: drawn per seed)
 * @module
 */
import { runZabSim } from "../tests/sim/_zab_sim.ts";
import { integerFlag, parseSweepArgs, runSweep } from "./_sweep.ts";

const usage = "usage: scripts/zab_sweep [--seeds N (10000)] [--from S (0)] " +
  "[--max-minutes M (15)] [--history N]";

function main(): number {
  const args = parseSweepArgs("zab_sweep", usage, { maxMinutes: 15, extraFlag: "history" });
  if (args === null) return 0;
  const historyRecordsMax = args.extra === undefined
    ? undefined
    : integerFlag("zab_sweep", usage, args.extra, 0, "history", 1);
  return runSweep({
    name: "zab_sweep",
    seeds: args.seeds,
    from: args.from,
    maxMinutes: args.maxMinutes,
    replayFlags: args.replayFlags,
    runSeed(seed, verbose, report) {
      runZabSim({
        seed,
        historyRecordsMax,
        replayCommand: `scripts/zab_sweep${args.replayFlags}`,
        report,
        recentStepsMax: verbose ? 400 : 40,
      });
    },
  });
}

Deno.exit(main());
