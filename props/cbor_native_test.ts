/**
 * Regression test for a crash this property found: cbor-x's package root loads the native string
 * extractor (`cbor-extract`), a Node add-on that kills a Deno process on the first non-ASCII
 * string. `src/wire/cbor.ts` now uses the pure-JavaScript entry; this property decodes arbitrary
 * requests in a child process where native acceleration is allowed, so a regression (anything
 * loading the native decoder again) shows up as a dead child and the input it died on.
 * @module
 */
import assert from "../tests/assert.ts";
import { propsRuns, propsSeed } from "./_props.ts";

const name =
  "FrameDecoder never loads cbor-x native extractor: decoding in a process that allows it does not crash";
Deno.test(name, async () => {
  const seed = propsSeed();
  const runs = propsRuns(200);
  const child = new URL("./_native_cbor_child.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", child, String(seed), String(runs)],
    // Whatever this process was told, the child loads the extractor if it is installed.
    env: { CBOR_NATIVE_ACCELERATION_DISABLED: "false" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  const stdout = new TextDecoder().decode(output.stdout);
  const lines = stderr.split("\n");
  const lastInput = lines.filter((l) => l.startsWith("INPUT ")).at(-1)?.slice("INPUT ".length) ??
    "(none)";
  const problems = lines.filter((l) => !l.startsWith("INPUT ") && l !== "DONE" && l !== "");
  assert.ok(
    output.success && lines.includes("DONE"),
    `the decoding process died (exit code ${output.code}, signal ${output.signal}) while decoding\n` +
      `  ${lastInput}\n${[...problems, stdout].join("\n").slice(0, 2000)}\n\n` +
      `Replay: PROPS_SEED=${seed} PROPS_RUNS=${runs} $DENO test -A props/cbor_native_test.ts`,
  );
});
