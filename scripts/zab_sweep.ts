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
import { SimulationError } from "../src/sim/simulator.ts";
import { runZabSim } from "../tests/sim/_zab_sim.ts";

const usage = "usage: scripts/zab_sweep [--seeds N (10000)] [--from S (0)] " +
  "[--max-minutes M (15)] [--history N]";

/** Full reports printed before the sweep switches to one line per failure. */
const fullReportsMax = 3;
/** Replay lines listed before the summary. */
const replayLinesMax = 20;

interface Args {
  seeds: number;
  from: number;
  maxMinutes: number;
  historyRecordsMax: number | undefined;
  /** The flags that change what a seed does, for the replay command. */
  checkFlag: string;
}

/** An integer flag >= `min`, or the default; exits 2 on anything else. */
function integer(text: string | undefined, fallback: number, name: string, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    console.error(`zab_sweep: --${name} must be an integer >= ${min}, not "${text}"\n${usage}`);
    Deno.exit(2);
  }
  return value;
}

function parse(): Args | null {
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
  if (values.help) return null;
  return {
    seeds: integer(values.seeds, 10_000, "seeds", 1),
    from: integer(values.from, 0, "from", 0),
    maxMinutes: integer(values["max-minutes"], 15, "max-minutes", 1),
    historyRecordsMax: values.history === undefined
      ? undefined
      : integer(values.history, 0, "history", 1),
    checkFlag: values.history === undefined ? "" : ` --history ${values.history}`,
  };
}

/** Runs one seed; returns null when it passed, else its report. */
function runSeed(seed: number, args: Args, verbose: boolean): string | null {
  let report = "";
  try {
    runZabSim({
      seed,
      historyRecordsMax: args.historyRecordsMax,
      replayCommand: `scripts/zab_sweep${args.checkFlag}`,
      report: (text) => report = text,
      recentStepsMax: verbose ? 400 : 40,
    });
    return null;
  } catch (error) {
    if (!(error instanceof SimulationError)) throw error;
    return report;
  }
}

function replayOne(seed: number, args: Args): number {
  const report = runSeed(seed, args, true);
  if (report === null) {
    console.log(`zab_sweep: seed ${seed} passed`);
    console.log("zab_sweep: 1 seeds, 0 failures");
    return 0;
  }
  console.log(report);
  console.log("zab_sweep: 1 seeds, 1 failures");
  return 1;
}

function main(): number {
  let args: Args | null;
  try {
    args = parse();
  } catch (error) {
    console.error(`zab_sweep: ${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (args === null) {
    console.log(usage);
    return 0;
  }
  const replay = Deno.env.get("SIM_SEED");
  if (replay !== undefined) return replayOne(integer(replay, 0, "SIM_SEED", 0), args);
  const started = performance.now();
  const deadlineMs = started + args.maxMinutes * 60_000;
  const progressEvery = Math.max(1, Math.ceil(args.seeds / 10));
  const failed: number[] = [];
  let ran = 0;
  for (let seed = args.from; seed < args.from + args.seeds; seed++) {
    if (performance.now() > deadlineMs) {
      console.log(`zab_sweep: stopped at the ${args.maxMinutes}-minute limit`);
      break;
    }
    const report = runSeed(seed, args, false);
    ran++;
    if (report !== null) {
      failed.push(seed);
      console.log(failed.length <= fullReportsMax ? report : report.split("\n")[0]);
    }
    if (ran % progressEvery === 0) {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`zab_sweep: ${ran}/${args.seeds} seeds, ${failed.length} failures, ${seconds} s`);
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`zab_sweep: seeds ${args.from}..${args.from + ran - 1} in ${seconds} s`);
  for (const seed of failed.slice(0, replayLinesMax)) {
    console.log(`Replay: SIM_SEED=${seed} scripts/zab_sweep${args.checkFlag}`);
  }
  if (failed.length > replayLinesMax) console.log(`... and ${failed.length - replayLinesMax} more`);
  console.log(`zab_sweep: ${ran} seeds, ${failed.length} failures`);
  return failed.length === 0 ? 0 : 1;
}

Deno.exit(main());
