/**
 * How every property in `props/` is run: the seed and the number of runs come from the
 * environment so a failure can be replayed exactly, and a failure says how to replay it.
 *
 * - `PROPS_SEED`: the seed (an integer). Unset, each run draws a fresh one and prints it on failure.
 * - `PROPS_RUNS`: runs per property, overriding each property's default. Seeded-bug twins use at
 *   least their own default, because a twin that runs too little proves nothing.
 * - `PROPS_PATH`: fast-check's counterexample path, to replay a shrunk failure straight away.
 *   It names a position in ONE property's search, so pass it together with `--filter`.
 * - `PROPS_REPLAY_PATH`: for properties over `fc.commands`, the commands' own replay hint
 *   (see {@linkcode commandsReplayPath}); a failure prints it when it applies.
 * @module
 */
import fc from "fast-check";
import assert from "../tests/assert.ts";

function envInt(name: string): number | undefined {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new Error(`${name} must be an integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** The seed for this process: `PROPS_SEED`, or a fresh one (printed on failure). */
export function propsSeed(): number {
  return envInt("PROPS_SEED") ?? ((Date.now() ^ (Math.random() * 0x100000000)) | 0);
}

/** Runs for a property whose default is `defaultRuns`; `PROPS_RUNS` overrides it. */
export function propsRuns(defaultRuns: number): number {
  return envInt("PROPS_RUNS") ?? defaultRuns;
}

/** Where a property lives, so its failure can print the command that replays it. */
export interface PropertySource {
  /** `import.meta.url` of the test file. */
  url: string;
  /** The Deno test name, for `--filter`. */
  testName: string;
}

/** The `replayPath` for `fc.commands`, from `PROPS_REPLAY_PATH` (only when replaying). */
export function commandsReplayPath(): string | undefined {
  return Deno.env.get("PROPS_REPLAY_PATH") || undefined;
}

function replayCommand(
  source: PropertySource,
  seed: number,
  path: string | null,
  report = "",
): string {
  const file = new URL(source.url).pathname.replace(/^.*\/props\//, "props/");
  const commands = /replayPath="([^"]+)"/.exec(report)?.[1];
  const env = `PROPS_SEED=${seed}` + (path ? ` PROPS_PATH=${path}` : "") +
    (commands ? ` PROPS_REPLAY_PATH='${commands}'` : "");
  return `${env} $DENO test -A ${file} --filter ${JSON.stringify(source.testName)}`;
}

/**
 * Checks `property` and throws on failure with fast-check's report (seed, shrunk counterexample,
 * the error) followed by the exact command that replays it.
 */
export function assertProperty<Ts>(
  source: PropertySource,
  property: fc.IRawProperty<Ts, false>,
  options: { runs: number },
): void {
  const seed = propsSeed();
  const path = Deno.env.get("PROPS_PATH") || undefined;
  const details = fc.check(property, { seed, numRuns: propsRuns(options.runs), path });
  if (!details.failed) return;
  const report = fc.defaultReportMessage(details) ?? "property failed";
  const error = details.errorInstance instanceof Error
    ? details.errorInstance.message
    : String(details.errorInstance);
  throw new Error(
    `${report}\n\nGot: ${error}\n\nReplay: ${
      replayCommand(source, seed, details.counterexamplePath, report)
    }`,
    { cause: details.errorInstance },
  );
}

/**
 * Checks that `property`, run against a deliberately broken implementation, FAILS: a property
 * that cannot fail proves nothing (DESIGN.md, "Testing the guarantees"). The failure must be an
 * assertion of the property, not a crash of the harness. Returns the counterexample, shrunk.
 */
export function assertFindsBug<Ts>(
  source: PropertySource,
  property: fc.IRawProperty<Ts, false>,
  options: { runs: number },
): Ts {
  const seed = propsSeed();
  const numRuns = Math.max(options.runs, propsRuns(options.runs));
  // Shrinking is skipped: only the fact that a counterexample exists matters here.
  const details = fc.check(property, { seed, numRuns, endOnFailure: true });
  if (!details.failed) {
    throw new Error(
      `the property did not catch the seeded bug in ${numRuns} runs\n\n` +
        `Replay: ${replayCommand(source, seed, null)}`,
    );
  }
  if (!(details.errorInstance instanceof assert.AssertionError)) {
    throw new Error(
      `the property failed on the seeded bug, but by crashing rather than by an assertion: ` +
        `${details.errorInstance}\n\nReplay: ${
          replayCommand(source, seed, details.counterexamplePath)
        }`,
      { cause: details.errorInstance },
    );
  }
  return details.counterexample!;
}
