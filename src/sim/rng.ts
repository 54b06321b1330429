/**
 * The simulator's only source of randomness: a small seeded PRNG (xoshiro128**, seeded through
 * splitmix32), in 32-bit integer arithmetic so every runtime draws the same numbers from the same
 * seed. Nothing in `src/sim` calls `Math.random`.
 * @module
 */
import { assert } from "../assert.ts";

/** Largest seed accepted: every integer a JavaScript number holds exactly. */
export const seedMax: number = Number.MAX_SAFE_INTEGER;

/** splitmix32's step: a well-mixed 32-bit word from a counter (used only to seed the state). */
function splitmix32(counter: number): number {
  let z = (counter + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A deterministic random source. Two `Rng`s made from the same seed draw the same sequence;
 * {@linkcode Rng.fork} splits off an independent stream, so one part of the simulator drawing
 * more or fewer numbers does not shift the numbers another part sees.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const a = new Rng(42);
 * const b = new Rng(42);
 * console.log(a.int(1, 6) === b.int(1, 6)); // true
 * const faults = a.fork(); // its own stream from now on
 * console.log(faults.chance(0.5), a.pick(["x", "y"]));
 * ```
 */
export class Rng {
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;

  /** A source seeded by `seed`, an integer in [0, {@linkcode seedMax}]. */
  constructor(seed: number) {
    assert(Number.isSafeInteger(seed) && seed >= 0, `a seed is an integer >= 0, not ${seed}`);
    this.#seedWords(seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0);
  }

  /** Fills the four state words from two 32-bit words; never all zero (xoshiro's fixed point). */
  #seedWords(lo: number, hi: number): void {
    let counter = splitmix32(lo ^ 0x5bd1e995) ^ hi;
    const next = () => {
      counter = (counter + 0x6d2b79f5) | 0;
      return splitmix32(counter);
    };
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** The next uniformly distributed 32-bit unsigned integer. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /**
   * A number uniform in [0, 1), with 32 random bits.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const x = new Rng(7).float(); // 0 <= x < 1
   * ```
   */
  float(): number {
    return this.next() / 2 ** 32;
  }

  /**
   * An integer uniform in [lo, hi], both ends included.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const die = new Rng(7).int(1, 6); // one of 1..6
   * ```
   */
  int(lo: number, hi: number): number {
    assert(Number.isSafeInteger(lo) && Number.isSafeInteger(hi), "int() bounds are integers");
    assert(lo <= hi, `int() needs lo <= hi, got ${lo} > ${hi}`);
    // The span is at most 2^32 in practice (delays, node ids); a float of 32 bits covers it
    // with a bias far below anything a simulation could notice.
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /**
   * True with probability `p` (0 never, 1 always).
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * new Rng(7).chance(0); // false
   * ```
   */
  chance(p: number): boolean {
    assert(p >= 0 && p <= 1, `a probability is in [0, 1], not ${p}`);
    return this.float() < p;
  }

  /**
   * One element of a non-empty list, uniformly.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * new Rng(7).pick(["a", "b", "c"]); // "a", "b" or "c"
   * ```
   */
  pick<T>(xs: readonly T[]): T {
    assert(xs.length > 0, "pick() needs a non-empty list");
    return xs[this.int(0, xs.length - 1)];
  }

  /**
   * A new list with the elements of `xs` in a uniformly random order (Fisher-Yates).
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * new Rng(7).shuffle([1, 2, 3]); // a permutation of [1, 2, 3]
   * ```
   */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /**
   * An independent stream, seeded from two draws of this one. Forking in a fixed order gives
   * every part of the simulator its own reproducible stream.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const root = new Rng(1);
   * const network = root.fork();
   * const disk = root.fork(); // differs from network, same for every run of seed 1
   * ```
   */
  fork(): Rng {
    const child = new Rng(0);
    child.#seedWords(this.next(), this.next());
    return child;
  }
}
