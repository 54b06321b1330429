/**
 * `assertThrows(fn, ErrorClass, messageIncludes)`: the one helper the client tests need that
 * `node:assert` spells differently.
 * @module
 */
import assert from "../assert.ts";

/** Asserts `fn` throws an instance of `ErrorClass` whose message includes `includes`. */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass: new (...args: any[]) => Error,
  includes = "",
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ErrorClass, `expected ${ErrorClass.name}, got ${String(error)}`);
    assert.ok(
      error.message.includes(includes),
      `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(includes)}`,
    );
    return true;
  });
}

/** Asserts `promise` rejects with an instance of `ErrorClass` whose message includes `includes`. */
export async function assertRejects(
  promise: Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass: new (...args: any[]) => Error,
  includes = "",
): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected a rejection with ${ErrorClass.name}, but it resolved`);
  assert.ok(caught instanceof ErrorClass, `expected ${ErrorClass.name}, got ${String(caught)}`);
  assert.ok(
    (caught as Error).message.includes(includes),
    `message ${JSON.stringify((caught as Error).message)} lacks ${JSON.stringify(includes)}`,
  );
  return caught as Error;
}
