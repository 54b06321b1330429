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
import { parseArgs } from "node:util";
import type { ElectionChecks } from "../tests/sim/_election_sim.ts";
import { runElectionSim } from "../tests/sim/_election_sim.ts";
import { integerFlag, runSweep } from "./_sweep.ts";

const usage = "usage: scripts/sim_sweep [--seeds N (10000)] [--from S (0)] " +
  "[--max-minutes M (30)] [--check round-agreement,join-all]";

const integer = (text: string | undefined, fallback: number, flag: string, min: number) =>
  integerFlag("sim_sweep", usage, text, fallback, flag, min);

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
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seeds: { type: "string" },
      from: { type: "string" },
      "max-minutes": { type: "string" },
      check: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const checks = parseChecks(values.check);
  const replayFlags = values.check === undefined ? "" : ` --check ${values.check}`;
  return runSweep({
    name: "sim_sweep",
    seeds: integer(values.seeds, 10_000, "seeds", 1),
    from: integer(values.from, 0, "from", 0),
    maxMinutes: integer(values["max-minutes"], 30, "max-minutes", 1),
    replayFlags,
    runSeed(seed, verbose, report) {
      runElectionSim({
        seed,
        checks,
        replayCommand: `scripts/sim_sweep${replayFlags}`,
        report,
        recentStepsMax: verbose ? 400 : 40,
      });
    },
  });
}

Deno.exit(main());
