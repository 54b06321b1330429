/**
 * One slice of the guarantee properties (props/guarantees_*_test.ts): `runs` fault schedules with
 * every checker judging, on `voters` servers. The slices live in separate files so that
 * `deno test --parallel` spreads them over the cores.
 * @module
 */
import fc from "fast-check";
import assert from "../tests/assert.ts";
import { newTotals, runGuaranteeCase } from "./_guarantees.ts";
import { assertProperty } from "./_props.ts";
import { caseArb } from "./_schedule.ts";

/** Registers the Deno test of one slice. */
export function guaranteeSlice(
  url: string,
  options: { name: string; voters?: number; runs: number; maxFaults?: number },
): void {
  const testName = `guarantees under fault schedules: ${options.name}`;
  Deno.test(testName, () => {
    const totals = newTotals();
    assertProperty(
      { url, testName },
      fc.property(caseArb(options.maxFaults), (c) => {
        runGuaranteeCase(c, { voters: options.voters, totals });
      }),
      { runs: options.runs },
    );
    console.log(
      `${options.name}: ${totals.runs} schedules, ${totals.faults} faults, ${totals.ops} ops ` +
        `(${totals.unknown} unknown), ${totals.events} watch events, ${totals.checked} checked`,
    );
    // The runs must exercise what the checkers judge (unless a replay asked for a few runs).
    if (totals.runs >= 50) {
      assert.ok(totals.unknown > 0, "some ops end with an unknown outcome");
      assert.ok(totals.events > 0, "watches fire");
      assert.ok(totals.checked > totals.runs * 20, "the checkers judge many ops per run");
    }
  });
}
