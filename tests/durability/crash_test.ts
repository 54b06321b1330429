/**
 * Durability under SIGKILL (REFERENCE §8): the compiled binary is killed at random moments while
 * four clients pipeline writes, restarted on the same data directory each time, and no
 * acknowledged write may be missing afterwards. A short run sized for CI; `scripts/soak_crash`
 * runs the same harness for many more cycles.
 *
 * The seed is random unless CORRAL_CRASH_SEED is set; a failure prints the command that replays
 * the same kill schedule.
 * @module
 */
import assert from "../assert.ts";
import { ensureBinary, runCrashCycles } from "./_crash.ts";

/** Cycles of the CI run: each writes for 0.1-1.5 s, then is killed and verified. */
const cycles = 8;

/** The whole run must end well within this (the deadline stops new cycles). */
const runMsMax = 60_000;

Deno.test("corral serve loses no acknowledged write across SIGKILL and restart", async () => {
  await ensureBinary();
  const seedText = Deno.env.get("CORRAL_CRASH_SEED");
  const seed = seedText === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(seedText);
  const replay = `CORRAL_CRASH_SEED=${seed} deno test -A tests/durability/crash_test.ts`;
  const result = await runCrashCycles({
    cycles,
    seed,
    deadlineMs: performance.now() + runMsMax,
    replayCommand: replay,
  });
  const context = `seed ${seed} (replay: ${replay}); data dir kept: ${result.keptDataDir}`;
  assert.deepEqual(result.problems, [], context);
  assert.deepEqual(result.lost, [], context);
  assert.equal(result.stoppedByDeadline, false, `the run did not finish in ${runMsMax} ms`);
  assert.equal(result.cycles.length, cycles);
  // Not vacuous: every cycle had acknowledged writes for the kill to threaten.
  for (const cycle of result.cycles) {
    assert.ok(cycle.acknowledged > 0, `cycle ${cycle.cycle} acknowledged no write; ${context}`);
  }
  console.log(
    `crash_test: ${result.cycles.length} cycles, ${result.acknowledged} writes acknowledged, ` +
      `${result.lost.length} lost (seed ${seed})`,
  );
});
