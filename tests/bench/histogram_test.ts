/**
 * LatencyHistogram against the exact answer: every reported quantile is within the promised
 * precision of the nearest-rank quantile of the sorted samples, while count, max and mean are
 * exact, and merging two histograms is the same as feeding one both.
 * @module
 */
import fc from "fast-check";
import assert from "../assert.ts";
import { assertProperty } from "../../props/_props.ts";
import { LatencyHistogram } from "../../src/bench/histogram.ts";

const source = (testName: string) => ({ url: import.meta.url, testName });

/** The quantiles a benchmark report prints. */
const reported = [0.5, 0.9, 0.99, 0.999, 1];

/** Latencies in µs, with the bucket edges over-represented. */
const latency: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 62, 63, 64, 65, 127, 128, 129, 1_000_000_000),
  fc.integer({ min: 0, max: 29 }).chain((k) =>
    fc.constantFrom(2 ** k - 1, 2 ** k, 2 ** k + 1).filter((v) => v >= 0)
  ),
  fc.integer({ min: 0, max: 200 }),
  fc.integer({ min: 0, max: 1_000_000_000 }),
  fc.double({ min: 0, max: 1e9, noNaN: true, noDefaultInfinity: true }),
);

const samples = fc.array(latency, { minLength: 1, maxLength: 300 });

function fed(values: readonly number[]): LatencyHistogram {
  const histogram = new LatencyHistogram();
  for (const value of values) histogram.record(value);
  return histogram;
}

/** The exact nearest-rank quantile: the sample of rank ceil(q × n) (at least 1). */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

/** 1.6 % of the true value, or 1 µs below 64 µs where buckets are exact. */
function withinPrecision(got: number, exact: number): boolean {
  return exact < 64 ? Math.abs(got - exact) <= 1 : Math.abs(got - exact) <= 0.016 * exact;
}

Deno.test("LatencyHistogram: reported quantiles are within 1.6 % of the exact nearest-rank ones", () => {
  assertProperty(
    source("LatencyHistogram: reported quantiles are within 1.6 % of the exact nearest-rank ones"),
    fc.property(samples, (values) => {
      const histogram = fed(values);
      const sorted = [...values].sort((a, b) => a - b);
      let previous = 0;
      for (const q of reported) {
        const got = histogram.quantile(q);
        const exact = exactQuantile(sorted, q);
        assert.ok(
          withinPrecision(got, exact),
          `quantile(${q}) = ${got}, exact ${exact} (n = ${values.length})`,
        );
        assert.ok(got <= histogram.max, `quantile(${q}) = ${got} above max ${histogram.max}`);
        assert.ok(got >= previous, `quantile(${q}) = ${got} below a lower quantile's ${previous}`);
        previous = got;
      }
      assert.equal(histogram.count, values.length);
      assert.equal(histogram.max, sorted[sorted.length - 1]);
      // The same sum in the same order: exact, not merely close.
      assert.equal(histogram.mean, values.reduce((sum, v) => sum + v, 0) / values.length);
    }),
    { runs: 1000 },
  );
});

Deno.test("LatencyHistogram: merging two histograms equals one histogram fed both", () => {
  assertProperty(
    source("LatencyHistogram: merging two histograms equals one histogram fed both"),
    fc.property(fc.array(latency, { maxLength: 150 }), samples, (a, b) => {
      const merged = fed(a);
      const other = fed(b);
      merged.merge(other);
      const both = fed([...a, ...b]);
      assert.equal(merged.count, both.count);
      assert.equal(merged.max, both.max);
      // Two partial sums added need not round like one running sum: close, not equal.
      assert.ok(Math.abs(merged.mean - both.mean) <= 1e-9 * Math.max(1, both.mean));
      for (let q = 0; q <= 1.0000001; q += 0.01) {
        assert.equal(merged.quantile(q), both.quantile(q), `quantile(${q})`);
      }
      for (const q of reported) assert.equal(merged.quantile(q), both.quantile(q));
      // The histogram merged in is left as it was.
      assert.equal(other.count, b.length);
      assert.equal(other.max, Math.max(...b));
    }),
    { runs: 500 },
  );
});

Deno.test("LatencyHistogram: empty gives 0 everywhere, also after merging another empty one", () => {
  const empty = new LatencyHistogram();
  empty.merge(new LatencyHistogram());
  assert.equal(empty.count, 0);
  assert.equal(empty.mean, 0);
  assert.equal(empty.max, 0);
  for (const q of [0, ...reported]) assert.equal(empty.quantile(q), 0);
});

Deno.test("LatencyHistogram: negative and NaN latencies count as 0; beyond the range keeps max exact", () => {
  const histogram = fed([-5, Number.NaN, -0.5]);
  assert.equal(histogram.count, 3);
  assert.equal(histogram.max, 0);
  assert.equal(histogram.mean, 0);
  assert.ok(histogram.quantile(1) <= 1);

  // About 19 hours is the top; a latency past it lands in the top bucket, max stays exact.
  const huge = fed([10, 1e13]);
  assert.equal(huge.count, 2);
  assert.equal(huge.max, 1e13);
  assert.equal(huge.mean, (10 + 1e13) / 2);
  assert.ok(withinPrecision(huge.quantile(0.5), 10));
  assert.ok(huge.quantile(1) > 2 ** 36 * 0.98 && huge.quantile(1) <= 1e13);
});

Deno.test("LatencyHistogram: single values at the bucket edges come back within precision", () => {
  for (let k = 0; k <= 35; k++) {
    for (const value of [2 ** k - 1, 2 ** k, 2 ** k + 1, 2 ** k * 1.5]) {
      const histogram = fed([value]);
      assert.ok(
        withinPrecision(histogram.quantile(0.5), value),
        `${value} came back as ${histogram.quantile(0.5)}`,
      );
      assert.equal(histogram.quantile(1), histogram.quantile(0.5));
      assert.equal(histogram.max, value);
    }
  }
});
