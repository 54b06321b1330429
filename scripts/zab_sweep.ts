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
import { parseArgs } from "node:util";
import { runZabSim } from "../tests/sim/_zab_sim.ts";
import { integerFlag, runSweep } from "./_sweep.ts";

const usage = "usage: scripts/zab_sweep [--seeds N (10000)] [--from S (0)] " +
  "[--max-minutes M (15)] [--history N]";

const integer = (text: string | undefined, fallback: number, flag: string, min: number) =>
  integerFlag("zab_sweep", usage, text, fallback, flag, min);

function main(): number {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seeds: { type: "string" },
      from: { type: "string" },
      "max-minutes": { type: "string" },
      history: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const historyRecordsMax = values.history === undefined
    ? undefined
    : integer(values.history, 0, "history", 1);
  const replayFlags = values.history === undefined ? "" : ` --history ${values.history}`;
  return runSweep({
    name: "zab_sweep",
    seeds: integer(values.seeds, 10_000, "seeds", 1),
    from: integer(values.from, 0, "from", 0),
    maxMinutes: integer(values["max-minutes"], 15, "max-minutes", 1),
    replayFlags,
    runSeed(seed, verbose, report) {
      runZabSim({
        seed,
        historyRecordsMax,
        replayCommand: `scripts/zab_sweep${replayFlags}`,
        report,
        recentStepsMax: verbose ? 400 : 40,
      });
    },
  });
}

Deno.exit(main());
