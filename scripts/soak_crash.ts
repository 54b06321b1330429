/**
 * Crash soak of dist/corral: runs the crash harness of tests/durability/_crash.ts for many
 * cycles (write with pipelining clients, SIGKILL at a random moment, restart on the same data
 * directory, check that no acknowledged write was lost), one line per cycle, and ends with
 * exactly one summary line:
 *
 *     soak_crash: N cycles, W writes acknowledged, 0 lost
 *
 * Exits 1 when a write was lost or anything else failed (the line then says how many, and the
 * lines above it say what, with the seed that replays the kill schedule). Run it through
 * `scripts/soak_crash`, which builds the binary first.
 *
 * Usage: `soak_crash.ts [--cycles N] [--seed S] [--max-minutes M] [--writers W]`
 * @module
 */
import { ensureBinary, runCrashCycles } from "../tests/durability/_crash.ts";
import { integerFlag, parseScriptFlags } from "./_sweep.ts";

const usage = "usage: scripts/soak_crash [--cycles N (50)] [--seed S (random)] " +
  "[--max-minutes M (15)] [--writers W (4)]";

/** An integer flag >= `min` (default 1), or the default; exits 2 on anything else. */
function positive(text: string | undefined, fallback: number, name: string, min = 1): number {
  return integerFlag("soak_crash", usage, text, fallback, name, min);
}

async function main(): Promise<number> {
  const values = parseScriptFlags("soak_crash", usage, {
    cycles: { type: "string" },
    seed: { type: "string" },
    "max-minutes": { type: "string" },
    writers: { type: "string" },
  });
  if (typeof values === "number") return values;
  const cycles = positive(values.cycles as string | undefined, 50, "cycles");
  const seed = positive(
    values.seed as string | undefined,
    Math.floor(Math.random() * 2 ** 31),
    "seed",
    0,
  );
  const maxMinutes = positive(values["max-minutes"] as string | undefined, 15, "max-minutes");
  const writers = positive(values.writers as string | undefined, 4, "writers");
  const started = performance.now();
  await ensureBinary();
  const result = await runCrashCycles({
    cycles,
    seed,
    writers,
    writeMsMin: 100,
    writeMsMax: 3000,
    deadlineMs: started + maxMinutes * 60_000,
    replayCommand: `scripts/soak_crash --cycles ${cycles} --seed ${seed} --writers ${writers}`,
  });
  const seconds = Math.round((performance.now() - started) / 1000);
  const torn = result.cycles.filter((c) => c.tornTailBytes !== null).length;
  const snapshots = new Set(result.cycles.map((c) => c.snapshotZxid).filter((z) => z !== null));
  console.log(
    `soak_crash: seed ${seed}, ${seconds} s, ${torn} torn tails recovered, ` +
      `${snapshots.size} distinct snapshots recovered from`,
  );
  if (result.stoppedByDeadline) {
    console.log(`soak_crash: --max-minutes ${maxMinutes} ended the run before ${cycles} cycles`);
  }
  for (const line of result.lost.slice(0, 50)) console.log(`LOST: ${line}`);
  for (const line of result.problems) console.log(`FAILED: ${line}`);
  if (result.keptDataDir !== null) console.log(`soak_crash: data dir kept: ${result.keptDataDir}`);
  const others = result.problems.length === 0
    ? ""
    : `; ${result.problems.length} other failure${result.problems.length === 1 ? "" : "s"}`;
  console.log(
    `soak_crash: ${result.cycles.length} cycles, ${result.acknowledged} writes acknowledged, ` +
      `${result.lost.length} lost${others}`,
  );
  return result.lost.length === 0 && result.problems.length === 0 ? 0 : 1;
}

Deno.exit(await main());
