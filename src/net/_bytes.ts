/**
 * What the adapters hand to `data` handlers: plain Uint8Arrays. Private to src/net.
 * @module
 */

/**
 * `chunk` as a plain Uint8Array over the same memory (no copy). Bun and Node deliver Node
 * Buffers, whose `slice()` is a view rather than a copy; code above the adapters copies values
 * and leftover tails out of chunks with `slice()`, so that a small value does not keep a large
 * network buffer alive, and so it must get a Uint8Array's `slice()`.
 */
export function plainBytes(chunk: Uint8Array): Uint8Array {
  return chunk.constructor === Uint8Array
    ? chunk
    : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
