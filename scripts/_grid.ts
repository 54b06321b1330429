/**
 * The load scripts/compare gives a system, as `corral bench` arguments, so that
 * scripts/profile_memory repeats exactly that load: the unmeasured warm-up, then the grid.
 * Each list follows the common start of a bench command line (`bench --json --protocol P
 * --server H:P`).
 * @module
 */
import type { Workload } from "../src/bench/run.ts";

/** The grid's workloads in the order run: create last, so its nodes do not weigh on the others. */
export const gridWorkloads: Workload[] = ["write", "read", "mixed", "create"];

/** Session counts of a full grid on a three-node system (compare's `--quick` runs fewer). */
export const gridSessions: number[] = [1, 8, 32, 128];

/** compare's defaults (without `--quick`) for the settings below. */
export const gridDefaults = { systemWarmupS: 9, windowS: 2.5, warmupS: 1, createOps: 5_000 };

/** What shapes the grid. */
export interface GridSettings {
  /** Seconds of each cell's measured window. */
  windowS: number;
  /** Seconds of each timed cell's warm-up. */
  warmupS: number;
  /** Creates counted per create cell (the window ends there). */
  createOps: number;
}

/**
 * Unmeasured load before a system's first grid: write, read and mixed at 32 sessions, a third of
 * `systemWarmupS` each, none of it creating znodes.
 */
export function warmUpArgs(systemWarmupS: number): string[] {
  return [
    "--workload",
    "write,read,mixed",
    "--sessions",
    "32",
    "--warmup",
    "0",
    "--duration",
    String(systemWarmupS / 3),
  ];
}

/**
 * The grid as two bench runs: the timed workloads, then the creates. Create cells end after
 * `createOps` creates (and warm up for only 0.2 s), so that every system ends the grid holding
 * about the same number of znodes: "RSS after the same load". `pids` are the servers whose CPU
 * and RSS the bench reports.
 */
export function gridArgs(
  sessions: readonly number[],
  settings: GridSettings,
  pids: readonly number[] = [],
): [string[], string[]] {
  const grid = [
    "--sessions",
    sessions.join(","),
    "--duration",
    String(settings.windowS),
    ...(pids.length > 0 ? ["--pid", pids.join(",")] : []),
  ];
  const timed = gridWorkloads.filter((w) => w !== "create").join(",");
  return [
    ["--workload", timed, "--warmup", String(settings.warmupS), ...grid],
    [
      "--workload",
      "create",
      "--warmup",
      "0.2",
      "--max-ops",
      String(settings.createOps),
      ...grid,
    ],
  ];
}
