/**
 * Real-process nemesis: repeated runs of tests/e2e/_nemesis.ts until `--minutes` are up. Each
 * run starts three dist/corral servers whose peer links go through proxies, lets `--clients`
 * recording clients pipeline random work while a seeded schedule kills (SIGKILL) and pauses
 * (SIGSTOP) servers, the leader often, and partitions them (the leader or a follower isolated,
 * one-way drops, black holes), one fault at a time, each healed before the next; then heals
 * everything, closes the sessions, stops the servers, reads the committed txns from their logs
 * and runs every history checker (props/check/) over what the clients saw. Prints each run and
 * ends with
 *
 *     nemesis: R runs, O ops checked, F faults injected, V violations
 *
 * On a violation (or a server that exited by itself, logs that disagree, a client that saw the
 * protocol broken) it saves the history (JSON, byte strings as base64), the servers' logs and
 * data dirs under .tmp/nemesis/seed-S/, and prints the seed and the command that reruns it.
 * Exits 1 then, 2 on a usage error, 130 on a second Ctrl-C (the first ends the faults and lets
 * the run finish and be checked). Run it through `scripts/nemesis`, which builds the binary first.
 *
 * Usage: `nemesis.ts [--minutes M] [--seed S] [--clients N] [--runs N] [--run-seconds N]
 * [--keep] [--json] [--check FILE]`
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../src/sim/rng.ts";
import { checkHistory, describeViolations } from "../props/check/mod.ts";
import {
  describeRun,
  faultCounts,
  faultFamily,
  historyFromJson,
  type NemesisResult,
  outcomeCounts,
  passed,
  runNemesis,
  saveRun,
} from "../tests/e2e/_nemesis.ts";
import { integerFlag, parseScriptFlags } from "./_sweep.ts";

const usage = "usage: scripts/nemesis [--minutes M (10)] [--seed S (random)] [--clients N (5)] " +
  "[--runs N (no limit)] [--run-seconds N (50-80 of faults per run)] [--keep] [--json] " +
  "[--check HISTORY.json]";

/**
 * Setup and teardown of one run on top of its faults (start, warm-up, heal, checks), ms, until a
 * run has measured it (the checks of a long run take a minute or more on 2 cores).
 */
const runOverheadMs = 20_000;
/** A run shorter than this many ms of faults is not worth starting. */
const faultMsMin = 15_000;
const root = new URL("..", import.meta.url).pathname;

/** An integer flag >= `min` (default 1), or the default; exits 2 on anything else. */
function integer(text: string | undefined, fallback: number, name: string, min = 1): number {
  return integerFlag("nemesis", usage, text, fallback, name, min);
}

/** Re-checks a saved history: prints what the checkers say; 0 when nothing is wrong. */
function checkSaved(file: string): number {
  const history = historyFromJson(readFileSync(file, "utf8"));
  const report = checkHistory(history);
  const checked = Object.entries(report.checked).map(([k, n]) => `${k} ${n}`).join(", ");
  console.log(`nemesis: ${file}: ${history.ops.length} ops; checked: ${checked}`);
  console.log(`nemesis: ${report.violations.length} violations`);
  if (report.violations.length > 0) console.log(describeViolations(report.violations, 20));
  return report.violations.length > 0 ? 1 : 0;
}

/** What --json prints for one run. */
function runJson(result: NemesisResult, faultSeconds: number): unknown {
  return {
    seed: result.seed,
    faultSeconds,
    durationMs: Math.round(result.durationMs),
    ops: result.history.ops.length,
    outcomes: outcomeCounts(result.history),
    events: result.history.events.length,
    committed: result.history.committed.length,
    faults: faultCounts(result.faults),
    faultList: result.faults.map((f) => ({ startMs: Math.round(f.startMs), detail: f.detail })),
    checked: result.report.checked,
    violations: result.report.violations,
    failures: result.failures,
    warnings: result.warnings,
    logs: result.logs,
  };
}

