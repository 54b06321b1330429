/**
 * Seed sweep of the election simulation (tests/sim/_election_sim.ts): runs seeds `from`,
 * `from + 1`, ... each through a safety phase with a swarm of faults and a liveness phase, prints
 * progress and the report of each failing seed, and ends with exactly one summary line:
 *
 *     sim_sweep: N seeds, F failures
 *
 * preceded by the replay command of each failure. Exits 1 when a seed failed. With `SIM_SEED` set
 * it runs that one seed and prints its full report (the replay).
 *
 * Usage: `sim_sweep.ts [--seeds N (10000)] [--from S (0)] [--max-minutes M (30)]
 * [--check round-agreement,join-all]`
 * @module
 */
import type { ElectionChecks } from "../tests/sim/_election_sim.ts";
import { runElectionSim } from "../tests/sim/_election_sim.ts";
import { parseSweepArgs, runSweep } from "./_sweep.ts";

const usage = "usage: scripts/sim_sweep [--seeds N (10000)] [--from S (0)] " +
  "[--max-minutes M (30)] [--check round-agreement,join-all]";

function parseChecks(text: string | undefined): ElectionChecks {
  const checks: ElectionChecks = {};
  for (const name of (text ?? "").split(",").filter((s) => s !== "")) {
    if (name === "round-agreement") checks.roundAgreement = true;
    else if (name === "join-all") checks.joinAll = true;
    else {
      console.error(`sim_sweep: unknown check "${name}"\n${usage}`);
      Deno.exit(2);
    }
  }
  return checks;
}

function main(): number {
  const args = parseSweepArgs("sim_sweep", usage, { maxMinutes: 30, extraFlag: "check" });
  if (args === null) return 0;
  const checks = parseChecks(args.extra);
  return runSweep({
    name: "sim_sweep",
    seeds: args.seeds,
    from: args.from,
    maxMinutes: args.maxMinutes,
    replayFlags: args.replayFlags,
    runSeed(seed, verbose, report) {
      runElectionSim({
        seed,
        checks,
        replayCommand: `scripts/sim_sweep${args.replayFlags}`,
        report,
        recentStepsMax: verbose ? 400 : 40,
      });
    },
  });
}

Deno.exit(main());
