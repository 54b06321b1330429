/**
 * End-to-end: a short real-process nemesis run (tests/e2e/_nemesis.ts). Three compiled `corral`
 * servers whose peer links go through proxies, five recording clients pipelining random work,
 * and about 25 s of seeded faults: at least one SIGKILL (and restart), one SIGSTOP (and SIGCONT)
 * and one partition, the leader often. The history the clients saw must satisfy every checker of
 * props/check/ against the txns in the servers' logs, the logs must agree, and the history must
 * not be trivial: answered writes and reads, requests whose outcome the faults made unknown, and
 * watch events. Nothing here asserts a duration.
 *
 * `CORRAL_NEMESIS_SEED=S` picks another seed (default 1); `scripts/nemesis` runs many.
 * @module
 */
import assert from "../assert.ts";
import {
  describeRun,
  faultFamily,
  type FaultKind,
  outcomeCounts,
  passed,
  runNemesis,
  saveRun,
} from "./_nemesis.ts";
import { repoRoot } from "./_binary.ts";

/** Faults injected for this long; each run then heals, finishes and checks. */
const faultMs = 25_000;
/**
 * The clients' pace: a few thousand ops, at most 2 in flight per client. A CI machine busy with
 * other tests stretches every op's window, and the linearizability search grows with the ops
 * that overlap, so the test keeps them few (`scripts/nemesis` runs flat out).
 */
const pace = { pipelineMax: 2, opGapMs: 20 };

Deno.test("nemesis: kills, pauses and partitions under recording clients leave a history every checker accepts", async () => {
  const seed = Number(Deno.env.get("CORRAL_NEMESIS_SEED") ?? 1);
  assert.ok(Number.isSafeInteger(seed) && seed >= 0, `CORRAL_NEMESIS_SEED must be an integer`);
  const firstFaults: FaultKind[] = ["kill", "stop", "isolate-leader"];
  const result = await runNemesis({ seed, clients: 5, faultMs, firstFaults, ...pace });
  const rerun = `CORRAL_NEMESIS_SEED=${seed} deno test -A tests/e2e/nemesis_e2e_test.ts ` +
    `(or scripts/nemesis --seed ${seed} --runs 1 --run-seconds ${faultMs / 1000})`;
  if (!passed(result)) {
    const dir = `${repoRoot}.tmp/nemesis/test-seed-${seed}`;
    saveRun(result, dir);
    assert.fail(`${describeRun(result)}\nhistory and server logs saved in ${dir}\nrerun: ${rerun}`);
  }
  const outcomes = outcomeCounts(result.history);
  const families = new Set(result.faults.map((f) => faultFamily(f.kind)));
  const context = `${describeRun(result)}\nrerun: ${rerun}`;
  for (const family of ["kill", "stop", "partition"] as const) {
    assert.ok(families.has(family), `at least one fault of the ${family} family\n${context}`);
  }
  assert.ok(outcomes.ok >= 200, `at least 200 answered ops\n${context}`);
  assert.ok(outcomes.unknown >= 1, `at least one op of unknown outcome\n${context}`);
  assert.ok(result.history.events.length >= 1, `at least one watch event\n${context}`);
  assert.ok(
    result.history.sessions.some((s) => s.kind === "resumed"),
    `a session resumed on another connection\n${context}`,
  );
  assert.ok(result.history.committed.length > 0, `committed txns read back\n${context}`);
});
