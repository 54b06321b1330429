/**
 * Invariant checks that stay on in production.
 *
 * Bad *input* gets an error reply; a broken *invariant* stops the replica loudly. `assert` is for
 * the second kind only.
 * @module
 */

/** Thrown when an internal invariant does not hold: a bug in Corral, never a client's fault. */
export class InvariantError extends Error {
  override name = "InvariantError";
}

/**
 * Stops with an {@linkcode InvariantError} when `condition` is false.
 *
 * @example
 * ```ts
 * import { assert } from "./assert.ts";
 * assert(1 + 1 === 2, "arithmetic works");
 * ```
 */
export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new InvariantError(`invariant violated: ${why}`);
}
