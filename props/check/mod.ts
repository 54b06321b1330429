/**
 * The history checkers, together: {@linkcode checkHistory} runs each over one run's
 * {@linkcode History} and reports every violation. Used by the simulator properties
 * (`props/guarantees_*_test.ts`), the soak (`scripts/soak`) and the real-process nemesis
 * (`scripts/nemesis`). What each promises and what none of them covers: docs/GUARANTEES.md.
 * @module
 */
import { checkFifo } from "./fifo.ts";
import type { CheckName, CheckResult, History, Violation } from "./history.ts";
import { checkLinearizable, type LinearizableOptions } from "./linearizable.ts";
import { checkReads } from "./reads.ts";
import { checkWatches } from "./watches.ts";

export type * from "./history.ts";

/** The verdict on one history. */
export interface HistoryReport {
  violations: Violation[];
  /** Ops (or events) each checker judged. */
  checked: Record<CheckName, number>;
}

/** Options of {@linkcode checkHistory}. */
export interface CheckOptions {
  /** Checkers to skip (default: none). */
  skip?: readonly CheckName[];
  linearizable?: LinearizableOptions;
}

/** Runs every checker over `history`. */
export function checkHistory(history: History, options: CheckOptions = {}): HistoryReport {
  const skip = new Set(options.skip ?? []);
  const run = (name: CheckName, check: () => CheckResult): CheckResult =>
    skip.has(name) ? { violations: [], checked: 0 } : check();
  const results: Record<CheckName, CheckResult> = {
    linearizable: run("linearizable", () => checkLinearizable(history, options.linearizable)),
    reads: run("reads", () => checkReads(history)),
    fifo: run("fifo", () => checkFifo(history)),
    watches: run("watches", () => checkWatches(history)),
  };
  const names = Object.keys(results) as CheckName[];
  return {
    violations: names.flatMap((name) => results[name].violations),
    checked: Object.fromEntries(names.map((n) => [n, results[n].checked])) as Record<
      CheckName,
      number
    >,
  };
}

/** The violations as text for a failure report (at most `max` of them). */
export function describeViolations(violations: readonly Violation[], max = 5): string {
  const shown = violations.slice(0, max).map((v) => `[${v.check}] ${v.message}`);
  if (violations.length > max) shown.push(`... and ${violations.length - max} more`);
  return shown.join("\n");
}