async function main(): Promise<number> {
  const values = parseScriptFlags("nemesis", usage, {
    minutes: { type: "string" },
    seed: { type: "string" },
    clients: { type: "string" },
    runs: { type: "string" },
    "run-seconds": { type: "string" },
    keep: { type: "boolean" },
    json: { type: "boolean" },
    check: { type: "string" },
  });
  if (typeof values === "number") return values;
  if (typeof values.check === "string") return checkSaved(values.check);
  const minutes = integer(values.minutes as string | undefined, 10, "minutes");
  const clients = integer(values.clients as string | undefined, 5, "clients");
  const runsMax = integer(values.runs as string | undefined, Number.MAX_SAFE_INTEGER, "runs");
  const runSeconds = values["run-seconds"] === undefined
    ? null
    : integer(values["run-seconds"] as string, 0, "run-seconds");
  const baseSeed = integer(
    values.seed as string | undefined,
    Math.floor(Math.random() * 2 ** 31),
    "seed",
    0,
  );
  const json = values.json === true;
  // With --json, stdout holds only the JSON; people read stderr.
  const say = (line: string) => json ? console.error(line) : console.log(line);
  const seeds = new Rng(baseSeed);
  const started = performance.now();
  const deadline = started + minutes * 60_000;
  const abort = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts === 1) {
      say("nemesis: interrupted; ending the faults, then checking this run (Ctrl-C again quits)");
      abort.abort();
    } else {
      Deno.exit(130);
    }
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  say(
    `nemesis: ${minutes} min, seed ${baseSeed}, ${clients} clients, ` +
      `${runSeconds === null ? "50-80" : runSeconds} s of faults per run`,
  );
  const results: { result: NemesisResult; faultSeconds: number }[] = [];
  let failedRuns = 0;
  let overheadMs = runOverheadMs;
  try {
    for (let run = 0; run < runsMax && !abort.signal.aborted; run++) {
      // Run 0 uses the seed itself, so `--seed S --runs 1` reruns it; later runs draw theirs.
      const seed = run === 0 ? baseSeed : seeds.int(0, 2 ** 31 - 1);
      const left = deadline - performance.now() - overheadMs;
      const wanted = runSeconds !== null ? runSeconds * 1000 : new Rng(seed).int(50, 80) * 1000;
      if (run > 0 && left < faultMsMin) break;
      const faultMs = Math.max(faultMsMin, Math.min(wanted, left));
      const faultSeconds = Math.round(faultMs / 1000);
      say(`nemesis: run ${run + 1}, seed ${seed}, ${faultSeconds} s of faults`);
      const runStarted = performance.now();
      const result = await runNemesis({
        seed,
        clients,
        faultMs,
        keep: values.keep === true,
        signal: abort.signal,
        // Every run has each family of fault at least once.
        firstFaults: new Rng(seed).shuffle(["kill", "stop", "isolate-leader"]),
        log: say,
      });
      results.push({ result, faultSeconds });
      overheadMs = Math.max(overheadMs, performance.now() - runStarted - faultMs);
      say(describeRun(result));
      if (values.keep === true) say(`nemesis: configs, data dirs and logs kept in ${result.dir}`);
      if (!passed(result)) {
        failedRuns++;
        const dir = join(root, ".tmp", "nemesis", `seed-${seed}`);
        saveRun(result, dir);
        say(`nemesis: run ${run + 1} FAILED (seed ${seed}); history and server logs in ${dir}`);
        say(
          `nemesis: rerun: scripts/nemesis --seed ${seed} --runs 1 --run-seconds ${faultSeconds}` +
            ` --clients ${clients}`,
        );
        say(`nemesis: re-check the saved history: scripts/nemesis --check ${dir}/history.json`);
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  const ops = results.reduce((n, r) => n + r.result.history.ops.length, 0);
  const faults = results.reduce((n, r) => n + r.result.faults.length, 0);
  const violations = results.reduce((n, r) => n + r.result.report.violations.length, 0);
  const families = results.flatMap((r) => r.result.faults.map((f) => faultFamily(f.kind)));
  say(
    `nemesis: faults by family: kill ${families.filter((f) => f === "kill").length}, ` +
      `stop ${families.filter((f) => f === "stop").length}, ` +
      `partition ${families.filter((f) => f === "partition").length}, ` +
      `client stall ${families.filter((f) => f === "client").length}`,
  );
  const summary =
    `nemesis: ${results.length} runs, ${ops} ops checked, ${faults} faults injected, ` +
    `${violations} violations`;
  say(failedRuns > 0 ? `${summary} (${failedRuns} runs failed)` : summary);
  if (json) {
    console.log(JSON.stringify(
      {
        seed: baseSeed,
        runs: results.length,
        ops,
        faults,
        violations,
        failedRuns,
        results: results.map((r) => runJson(r.result, r.faultSeconds)),
      },
      null,
      2,
    ));
  }
  return failedRuns > 0 ? 1 : 0;
}

Deno.exit(await main());
