/**
 * The guarantee properties (props/_guarantees.ts) for a given number of minutes with fresh seeds:
 * fault schedules drawn by fast-check, the ensemble simulator running real members and clients
 * through them, the protocol invariants after every step and the history checkers (props/check/)
 * on what the clients saw. `--jobs N` runs N worker processes side by side.
 *
 * Ends with one line `soak: R runs, O ops (C checked), F faults injected, V violations`; on a
 * violation prints the shrunk schedule, the violation, and the command that replays it
 * (`PROPS_SEED=.. PROPS_PATH=.. scripts/soak --replay`); exits 1 on any.
 * @module
 */
import fc from "fast-check";
import { parseArgs } from "node:util";
import { newTotals, runGuaranteeCase } from "../props/_guarantees.ts";
import { caseArb } from "../props/_schedule.ts";

const usage = "usage: scripts/soak [--minutes M] [--jobs N] [--max-faults K] [--replay]";
const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "10" },
    jobs: { type: "string", default: "1" },
    "max-faults": { type: "string", default: "12" },
    replay: { type: "boolean", default: false },
    worker: { type: "boolean", default: false },
  },
});
const minutes = Number(values.minutes);
const jobs = Number(values.jobs);
const maxFaults = Number(values["max-faults"]);
if (!(minutes > 0) || !Number.isInteger(jobs) || jobs < 1 || !Number.isInteger(maxFaults)) {
  console.error(usage);
  Deno.exit(2);
}

interface Summary {
  runs: number;
  ops: number;
  checked: number;
  faults: number;
  violations: number;
  replays: string[];
}

/** One process's share: fast-check over fresh cases until the time is up. */
function work(seed: number, path: string | undefined, timeMs: number): Summary {
  const totals = newTotals();
  const details = fc.check(
    fc.property(caseArb(maxFaults), (c) => {
      runGuaranteeCase(c, { totals });
    }),
    {
      seed,
      path,
      numRuns: path === undefined ? 1_000_000_000 : 1,
      interruptAfterTimeLimit: timeMs,
      markInterruptAsFailure: false,
      // A replay shows the failure as found; shrinking it again could take the whole time limit.
      endOnFailure: path !== undefined,
    },
  );
  const replays: string[] = [];
  if (details.failed) {
    console.log(fc.defaultReportMessage(details));
    const error = details.errorInstance;
    console.log(`Got: ${error instanceof Error ? error.message : String(error)}`);
    replays.push(
      `PROPS_SEED=${seed} PROPS_PATH=${details.counterexamplePath} scripts/soak --replay ` +
        `--max-faults ${maxFaults}`,
    );
  }
  return {
    runs: totals.runs,
    ops: totals.ops,
    checked: totals.checked,
    faults: totals.faults,
    violations: details.failed ? 1 : 0,
    replays,
  };
}

const envSeed = Deno.env.get("PROPS_SEED");
if (values.worker || values.replay) {
  const seed = envSeed ? Number(envSeed) : (Date.now() ^ (Math.random() * 2 ** 32)) | 0;
  const path = values.replay ? Deno.env.get("PROPS_PATH") : undefined;
  const summary = work(seed, path, minutes * 60_000);
  if (values.worker) console.log(`SUMMARY ${JSON.stringify(summary)}`);
  else report([summary]);
} else {
  const started = performance.now();
  const children = Array.from({ length: jobs }, () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--worker",
        "--minutes",
        String(minutes),
        "--max-faults",
        String(maxFaults),
      ],
      stdout: "piped",
      stderr: "inherit",
      env: { PROPS_SEED: "" },
    }).output());
  const summaries: Summary[] = [];
  for (const out of await Promise.all(children)) {
    const text = new TextDecoder().decode(out.stdout);
    const line = text.split("\n").find((l) => l.startsWith("SUMMARY "));
    for (const l of text.split("\n")) if (!l.startsWith("SUMMARY ") && l.trim()) console.log(l);
    if (line === undefined) {
      summaries.push({ runs: 0, ops: 0, checked: 0, faults: 0, violations: 1, replays: [] });
      console.log(`a worker ended without a summary (exit ${out.code})`);
    } else summaries.push(JSON.parse(line.slice("SUMMARY ".length)));
  }
  console.log(`elapsed ${((performance.now() - started) / 60_000).toFixed(1)} min, ${jobs} job(s)`);
  report(summaries);
}

function report(summaries: Summary[]): void {
  const sum = (k: "runs" | "ops" | "checked" | "faults" | "violations") =>
    summaries.reduce((a, s) => a + s[k], 0);
  for (const s of summaries) for (const r of s.replays) console.log(`Replay: ${r}`);
  console.log(
    `soak: ${sum("runs")} runs, ${sum("ops")} ops (${sum("checked")} checked), ` +
      `${sum("faults")} faults injected, ${sum("violations")} violations`,
  );
  if (sum("violations") > 0) Deno.exit(1);
}
