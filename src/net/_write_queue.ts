/**
 * Write coalescing shared by the adapters whose runtimes hand back partial writes (Deno, Bun).
 * Private to src/net.
 * @module
 */

/** Most queued bytes concatenated into one write, so coalescing never copies unboundedly. */
export const writeBatchBytesMax = 1024 * 1024;

/** How long `close()` waits for queued bytes to drain before dropping them. */
export const closeFlushMsMax = 5_000;

/** Removes chunks from the front of `queue` and concatenates them into at most `bytesMax`. */
export function takeBatch(queue: Uint8Array[], bytesMax: number): Uint8Array {
  if (queue.length === 1 || queue[0].byteLength >= bytesMax) return queue.shift()!;
  let count = 0;
  let total = 0;
  while (count < queue.length && total + queue[count].byteLength <= bytesMax) {
    total += queue[count].byteLength;
    count++;
  }
  const batch = new Uint8Array(total);
  let offset = 0;
  for (const chunk of queue.splice(0, count)) {
    batch.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return batch;
}
