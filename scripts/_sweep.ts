/**
 * The seed-sweep driver shared by scripts/sim_sweep.ts and scripts/zab_sweep.ts: runs seeds
 * `from`, `from + 1`, ... within a time bound, prints progress and the reports of failing seeds,
 * their replay commands, and exactly one closing line `NAME: N seeds, F failures`. With
 * `SIM_SEED` set it runs that one seed with its full report (the replay).
 * @module
 */

import { parseArgs } from "node:util";
import { cpus, totalmem } from "node:os";
import { SimulationError } from "../src/sim/simulator.ts";

/** Full reports printed before the sweep switches to one line per failure. */
const fullReportsMax = 3;
/** Replay lines listed before the summary. */
const replayLinesMax = 20;

/** One sweep: its name (`sim_sweep`), range, bound, and how to run a seed. */
export interface Sweep {
  name: string;
  seeds: number;
  from: number;
  maxMinutes: number;
  /** Flags that change what a seed does, appended to the replay command (`" --check x"`). */
  replayFlags: string;
  /**
   * Runs one seed, throwing the simulator's SimulationError on a failure after passing its
   * report to `report`; `verbose` asks for a long trace (a replay).
   */
  runSeed(seed: number, verbose: boolean, report: (text: string) => void): void;
}

/** Runs one seed; null when it passed, else its report. */
function runOne(sweep: Sweep, seed: number, verbose: boolean): string | null {
  let report = "";
  try {
    sweep.runSeed(seed, verbose, (text) => report = text);
    return null;
  } catch (error) {
    if (!(error instanceof SimulationError)) throw error;
    return report;
  }
}

/** Parses an integer flag >= `min`, or the default; exits 2 on anything else. */
export function integerFlag(
  name: string,
  usage: string,
  text: string | undefined,
  fallback: number,
  flag: string,
  min: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    console.error(`${name}: --${flag} must be an integer >= ${min}, not "${text}"\n${usage}`);
    Deno.exit(2);
  }
  return value;
}

/** Flags a script takes: each a string or a boolean; `help`/`-h` is added. */
export type ScriptFlags = Record<string, { type: "string" | "boolean"; short?: string }>;

/**
 * Parses a script's flags (and `-h`/`--help`). Returns the values, or the exit code to stop with:
 * 0 after printing `usage` for `--help`, 2 after saying what was wrong with the arguments.
 */
export function parseScriptFlags(
  name: string,
  usage: string,
  flags: ScriptFlags,
): Record<string, string | boolean | undefined> | number {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: Deno.args,
      options: { ...flags, help: { type: "boolean", short: "h" } },
    }).values;
  } catch (error) {
    console.error(`${name}: ${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  return values;
}

/** The flags every sweep takes, plus the one extra string flag a sweep names. */
export interface SweepArgs {
  seeds: number;
  from: number;
  maxMinutes: number;
  /** The extra flag's value, if given. */
  extra: string | undefined;
  /** The extra flag as it must reappear in a replay command (`" --check x"` or `""`). */
  replayFlags: string;
}

/**
 * Parses `--seeds`, `--from`, `--max-minutes`, `-h` and the sweep's own `--EXTRA` flag; returns
 * null after printing the usage for `--help`; exits 2 on a bad value.
 */
export function parseSweepArgs(
  name: string,
  usage: string,
  options: { maxMinutes: number; extraFlag: string },
): SweepArgs | null {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seeds: { type: "string" },
      from: { type: "string" },
      "max-minutes": { type: "string" },
      [options.extraFlag]: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage);
    return null;
  }
  const extra = values[options.extraFlag] as string | undefined;
  return {
    seeds: integerFlag(name, usage, values.seeds as string | undefined, 10_000, "seeds", 1),
    from: integerFlag(name, usage, values.from as string | undefined, 0, "from", 0),
    maxMinutes: integerFlag(
      name,
      usage,
      values["max-minutes"] as string | undefined,
      options.maxMinutes,
      "max-minutes",
      1,
    ),
    extra,
    replayFlags: extra === undefined ? "" : ` --${options.extraFlag} ${extra}`,
  };
}

function replayOne(sweep: Sweep, seed: number): number {
  const report = runOne(sweep, seed, true);
  if (report === null) {
    console.log(`${sweep.name}: seed ${seed} passed`);
    console.log(`${sweep.name}: 1 seeds, 0 failures`);
    return 0;
  }
  console.log(report);
  console.log(`${sweep.name}: 1 seeds, 1 failures`);
  return 1;
}

/** Runs the sweep (or the one seed `SIM_SEED` names); returns the exit code. */
export function runSweep(sweep: Sweep): number {
  const replay = Deno.env.get("SIM_SEED");
  if (replay !== undefined) {
    return replayOne(sweep, integerFlag(sweep.name, "", replay, 0, "SIM_SEED", 0));
  }
  const started = performance.now();
  const deadlineMs = started + sweep.maxMinutes * 60_000;
  const progressEvery = Math.max(1, Math.ceil(sweep.seeds / 10));
  const failed: number[] = [];
  let ran = 0;
  for (let seed = sweep.from; seed < sweep.from + sweep.seeds; seed++) {
    if (performance.now() > deadlineMs) {
      console.log(`${sweep.name}: stopped at the ${sweep.maxMinutes}-minute limit`);
      break;
    }
    const report = runOne(sweep, seed, false);
    ran++;
    if (report !== null) {
      failed.push(seed);
      console.log(failed.length <= fullReportsMax ? report : report.split("\n")[0]);
    }
    if (ran % progressEvery === 0) {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        `${sweep.name}: ${ran}/${sweep.seeds} seeds, ${failed.length} failures, ${seconds} s`,
      );
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${sweep.name}: seeds ${sweep.from}..${sweep.from + ran - 1} in ${seconds} s`);
  for (const seed of failed.slice(0, replayLinesMax)) {
    console.log(`Replay: SIM_SEED=${seed} scripts/${sweep.name}${sweep.replayFlags}`);
  }
  if (failed.length > replayLinesMax) console.log(`... and ${failed.length - replayLinesMax} more`);
  console.log(`${sweep.name}: ${ran} seeds, ${failed.length} failures`);
  return failed.length === 0 ? 0 : 1;
}

/** CPUs, memory and platform of this machine, for a report's header. */
export function machineFacts(): string {
  const run = (cmd: string, args: string[]) => {
    try {
      const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).outputSync();
      return new TextDecoder().decode(out.stdout).trim();
    } catch {
      return "";
    }
  };
  const nproc = run("nproc", []) || String(cpus().length);
  const model = cpus()[0]?.model ?? "unknown CPU";
  const memMiB = Math.round(totalmem() / 1024 / 1024);
  return `${nproc} CPUs (${model}), ${memMiB} MiB memory, ${Deno.build.os} ${Deno.build.arch}`;
}
