/**
 * A latency histogram with bounded memory: log-linear buckets (64 per power of two, so a
 * percentile is within 1.6 % of the true value) over microseconds, from 1 µs to about 19 hours.
 * A benchmark records millions of latencies into one of these without keeping the samples.
 * @module
 */

/** Sub-buckets per power of two; a power of two itself. */
const subBuckets = 64;
const subBits = 6;
/** Powers of two covered above the first `subBuckets` exact values. */
const octaves = 30;

/** Counts of latencies in microseconds. */
export class LatencyHistogram {
  readonly #counts = new Float64Array(subBuckets + octaves * subBuckets);
  #count = 0;
  #sum = 0;
  #max = 0;

  /** Records one latency, in microseconds (negative counts as 0, beyond the range as the top). */
  record(us: number): void {
    const value = us > 0 ? us : 0;
    this.#counts[bucketOf(value)]++;
    this.#count++;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
  }

  /** Adds every count of `other` to this one. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i] += other.#counts[i];
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  /** How many latencies were recorded. */
  get count(): number {
    return this.#count;
  }

  /** Mean latency in µs (0 when empty). */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /** Largest latency recorded, µs (exact). */
  get max(): number {
    return this.#max;
  }

  /**
   * The latency at quantile `q` (0..1) in µs: the middle of the bucket holding the sample of rank
   * ceil(q × count), capped at the exact maximum. 0 when empty.
   */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return Math.min(middleOf(i), this.#max);
    }
    return this.#max;
  }
}

/** The bucket of `value` µs: exact below 64, then 64 buckets per power of two. */
function bucketOf(value: number): number {
  const v = Math.floor(value);
  if (v < subBuckets) return v;
  let shift = Math.floor(Math.log2(v)) - subBits;
  // log2 of a float may land a hair off near a power of two; the sub-bucket must be 64..127.
  if (Math.floor(v / 2 ** shift) >= 2 * subBuckets) shift++;
  else if (Math.floor(v / 2 ** shift) < subBuckets) shift--;
  if (shift >= octaves) return subBuckets * (octaves + 1) - 1;
  return subBuckets * shift + Math.floor(v / 2 ** shift);
}

/** The value, µs, in the middle of bucket `index`. */
function middleOf(index: number): number {
  if (index < subBuckets) return index + 0.5;
  const octave = Math.floor(index / subBuckets) - 1;
  const sub = index % subBuckets + subBuckets;
  return (sub + 0.5) * 2 ** octave;
}
